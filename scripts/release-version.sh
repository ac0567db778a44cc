#!/usr/bin/env bash
# release-version.sh prints the release's version facts as shell assignments, for `make release`:
#
#   VERSION=0.1.0-dev.57+gaa61f32   what --version prints and the artifact names carry
#   APP_VERSION=0.1.0               x.y.z only: Windows version info and fyne package want digits
#   APP_BUILD=57                    the commit count, so a later build always has a higher build number
#   COMMIT=aa61f32
#
# A commit tagged vX.Y.Z is release X.Y.Z. Any other commit is a development build of the version in the
# TechClient's FyneApp.toml; ".dirty" marks a working tree with uncommitted changes. FyneApp.toml's Build is
# never used or bumped: the Makefile drives the version, so packaging leaves the tree as committed.
# VERSION in the environment (make release VERSION=1.2.0-rc.1) is taken as it is.
set -euo pipefail
cd "$(dirname "$0")/.."

commit=$(git rev-parse --short=7 HEAD)
build=$(git rev-list --count HEAD)
if [ -n "${VERSION:-}" ]; then
	version=$VERSION
elif tag=$(git describe --tags --exact-match --match 'v[0-9]*' HEAD 2>/dev/null); then
	version=${tag#v}
else
	base=$(sed -n 's/^Version *= *"\([0-9][0-9.]*\)".*/\1/p' FyneApp.toml | head -1)
	version="${base:-0.0.0}-dev.${build}+g${commit}"
fi
# Only tracked files count: other people's scratch files do not make a release dirty.
if [ -z "${VERSION:-}" ] && [ -n "$(git status --porcelain --untracked-files=no)" ]; then
	if [[ $version == *+* ]]; then version="$version.dirty"; else version="$version+g$commit.dirty"; fi
fi
app=${version%%[-+]*}
case $app in
*.*.*) ;;
*.*) app=$app.0 ;;
*) app=$app.0.0 ;;
esac
printf 'VERSION=%s\nAPP_VERSION=%s\nAPP_BUILD=%s\nCOMMIT=%s\n' "$version" "$app" "$build" "$commit"
