package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/watchword/watchword/internal/testsupport/targets"
)

// pgSchema is a fresh schema of the test server, as a DSN.
func pgSchema(t *testing.T) string {
	t.Helper()
	return targets.PostgresSchema(t, targets.PostgresDSN(t))
}

// columns lists "table.column type not-null" in column order, for every table of the store.
func columns(t *testing.T, d *db) []string {
	t.Helper()
	q := `SELECT m.name, p.name, lower(p.type), p."notnull" OR p.pk > 0 FROM sqlite_master m, pragma_table_info(m.name) p
		WHERE m.type = 'table' ORDER BY m.name, p.cid`
	if d.eng == enginePostgres {
		q = `SELECT table_name, column_name, data_type, CASE WHEN is_nullable = 'NO' THEN 1 ELSE 0 END FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name != 'schema_version' ORDER BY table_name, ordinal_position`
	}
	rows, err := d.r.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	// SQLite's declared types as PostgreSQL names what the rewrite makes of them. A primary key's column counts as
	// NOT NULL on SQLite too (PostgreSQL makes it so; SQLite's rowid alias cannot be NULL).
	pgType := map[string]string{"integer": "bigint", "text": "text", "blob": "bytea"}
	var out []string
	for rows.Next() {
		var table, col, typ string
		var notNull int
		if err := rows.Scan(&table, &col, &typ, &notNull); err != nil {
			t.Fatal(err)
		}
		if d.eng == engineSQLite {
			if pt, ok := pgType[typ]; ok {
				typ = pt
			}
		}
		out = append(out, fmt.Sprintf("%s.%s %s %d", table, col, typ, notNull))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMigrationsSameColumns applies every migration on both engines, from empty, and compares the tables and
// columns (name, order, type, nullability) they end with.
func TestMigrationsSameColumns(t *testing.T) {
	sq, err := Open(ctx, filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer sq.Close()
	start := time.Now()
	pg, err := OpenPostgres(ctx, pgSchema(t), Options{Migrate: true, AllowAsyncReplication: true})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	t.Logf("%d migrations on PostgreSQL in %v", SchemaVersion(), time.Since(start).Round(time.Millisecond))
	a, b := columns(t, &sq.db), columns(t, &pg.db)
	if !slices.Equal(a, b) {
		t.Errorf("columns differ between the engines:\nsqlite:   %s\npostgres: %s", strings.Join(a, "\n          "), strings.Join(b, "\n          "))
	}
	if len(a) < 100 {
		t.Errorf("only %d columns found", len(a))
	}
}

// TestPostgresMigrateAtOnce opens one empty schema from several goroutines at once, as replicas starting together
// do: the migration lock lets one apply each step (a second application of a step would fail: its tables exist)
// while the others wait and find nothing left to do.
func TestPostgresMigrateAtOnce(t *testing.T) {
	dsn := pgSchema(t)
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	befores := make([]int, n)
	for i := range n {
		wg.Go(func() {
			p, err := openPostgres(ctx, dsn)
			if err != nil {
				errs[i] = err
				return
			}
			defer p.Close()
			befores[i], _, errs[i] = p.migrate(ctx)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	fromZero := 0
	for _, b := range befores {
		switch b {
		case 0:
			fromZero++
		case SchemaVersion():
		default:
			t.Errorf("a migration started at version %d: another ran at the same time", b)
		}
	}
	if fromZero != 1 {
		t.Errorf("%d of %d openers migrated from version 0, want exactly 1 (versions found: %v)", fromZero, n, befores)
	}
	p, err := OpenPostgres(ctx, dsn, Options{AllowAsyncReplication: true})
	if err != nil {
		t.Fatalf("open the migrated schema: %v", err)
	}
	defer p.Close()
	if v, err := p.version(ctx); err != nil || v != SchemaVersion() {
		t.Fatalf("schema version %d, %v; want %d", v, err, SchemaVersion())
	}
	var rows int
	if err := p.r.QueryRow("SELECT COUNT(*) FROM schema_version").Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("schema_version rows: %d, %v", rows, err)
	}
}

// TestPostgresOpenRefuses: without Migrate, an older schema is ErrSchemaBehind and says to run migrate; without
// AllowAsyncReplication, a server with no synchronous standby (the single test server) is ErrAsyncReplication,
// naming the settings it saw.
func TestPostgresOpenRefuses(t *testing.T) {
	dsn := pgSchema(t)
	_, err := OpenURL(ctx, dsn, Options{AllowAsyncReplication: true})
	if !errors.Is(err, ErrSchemaBehind) || !strings.Contains(err.Error(), "watchword-hub migrate") {
		t.Fatalf("open an empty schema: %v, want ErrSchemaBehind naming the migrate command", err)
	}
	before, after, err := Migrate(ctx, dsn)
	if err != nil || before != 0 || after != SchemaVersion() {
		t.Fatalf("migrate: %d → %d, %v", before, after, err)
	}
	if before, after, err := Migrate(ctx, dsn); err != nil || before != SchemaVersion() || after != SchemaVersion() {
		t.Fatalf("migrate again: %d → %d, %v (want nothing to do)", before, after, err)
	}
	_, err = OpenURL(ctx, dsn, Options{})
	if !errors.Is(err, ErrAsyncReplication) {
		t.Fatalf("open without a synchronous standby: %v, want ErrAsyncReplication", err)
	}
	for _, want := range []string{"synchronous_commit=", "synchronous_standby_names=", "0 synchronous standby streaming", "--allow-async-replication"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal does not say %q: %v", want, err)
		}
	}
	s, err := OpenURL(ctx, dsn, Options{AllowAsyncReplication: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h, err := s.Health(ctx)
	if err != nil || h.Engine != "postgres" || h.Role != RolePrimary || h.Synchronous || h.SynchronousCommit == "" {
		t.Fatalf("health: %+v, %v", h, err)
	}
}

// TestMigrateSQLite: Migrate on a file reports the versions, and a second run finds nothing to do.
func TestMigrateSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	if before, after, err := Migrate(ctx, "sqlite:"+path); err != nil || before != 0 || after != SchemaVersion() {
		t.Fatalf("migrate: %d → %d, %v", before, after, err)
	}
	if before, after, err := Migrate(ctx, path); err != nil || before != SchemaVersion() || after != SchemaVersion() {
		t.Fatalf("migrate again: %d → %d, %v", before, after, err)
	}
}
