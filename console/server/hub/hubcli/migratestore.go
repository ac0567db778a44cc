package hubcli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/watchword/watchword/console/server/hub/store"
)

// migrateStore is the migrate-store command: its flags on fs, and the run that moves a hub from its SQLite file to
// PostgreSQL with store.Copy and prints what it copied and checked.
func migrateStore(ctx context.Context, out io.Writer, fs *flag.FlagSet, str func(name, def, help string) *string) func() error {
	from := str("from", "", "the hub's SQLite database: sqlite:`PATH` (or a plain path); stop the hub first")
	to := str("to", "", "the PostgreSQL database to copy into: a postgres:// `URL` whose schema holds no hub data yet")
	allowAsync := str("allow-async-replication", "false", "copy into a PostgreSQL whose commits do not wait for a synchronous standby (true/false)")
	return func() error {
		return cmdMigrateStore(ctx, out, *from, *to, *allowAsync == "true" || *allowAsync == "1")
	}
}

func cmdMigrateStore(ctx context.Context, out io.Writer, from, to string, allowAsync bool) error {
	switch {
	case from == "":
		return errors.New("migrate-store: --from is required (sqlite:PATH of the hub's database)")
	case store.IsPostgres(from):
		return errors.New("migrate-store: --from must be the hub's SQLite file (sqlite:PATH); PostgreSQL is the target")
	case to == "":
		return errors.New("migrate-store: --to is required (a postgres:// URL)")
	case !store.IsPostgres(to):
		return errors.New("migrate-store: --to must be a postgres:// or postgresql:// URL")
	}
	path := strings.TrimPrefix(from, "sqlite:")
	// store.Open would create a missing file: a typo must not copy an empty hub.
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("migrate-store: --from %s: %w", path, err)
	}
	src, err := store.Open(ctx, path) // brings an older file to this release's schema first, as serve would
	if err != nil {
		return fmt.Errorf("migrate-store: %w", err)
	}
	defer src.Close()
	dst, err := store.OpenPostgres(ctx, to, store.Options{Migrate: true, AllowAsyncReplication: allowAsync})
	if err != nil {
		return fmt.Errorf("migrate-store: %w", err)
	}
	defer dst.Close()
	rep, err := store.Copy(ctx, src, dst)
	if rep != nil {
		fmt.Fprintf(out, "copied %s to PostgreSQL\n", path)
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TABLE\tSOURCE\tTARGET")
		for _, t := range rep.Tables {
			fmt.Fprintf(tw, "%s\t%d\t%d\n", t.Table, t.Source, t.Target)
		}
		tw.Flush()
		fmt.Fprintf(out, "rows: %d in %d tables\n", rep.Rows(), len(rep.Tables))
	}
	if err != nil {
		return fmt.Errorf("migrate-store: %w", err)
	}
	fmt.Fprintf(out, "audit chain verified on the target: %d events, %d tenant heads equal to the source's\n", rep.AuditEvents, len(rep.AuditHeads))
	return nil
}
