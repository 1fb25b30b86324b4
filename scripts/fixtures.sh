#!/usr/bin/env bash
# fixtures.sh — builds whittle's fixture images (testdata/targets/*).
#
#   scripts/fixtures.sh [--force] [--smoke] [--update-spec] [NAME|all]...
#
#   whittle-fixture/base:bookworm-1  shared "fat" Debian base: debootstrap minbase + tools +
#                                    python3-fastapi/uvicorn, imported with docker import
#   whittle-fixture/runtimes:bookworm-1
#                                    the base + the runtimes real services use (PostgreSQL 15,
#                                    Node.js 18 with Express/EJS, OpenJDK 17, gunicorn, Flask,
#                                    psycopg2), installed by chroot apt-get into the exported base;
#                                    built only when a wanted target's Dockerfile is FROM it
#   whittle-fixture/NAME:latest      one per directory testdata/targets/NAME holding a
#                                    Dockerfile (gopets: Go, cgo, stripped; pypets: FastAPI; ...)
#
# A target directory is self-describing: its Dockerfile (FROM the base, EXPOSE its port), an
# optional executable `prebuild` run as `prebuild CONTEXT_DIR` from the target directory to put
# host-built artifacts (Go binaries) into the docker build context, and a service answering
# GET /health once ready (the smoke check polls it). A service that needs configuration to
# start names the extra `docker run` arguments in `smoke-args` (@DIR@ stands for the target
# directory); an image that serves no HTTP (a database) has an executable `smoke IMAGE` instead.
#
# Images are cached by tag: a step is skipped when its image exists and carries the
# recipe hash of the current sources (label dev.whittle.fixture.hash); when the sources
# changed it is rebuilt. --force rebuilds every step of the selected targets, the base
# included. Newly built images are smoke-checked (started with their port published on
# 127.0.0.1, /health polled, container removed); --smoke checks cached images too.
# A target with a committed openapi.json (the spec its service serves at /openapi.json, as
# FastAPI does) is checked against the served one; --update-spec rewrites it instead (an
# empty file starts one).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly repo
readonly targets_dir=$repo/testdata/targets
readonly base_image=whittle-fixture/base:bookworm-1
readonly runtimes_image=whittle-fixture/runtimes:bookworm-1
readonly mirror=${WHITTLE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
readonly hash_label=dev.whittle.fixture.hash
readonly smoke_timeout=${WHITTLE_SMOKE_TIMEOUT:-60}

# The fat base: a typical "batteries included" runtime image. apt and dpkg stay in it.
readonly base_packages=(
	bash coreutils ca-certificates curl wget procps less iproute2 iputils-ping netbase tzdata
	openssl gnupg vim-tiny git xz-utils unzip
	python3 python3-venv python3-pip python3-fastapi python3-uvicorn
)

log() { printf 'fixtures: %s\n' "$*" >&2; }
die() { printf 'fixtures: error: %s\n' "$*" >&2; exit 1; }

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
	exit "${1:-2}"
}

# --- helpers ----------------------------------------------------------------------------

image_label() { # IMAGE LABEL -> value, or nothing when the image does not exist
	docker image inspect --format "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null || true
}

image_id() { docker image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }

# all_targets: every directory of testdata/targets holding a Dockerfile.
all_targets() {
	local d
	for d in "$targets_dir"/*/; do
		[[ -f $d/Dockerfile ]] && basename "$d"
	done
}

# port_of NAME: the first port the target's Dockerfile EXPOSEs.
port_of() {
	awk 'toupper($1) == "EXPOSE" {sub(/\/.*/, "", $2); print $2; exit}' "$targets_dir/$1/Dockerfile"
}

# build_inputs: find(1) tests selecting the files of a target that go into its image
# (not its spec or notes, nor Python caches).
build_inputs=(-type f ! -path '*/__pycache__/*' ! -name '*.pyc' ! -name '*.md' ! -name 'openapi.*')

# tree_hash DIR: hash of the names and contents of the build inputs under DIR.
tree_hash() {
	(cd "$1" && find . "${build_inputs[@]}" -print0 |
		LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16
}

# up_to_date IMAGE HASH: true when IMAGE exists with HASH and --force was not given.
up_to_date() {
	local have
	have=$(image_label "$1" "$hash_label")
	((force == 0)) && [[ -n $have && $have == "$2" ]]
}

size_of() { docker image inspect --format '{{.Size}}' "$1" | awk '{printf "%.0f MB", $1/1e6}'; }

# unmount_below DIR: unmounts whatever a failed debootstrap left mounted under DIR.
unmount_below() {
	local m
	awk -v d="$1/" 'index($2, d) == 1 {print $2}' /proc/self/mounts | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null || true; done
}

# --- base image -------------------------------------------------------------------------

# base_hash: bump recipe-N when build_base changes what goes into the image (a hash of
# the function itself would rebuild the slow base on cosmetic edits).
base_hash() {
	printf '%s\n' "recipe-1" "$mirror" "${base_packages[@]}" | sha256sum | cut -c1-16
}

build_base() {
	local hash
	hash=$(base_hash)
	if up_to_date "$base_image" "$hash"; then
		log "$base_image is up to date"
		return 0
	fi
	command -v debootstrap >/dev/null || die "debootstrap is missing (run scripts/setup.sh)"
	local tmp start=$SECONDS
	tmp=$(mktemp -d /var/tmp/whittle-base.XXXXXX)
	# shellcheck disable=SC2064 # expand $tmp now
	trap "unmount_below '$tmp'; rm -rf --one-file-system '$tmp'" EXIT
	log "debootstrap bookworm into $tmp (about a minute)"
	local incl
	incl=$(IFS=,; echo "${base_packages[*]}")
	if ! debootstrap --variant=minbase --include="$incl" bookworm "$tmp/root" "$mirror" \
		>"$tmp/debootstrap.log" 2>&1; then
		tail -n 30 "$tmp/debootstrap.log" >&2
		[[ -f $tmp/root/debootstrap/debootstrap.log ]] && tail -n 30 "$tmp/root/debootstrap/debootstrap.log" >&2
		die "debootstrap failed"
	fi
	unmount_below "$tmp/root"
	local root=$tmp/root
	# Clean as a Dockerfile would: apt cache and lists, logs, host-specific files.
	chroot "$root" apt-get clean
	rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/*.log \
		"$root"/var/log/apt/* "$root"/debootstrap "$root"/tmp/* "$root"/var/tmp/*
	printf 'deb %s bookworm main\n' "$mirror" >"$root/etc/apt/sources.list"
	: >"$root/etc/resolv.conf"
	echo localhost >"$root/etc/hostname"
	: >"$root/etc/machine-id"
	log "importing $base_image ($(du -sh --apparent-size "$root" | cut -f1))"
	replaced+=("$(image_id "$base_image")")
	tar --numeric-owner -C "$root" -c . | docker import \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'ENV LANG=C.UTF-8' \
		--change 'CMD ["bash"]' \
		--change "LABEL $hash_label=$hash" \
		--message "whittle fixture base: debootstrap minbase bookworm + ${#base_packages[@]} packages" \
		- "$base_image" >/dev/null
	unmount_below "$tmp"
	rm -rf --one-file-system "$tmp"
	trap - EXIT
	log "built $base_image ($(size_of "$base_image")) in $((SECONDS - start))s"
	built+=(base)
}

# --- runtimes base ----------------------------------------------------------------------

# What services beside and in real deployments run on. Installed by apt-get in a chroot of
# the exported base: debootstrap's --include misorders some of these (node-*), and the
# chroot needs no network inside containers.
readonly runtimes_packages=(
	postgresql-15 nodejs node-express node-ejs openjdk-17-jdk-headless
	gunicorn python3-flask python3-psycopg2
)

runtimes_hash() {
	printf '%s\n' "recipe-1" "$mirror" "$(image_id "$base_image")" "${runtimes_packages[@]}" |
		sha256sum | cut -c1-16
}

# needs_runtimes NAME...: true when one of the targets' Dockerfiles is FROM the runtimes base.
needs_runtimes() {
	local t
	for t in "$@"; do
		grep -qiE "^FROM[[:space:]]+$runtimes_image" "$targets_dir/$t/Dockerfile" && return 0
	done
	return 1
}

build_runtimes() {
	local hash
	hash=$(runtimes_hash)
	if up_to_date "$runtimes_image" "$hash"; then
		log "$runtimes_image is up to date"
		return 0
	fi
	local tmp start=$SECONDS cid
	tmp=$(mktemp -d /var/tmp/whittle-runtimes.XXXXXX)
	# shellcheck disable=SC2064 # expand $tmp now
	trap "unmount_below '$tmp'; rm -rf --one-file-system '$tmp'" EXIT
	local root=$tmp/root
	mkdir "$root"
	cid=$(docker create "$base_image" true)
	docker export "$cid" | tar --numeric-owner -C "$root" -xf -
	docker rm "$cid" >/dev/null
	mount -t proc proc "$root/proc"
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod +x "$root/usr/sbin/policy-rc.d"
	log "installing ${runtimes_packages[*]} into $runtimes_image (a few minutes)"
	if ! { chroot "$root" apt-get update -q &&
		DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -q --no-install-recommends \
			"${runtimes_packages[@]}"; } >"$tmp/apt.log" 2>&1; then
		tail -n 30 "$tmp/apt.log" >&2
		die "installing the runtimes failed"
	fi
	chroot "$root" apt-get clean
	umount "$root/proc"
	rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/*.log \
		"$root"/var/log/apt/* "$root"/tmp/* "$root"/var/tmp/* "$root/usr/sbin/policy-rc.d"
	: >"$root/etc/resolv.conf"
	log "importing $runtimes_image ($(du -sh --apparent-size "$root" | cut -f1))"
	replaced+=("$(image_id "$runtimes_image")")
	tar --numeric-owner -C "$root" -c . | docker import \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'ENV LANG=C.UTF-8' \
		--change 'CMD ["bash"]' \
		--change "LABEL $hash_label=$hash" \
		--message "whittle fixture runtimes: the base + ${#runtimes_packages[@]} packages" \
		- "$runtimes_image" >/dev/null
	unmount_below "$tmp"
	rm -rf --one-file-system "$tmp"
	trap - EXIT
	log "built $runtimes_image ($(size_of "$runtimes_image")) in $((SECONDS - start))s"
	built+=(runtimes)
}

# --- target images ----------------------------------------------------------------------

# target_hash NAME: sources of the target, this script's recipe for it, the base image ID
# (+ the Go version for gopets).
target_hash() {
	{
		tree_hash "$targets_dir/$1"
		declare -f build_target
		image_id "$base_image"
		needs_runtimes "$1" && image_id "$runtimes_image"
		[[ -x $targets_dir/$1/prebuild ]] && "$go" version
		true
	} | sha256sum | cut -c1-16
}

build_target() {
	local name=$1 image=whittle-fixture/$1:latest hash
	[[ -f $targets_dir/$name/Dockerfile ]] || die "no $targets_dir/$name/Dockerfile"
	hash=$(target_hash "$name")
	if up_to_date "$image" "$hash"; then
		log "$image is up to date"
		((smoke_all)) && smoke+=("$name")
		return 0
	fi
	local tmp ctx start=$SECONDS
	tmp=$(mktemp -d /var/tmp/whittle-ctx.XXXXXX)
	ctx=$tmp/context
	mkdir "$ctx"
	# shellcheck disable=SC2064
	trap "rm -rf '$tmp'" EXIT
	(cd "$targets_dir/$name" && find . "${build_inputs[@]}" -print0 | tar --null -T - -cf -) |
		tar -C "$ctx" -xf -
	if [[ -x $targets_dir/$name/prebuild ]]; then
		log "prebuild $name"
		(cd "$targets_dir/$name" && GO="$go" GOWORK=off GOTOOLCHAIN=local ./prebuild "$ctx") ||
			die "prebuild of $name failed"
	fi
	log "docker build $image"
	replaced=("$(image_id "$image")" "${replaced[@]}")
	local nocache=()
	((force)) && nocache=(--no-cache)
	if ! DOCKER_BUILDKIT=0 docker build --quiet "${nocache[@]}" --label "$hash_label=$hash" -t "$image" "$ctx" \
		>"$tmp/build.log" 2>&1; then
		cat "$tmp/build.log" >&2
		die "docker build $image failed"
	fi
	rm -rf "$tmp"
	trap - EXIT
	log "built $image ($(size_of "$image")) in $((SECONDS - start))s"
	smoke+=("$name")
}

# --- smoke check ------------------------------------------------------------------------

smoke_check() {
	local name=$1 image=whittle-fixture/$1:latest cid addr deadline port
	local -a extra=()
	if [[ -x $targets_dir/$name/smoke ]]; then
		(cd "$targets_dir/$name" && UPDATE_SPEC=$update_spec ./smoke "$image") || die "smoke check of $image failed"
		echo "OK $image (own smoke check)"
		return 0
	fi
	if [[ -f $targets_dir/$name/smoke-args ]]; then
		read -r -a extra < <(sed "s|@DIR@|$targets_dir/$name|g" "$targets_dir/$name/smoke-args")
	fi
	port=$(port_of "$name")
	[[ -n $port ]] || die "$targets_dir/$name/Dockerfile EXPOSEs no port"
	cid=$(docker run -d --label dev.whittle.fixture=smoke "${extra[@]}" -p "127.0.0.1::$port" "$image")
	# shellcheck disable=SC2064
	trap "docker rm -f '$cid' >/dev/null 2>&1 || true" EXIT
	addr=$(docker port "$cid" "$port/tcp" | grep -m1 '^127\.0\.0\.1:') ||
		die "$image: port $port is not published on 127.0.0.1"
	deadline=$((SECONDS + smoke_timeout))
	until curl -fsS -m 2 -o /dev/null "http://$addr/health" 2>/dev/null; do
		if [[ $(docker inspect --format '{{.State.Running}}' "$cid") != true ]]; then
			docker logs --tail 30 "$cid" >&2 || true
			die "$image exited before answering /health"
		fi
		((SECONDS < deadline)) || die "$image did not answer /health on $addr within ${smoke_timeout}s"
		sleep 0.2
	done
	if [[ -f $targets_dir/$name/openapi.json ]]; then
		check_served_spec "$name" "$cid" "$addr"
	fi
	docker rm -f "$cid" >/dev/null
	trap - EXIT
	echo "OK $image /health on $addr"
}

# check_served_spec NAME CID ADDR: the committed openapi.json must be what the service serves.
# JSON is compared (and pretty-printed for --update-spec) by the image's python3, so the
# host needs no JSON tool.
check_served_spec() {
	local name=$1 cid=$2 addr=$3 committed=$targets_dir/$1/openapi.json served
	served=$(curl -fsS -m 5 "http://$addr/openapi.json") || die "$name: GET /openapi.json failed"
	if ((update_spec)); then
		printf '%s' "$served" | docker exec -i "$cid" python3 -c \
			'import json,sys; print(json.dumps(json.load(sys.stdin), indent=2))' >"$committed.tmp"
		mv "$committed.tmp" "$committed"
		log "wrote $committed"
		return 0
	fi
	[[ -f $committed ]] || die "$name: $committed is missing (run with --update-spec)"
	{ cat "$committed"; printf '\0%s' "$served"; } | docker exec -i "$cid" python3 -c \
		'import json,sys; a,b=sys.stdin.read().split("\0"); sys.exit(json.loads(a)!=json.loads(b))' ||
		die "$name: $committed differs from the served /openapi.json (run with --update-spec)"
}

# --- main -------------------------------------------------------------------------------

force=0 smoke_all=0 update_spec=0
declare -a want=() built=() smoke=() replaced=()
for arg in "$@"; do
	case $arg in
	--force) force=1 ;;
	--smoke) smoke_all=1 ;;
	--update-spec) update_spec=1 smoke_all=1 ;;
	-h | --help) usage 0 ;;
	all) mapfile -t -O "${#want[@]}" want < <(all_targets) ;;
	-*) log "unknown option: $arg"; usage ;;
	*)
		[[ -f $targets_dir/$arg/Dockerfile ]] || die "unknown fixture $arg: no $targets_dir/$arg/Dockerfile"
		want+=("$arg")
		;;
	esac
done
((${#want[@]})) || mapfile -t want < <(all_targets)

"$repo/scripts/setup.sh"
go=$(command -v go || echo /usr/local/go/bin/go)

# One fixtures.sh at a time: parallel test runs would otherwise debootstrap twice.
exec 9>/run/whittle-fixtures.lock
if ! flock -n 9; then
	log "waiting for another fixtures.sh to finish"
	flock 9
fi

start=$SECONDS
build_base
needs_runtimes "${want[@]}" && build_runtimes
declare -A seen=()
for t in "${want[@]}"; do
	[[ -n ${seen[$t]:-} ]] && continue
	seen[$t]=1
	build_target "$t"
done
for t in "${smoke[@]}"; do
	smoke_check "$t"
done
# Drop the images the rebuilds replaced, now untagged (newest targets first, so that
# the old base is no longer anybody's parent); one still used by a container stays.
for id in "${replaced[@]}"; do
	[[ -n $id ]] || continue
	tags=$(docker image inspect --format '{{len .RepoTags}}' "$id" 2>/dev/null) || continue
	if [[ $tags == 0 ]]; then docker image rm "$id" >/dev/null 2>&1 || true; fi
done
((${#built[@]} + ${#smoke[@]})) && log "done in $((SECONDS - start))s"
exit 0
