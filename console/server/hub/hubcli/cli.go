// Package hubcli is the command line of watchword-hub:
//
//	watchword-hub init --db /var/lib/watchword-hub/hub.db --tenant "Acme MSP" --abbrev acme \
//	    --recovery age1pq1... --url https://hub.acme.example:8443
//	watchword-hub serve --db /var/lib/watchword-hub/hub.db --listen :8443 \
//	    --public-url https://hub1.acme.example:8443 --public-url https://hub2.acme.example:8443
//	watchword-hub invite --client GUID --url https://hub1.acme.example:8443,https://hub2.acme.example:8443
//	watchword-hub migrate-store --from sqlite:/var/lib/watchword-hub/hub.db --to 'postgres://watchword@db1,db2,db3/watchword?target_session_attrs=read-write'
//	watchword-hub backup --out /backup/hub-copy.db
//	watchword-hub verify-audit
//	watchword-hub verify-audit --file audit-export.csv
//	watchword-hub recovery export --account alice-acme --out /tmp/bg
//
// init creates the database and the hub's key file if needed (both owner-only), adds a tenant and prints its
// invite and the single-use owner claim token; serve runs the API (package hubserve) until ctx ends, naming the
// hub's public URLs (every replica's or load balancer's address) in its health answer, from which the Console
// builds invites that carry them all, and taking the clients' addresses from the PROXY protocol header of the load
// balancers named by --proxy-protocol-from; invite prints an existing tenant's invite again (--url takes the same list,
// comma separated, and clients fail over between its addresses); backup writes an online copy of the database;
// verify-audit checks the audit log's hash chain and, for each tenant whose signed authority holds an audit
// checkpoint, that the event it names still has the hash the admins signed (a rewrite with every hash computed
// again passes the walk alone); with --file it checks an audit export of the Console instead, away from the hub
// (package auditexport). migrate-store moves a hub from its SQLite file into an empty PostgreSQL database
// (store.Copy) and prints each table's rows on both sides and the audit chains' check (migratestore.go). recovery
// export writes the stored envelopes of an account, a tech or every account as .age files that the holder of the
// tenant's recovery identity opens with the plain age command (recovery.go). Every flag can also
// be set by its environment variable (WATCHWORD_HUB_<FLAG>).
//
// cli.go holds the commands, db.go the database they open (a SQLite file, or PostgreSQL by URL) and migrate,
// migratestore.go the move to PostgreSQL and recovery.go the break-glass export; the testscript files in testdata
// run the built command line by hand, as an operator would (testdata/pg on the test PostgreSQL server,
// migratestore_test.go).
package hubcli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/watchword/watchword/console/server/hub"
	"github.com/watchword/watchword/console/server/hub/hubserve"
	"github.com/watchword/watchword/console/server/hub/metrics"
	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/auditexport"
	"github.com/watchword/watchword/shared/wire"
)

const usage = `usage: watchword-hub <command> [flags]

commands:
  init          create the database and hub key if needed, add a tenant, print its invite and owner claim token
  serve         serve the API over TLS until interrupted
  invite        print the invite of an existing tenant
  migrate-store copy the hub from its SQLite file into an empty PostgreSQL database, then check the copy
  migrate       bring the database's schema up to this binary's (explicit on PostgreSQL; prints before/after)
  backup        write an online copy of the database
  verify-audit  check the audit log's hash chain and the admins' signed checkpoints of it
  recovery export  write stored envelopes as .age files for break-glass (age -d -i RECOVERY-IDENTITY FILE)

Every flag can also be set by its environment variable (WATCHWORD_HUB_<FLAG>, e.g. WATCHWORD_HUB_DB).
Run "watchword-hub <command> -h" for its flags.
`

// Main runs the command line with args (without the program name). ctx ends on SIGINT/SIGTERM (see the main
// package).
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command")
	}
	cmd, args := args[0], args[1:]
	if cmd == "recovery" {
		if len(args) == 0 || args[0] != "export" {
			fmt.Fprint(stderr, usage)
			return errors.New("recovery: the only subcommand is export")
		}
		cmd, args = "recovery export", args[1:]
	}
	fs := flag.NewFlagSet("watchword-hub "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	str := func(name, def, help string) *string {
		env := "WATCHWORD_HUB_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			def = v
		}
		return fs.String(name, def, help+" ($"+env+")")
	}
	db := str("db", "watchword-hub.db", "the database: a SQLite file `path` (or sqlite:PATH), or a postgres:// URL (multi-host with target_session_attrs=read-write; needs --key)")
	key := str("key", "", "hub identity `file` (default: the database path + \".key\")")
	var run func() error
	switch cmd {
	case "init":
		tenant := str("tenant", "", "tenant (MSP) `name`")
		abbrev := str("abbrev", "", "short tenant `abbreviation` used in account names (1-8 of a-z0-9)")
		recovery := str("recovery", "", "tenant recovery `recipient` (age1pq1…: age-keygen -pq, age v1.3.0 or later)")
		url := str("url", "https://localhost:8443", "hub `URLs` as clients reach it, for the invite: one, or several of the same hub comma separated")
		run = func() error { return cmdInit(ctx, stdout, *db, keyPath(*db, *key), *tenant, *abbrev, *recovery, *url) }
	case "serve":
		listen := str("listen", ":8443", "`address` to listen on")
		publicURLs := urlList{}
		fs.Var(&publicURLs, "public-url", "a `URL` clients reach this hub at (repeat for each replica or load balancer; invites carry them all) ($WATCHWORD_HUB_PUBLIC_URL, comma separated)")
		proxyFrom := cidrList{}
		fs.Var(&proxyFrom, "proxy-protocol-from", "a load balancer's `CIDR` or address whose connections start with a PROXY protocol header (v2 or v1) naming the client; required from it, refused from anyone else (repeat for each; $WATCHWORD_HUB_PROXY_FROM or $WATCHWORD_HUB_PROXY_PROTOCOL_FROM, comma separated)")
		logJSON := str("log-json", "false", "log as JSON (true/false)")
		logLevel := str("log-level", "info", "log `level`: debug, info, warn, error")
		allowAsync := fs.Bool("allow-async-replication", os.Getenv("WATCHWORD_HUB_ALLOW_ASYNC_REPLICATION") == "true",
			"serve from a PostgreSQL whose commits do not wait for a synchronous standby: a failover may lose a staged envelope ($WATCHWORD_HUB_ALLOW_ASYNC_REPLICATION=true)")
		metricsKey := str("metrics-key-file", "", "`file` holding the scrape key GET /metrics requires as a bearer token (owner-only, one line of at least 32 characters); none: metrics are off")
		limits := map[string]*string{ // hub.Config and hubserve.Config; empty or 0: the default
			"max-pending-techs":      str("max-pending-techs", "", "most pending techs a tenant may have; registrations beyond are refused (default 500)"),
			"max-conns":              str("max-conns", "", "most connections held open at once (default 16384)"),
			"max-long-polls":         str("max-long-polls", "", "most long polls held at once, in total (default 10000)"),
			"max-long-polls-per-key": str("max-long-polls-per-key", "", "most long polls one client key may hold (default 4)"),
		}
		run = func() error {
			cfg, scfg := hub.Config{}, hubserve.Config{}
			if v, ok := os.LookupEnv("WATCHWORD_HUB_PUBLIC_URL"); ok && len(publicURLs) == 0 {
				publicURLs = wire.SplitURLs(v)
			}
			for _, u := range publicURLs {
				if wire.ValidHubURL(u) != nil {
					return fmt.Errorf("--public-url %q: must be an https URL without credentials, query or fragment", u)
				}
			}
			// WATCHWORD_HUB_PROXY_FROM is the short name; the long one follows the rule of every other flag.
			for _, env := range []string{"WATCHWORD_HUB_PROXY_FROM", "WATCHWORD_HUB_PROXY_PROTOCOL_FROM"} {
				if v, ok := os.LookupEnv(env); ok && len(proxyFrom) == 0 {
					proxyFrom.Set(v)
				}
			}
			p, err := hubserve.ParseProxyFrom(proxyFrom)
			if err != nil {
				return fmt.Errorf("--proxy-protocol-from: %w", err)
			}
			scfg.ProxyFrom = p
			cfg.PublicURLs = wire.Invite{}.WithURLs(publicURLs...).URLs()
			if len(publicURLs) == 0 {
				cfg.PublicURLs = nil
			}
			for name, dst := range map[string]*int{"max-pending-techs": &cfg.MaxPendingTechs, "max-conns": &scfg.MaxConns,
				"max-long-polls": &cfg.MaxLongPolls, "max-long-polls-per-key": &cfg.MaxLongPollsPerKey} {
				if s := strings.TrimSpace(*limits[name]); s != "" {
					n, err := strconv.Atoi(s)
					if err != nil || n < 0 {
						return fmt.Errorf("--%s %q: must be a whole number, 0 for the default", name, s)
					}
					*dst = n
				}
			}
			if *metricsKey != "" {
				k, err := metrics.ReadScrapeKey(*metricsKey)
				if err != nil {
					return err
				}
				cfg.MetricsKey = k
			}
			opts := store.Options{AllowAsyncReplication: *allowAsync}
			return cmdServe(ctx, stderr, *db, keyPath(*db, *key), *listen, *logJSON == "true" || *logJSON == "1", *logLevel, cfg, scfg, opts)
		}
	case "invite":
		guid := str("client", "", "tenant client `GUID`")
		url := str("url", "https://localhost:8443", "hub `URLs` as clients reach it: one, or several of the same hub comma separated")
		run = func() error { return cmdInvite(ctx, stdout, *db, keyPath(*db, *key), *guid, *url) }
	case "migrate-store":
		run = migrateStore(ctx, stdout, fs, str)
	case "migrate":
		run = func() error { return cmdMigrate(ctx, stdout, *db) }
	case "backup":
		out := str("out", "", "backup file `path` (must not exist)")
		run = func() error { return cmdBackup(ctx, stdout, *db, *out) }
	case "verify-audit":
		file := str("file", "", "verify this audit `export` (CSV or JSON lines from the Console) instead of the database")
		run = func() error {
			if *file != "" {
				return cmdVerifyFile(stdout, *file)
			}
			return cmdVerify(ctx, stdout, *db)
		}
	case "recovery export":
		out := str("out", "", "`directory` to write the .age files into (created owner-only if missing)")
		var q recoveryQuery
		fs.StringVar(&q.account, "account", "", "the account `name` on its target (every host's account of that name)")
		fs.StringVar(&q.tech, "tech", "", "every account of the tech with this `username`")
		fs.BoolVar(&q.all, "all", false, "every account")
		fs.StringVar(&q.host, "host", "", "only the accounts on the agent of this `name`")
		fs.StringVar(&q.tenant, "tenant", "", "only the tenant of this client `GUID`, name or abbreviation")
		fs.BoolVar(&q.history, "history", false, "every stored version, not only the current one")
		run = func() error { return cmdRecoveryExport(ctx, stdout, *db, *out, q) }
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected arguments %q", cmd, fs.Args())
	}
	return run()
}

// urlList is a repeatable flag of URLs; each use may also hold several, comma separated.
type urlList []string

func (l *urlList) String() string { return strings.Join(*l, ",") }

func (l *urlList) Set(v string) error {
	*l = append(*l, wire.SplitURLs(v)...)
	return nil
}

// cidrList is a repeatable flag of networks; each use may also hold several, comma separated.
type cidrList []string

func (l *cidrList) String() string { return strings.Join(*l, ",") }

func (l *cidrList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

func cmdInit(ctx context.Context, out io.Writer, db, key, tenant, abbrev, recovery, url string) error {
	id, st, err := open(ctx, db, key, initOptions)
	if err != nil {
		return err
	}
	defer st.Close()
	h := hub.New(st, id, hub.Config{})
	nt, err := h.CreateTenant(ctx, hub.TenantSpec{Name: tenant, Abbrev: abbrev, Recovery: recovery})
	if err != nil {
		return err
	}
	urls := wire.SplitURLs(url)
	if len(urls) == 0 {
		urls = []string{""}
	}
	inv := h.Invite(urls[0], nt.GUID, urls[1:]...)
	if err := inv.Validate(); err != nil {
		return fmt.Errorf("invite for --url %q: %w", url, err)
	}
	fmt.Fprintf(out, "client GUID:  %s\nhub fingerprint: %s\ninvite:       %s\nowner token:  %s  (single use, expires %s)\n",
		nt.GUID, h.Pin(), inv, nt.OwnerToken, nt.ExpiresAt.Format(time.RFC3339))
	return nil
}

func cmdInvite(ctx context.Context, out io.Writer, db, key, guid, url string) error {
	id, st, err := open(ctx, db, key, toolOptions)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Read(ctx, func(tx store.Tx) error { _, err := tx.Tenant(guid); return err }); err != nil {
		return err
	}
	inv := wire.Invite{ClientGUID: guid, HubPin: id.Public().ID()}.WithURLs(wire.SplitURLs(url)...)
	if err := inv.Validate(); err != nil {
		return err
	}
	fmt.Fprintln(out, inv)
	return nil
}

func cmdServe(ctx context.Context, logOut io.Writer, db, key, listen string, logJSON bool, level string, cfg hub.Config, scfg hubserve.Config, dbOpts store.Options) error {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return fmt.Errorf("log level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	var handler slog.Handler = slog.NewTextHandler(logOut, opts)
	if logJSON {
		handler = slog.NewJSONHandler(logOut, opts)
	}
	log := slog.New(handler)
	serveGC()
	id, st, err := open(ctx, db, key, dbOpts)
	if err != nil {
		return err
	}
	defer st.Close()
	cfg.Logger = log
	// With PostgreSQL, other replicas may share the database: their changes wake this one's long polls.
	done := hubserve.Replicas(db, &cfg, log)
	defer done()
	h := hub.New(st, id, cfg)
	srv, err := hubserve.Listen(h, listen, scfg)
	if err != nil {
		return err
	}
	var proxyFrom []string
	for _, p := range scfg.ProxyFrom {
		proxyFrom = append(proxyFrom, p.String())
	}
	log.Info("hub serving", "url", srv.URL, "pin", h.Pin(), "db", db, "public_urls", strings.Join(cfg.PublicURLs, ","),
		"proxy_protocol_from", strings.Join(proxyFrom, ","))
	select {
	case <-ctx.Done():
	case <-waitChan(srv):
	}
	log.Info("hub shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

func waitChan(s *hubserve.Server) <-chan struct{} {
	ch := make(chan struct{})
	go func() { s.Wait(); close(ch) }()
	return ch
}

func cmdBackup(ctx context.Context, out io.Writer, db, dst string) error {
	if dst == "" {
		return errors.New("backup: --out is required")
	}
	st, err := store.OpenURL(ctx, db, toolOptions)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Backup(ctx, dst); err != nil {
		return err
	}
	fmt.Fprintf(out, "backup written to %s\n", dst)
	return nil
}

func cmdVerify(ctx context.Context, out io.Writer, db string) error {
	if err := existing("verify-audit", db); err != nil {
		return err
	}
	st, err := store.OpenURL(ctx, db, toolOptions)
	if err != nil {
		return err
	}
	defer st.Close()
	// The walk cannot see a rewrite whose every hash was computed again; the admins' signed checkpoints can.
	n, err := st.VerifyAudit(ctx)
	pinned, cerr := hub.VerifyAuditCheckpoints(ctx, st)
	if err := errors.Join(err, cerr); err != nil {
		return fmt.Errorf("verify-audit: %d events read: %w", n, err)
	}
	fmt.Fprintf(out, "audit chain intact: %d events\n", n)
	fmt.Fprintf(out, "signed audit checkpoints hold: %d tenant(s) pinned by their admins' signatures\n", pinned)
	return nil
}

// cmdVerifyFile checks an audit export away from the hub: every event's hash computed again from its fields, and
// the link of each event whose predecessor the export holds (auditexport.Verify).
func cmdVerifyFile(out io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("verify-audit: %w", err)
	}
	defer f.Close()
	evs, err := auditexport.Read(f)
	if err != nil {
		return fmt.Errorf("verify-audit: %s: %w", path, err)
	}
	r := auditexport.Verify(evs)
	if len(r.Problems) > 0 {
		return fmt.Errorf("verify-audit: %s: %s", path, r)
	}
	fmt.Fprintln(out, r)
	return nil
}

// serveGCPercent is the collector's target for a hub service. The hub's heap is mostly long-lived state: its
// connections (TLS, net/http's buffers, the parsed client certificate: about 20 KB each) and the entitlement
// view, 70-90 MB live with 2,000 TechClients in long polls; the default of 100 let the heap double before each
// collection, and a tech's full list being written when a collection started was counted live too: the hub of
// the hub-under-load benchmark peaked at 255-267 MiB resident. At 50 it peaked at 199-217 MiB, for about 0.3 % of
// a core more collection work (the hub uses 15-20 % of one core there; docs/performance.md).
const serveGCPercent = 50

// serveGC applies serveGCPercent to the serve process unless the operator set GOGC (or GOMEMLIMIT, which the
// runtime applies on its own): an embedded hub, in the Console's process, leaves the collector alone.
func serveGC() {
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
}
