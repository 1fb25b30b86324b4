#!/usr/bin/env bash
# sarif-schema.sh — puts the official SARIF 2.1.0 JSON schema where report's tests look for it.
#
# The schema is published by the SARIF maintainers (OASIS SARIF TC members at Microsoft) in the
# npm package @microsoft/jest-sarif (MIT), as lib/schemas/sarif-2.1.0-rtm.5.json. It is not
# committed here: this script fetches the package tarball with npm (npm pack; curl from the
# registry when npm is missing), checks it
# against the registry's published integrity (pinned below), extracts the one schema file,
# checks it too, and installs it in a cache outside the repository. Idempotent: when the file
# is there with the right digest it only checks, in milliseconds.
#
# Environment:
#   WHITTLE_CACHE_DIR  cache directory (default /var/cache/whittle); the schema goes to
#                      $WHITTLE_CACHE_DIR/sarif-2.1.0-rtm.5.json, where report's tests read it
set -euo pipefail

readonly cache_dir="${WHITTLE_CACHE_DIR:-/var/cache/whittle}"
readonly name=sarif-2.1.0-rtm.5.json
readonly package=@microsoft/jest-sarif@1.0.0-beta.0
# dist.integrity of @microsoft/jest-sarif@1.0.0-beta.0 as the registry publishes it.
readonly tarball_sha512=A1fOhPd6Ic5iDk4F9YPw1qNB4XF+7+IviR7xl8r2F6QzQkx5cpY9LsGk2rExiFIEcBbjpVnSmwWGBukASkiQ9A==
readonly tarball_url=https://registry.npmjs.org/@microsoft/jest-sarif/-/jest-sarif-1.0.0-beta.0.tgz
readonly member=package/lib/schemas/$name
readonly schema_sha256=2d99159ae54a3eea97f81781cff48780548657c35949f4b7f25e99a2ba4de4f8

log() { printf 'sarif-schema: %s\n' "$*" >&2; }
die() { printf 'sarif-schema: error: %s\n' "$*" >&2; exit 1; }

dest=$cache_dir/$name
if [[ -f $dest ]] && sha256sum --quiet -c - <<<"$schema_sha256  $dest" 2>/dev/null; then
	exit 0
fi
for cmd in tar sha256sum openssl base64; do
	command -v "$cmd" >/dev/null 2>&1 || die "$cmd is needed"
done
command -v npm >/dev/null 2>&1 || command -v curl >/dev/null 2>&1 || die "npm or curl is needed (apt-get install curl)"
mkdir -p "$cache_dir" || die "cannot create $cache_dir (run as root, or set WHITTLE_CACHE_DIR)"
tmp=$(mktemp -d "$cache_dir/.tmp-sarif-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log "fetching $package"
if command -v npm >/dev/null 2>&1; then
	tgz=$(cd "$tmp" && timeout 300 npm pack --silent "$package" 2>"$tmp/npm.log" | tail -n 1) ||
		{ tail -n 20 "$tmp/npm.log" >&2; die "npm pack $package failed"; }
	[[ -n $tgz && -f $tmp/$tgz ]] || die "npm pack $package wrote no tarball"
	mv "$tmp/$tgz" "$tmp/package.tgz"
else
	curl -fsSL --retry 3 -m 300 -o "$tmp/package.tgz" "$tarball_url" || die "fetching $tarball_url failed"
fi
got=$(openssl dgst -sha512 -binary "$tmp/package.tgz" | base64 -w0)
[[ $got == "$tarball_sha512" ]] || die "tarball digest sha512-$got, want sha512-$tarball_sha512: refusing it"
tar -xzf "$tmp/package.tgz" -C "$tmp" "$member" || die "$member is not in the tarball"
sha256sum --quiet -c - <<<"$schema_sha256  $tmp/$member" || die "$name digest differs from the pinned one: refusing it"
chmod 0644 "$tmp/$member"
mv -f "$tmp/$member" "$dest"
log "installed $dest"
