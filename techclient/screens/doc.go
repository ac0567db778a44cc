// Package screens holds the TechClient's real-window test: the built binary under X (Xvfb in `make test`),
// driven with xdotool against an in-process hub, with screenshots of each screen. It has no code of its own.
//
//	TECHCLIENT_SCREENSHOTS=docs/screenshots scripts/techclient-screenshots.sh
package screens
