#!/usr/bin/env bash
# release.sh builds everything a user downloads into dist/ (`make release` runs it with no arguments):
#
#   watchword-techclient_V_windows_amd64.exe, watchword-console_V_windows_amd64.exe
#       GUI executables with icon, version info and manifest (fyne package, cgo through Debian's mingw-w64)
#   watchword-techclient_V_linux_amd64.tar.xz, watchword-console_V_linux_amd64.tar.xz
#       fyne package archives: binary, .desktop file, icon, Makefile for `make user-install`
#   watchword-hub_V_OS_ARCH[.exe], watchword-agent_V_OS_ARCH[.exe]
#       pure Go, for linux/amd64, linux/arm64, windows/amd64 and darwin/arm64
#   watchword-hub.service, watchword-agent.service, install.md
#   watchword_V_deps.txt   `go version -m` of every binary: module paths, versions and sums (an SBOM-like list)
#   SHA256SUMS             over every file above
#
# Every binary is stamped with the version (shared/version, --version). The build runs in a throw-away copy of
# the tracked files, never in the checkout: fyne package writes fyne.syso, a metadata .go file and the
# executable into the package it builds and bumps Build in FyneApp.toml, and none of that may reach the tree or
# a concurrent `go build` there. The Go build cache is shared, so a second release costs seconds; the first
# Windows cgo build takes about 6 minutes on two cores.
#
#   scripts/release.sh [step...]   steps: headless gui-windows gui-linux extras deps sums check smoke
#                                  (default: all of them, after emptying dist/)
#
# Environment: DIST (default dist), RELEASE_REF (build a commit, e.g. HEAD, instead of the working tree's
# tracked files), VERSION (default: from git, see scripts/release-version.sh), GO, FYNE,
# SMOKE_DIR (where the smoke test leaves its screenshot; default bin/release-smoke).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
GO=${GO:-go}
FYNE=${FYNE:-$($GO env GOPATH)/bin/fyne}
DIST=${DIST:-$ROOT/dist}
case $DIST in /*) ;; *) DIST=$ROOT/$DIST ;; esac
SMOKE_DIR=${SMOKE_DIR:-$ROOT/bin/release-smoke}
MINGW_CC=x86_64-w64-mingw32-gcc
HEADLESS_PLATFORMS=(linux/amd64 linux/arm64 windows/amd64 darwin/arm64)
# app directory : artifact base name
GUI_APPS=(techclient:watchword-techclient console:watchword-console)

log() { printf '%s release: %s\n' "$(date +%T)" "$*" >&2; }
die() { log "$*"; exit 1; }
eval "$(scripts/release-version.sh)"
case $VERSION in *[!0-9A-Za-z.+-]*) die "VERSION $VERSION: only letters, digits and . + - please" ;; esac
VPKG=github.com/watchword/watchword/shared/version
# GOFLAGS splits on spaces, so each -X is its own -ldflags=…; fyne package folds them into its own -ldflags.
STAMP_GOFLAGS="-ldflags=-X=$VPKG.Version=$VERSION -ldflags=-X=$VPKG.Commit=$COMMIT"
STAMP_LDFLAGS="-X $VPKG.Version=$VERSION -X $VPKG.Commit=$COMMIT"

timed() { # timed NAME CMD...: runs CMD and logs how long it took (set -e ends the release when it fails)
	local name=$1 t0=$SECONDS
	shift
	"$@"
	log "$name: $((SECONDS - t0)) s"
}
trap 'log "failed: line $LINENO: $BASH_COMMAND"' ERR

STAGE=
cleanup() { [ -z "$STAGE" ] || rm -rf "$STAGE"; }
trap cleanup EXIT

# stage copies the sources to build into a temporary directory: the working tree's tracked files (what
# release-version.sh calls dirty or not), or the commit RELEASE_REF.
stage() {
	[ -z "$STAGE" ] || return 0
	STAGE=$(mktemp -d "${TMPDIR:-/tmp}/watchword-release.XXXXXX")
	if [ -n "${RELEASE_REF:-}" ]; then
		git archive --format=tar "$RELEASE_REF" | tar -x -C "$STAGE/"
	else
		# A tracked file deleted in the working tree is simply not copied.
		git ls-files -z | tar -c --null -T - --ignore-failed-read -f - 2>/dev/null | tar -x -C "$STAGE/"
	fi
	[ -f "$STAGE/go.mod" ] || die "staging the sources failed"
	# fyne package drops GOFLAGS' -ldflags -X on its Windows path, so the staged copy (never the checkout) also
	# carries the stamp as source; -X still sets the same values for the plain go builds.
	cat >"$STAGE/shared/version/zz_release.go" <<GO
package version

func init() { Version, Commit = "$VERSION", "$COMMIT" }
GO
	log "sources staged in $STAGE (version $VERSION)"
}

headless() {
	stage
	local p os arch ext cmd
	for p in "${HEADLESS_PLATFORMS[@]}"; do
		os=${p%/*} arch=${p#*/} ext=
		[ "$os" = windows ] && ext=.exe
		for cmd in watchword-hub watchword-agent; do
			(cd "$STAGE" && CGO_ENABLED=0 GOOS=$os GOARCH=$arch $GO build -trimpath -ldflags "-s -w $STAMP_LDFLAGS" \
				-o "$DIST/${cmd}_${VERSION}_${os}_${arch}$ext" "./console/server/cmd/$cmd")
		done
	done
}

# fyne_package APP OS: runs fyne package in the staged app directory, with the FyneApp.toml that describes the
# app there (the TechClient's lives at the repository root, its icon path relative to it).
fyne_package() {
	local app=$1 os=$2
	stage
	[ -x "$FYNE" ] || die "fyne CLI not found at $FYNE (make installs it)"
	if [ ! -f "$STAGE/$app/FyneApp.toml" ]; then
		sed 's#^Icon *= *"\([^/.][^"]*\)"#Icon = "../\1"#' "$STAGE/FyneApp.toml" >"$STAGE/$app/FyneApp.toml"
	fi
	(
		cd "$STAGE/$app"
		export GOFLAGS="${GOFLAGS:+$GOFLAGS }$STAMP_GOFLAGS"
		if [ "$os" = windows ]; then export GOOS=windows GOARCH=amd64 CC=$MINGW_CC; fi
		$FYNE package -os "$os" --release --app-version "$APP_VERSION" --app-build "$APP_BUILD"
	)
}

gui_windows() {
	command -v $MINGW_CC >/dev/null || install_packages gcc-mingw-w64-x86-64
	local a app base name
	for a in "${GUI_APPS[@]}"; do
		app=${a%%:*} base=${a#*:}
		timed "fyne package -os windows $app" fyne_package "$app" windows
		name=$(toml_name "$STAGE/$app/FyneApp.toml")
		mv "$STAGE/$app/$name.exe" "$DIST/${base}_${VERSION}_windows_amd64.exe"
	done
}

gui_linux() {
	local a app base name
	for a in "${GUI_APPS[@]}"; do
		app=${a%%:*} base=${a#*:}
		timed "fyne package -os linux $app" fyne_package "$app" linux
		name=$(toml_name "$STAGE/$app/FyneApp.toml")
		mv "$STAGE/$app/$name.tar.xz" "$DIST/${base}_${VERSION}_linux_amd64.tar.xz"
	done
}

toml_name() { sed -n 's/^Name *= *"\(.*\)"/\1/p' "$1" | head -1; }

extras() {
	cp scripts/watchword-hub.service scripts/watchword-agent.service "$DIST/"
	cp docs/install.md "$DIST/install.md"
}

# deps writes the SBOM-like list: go version -m of every binary, the Linux GUI ones taken out of their archives.
deps() {
	local out="$DIST/watchword_${VERSION}_deps.txt" f tmp bin
	tmp=$(mktemp -d)
	{
		echo "# Watchword $VERSION ($COMMIT): the Go modules linked into each binary, from go version -m."
		for f in "$DIST"/*; do
			case $f in
			*.service | *.md | *.txt | */SHA256SUMS) continue ;;
			*.tar.xz)
				rm -rf "${tmp:?}"/*
				tar -xJf "$f" -C "$tmp"
				bin=$(find "$tmp" -path '*/bin/*' -type f | head -1)
				[ -n "$bin" ] || die "no binary in $f"
				echo
				echo "## $(basename "$f") ($(basename "$bin"))"
				$GO version -m "$bin" | sed "s#^$tmp/##"
				;;
			*)
				echo
				echo "## $(basename "$f")"
				$GO version -m "$f" | sed "s#^$DIST/##"
				;;
			esac
		done
	} >"$out"
	rm -rf "$tmp"
}

sums() {
	(cd "$DIST" && find . -maxdepth 1 -type f ! -name SHA256SUMS ! -name '.*' -printf '%f\n' | LC_ALL=C sort |
		xargs -d '\n' sha256sum >SHA256SUMS && sha256sum --quiet -c SHA256SUMS)
}

# check fails the release when an artifact is missing, has the wrong format or does not report its version.
check() {
	local f want desc errs=0 native
	declare -A formats=(
		[linux_amd64]='ELF 64-bit LSB executable, x86-64'
		[linux_arm64]='ELF 64-bit LSB executable, ARM aarch64'
		[darwin_arm64]='Mach-O 64-bit arm64 executable'
		[windows_amd64.exe]='PE32+ executable (console) x86-64'
		[linux_amd64.tar.xz]='XZ compressed data'
	)
	for f in watchword-hub watchword-agent; do
		for p in "${HEADLESS_PLATFORMS[@]}"; do
			want=${p/\//_}
			[ "${p%/*}" = windows ] && want=$want.exe
			expect "${f}_${VERSION}_$want" "${formats[$want]}" || errs=$((errs + 1))
		done
	done
	for a in "${GUI_APPS[@]}"; do
		expect "${a#*:}_${VERSION}_windows_amd64.exe" 'PE32+ executable (GUI) x86-64' || errs=$((errs + 1))
		expect "${a#*:}_${VERSION}_linux_amd64.tar.xz" "${formats[linux_amd64.tar.xz]}" || errs=$((errs + 1))
	done
	for f in SHA256SUMS "watchword_${VERSION}_deps.txt" watchword-hub.service watchword-agent.service install.md; do
		[ -s "$DIST/$f" ] || { log "missing $f"; errs=$((errs + 1)); }
	done
	native="$(go env GOOS)_$(go env GOARCH)"
	for f in watchword-hub watchword-agent; do
		desc=$("$DIST/${f}_${VERSION}_$native" --version 2>&1) || true
		[ "$desc" != "${desc#"$f $VERSION ($COMMIT"}" ] || { log "$f --version: $desc"; errs=$((errs + 1)); }
	done
	for f in "$DIST"/watchword-hub_* "$DIST"/watchword-agent_*; do # stamped, whatever the platform
		grep -aqF "$VERSION" "$f" || { log "$(basename "$f"): version $VERSION not stamped"; errs=$((errs + 1)); }
	done
	# The Windows GUI executables carry it in their version resource (UTF-16), as X.Y.Z.BUILD.
	local winver
	winver=$(printf '%s' "$APP_VERSION.$APP_BUILD" | sed 's/[.]/\\./g; s/\(\\\.\|.\)/\1\\x00/g')
	for a in "${GUI_APPS[@]}"; do
		f="$DIST/${a#*:}_${VERSION}_windows_amd64.exe"
		grep -aqP "$winver" "$f" || { log "$(basename "$f"): no version resource $APP_VERSION.$APP_BUILD"; errs=$((errs + 1)); }
		grep -aqF "$VERSION" "$f" || { log "$(basename "$f"): version $VERSION not stamped (--version)"; errs=$((errs + 1)); }
	done
	[ $errs -eq 0 ] || die "$errs artifact problem(s)"
	(cd "$DIST" && file -- *)
}

expect() { # expect FILE DESCRIPTION
	local got
	[ -f "$DIST/$1" ] || { log "missing $1"; return 1; }
	got=$(file -b "$DIST/$1")
	[[ $got == "$2"* ]] || { log "$1: $got, want $2"; return 1; }
}

smoke() { scripts/release-smoke.sh "$DIST/watchword-techclient_${VERSION}_linux_amd64.tar.xz" "$SMOKE_DIR"; }

install_packages() {
	local sudo=
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	log "installing $*"
	DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=120 -y -q --no-install-recommends install "$@" >/dev/null ||
		{ $sudo apt-get -o DPkg::Lock::Timeout=120 -q update >/dev/null &&
			DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=120 -y -q --no-install-recommends install "$@" >/dev/null; }
}

# main is called on the last line, so bash has read the whole file before anything runs: editing the script
# during a long release cannot change what the running one does.
main() {
	local steps=("$@") s t0=$SECONDS
	if [ ${#steps[@]} -eq 0 ]; then
		steps=(headless gui-windows gui-linux extras deps sums check smoke)
		rm -rf "$DIST"
	fi
	mkdir -p "$DIST"
	command -v file >/dev/null || install_packages file
	for s in "${steps[@]}"; do
		case $s in
		headless | gui-windows | gui-linux | extras | deps | sums | check | smoke) timed "$s" "${s/-/_}" ;;
		*) die "unknown step $s" ;;
		esac
	done
	log "done in $((SECONDS - t0)) s: $DIST (version $VERSION)"
}

main "$@"
