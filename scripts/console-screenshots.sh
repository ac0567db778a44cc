#!/usr/bin/env bash
# Screenshots of every Console screen with the demo data set (3 client organizations, 12 techs, 9 domains, a locked
# tech, a pending device replacement, an import history), taken from the real app under Xvfb:
# docs/screenshots/console-<section>.png (console-techs.png shows the 2FA and lockout column, console-pending.png the
# device replacement, console-jit.png the just-in-time requests waiting and an open window), and console-first-run.png (a new Console that just created its
# local hub: Pending techs with the built-in All triplet's warning; section "first-run", which types into the setup
# dialog with xdotool and keeps the admin key in a private Secret Service, scripts/with-secret-service.sh), and
# console-authority-turn-on.png and console-authority-on.png (section "authority-on": the owner turns the signed
# authority on, its confirmation, then the section with the head's fingerprint).
# Needs xvfb-run, xdotool, imagemagick (scripts/deps.sh test). Usage: [SECTIONS="techs import"] scripts/console-screenshots.sh [OUTDIR]
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
all="pending jit techs import techgroups agentgroups rights triplets access agents agents-entra onboarding orgs admins seats policy authority authority-on audit auditstream invite first-run"

# first_run: a fresh Console creates a local hub for "Northwind IT" on loopback through its setup dialog, the
# recovery identity dialog is dismissed, and the screen a new admin starts on is captured. Coordinates are the
# window's, as laid out at 1180x760 (the Console's size), with the setup and recovery dialogs centred.
first_run() {
	local home id pid
	home=$(mktemp -d)
	XDG_CONFIG_HOME="$home/config" XDG_DATA_HOME="$home/data" scripts/with-secret-service.sh "$bin/console" &
	for _ in $(seq 1 100); do
		id=$(xdotool search --name '^Watchword Console$' 2>/dev/null | head -1 || true)
		[[ -n "$id" ]] && break
		sleep 0.2
	done
	[[ -n "$id" ]] || { echo "no Console window for first-run" >&2; rm -rf "$home"; exit 1; }
	sleep 3
	field() { xdotool mousemove --window "$id" "$1" "$2" click 1; sleep 0.3; xdotool key ctrl+a; xdotool type --delay 20 "$3"; }
	field 676 351 "Northwind IT"
	field 676 390 "nw"
	field 676 429 "127.0.0.1:18443"
	field 676 468 "https://127.0.0.1:18443"
	xdotool mousemove --window "$id" 589 508 click 1 # Create local hub
	sleep 5
	xdotool mousemove --window "$id" 589 531 click 1 # I have saved it (the recovery identity)
	sleep 2
	import -window "$id" "$out/console-first-run.png"
	pid=$(xdotool getwindowpid "$id")
	kill "$pid"
	wait 2>/dev/null || true
	rm -rf "$home"
	echo "$out/console-first-run.png"
}

# authority_on: the demo's owner turns the signed authority on; coordinates as laid out at 1180x760.
authority_on() {
	local id pid
	"$bin/console" -demo -section authority &
	pid=$!
	for _ in $(seq 1 100); do
		id=$(xdotool search --name '^Watchword Console$' 2>/dev/null | head -1 || true)
		[[ -n "$id" ]] && break
		sleep 0.2
	done
	[[ -n "$id" ]] || { echo "no Console window for authority-on" >&2; kill "$pid"; exit 1; }
	sleep 4
	xdotool mousemove --window "$id" 375 245 click 1 # Turn on the signed authority…
	sleep 2
	import -window "$id" "$out/console-authority-turn-on.png"
	xdotool mousemove --window "$id" 668 552 click 1 # Sign and publish
	sleep 3
	import -window "$id" "$out/console-authority-on.png"
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	echo "$out/console-authority-turn-on.png $out/console-authority-on.png"
}

# agents_entra: the agent enrolment form with entra picked (the fields a Microsoft 365 tenant's agent needs);
# coordinates as laid out at 1180x760.
agents_entra() {
	local id pid
	"$bin/console" -demo -section agents &
	pid=$!
	for _ in $(seq 1 100); do
		id=$(xdotool search --name '^Watchword Console$' 2>/dev/null | head -1 || true)
		[[ -n "$id" ]] && break
		sleep 0.2
	done
	[[ -n "$id" ]] || { echo "no Console window for agents-entra" >&2; kill "$pid"; exit 1; }
	sleep 4
	xdotool mousemove --window "$id" 748 580 click 1 # the driver picker
	sleep 1
	xdotool mousemove --window "$id" 710 742 click 1 # entra
	sleep 1
	xdotool mousemove --window "$id" 450 424 click 1 # the name field, moved up by the entra fields
	xdotool type --delay 20 "litware.onmicrosoft.com"
	sleep 1
	import -window "$id" "$out/console-agents-entra.png"
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	echo "$out/console-agents-entra.png"
}
for section in ${SECTIONS:-$all}; do
	if [[ "$section" == agents-entra ]]; then
		agents_entra
		continue
	fi
	if [[ "$section" == first-run ]]; then
		first_run
		continue
	fi
	if [[ "$section" == authority-on ]]; then
		authority_on
		continue
	fi
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
