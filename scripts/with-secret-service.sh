#!/usr/bin/env bash
# with-secret-service.sh CMD [ARGS...]
#
# Runs CMD with a real, unlocked Secret Service (gnome-keyring) on a private
# D-Bus session bus, then stops it, and exits with CMD's status. `make test`
# runs `go test ./...` through it so the keystore is tested against the real
# thing (see shared/notes/fyne-and-keyring.md for the recipe's origin).
#
# Needs: dbus-run-session and dbus-send (dbus, dbus-user-session), and
# gnome-keyring-daemon (gnome-keyring). Debian:
#   apt-get install -y --no-install-recommends gnome-keyring dbus-user-session libsecret-tools dbus-x11
# If they are missing, or the daemon does not come up within 10 seconds, CMD
# still runs, without a Secret Service, after a warning on stderr: the keyring
# test then skips, or fails when CI=true.
#
# HOME and XDG_RUNTIME_DIR point at fresh 0700 temporary directories so the
# user's own keyring is never touched. Every other variable passes through;
# Go's cache and module paths are pinned first because they default to
# directories under HOME.
set -euo pipefail

if [ "${1-}" != "--inside-session" ]; then
	if [ $# -eq 0 ]; then
		echo "usage: $0 CMD [ARGS...]" >&2
		exit 2
	fi
	if command -v go >/dev/null 2>&1; then
		GOCACHE="${GOCACHE:-$(go env GOCACHE)}"
		GOMODCACHE="${GOMODCACHE:-$(go env GOMODCACHE)}"
		GOPATH="${GOPATH:-$(go env GOPATH)}"
		export GOCACHE GOMODCACHE GOPATH
	fi
	if ! command -v dbus-run-session >/dev/null 2>&1 ||
		! command -v gnome-keyring-daemon >/dev/null 2>&1 ||
		! command -v dbus-send >/dev/null 2>&1; then
		echo "with-secret-service: dbus-run-session, dbus-send or gnome-keyring-daemon missing; running without a Secret Service" >&2
		exec "$@"
	fi
	tmp="$(mktemp -d "${TMPDIR:-/tmp}/ww-secret-service.XXXXXX")"
	trap 'rm -rf "$tmp"' EXIT
	mkdir -m 0700 "$tmp/home" "$tmp/run"
	status=0
	HOME="$tmp/home" XDG_RUNTIME_DIR="$tmp/run" WW_SS_TMP="$tmp" \
		DBUS_SESSION_BUS_ADDRESS= \
		dbus-run-session -- "$0" --inside-session "$@" || status=$?
	exit "$status"
fi

# Inside the private session bus.
shift
tmp="$WW_SS_TMP"
unset WW_SS_TMP

# The login keyring's password, on the daemon's stdin; it is a throwaway
# keyring in a temporary HOME.
printf 'watchword-test-keyring' >"$tmp/password"
gnome-keyring-daemon --foreground --unlock --components=secrets \
	<"$tmp/password" >"$tmp/daemon.log" 2>&1 &
daemon=$!

stop_daemon() {
	if kill -0 "$daemon" 2>/dev/null; then
		kill "$daemon" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$daemon" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$daemon" 2>/dev/null || true
	fi
	wait "$daemon" 2>/dev/null || true
}
trap stop_daemon EXIT
trap 'stop_daemon; exit 130' INT
trap 'stop_daemon; exit 143' TERM

ready=no
for _ in $(seq 100); do
	if ! kill -0 "$daemon" 2>/dev/null; then
		break
	fi
	if timeout 2 dbus-send --session --print-reply --dest=org.freedesktop.DBus / \
		org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
		grep -q 'boolean true'; then
		ready=yes
		break
	fi
	sleep 0.1
done
rm -f "$tmp/password"

if [ "$ready" != yes ]; then
	echo "with-secret-service: gnome-keyring-daemon did not provide org.freedesktop.secrets within 10s; running without it" >&2
	sed 's/^/with-secret-service: daemon: /' "$tmp/daemon.log" >&2 || true
	stop_daemon
else
	export WATCHWORD_SECRET_SERVICE=1
fi

status=0
"$@" || status=$?
stop_daemon
trap - EXIT
exit "$status"
