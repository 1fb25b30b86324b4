#!/usr/bin/env bash
# bench.sh — whittle's benchmarks: make bench (all parts) and make bench-endurance.
# Raw outputs go to bench/results/raw/, the markdown (written by bench/cmd/benchtool from the raw
# outputs) to bench/results/; bench/results/README.md says how, where and when they were measured.
#
#   scripts/bench.sh [all]          every part below, then the markdown
#   scripts/bench.sh PART...        only these parts: tracer fuzz negotiate rate rebuild loop cached stateful services runtimes hostile
#                                   concur jvm (jvmmech + jvmfuzz) render
#   scripts/bench.sh endurance      20 minutes on gopets → bench/results/endurance-gopets.md
#
# Needs root, Docker, BPF, bin/whittle and the fixture images (make bench builds them first).
# Environment: BENCH_DURATION (60s) BENCH_SEED (1) BENCH_ROUNDS (5, tracebench rounds)
#   BENCH_STATEFUL_DURATION (2m: the stateful runs on shelf)
#   BENCH_SERVICES_DURATION (10s) BENCH_SERVICES_ROUNDS (3): the companion-services runs on pgnotes
#   BENCH_RUNTIMES (gopets pypets pkgshop nodeviews: the fixtures of the runtimes part)
#   ENDURANCE_DURATION (20m)  BENCH_RUN_TIMEOUT (15m per run; 90m for endurance)
#   BENCH_QUIET_WAIT (300: seconds to wait before a step for other people's containers and builds)
#   BENCH_RERUN (1: run a step once more when others used the machine while it was measuring)
set -euo pipefail

cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH

results=bench/results raw=bench/results/raw
duration=${BENCH_DURATION:-60s} seed=${BENCH_SEED:-1} rounds=${BENCH_ROUNDS:-5}
quiet_wait=${BENCH_QUIET_WAIT:-300} rerun=${BENCH_RERUN:-1} run_timeout=${BENCH_RUN_TIMEOUT:-15m}
gopets=whittle-fixture/gopets:latest pypets=whittle-fixture/pypets:latest pyplugins=whittle-fixture/pyplugins:latest shelf=whittle-fixture/shelf:latest
gopets_spec=testdata/targets/gopets/openapi.yaml
nego=whittle-fixture/nego:latest nego_spec=testdata/targets/nego/openapi.yaml
slowdb=whittle-fixture/slowdb:latest
shelf_spec=testdata/targets/shelf/openapi.yaml stateful_duration=${BENCH_STATEFUL_DURATION:-2m}
jvmshop=whittle-fixture/jvmshop:latest nodeviews=whittle-fixture/nodeviews:latest
pgnotes=whittle-fixture/pgnotes:latest pgdb=whittle-fixture/pgdb:latest pgnotes_compose=testdata/targets/pgnotes/compose.yaml
services_duration=${BENCH_SERVICES_DURATION:-10s} services_rounds=${BENCH_SERVICES_ROUNDS:-3}
steps=$raw/steps.tsv

log() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

tmp=$(mktemp -d) rate_cid='' spid='' step_rc=0
cleanup() {
	[[ -z $spid ]] || kill "$spid" 2>/dev/null || true
	[[ -z $rate_cid ]] || docker rm -f "$rate_cid" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT

[[ $(id -u) -eq 0 ]] || die "needs root (whittle and tracebench load eBPF programs)"
[[ -x bin/whittle ]] || die "bin/whittle missing: make build (or make bench)"
for img in "$gopets" "$pypets" "$pyplugins" "$shelf"; do
	docker image inspect "$img" >/dev/null 2>&1 || die "fixture $img missing: make fixtures"
done
mkdir -p "$raw"
cp bin/whittle "$tmp/whittle" # a private copy: others may rebuild bin/whittle meanwhile
whittle=$tmp/whittle bt=$tmp/benchtool
go build -o "$bt" ./bench/cmd/benchtool

load1() { cut -d' ' -f1 /proc/loadavg; }
running() { docker ps -q | wc -l; }
# others counts busy processes that are not this script's: the Go toolchain, test binaries, whittle,
# debootstrap and apt (someone else building, testing or running whittle).
others() {
	ps -eo pid=,ppid=,comm= | awk -v me=$$ '
		{ parent[$1] = $2; comm[$1] = $3 }
		END {
			n = 0
			for (p in comm) {
				if (comm[p] !~ /^(go|compile|link|asm|cgo|vet|whittle|tracebench|debootstrap|apt-get|dpkg)$|\.test$/) continue
				for (q = p; q > 1 && q != me; q = parent[q]) {}
				if (q != me) n++
			}
			print n
		}'
}

# wait_quiet waits, at most $quiet_wait s, until no container runs and nobody else builds or tests.
wait_quiet() {
	local waited=0
	while (($(running) + $(others) > 0 && waited < quiet_wait)); do
		((waited % 60)) || log "waiting for others to finish: $(running) container(s), $(others) busy process(es)"
		sleep 5
		waited=$((waited + 5))
	done
}

# step NAME OWN CMD...: runs CMD once the machine is quiet, sampling the load, the running containers
# and others' busy processes every 2 s, and appends a row to $steps. OWN is how many containers CMD runs
# at once itself. If more ran, or others built, tested or ran whittle meanwhile, the step was disturbed:
# it is run once more (BENCH_RERUN=1). A failing CMD ends the script unless may_fail=1 (then: $step_rc).
step() {
	local name=$1 own=$2
	shift 2
	local attempt rc started lstart t0 secs lmax cmax omax disturbed samples=$tmp/samples
	[[ -s $steps ]] || printf 'step\tattempt\tstarted\tseconds\texit\tload1_start\tload1_max\tcontainers_max\tcontainers_own\tothers_max\tdisturbed\n' >"$steps"
	for attempt in 1 2; do
		wait_quiet
		: >"$samples"
		(while :; do echo "$(load1) $(running) $(others)" >>"$samples"; sleep 2; done) &
		spid=$!
		started=$(date -u +%FT%TZ) lstart=$(load1) t0=$EPOCHREALTIME
		log "$name: start (attempt $attempt, load $lstart)"
		rc=0
		"$@" || rc=$?
		secs=$(awk "BEGIN { printf \"%.1f\", $EPOCHREALTIME - $t0 }")
		kill "$spid" 2>/dev/null || true
		wait "$spid" 2>/dev/null || true
		spid=
		read -r lmax cmax omax < <(awk -v l="$lstart" '$1 > l { l = $1 } $2 > c { c = $2 } $3 > o { o = $3 }
			END { print l, c + 0, o + 0 }' "$samples")
		disturbed=no
		((cmax <= own && omax == 0)) || disturbed=yes
		printf '%s\t%d\t%s\t%s\t%d\t%s\t%s\t%d\t%d\t%d\t%s\n' "$name" "$attempt" "$started" "$secs" "$rc" \
			"$lstart" "$lmax" "$cmax" "$own" "$omax" "$disturbed" >>"$steps"
		log "$name: ${secs}s, exit $rc, max load $lmax, max $cmax container(s) (own $own), others $omax, disturbed: $disturbed"
		[[ $disturbed == yes && $rerun == 1 && $rc == 0 && $attempt == 1 ]] || break
		log "$name: others used the machine meanwhile: measuring again"
	done
	step_rc=$rc
	((rc == 0 || ${may_fail:-0})) || die "$name failed (exit $rc)"
}

# The commands step runs are functions called in an `||` list, where bash ignores set -e: they return
# on errors themselves.

# run_whittle NAME TAG IMAGE ARGS...: one headless whittle run; the report (without its per-file list)
# goes to $raw/NAME.json, the progress lines to $raw/NAME.log. Findings (2) and divergence (3) are
# results, not failures: the markdown shows them.
run_whittle() {
	local name=$1 tag=$2 image=$3 rc=0
	shift 3
	rm -f "$tmp/$name.json"
	printf 'whittle run %s --auto --seed %s --tag %s %s -o json=%s\n' "$image" "$seed" "$tag" "$*" "$raw/$name.json" >"$raw/$name.cmd"
	timeout --signal=INT --kill-after=60 "$run_timeout" "$whittle" run "$image" --auto --seed "$seed" \
		--tag "$tag" -o json="$tmp/$name.json" "$@" >"$raw/$name.log" 2>&1 || rc=$?
	case $rc in 0 | 2 | 3) ;; *) log "$name: whittle exited $rc; last lines of $raw/$name.log:"; tail -n 5 "$raw/$name.log" >&2 ;; esac
	[[ -s $tmp/$name.json ]] || { log "$name: no report written"; return 1; }
	"$bt" trim "$tmp/$name.json" "$raw/$name.json" || return
	case $rc in 0 | 2 | 3) return 0 ;; *) return "$rc" ;; esac
}

# rate FIXTURE IMAGE PORT PATH...: plain keep-alive GETs to a fresh untraced container, 1 and 4 clients.
rate() {
	local fx=$1 image=$2 port=$3 hostport p
	shift 3
	rate_cid=$(docker run -d --rm -p "127.0.0.1::$port" "$image") || return
	hostport=$(docker port "$rate_cid" "$port/tcp" | head -n 1) || return
	local urls=()
	for p in "$@"; do urls+=(-url "http://$hostport$p"); done
	"$bt" rate "${urls[@]}" -workers 1 -duration 10s >"$raw/$fx-rate-1.json" || return
	"$bt" rate "${urls[@]}" -workers 4 -duration 10s >"$raw/$fx-rate-4.json" || return
	docker rm -f "$rate_cid" >/dev/null || return
	rate_cid=
}

# concur FIXTURE IMAGE PORT PATH [WHITTLE ARGS...]: the fixture's untraced capacity (benchtool rate: 8
# and 1 keep-alive clients on PATH, its cheapest 2xx operation, in a fresh untraced container), then
# whittle on the same image in the same step, $duration with adaptive workers and $duration with one;
# each run measures the capacity on PATH itself first (--measure-capacity: 8 keep-alive connections for
# 10 s, 1 for 5 s, 8 clients with a fresh connection per request for 5 s, on the traced container right
# before fuzzing), which the markdown sets executions/s against. With `--cmd WORDS` as the first whittle
# arguments, the untraced container runs WORDS too.
concur() {
	local fx=$1 image=$2 port=$3 path=$4 hostport
	shift 4
	local cmd=()
	if [[ ${1-} == --cmd ]]; then read -r -a cmd <<<"$2"; fi
	rm -f "$raw/$fx-capacity-untraced-8.json" "$raw/$fx-capacity-untraced-1.json"
	if [[ ${1-} != --compose ]]; then # a service with companions has no untraced figure alone
		rate_cid=$(docker run -d --rm -p "127.0.0.1::$port" "$image" ${cmd[@]+"${cmd[@]}"}) || return
		hostport=$(docker port "$rate_cid" "$port/tcp" | head -n 1) || return
		"$bt" rate -url "http://$hostport$path" -workers 8 -duration 10s >"$raw/$fx-capacity-untraced-8.json" || return
		"$bt" rate -url "http://$hostport$path" -workers 1 -duration 10s >"$raw/$fx-capacity-untraced-1.json" || return
		docker rm -f "$rate_cid" >/dev/null || return
		rate_cid=
	fi
	rm -f "$raw/$fx-capacity-8.json" "$raw/$fx-capacity-1.json" # the names before the traced measurement
	run_whittle "$fx-concur-adaptive" "whittle-bench/$fx:concur" "$image" --workers 0 --duration "$duration" --measure-capacity "$path" "$@" || return
	run_whittle "$fx-concur-1" "whittle-bench/$fx:concur1" "$image" --workers 1 --duration "$duration" --measure-capacity "$path" "$@" || return
	docker image rm "whittle-bench/$fx:concur" "whittle-bench/$fx:concur1" >/dev/null 2>&1 || true
}

tracebench() { "$tmp/tracebench" -rounds "$rounds" -json "$raw/tracer.json" >"$raw/tracer.txt"; }
rebuild_bench() { go test ./rebuild -run '^$' -bench . -benchtime 1x -count 3 >"$raw/rebuild-bench.txt"; }
loop_bench() { go test ./fuzz -run '^$' -bench BenchmarkLoop -count 3 >"$raw/fuzzloop-bench.txt"; }

part_tracer() {
	go build -o "$tmp/tracebench" ./tracer/cmd/tracebench
	step tracer 1 tracebench
	cat "$raw/tracer.txt" >&2
}

part_fuzz() {
	# Fuzzing a target that crashes runs up to 3 containers of its own: the current one, the warm spare,
	# and the crashed one being removed.
	step gopets-fuzz 3 run_whittle gopets-fuzz whittle-bench/gopets:fuzz "$gopets" --spec "$gopets_spec" --duration "$duration"
	step gopets-once 2 run_whittle gopets-once whittle-bench/gopets:once "$gopets" --spec "$gopets_spec" --once
	step pypets-fuzz 3 run_whittle pypets-fuzz whittle-bench/pypets:fuzz "$pypets" --duration "$duration"
	step pypets-once 2 run_whittle pypets-once whittle-bench/pypets:once "$pypets" --once
	docker image rm whittle-bench/gopets:fuzz whittle-bench/gopets:once whittle-bench/pypets:fuzz \
		whittle-bench/pypets:once >/dev/null 2>&1 || true
}

# part_negotiate: the content-negotiation fixture (files chosen by Accept, Accept-Language,
# Accept-Encoding), fuzzed and --once: what each keeps and whether it verifies.
part_negotiate() {
	docker image inspect "$nego" >/dev/null 2>&1 || die "fixture $nego missing: make fixtures (or scripts/fixtures.sh nego)"
	step nego-fuzz 2 run_whittle nego-fuzz whittle-bench/nego:fuzz "$nego" --spec "$nego_spec" --duration "$duration"
	step nego-once 2 run_whittle nego-once whittle-bench/nego:once "$nego" --spec "$nego_spec" --once
	grep -hE '^(minimal|requests|verified):' "$raw/nego-fuzz.log" "$raw/nego-once.log" >&2 || true
	docker image rm whittle-bench/nego:fuzz whittle-bench/nego:once >/dev/null 2>&1 || true
}

part_rate() {
	step gopets-rate 1 rate gopets "$gopets" 8080 /health /breeds/beagle '/pets?limit=5' /pets/1 '/breeds/unicorn'
	step pypets-rate 1 rate pypets "$pypets" 8000 /health '/items?limit=5' /items/1 '/items/1/export?format=csv'
}

# part_concur: concurrent workers (issue 19) on the latency-bound fixture (slowdb: every query waits
# 5 ms) and on gopets and pypets: capacity next to executions/s, coverage with 1 worker and adaptive.
part_concur() {
	docker image inspect "$slowdb" >/dev/null 2>&1 || die "fixture $slowdb missing: make fixtures (or scripts/fixtures.sh slowdb)"
	step slowdb-concur 3 concur slowdb "$slowdb" 8000 /health
	step gopets-concur 3 concur gopets "$gopets" 8080 /health --spec "$gopets_spec"
	step pypets-concur 3 concur pypets "$pypets" 8000 /health
	# the runtimes issue 19 measured: the JDK's HttpServer (keep-alive answers late) and Express
	need_jvmshop
	step jvmshop-concur 3 concur jvmshop "$jvmshop" 8080 /health
	# the same service without TCP_NODELAY: about 40 ms a kept-alive answer, the issue's first case
	step jvmnagle-concur 3 concur jvmnagle "$jvmshop" 8080 /health --cmd 'java -jar /app/jvmshop.jar'
	docker image inspect "$nodeviews" >/dev/null 2>&1 || die "fixture $nodeviews missing: make fixtures (or scripts/fixtures.sh nodeviews)"
	step nodeviews-concur 3 concur nodeviews "$nodeviews" 8080 /health
	# PostgreSQL beside the service (compose); /tags is its cheapest operation that reads the database
	for img in "$pgnotes" "$pgdb"; do
		docker image inspect "$img" >/dev/null 2>&1 || die "fixture $img missing: make fixtures (or scripts/fixtures.sh pgnotes pgdb)"
	done
	step pgnotes-concur 4 concur pgnotes "$pgnotes" 8000 /tags --compose "$pgnotes_compose" --service api
}

part_rebuild() {
	step rebuild 1 rebuild_bench # pypetsNeeds runs the fixture once, outside the timed loop
	grep -E '^(Benchmark|--- SKIP|ok|FAIL)' "$raw/rebuild-bench.txt" >&2 || true
}

part_loop() {
	step fuzzloop 0 loop_bench
	grep -E '^(Benchmark|ok|FAIL)' "$raw/fuzzloop-bench.txt" >&2 || true
}

# part_cached: pyplugins resolves codec and renderer names from package directories Python listed at
# start-up (issue 11, item 2): fuzzed, the run must find names that exist and keep both directories
# whole; --once, the baseline, cuts them (its verification diverges: exit 3, recorded).
part_cached() {
	step pyplugins-fuzz 2 run_whittle pyplugins-fuzz whittle-bench/pyplugins:fuzz "$pyplugins" --duration "$duration"
	step pyplugins-once 2 run_whittle pyplugins-once whittle-bench/pyplugins:once "$pyplugins" --once
	docker image rm whittle-bench/pyplugins:fuzz whittle-bench/pyplugins:once >/dev/null 2>&1 || true
}

# stateful: issue 11's throughput target on shelf, a service the fuzzer fills (its lists walk everything
# created). The --keep-state run (no cleanup, no latency restarts) shows the fixture slowing down; the
# default run is the target. Besides the traced target, a spare container runs once it was restarted.
part_stateful() {
	step shelf-stateful-kept 3 run_whittle shelf-stateful-kept whittle-bench/shelf:kept "$shelf" \
		--spec "$shelf_spec" --duration "$stateful_duration" --keep-state
	step shelf-stateful 3 run_whittle shelf-stateful whittle-bench/shelf:stateful "$shelf" \
		--spec "$shelf_spec" --duration "$stateful_duration"
	docker image rm whittle-bench/shelf:kept whittle-bench/shelf:stateful >/dev/null 2>&1 || true
}

# part_jvm: JVM method coverage on jvmshop (issue 17): the candidate mechanisms' cost (part_jvmmech:
# jvmbench, DTrace probes, JFR, whittle's agent), and fuzzing executions/s with coverage on and off
# (part_jvmfuzz: three whole runs of each, interleaved).
jvm_mechanisms() { "$tmp/jvmbench" -rounds "$rounds" -json "$raw/jvm-mechanisms.json" >"$raw/jvm-mechanisms.txt"; }
jvm_fuzz() {
	BENCH_DURATION=$duration go test ./pipeline -run '^$' -bench BenchmarkJvmshopFuzzing -benchtime 1x -timeout 90m \
		>"$raw/jvm-fuzz-bench.txt"
}
need_jvmshop() {
	docker image inspect "$jvmshop" >/dev/null 2>&1 || die "fixture $jvmshop missing: make fixtures (or scripts/fixtures.sh jvmshop)"
}
part_jvmmech() {
	need_jvmshop
	go build -o "$tmp/jvmbench" ./tracer/cmd/jvmbench
	step jvm-mechanisms 1 jvm_mechanisms
	cat "$raw/jvm-mechanisms.txt" >&2
}
part_jvmfuzz() {
	need_jvmshop
	# The traced target, its spare, and the reference or minimal containers of the verification.
	step jvm-fuzz 3 jvm_fuzz
	grep -E '^(Benchmark|ok|FAIL)' "$raw/jvm-fuzz-bench.txt" >&2 || true
}
part_jvm() {
	part_jvmmech
	part_jvmfuzz
}

# services: issue 15's start-up cost of companion services: pgnotes beside its database and migration
# (from its compose file) against the same service alone (it starts without its database).
part_services() {
	local i
	for img in "$pgnotes" "$pgdb"; do
		docker image inspect "$img" >/dev/null 2>&1 || die "fixture $img missing: make fixtures (or scripts/fixtures.sh pgdb pgnotes)"
	done
	for ((i = 1; i <= services_rounds; i++)); do
		# Beside its companions: the target, the spare and two of each companion at a time at most.
		step "pgnotes-compose-$i" 6 run_whittle "pgnotes-compose-$i" whittle-bench/pgnotes:compose "$pgnotes" \
			--compose "$pgnotes_compose" --service api --duration "$services_duration"
		step "pgnotes-alone-$i" 2 run_whittle "pgnotes-alone-$i" whittle-bench/pgnotes:alone "$pgnotes" \
			--duration "$services_duration"
	done
	docker image rm whittle-bench/pgnotes:compose whittle-bench/pgnotes:alone >/dev/null 2>&1 || true
	"$bt" services -raw "$raw" -out "$results"
	cat "$results/services.md" >&2
}

# runtimes: each runtime's code coverage on and off (--cover none), same seed and duration (issue 17).
part_runtimes() {
	local fx img extra
	for fx in ${BENCH_RUNTIMES:-gopets pypets pkgshop nodeviews}; do
		img=whittle-fixture/$fx:latest extra=()
		docker image inspect "$img" >/dev/null 2>&1 || die "fixture $img missing: make fixtures (or scripts/fixtures.sh $fx)"
		[[ $fx == gopets ]] && extra=(--spec "$gopets_spec")
		step "$fx-cover" 3 run_whittle "$fx-cover" "whittle-bench/$fx:cover" "$img" "${extra[@]}" --duration "$duration"
		step "$fx-nocover" 3 run_whittle "$fx-nocover" "whittle-bench/$fx:nocover" "$img" "${extra[@]}" --duration "$duration" --cover none
		docker image rm "whittle-bench/$fx:cover" "whittle-bench/$fx:nocover" >/dev/null 2>&1 || true
	done
}

# part_hostile: issue 18's hostile targets (testdata/hostile/server), each run once as
# `whittle run IMAGE --auto --duration 20s`: how it ended, its wall time and peak RSS. The binary before
# issue 18 was measured the same way into raw/hostile-before.json (benchtool hostile -label ...).
part_hostile() {
	step hostile 3 "$bt" hostile -whittle "$whittle" -json "$raw/hostile.json"
}

part_render() {
	"$bt" render -raw "$raw" -out "$results"
	if [[ -s $raw/hostile.json ]]; then "$bt" hostile-md -raw "$raw" -out "$results"; fi
	log "wrote $results/README.md, tracer.md, fuzz.md, rebuild.md, stateful-shelf.md, hostile.md, runtimes.md, services.md, concurrency.md, jvm-coverage.md"
}

# endurance: the 20-minute run issue 7 asks for, on the whole gopets spec (its planted crashes included:
# the run restarts the target each time and goes on).
endurance() {
	local d=${ENDURANCE_DURATION:-20m} rc
	steps=$raw/endurance-steps.tsv rerun=0 run_timeout=${BENCH_RUN_TIMEOUT:-90m}
	rm -f "$steps" "$raw"/endurance-gopets*
	"$bt" machine -whittle "$whittle" >"$raw/endurance-machine.json"
	may_fail=1 step endurance-gopets 2 run_whittle endurance-gopets whittle-bench/gopets:endurance "$gopets" \
		--spec "$gopets_spec" --duration "$d"
	rc=$step_rc
	docker image rm whittle-bench/gopets:endurance >/dev/null 2>&1 || true
	"$bt" endurance -raw "$raw" -out "$results"
	part_render # the README's target table reads the endurance report too
	log "wrote $results/endurance-gopets.md"
	((rc == 0)) || die "the endurance run failed (exit $rc): see $results/endurance-gopets.md"
}

parts=("$@")
((${#parts[@]})) || parts=(all)
case ${parts[0]} in
all)
	rm -f "$steps"
	"$bt" machine -whittle "$whittle" >"$raw/machine.json"
	log "machine: $(nproc) CPUs, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
	part_tracer
	part_fuzz
	part_negotiate
	part_rate
	part_rebuild
	part_loop
	part_cached
	part_stateful
	part_services
	part_runtimes
	part_hostile
	part_concur
	part_jvm
	part_render
	;;
endurance) endurance ;;
*)
	[[ -s $raw/machine.json ]] || "$bt" machine -whittle "$whittle" >"$raw/machine.json"
	for p in "${parts[@]}"; do
		declare -F "part_$p" >/dev/null || die "unknown part $p (tracer fuzz negotiate rate rebuild loop cached stateful services runtimes hostile concur jvm jvmmech jvmfuzz render, or all, endurance)"
		"part_$p"
	done
	[[ " ${parts[*]} " == *" render "* ]] || part_render
	;;
esac
