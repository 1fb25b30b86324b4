#!/usr/bin/env bash
# setup.sh — idempotent machine set-up for whittle (make demo, make test, .ci/run).
#
# Installs what is missing (docker.io, debootstrap, curl, gcc + libc6-dev, lcov, chromium), starts dockerd when no
# engine answers, mounts tracefs/debugfs/securityfs/bpffs when missing and makes sure the Go
# toolchain in /usr/local/go/bin is usable. Needs root for anything it has to change.
# When everything is already in place it only checks, in well under a second.
#
# Environment:
#   WHITTLE_DOCKERD_TIMEOUT  seconds to wait for a freshly started dockerd (default 60)
#   WHITTLE_DOCKERD_LOG      dockerd log file (default /var/log/dockerd.log)
set -euo pipefail

readonly dockerd_timeout="${WHITTLE_DOCKERD_TIMEOUT:-60}"
readonly dockerd_log="${WHITTLE_DOCKERD_LOG:-/var/log/dockerd.log}"
readonly go_root=/usr/local/go

log() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

need_root() {
	[[ $(id -u) -eq 0 ]] || die "$1 needs root (run as root or with sudo)"
}

# --- packages -------------------------------------------------------------------------

# install_missing installs the Debian packages whose command is absent. Arguments are
# command:package pairs; apt-get update runs only when something has to be installed.
install_missing() {
	local pair cmd pkg
	local -a pkgs=()
	for pair in "$@"; do
		cmd=${pair%%:*} pkg=${pair#*:}
		command -v "$cmd" >/dev/null 2>&1 && continue
		[[ " ${pkgs[*]} " == *" $pkg "* ]] || pkgs+=("$pkg")
	done
	((${#pkgs[@]})) || return 0
	need_root "installing ${pkgs[*]}"
	command -v apt-get >/dev/null 2>&1 || die "missing ${pkgs[*]} and no apt-get to install them"
	log "installing ${pkgs[*]}"
	local out
	out=$(mktemp)
	if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "${pkgs[@]}"; } >"$out" 2>&1; then
		tail -n 20 "$out" >&2
		rm -f "$out"
		die "installing ${pkgs[*]} failed"
	fi
	rm -f "$out"
}

# --- docker engine --------------------------------------------------------------------

engine_answers() { timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

start_dockerd() {
	engine_answers && return 0
	need_root "starting dockerd"
	# Another setup.sh may be starting it right now: serialise, then look again.
	exec 8>/run/whittle-setup-dockerd.lock
	flock 8
	if engine_answers; then exec 8>&-; return 0; fi
	local dpid=
	if ! pgrep -x dockerd >/dev/null 2>&1; then
		log "starting dockerd (log: $dockerd_log)"
		# setsid: dockerd must outlive this script and its process group; 8>&-: it must
		# not inherit (and hold forever) the lock.
		setsid dockerd >>"$dockerd_log" 2>&1 </dev/null 8>&- &
		dpid=$! # setsid does not fork here: not a process group leader without job control
	else
		log "dockerd is running but not answering yet; waiting"
	fi
	local deadline=$((SECONDS + dockerd_timeout))
	until engine_answers; do
		if [[ -n $dpid ]] && ! kill -0 "$dpid" 2>/dev/null; then
			tail -n 5 "$dockerd_log" >&2 2>/dev/null || true
			die "dockerd exited at start-up (see $dockerd_log)"
		fi
		if ((SECONDS >= deadline)); then
			tail -n 20 "$dockerd_log" >&2 2>/dev/null || true
			die "docker engine did not answer within ${dockerd_timeout}s (see $dockerd_log)"
		fi
		sleep 0.5
	done
	exec 8>&-
	log "docker engine $(docker version --format '{{.Server.Version}}') is up"
}

# --- kernel file systems --------------------------------------------------------------

# ensure_mount TYPE DIR REQUIRED: mounts TYPE at DIR unless something is mounted there.
ensure_mount() {
	local type=$1 dir=$2 required=$3
	mountpoint -q "$dir" 2>/dev/null && return 0
	if [[ $(id -u) -ne 0 ]]; then
		[[ $required == yes ]] && die "$type is not mounted at $dir and mounting it needs root"
		return 0
	fi
	if mount -t "$type" "$type" "$dir" 2>/dev/null; then
		log "mounted $type at $dir"
	elif [[ $required == yes ]]; then
		die "cannot mount $type at $dir (kernel without $type support?)"
	fi
}

# --- Go toolchain ---------------------------------------------------------------------

ensure_go() {
	if [[ -x $go_root/bin/go ]]; then
		# Make `go` resolvable for callers whose PATH lacks /usr/local/go/bin.
		if ! command -v go >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
			ln -sf "$go_root/bin/go" /usr/local/bin/go
			ln -sf "$go_root/bin/gofmt" /usr/local/bin/gofmt
			log "linked $go_root/bin/{go,gofmt} into /usr/local/bin"
		fi
		"$go_root/bin/go" version >/dev/null 2>&1 || die "$go_root/bin/go does not run"
	elif ! command -v go >/dev/null 2>&1; then
		die "no Go toolchain: expected $go_root/bin/go (install Go from https://go.dev/dl/)"
	fi
}

main() {
	# gcc and libc6-dev: the gopets fixture is built with cgo. lcov: genhtml reads the lcov
	# exports in the coverage tests. chromium: the crawl's browser load is tested (pagesite);
	# 124 MB fetched, under 2 minutes on this machine's mirror.
	install_missing docker:docker.io dockerd:docker.io debootstrap:debootstrap \
		curl:curl flock:util-linux gcc:gcc gcc:libc6-dev genhtml:lcov chromium:chromium
	start_dockerd
	ensure_mount tracefs /sys/kernel/tracing yes
	ensure_mount debugfs /sys/kernel/debug no
	ensure_mount securityfs /sys/kernel/security no
	ensure_mount bpf /sys/fs/bpf no
	ensure_go
}

main "$@"
