package hubcli

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/watchword/watchword/console/server/hub/hubserve"
	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/seal"
)

// The database a command works on: --db names a SQLite file (the default, migrated whenever it is opened) or a
// PostgreSQL URL. On PostgreSQL, serve refuses a schema older than the binary and migrate is the one command that
// changes it, under an advisory lock: replicas started together never race a migration, and an upgrade's schema
// change is a step the operator takes (docs/hub.md).

// initOptions: init creates what it needs, the schema included; a one-off operator command, so the durability
// check that guards staged envelopes (which only serve writes) is not made.
var initOptions = store.Options{Migrate: true, AllowAsyncReplication: true}

// toolOptions are those of the other operator commands (invite, backup, verify-audit, recovery export): the
// schema must be current, and they stage no envelope.
var toolOptions = store.Options{AllowAsyncReplication: true}

// keyPath is the hub key file: --key, or the SQLite database's path + ".key". A PostgreSQL URL names no file to
// put it beside: "" makes open ask for --key.
func keyPath(db, key string) string {
	if key != "" || store.IsPostgres(db) {
		return key
	}
	return store.SQLitePath(db) + ".key"
}

// existing refuses a SQLite database file that is not there (opening it would create an empty hub); a PostgreSQL
// URL is checked when it is opened.
func existing(cmd, db string) error {
	if p := store.SQLitePath(db); p != "" {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%s: %w", cmd, err)
		}
	}
	return nil
}

// open reads the hub's key, creating it when it does not exist yet, and opens its store; the caller closes the store.
func open(ctx context.Context, db, key string, opts store.Options) (*seal.Identity, store.Store, error) {
	if key == "" {
		return nil, nil, fmt.Errorf("--key is required with a PostgreSQL --db: every replica serves with the same hub key file")
	}
	id, err := hubserve.LoadOrCreateIdentity(key)
	if err != nil {
		return nil, nil, err
	}
	st, err := store.OpenURL(ctx, db, opts)
	if err != nil {
		return nil, nil, err
	}
	return id, st, nil
}

// cmdMigrate brings the database to this binary's schema and says from which version to which; run again, it
// finds nothing to do.
func cmdMigrate(ctx context.Context, out io.Writer, db string) error {
	before, after, err := store.Migrate(ctx, db)
	if err != nil {
		return err
	}
	if before == after {
		fmt.Fprintf(out, "schema version %d: up to date\n", after)
		return nil
	}
	fmt.Fprintf(out, "schema version %d → %d\n", before, after)
	return nil
}
