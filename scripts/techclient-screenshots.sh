#!/usr/bin/env bash
# Runs the TechClient's real-window test under Xvfb with a throwaway Secret Service and keeps its screenshots in
# docs/screenshots (first run, pending, 2FA, 50 accounts, a revealed password, an account's previous passwords, a
# just-in-time request, pending and active, and its Temporary Access Pass; techclient.png, the list of 50, is the README's).
set -euo pipefail
cd "$(dirname "$0")/.."
export LANG=en_US.UTF-8 TECHCLIENT_SCREENSHOTS="${TECHCLIENT_SCREENSHOTS:-$PWD/docs/screenshots}"
mkdir -p "$TECHCLIENT_SCREENSHOTS"
exec xvfb-run -a -s '-screen 0 1280x800x24' scripts/with-secret-service.sh \
	go test -count=1 -run TestRealWindow -v ./techclient/screens/
