# Watchword's build and test entry points. `make test` and `make demo` each do all their own set-up on a fresh
# Debian machine: apt packages when missing (scripts/deps.sh), Go modules, the fyne CLI, real test targets.

SHELL := /bin/bash
GO ?= go
BIN := bin
FYNE_TOOLS := fyne.io/tools/cmd/fyne@v1.7.4
GOBIN_DIR := $(shell $(GO) env GOPATH)/bin
FYNE := $(GOBIN_DIR)/fyne
TARGETS_DIR ?= /tmp/watchword-targets
export WATCHWORD_TARGETS_DIR := $(TARGETS_DIR)
export WATCHWORD_TARGETS_ENV := $(TARGETS_DIR)/targets.env
# Fyne logs a locale parse error under C.UTF-8.
export LANG := en_US.UTF-8
TEST_TIMEOUT ?= 12m

.PHONY: all build gui headless test e2e demo lint bundle screenshots deps targets-start targets-stop package clean soak bench

all: build

deps:
	@scripts/deps.sh test

# The desktop apps need cgo and GL: built once per run, their cache reused by the tests that start them.
gui: deps
	$(GO) build -o $(BIN)/ ./techclient ./console

# The hub and the agent are pure Go: no Fyne, no cgo, no GL, so they run on servers and domain controllers.
headless:
	CGO_ENABLED=0 $(GO) build -o $(BIN)/ ./console/server/cmd/...

build: gui headless

# Every test: unit, real Secret Service, real targets, real windows under Xvfb. Ends with go test's summary lines.
# Targets that were already running (a developer's own session) are left running; those it started, it stops.
# TestReplicas starts and stops its own PostgreSQL cluster (scripts/pgcluster.sh); the stop after go test is for a
# test binary that died (a timeout) before its cleanup ran.
# The store's conformance suite runs on SQLite and on the targets' PostgreSQL within ./...; the hub's whole suite
# then runs a second time with its store on PostgreSQL (hubtest's WATCHWORD_HUB_TEST_DB, a schema per test).
test: deps build
	@set -o pipefail; rc=0; started=; \
	scripts/targets.sh status >/dev/null 2>&1 || { scripts/targets.sh start && started=1; } || exit 1; \
	xvfb-run -a -s '-screen 0 1280x800x24' scripts/with-secret-service.sh \
		$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./... || rc=$$?; \
	scripts/pgcluster.sh stop >/dev/null 2>&1 || true; \
	pg=$$(. $(WATCHWORD_TARGETS_ENV) && echo "$$PG_DSN"); \
	echo "the hub's suite again, on PostgreSQL ($$pg)"; \
	WATCHWORD_HUB_TEST_DB="$$pg" $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./console/server/hub/ || rc=$$?; \
	[ -z "$$started" ] || scripts/targets.sh stop >/dev/null 2>&1 || true; \
	exit $$rc

# The co-managed tech guide's story end to end (console/e2e, also run by make test): the real watchword-hub and watchword-agent
# binaries against the real Samba AD DC, SSH host and OpenLDAP and a Graph test server, driving the TechClient and Console view-models.
# One line per step with its latency, then "e2e: 12 passed, 0 failed". Starts the targets like test does.
e2e: deps
	@set -o pipefail; rc=0; started=; \
	scripts/targets.sh status >/dev/null 2>&1 || { scripts/targets.sh start && started=1; } || exit 1; \
	$(GO) test -count=1 -timeout 5m -run '^TestE2E$$' ./console/e2e/ || rc=$$?; \
	[ -z "$$started" ] || scripts/targets.sh stop >/dev/null 2>&1 || true; \
	exit $$rc

# The performance tables (docs/performance.md and its scaling plot), measured in one run against the real targets:
# the product's rows, then the peers beside it (scripts/bench/peers, a Go module of its own: Vault's dependencies stay
# out of the product's go.mod), then the scaling section. See scripts/bench. Like test, it starts the targets when
# they are down and stops only those it started.
bench: deps
	@set -o pipefail; rc=0; started=; \
	scripts/targets.sh status >/dev/null 2>&1 || { scripts/targets.sh start && started=1; } || exit 1; \
	$(GO) run ./scripts/bench -out docs/performance.md || rc=$$?; \
	[ -z "$$started" ] || scripts/targets.sh stop >/dev/null 2>&1 || true; \
	exit $$rc

targets-start:
	@scripts/targets.sh start

targets-stop:
	@scripts/targets.sh stop

# The product on one machine: a Console and a TechClient (under Xvfb when there is no display).
demo: build
	@scripts/demo.sh

# Screenshots of what users see, kept in docs/screenshots: every Console screen with demo data, the TechClient's
# screens against a real hub.
screenshots: build
	scripts/console-screenshots.sh docs/screenshots
	scripts/techclient-screenshots.sh

# gofmt, go vet and staticcheck fail on a finding; CI (.ci/run) runs lint before test.
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	CGO_ENABLED=0 $(GO) vet -tags ci ./...
	@if $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 -version >/dev/null 2>&1; then \
		CGO_ENABLED=0 $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 -tags ci ./...; \
	elif [ -n "$$CI" ]; then echo "staticcheck: not installable, and CI must run it"; exit 1; \
	else echo "staticcheck: not installable here, skipped"; fi
	@# govulncheck from the module proxy; its database is vuln.go.dev (or GOVULNDB=file:///mirror): a network
	@# failure to reach it is reported and skipped, a known-vulnerable call path fails lint.
	@out=$$($(GO) run golang.org/x/vuln/cmd/govulncheck@v1.1.4 $${GOVULNDB:+-db $$GOVULNDB} ./... 2>&1); rc=$$?; echo "$$out"; \
	if [ $$rc -ne 0 ] && echo "$$out" | grep -q 'fetching vulnerabilities'; then \
		echo "govulncheck: vulnerability database unreachable here, skipped"; else exit $$rc; fi

# The long reliability and security runs (docs/security.md): every fuzz target for FUZZTIME (default 3m), then
# the fault scenarios at length (30 hub kills under load, DC outages, disk full, clock skew) against the targets.
soak: deps headless
	@set -o pipefail; rc=0; started=; \
	scripts/targets.sh status >/dev/null 2>&1 || { scripts/targets.sh start && started=1; } || exit 1; \
	scripts/soak.sh || rc=$$?; \
	[ -z "$$started" ] || scripts/targets.sh stop >/dev/null 2>&1 || true; \
	exit $$rc

$(FYNE):
	GOBIN=$(GOBIN_DIR) $(GO) install $(FYNE_TOOLS)

# Regenerate assets/bundled.go from the PNG icons (themselves rendered from the SVGs).
bundle: $(FYNE)
	cd assets && $(FYNE) bundle --pkg assets --name TechClientIcon -o bundled.go techclient.png && \
		$(FYNE) bundle -a --name ConsoleIcon -o bundled.go console.png

clean:
	rm -rf $(BIN) dist

# Linux desktop archives (binary, .desktop file, icon) in dist/. fyne package bumps Build in FyneApp.toml on
# every run: the metadata files are restored afterwards so the tree stays as committed.
package: gui $(FYNE)
	@mkdir -p dist; cp FyneApp.toml dist/.FyneApp.toml.keep; cp console/FyneApp.toml dist/.console.toml.keep; rc=0; \
	$(FYNE) package -os linux --release=false --src . --exe $(CURDIR)/$(BIN)/techclient || rc=$$?; \
	$(FYNE) package -os linux --release=false --src console --exe $(CURDIR)/$(BIN)/console || rc=$$?; \
	mv dist/.FyneApp.toml.keep FyneApp.toml; mv dist/.console.toml.keep console/FyneApp.toml; \
	mv -f "Watchword TechClient.tar.xz" "Watchword Console.tar.xz" dist/ 2>/dev/null; \
	ls -l dist; exit $$rc

# Everything a user downloads, in dist/ (scripts/release.sh; docs/install.md): the TechClient and the Console for
# Windows (GUI .exe with icon, version info and manifest, cross-built with mingw-w64) and Linux (fyne package
# archives), watchword-hub and watchword-agent for linux/amd64, linux/arm64, windows/amd64 and darwin/arm64, the
# systemd units, a go version -m dependency list and SHA256SUMS; then the Linux TechClient from dist/ is started
# under Xvfb (screenshot in bin/release-smoke). The version comes from git (scripts/release-version.sh; override
# with VERSION=…). It builds in a temporary copy of the tracked files, so the tree stays as committed. First run
# about 17 minutes on two cores (cold cgo builds for Windows and Linux), later runs about a minute.
.PHONY: release release-headless
release: $(FYNE)
	@scripts/deps.sh demo
	@scripts/release.sh

# Only the pure-Go hub and agent binaries, into dist/ (seconds once the cache is warm).
release-headless:
	@scripts/release.sh headless
