#!/usr/bin/env bash
# deps.sh installs the Debian packages a Watchword build or test needs, only when some are missing, so that
# `make test` and `make demo` work on a brand-new machine and cost nothing on a warm one.
#
#   scripts/deps.sh build   Fyne's cgo build libraries
#   scripts/deps.sh test    build + Xvfb, screenshots, input automation, a real Secret Service, rsyslog with TLS
#                           (the audit stream's collector, which its test starts on loopback itself), HAProxy
#                           (the load balancer that speaks the PROXY protocol to the hub; its test runs its own)
#   scripts/deps.sh demo    build + Xvfb for a screen-less machine
set -euo pipefail

build=(libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev libgl1-mesa-dev pkg-config gcc)
gui=(xvfb xauth xdotool imagemagick x11-utils)
keyring=(gnome-keyring dbus-user-session dbus-x11 libsecret-tools)
siem=(rsyslog rsyslog-gnutls)
lb=(haproxy)

case "${1:-test}" in
build) want=("${build[@]}") ;;
demo) want=("${build[@]}" "${gui[@]}") ;;
test) want=("${build[@]}" "${gui[@]}" "${keyring[@]}" "${siem[@]}" "${lb[@]}") ;;
*) echo "deps.sh: unknown set ${1}" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# A package's own daemons must not start on install and take ports the tests use.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
	$sudo chmod +x /usr/sbin/policy-rc.d
	trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt="$sudo apt-get -o DPkg::Lock::Timeout=120 -y -q --no-install-recommends"
$apt install "${missing[@]}" >/dev/null 2>&1 || { $sudo apt-get -o DPkg::Lock::Timeout=120 -q update >/dev/null; $apt install "${missing[@]}" >/dev/null; }
