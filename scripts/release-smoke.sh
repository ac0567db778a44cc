#!/usr/bin/env bash
# release-smoke.sh ARCHIVE [OUTDIR] starts a Linux desktop app exactly as a user gets it from dist/: it unpacks
# the fyne package archive into a temporary directory, checks it holds the binary, the .desktop file and the
# icon, starts the binary under Xvfb (inside its own D-Bus session, with an empty home, as on a first start),
# waits for its window, and leaves a screenshot in OUTDIR (default bin/release-smoke). Exit status 1 when the
# window does not open within 60 s or the app dies first.
set -euo pipefail
archive=$(realpath "$1")
out=${2:-bin/release-smoke}
mkdir -p "$out"
out=$(realpath "$out")

if [ -z "${SMOKE_INNER:-}" ]; then
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/watchword-smoke.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	mkdir -p "$tmp/root" "$tmp/home" "$tmp/run"
	chmod 0700 "$tmp/run"
	tar -xJf "$archive" -C "$tmp/root"
	bin=$(find "$tmp/root" -path '*/bin/*' -type f -perm -u+x | head -1)
	desktop=$(find "$tmp/root" -name '*.desktop' | head -1)
	icon=$(find "$tmp/root" -path '*/share/*' -name '*.png' | head -1)
	for f in bin desktop icon; do
		[ -n "${!f}" ] || { echo "release-smoke: no $f in $archive" >&2; exit 1; }
	done
	grep -q "^Exec=" "$desktop" || { echo "release-smoke: $desktop has no Exec line" >&2; exit 1; }
	title=$(sed -n 's/^Name=//p' "$desktop" | head -1)
	export SMOKE_INNER=1 SMOKE_BIN=$bin SMOKE_TITLE=$title SMOKE_OUT=$out/$(basename "$bin")-linux.png
	export HOME=$tmp/home XDG_RUNTIME_DIR=$tmp/run XDG_CONFIG_HOME=$tmp/home/.config XDG_DATA_HOME=$tmp/home/.local/share
	export LANG=en_US.UTF-8
	run=(xvfb-run -a -s '-screen 0 1280x800x24')
	if command -v dbus-run-session >/dev/null; then run+=(dbus-run-session --); fi
	exec "${run[@]}" "$0" "$archive" "$out"
fi

# Inside Xvfb and the D-Bus session.
"$SMOKE_BIN" >"$SMOKE_OUT.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
id=
for _ in $(seq 1 120); do
	kill -0 $pid 2>/dev/null || { echo "release-smoke: $SMOKE_BIN exited; its output:" >&2; cat "$SMOKE_OUT.log" >&2; exit 1; }
	id=$(xdotool search --onlyvisible --name "^$SMOKE_TITLE\$" 2>/dev/null | head -1) && [ -n "$id" ] && break
	sleep 0.5
done
[ -n "$id" ] || { echo "release-smoke: window '$SMOKE_TITLE' did not open in 60 s" >&2; exit 1; }
sleep 4 # let the window settle at its size and render
import -window "$id" "$SMOKE_OUT"
kill -0 $pid 2>/dev/null || { echo "release-smoke: $SMOKE_BIN died after opening its window" >&2; cat "$SMOKE_OUT.log" >&2; exit 1; }
rm -f "$SMOKE_OUT.log"
echo "release-smoke: '$SMOKE_TITLE' from $(basename "$1") is up; screenshot $SMOKE_OUT" >&2
