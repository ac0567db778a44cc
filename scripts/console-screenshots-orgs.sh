#!/usr/bin/env bash
# Screenshots of the Console screens of issue 12 items 1, 2 and 7 (organizations, console admins, seats) with the
# demo data set, taken from the real app under Xvfb as scripts/console-screenshots.sh does: docs/screenshots/console-<section>.png.
# Needs xvfb-run, xdotool, imagemagick (scripts/deps.sh test). Usage: scripts/console-screenshots-orgs.sh [OUTDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/screenshots}
mkdir -p "$out"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/console" ./console

if [[ -z "${WATCHWORD_IN_XVFB:-}" ]]; then
	exec env WATCHWORD_IN_XVFB=1 xvfb-run -a -s '-screen 0 1280x800x24' dbus-run-session -- "$0" "$@"
fi
export LANG=en_US.UTF-8 XDG_CONFIG_HOME="$bin/config" XDG_DATA_HOME="$bin/data"
for section in ${SECTIONS:-orgs admins seats}; do
	"$bin/console" -demo -section "$section" &
	pid=$!
	id=""
	for _ in $(seq 1 100); do
		id=$(xdotool search --name '^Watchword Console$' 2>/dev/null | head -1 || true)
		[[ -n "$id" ]] && break
		sleep 0.2
	done
	[[ -n "$id" ]] || { echo "no Console window for $section" >&2; kill "$pid"; exit 1; }
	sleep 4 # the demo hub fills and the first refresh lands
	import -window "$id" "$out/console-$section.png"
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	echo "$out/console-$section.png"
done

