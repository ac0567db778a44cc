#!/usr/bin/env bash
# demo.sh starts Watchword on one machine: the Console and a TechClient, side by side.
#
# Without a display it starts a private Xvfb first. DEMO_SECONDS=N closes the windows after N seconds (default:
# wait until you close them); DEMO_SCREENSHOTS=DIR saves a PNG of each window there.
set -euo pipefail
cd "$(dirname "$0")/.."
# The apps talk D-Bus (notifications, keyring): give them a session bus that ends with the demo, or an
# auto-launched one outlives it.
if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ] && command -v dbus-run-session >/dev/null; then
	exec dbus-run-session -- "$0" "$@"
fi
bin=bin
export LANG=en_US.UTF-8

cleanup() {
	# The apps first, then the X server under them, so they close cleanly.
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill "${pids[i]}" 2>/dev/null || true
		wait "${pids[i]}" 2>/dev/null || true
	done
	[ -n "${demo_home:-}" ] && rm -rf "$demo_home"
	return 0
}
pids=()
trap cleanup EXIT

if [ -z "${DISPLAY:-}" ]; then
	for n in $(seq 90 120); do [ -e "/tmp/.X11-unix/X$n" ] || break; done
	Xvfb ":$n" -screen 0 1600x900x24 -nolisten tcp >/dev/null 2>&1 &
	pids+=($!)
	export DISPLAY=":$n"
	for _ in $(seq 50); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done
	echo "demo: no display, started Xvfb on $DISPLAY (screenshots with DEMO_SCREENSHOTS=DIR)"
fi

# A private config dir so the demo never touches a real installation's preferences or keys.
demo_home=$(mktemp -d /tmp/watchword-demo.XXXXXX)
export XDG_CONFIG_HOME="$demo_home/config" XDG_DATA_HOME="$demo_home/data"

"$bin/console" &
console_pid=$!
pids+=($!)
"$bin/techclient" &
techclient_pid=$!
pids+=($!)

shoot() { # shoot TITLE FILE X: show the window titled TITLE at column X, save a screenshot as FILE
	local id
	id=$(timeout 30 xdotool search --sync --onlyvisible --name "^$1\$" | head -1) || { echo "demo: window '$1' did not open" >&2; return 1; }
	echo "demo: window '$1' is open (id $id)"
	xdotool windowmove "$id" "$3" 0 windowraise "$id" 2>/dev/null || true
	if [ -n "${DEMO_SCREENSHOTS:-}" ]; then
		mkdir -p "$DEMO_SCREENSHOTS"
		sleep 1 # let the first frame render
		import -window "$id" "$DEMO_SCREENSHOTS/$2"
		echo "demo: saved $DEMO_SCREENSHOTS/$2"
	fi
}
shoot "Watchword Console" console.png 0
shoot "Watchword TechClient" techclient.png 1040

if [ -n "${DEMO_SECONDS:-}" ]; then
	sleep "$DEMO_SECONDS"
else
	echo "demo: close the windows (or press Ctrl-C) to stop"
	wait "$console_pid" "$techclient_pid" 2>/dev/null || true
fi
