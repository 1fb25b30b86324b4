#!/bin/bash
# e2e.sh: the end-to-end check a team keeps beside pgnotes, run by whittle with
#   --driver testdata/targets/pgnotes/e2e.sh
# against $WHITTLE_TARGET_URL. It creates a note, reads it back, renders it as
# Markdown and HTML, checks the tag counts and deletes it; it fails loudly.
set -euo pipefail
base=${WHITTLE_TARGET_URL:?WHITTLE_TARGET_URL is not set}
say() { printf 'e2e: %s\n' "$*"; }
req() { # METHOD PATH [BODY] -> body on stdout; fails on a status >= 400
	local out status
	out=$(mktemp)
	status=$(curl -sS -o "$out" -w '%{http_code}' -X "$1" -H 'Content-Type: application/json' \
		${3:+--data "$3"} "$base$2")
	cat "$out"
	rm -f "$out"
	if ((status >= 400)); then
		say "$1 $2 answered $status" >&2
		return 1
	fi
}
req GET /health >/dev/null
id=$(req POST /notes '{"title": "Driver note", "body": "written by e2e.sh", "tag": "drv"}' |
	grep -o '"id": *[0-9]*' | grep -o '[0-9]*$')
say "created note $id"
req GET "/notes/$id" | grep -q 'written by e2e.sh'
req GET "/notes/$id/render?format=md" | grep -q 'Driver note'
req GET "/notes/$id/render?format=html" | grep -q 'note-'
req GET /tags | grep -q '"drv"'
req DELETE "/notes/$id" >/dev/null
say "all checks passed"
