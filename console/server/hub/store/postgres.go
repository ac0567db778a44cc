package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Postgres is the Store on a PostgreSQL database, for several hub replicas in front of one (replicated) server.
//
// It keeps SQLite's rule of one writer at a time, across processes: every Write first takes a transaction-level
// advisory lock, so two replicas never interleave writes and a tenant's audit chain cannot fork. Writes run at READ
// COMMITTED: each statement after the lock sees every commit before it. Reads are REPEATABLE READ, READ ONLY: one
// snapshot per Read, as SQLite's WAL gives. The lock keys hash the schema name, so hubs on other schemas of the
// same server (the tests' schema per test) do not wait for each other.
type Postgres struct {
	db
	schema string
	key    int32 // the schema's share of the advisory lock keys
	where  string
}

var _ Store = (*Postgres)(nil)

// Advisory lock classes (the first key of the two-key form): ASCII "WW" and a number.
const (
	lockClassWrite   int32 = 0x57570001
	lockClassMigrate int32 = 0x57570002
)

// OpenPostgres opens the PostgreSQL database dsn names. Its schema must be at SchemaVersion, or opts.Migrate must
// ask for the migration; its replication must be synchronous (Health.Synchronous) unless
// opts.AllowAsyncReplication.
func OpenPostgres(ctx context.Context, dsn string, opts Options) (*Postgres, error) {
	p, err := openPostgres(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := p.ready(ctx, opts); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// ready checks (or brings) the schema version and the durability the hub needs.
func (p *Postgres) ready(ctx context.Context, opts Options) error {
	if opts.Migrate {
		if _, _, err := p.migrate(ctx); err != nil {
			return err
		}
	} else {
		have, err := p.version(ctx)
		if err != nil {
			return err
		}
		switch want := SchemaVersion(); {
		case have < want:
			return fmt.Errorf("%s: %w: version %d, this hub needs %d; run watchword-hub migrate --db with the same URL",
				p.where, ErrSchemaBehind, have, want)
		case have > want:
			return fmt.Errorf("%s: database schema version %d is newer than this hub (%d)", p.where, have, want)
		}
	}
	if opts.AllowAsyncReplication {
		return nil
	}
	h, err := p.Health(ctx)
	if err != nil {
		return err
	}
	if !h.Synchronous {
		return fmt.Errorf("%s: %w: synchronous_commit=%s, synchronous_standby_names=%q, %d synchronous standby streaming, role %s; "+
			"a staged envelope could be lost with the primary (set up synchronous replication, as Patroni's synchronous_mode does, "+
			"or accept the risk with --allow-async-replication)",
			p.where, ErrAsyncReplication, h.SynchronousCommit, h.SynchronousStandbyNames, len(h.SyncStandbys), h.Role)
	}
	return nil
}

// openPostgres connects and learns the schema, checking nothing else.
func openPostgres(ctx context.Context, dsn string) (*Postgres, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's message may quote the URL with its password: say only what kind of thing failed.
		return nil, errors.New("open postgres: the database URL does not parse")
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "watchword-hub"
	}
	where := fmt.Sprintf("postgres %s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
	// One connection for writes: they run one at a time anyway (the advisory lock), and in-process writers then
	// queue here rather than each holding a server connection while waiting for the lock.
	w := stdlib.OpenDB(*cfg)
	w.SetMaxOpenConns(1)
	r := stdlib.OpenDB(*cfg)
	r.SetMaxOpenConns(8)
	p := &Postgres{db: db{eng: enginePostgres, w: w, r: r,
		readOpts: &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}}, where: where}
	if err := w.QueryRowContext(ctx, "SELECT current_schema()").Scan(&p.schema); err != nil {
		p.Close()
		return nil, fmt.Errorf("open %s: %w", where, err)
	}
	if p.schema == "" {
		p.Close()
		return nil, fmt.Errorf("open %s: no schema on the search_path exists", where)
	}
	h := fnv.New32a()
	h.Write([]byte(p.schema))
	p.key = int32(h.Sum32())
	p.lockWrite = func(ctx context.Context, t *sql.Tx) error {
		_, err := t.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1, $2)", lockClassWrite, p.key)
		return err
	}
	return p, nil
}

// version reads the schema version (0 before the first migration).
func (p *Postgres) version(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := p.r.QueryRowContext(ctx, "SELECT CASE WHEN to_regclass('schema_version') IS NULL THEN 0 END").Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("%s: read schema version: %w", p.where, err)
	}
	if v.Valid {
		return 0, nil
	}
	var have int
	if err := p.r.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_version").Scan(&have); err != nil {
		return 0, fmt.Errorf("%s: read schema version: %w", p.where, err)
	}
	return have, nil
}

// pgBootstrap is what the migrations stand on: the version table, and the case-insensitive collation that
// COLLATE NOCASE becomes.
const pgBootstrap = `CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL);
INSERT INTO schema_version (version) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM schema_version);
CREATE COLLATION IF NOT EXISTS nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false);`

// migrate applies the missing steps under a session advisory lock, so that replicas starting at once apply each
// step exactly once (the others wait, then find nothing to do); each step commits with its version.
func (p *Postgres) migrate(ctx context.Context) (before, after int, err error) {
	conn, err := p.w.Conn(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: migrate: %w", p.where, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1, $2)", lockClassMigrate, p.key); err != nil {
		return 0, 0, fmt.Errorf("%s: migrate: take the migration lock: %w", p.where, err)
	}
	// The lock is the session's: it goes with the connection if the unlock cannot be sent.
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1, $2)", lockClassMigrate, p.key)
	if _, err := conn.ExecContext(ctx, pgBootstrap); err != nil {
		return 0, 0, fmt.Errorf("%s: migrate: %w", p.where, err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT version FROM schema_version").Scan(&before); err != nil {
		return 0, 0, fmt.Errorf("%s: read schema version: %w", p.where, err)
	}
	names, err := migrationNames()
	if err != nil {
		return before, before, err
	}
	if before > len(names) {
		return before, before, fmt.Errorf("%s: database schema version %d is newer than this hub (%d)", p.where, before, len(names))
	}
	for i := before; i < len(names); i++ {
		body, err := migrationSQL(enginePostgres, names[i])
		if err != nil {
			return before, i, err
		}
		t, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return before, i, fmt.Errorf("%s: migrate to %d: %w", p.where, i+1, err)
		}
		if _, err := t.ExecContext(ctx, body); err != nil {
			t.Rollback()
			return before, i, fmt.Errorf("%s: migrate %s: %w", p.where, names[i], err)
		}
		if _, err := t.ExecContext(ctx, "UPDATE schema_version SET version = $1", i+1); err != nil {
			t.Rollback()
			return before, i, fmt.Errorf("%s: migrate %s: %w", p.where, names[i], err)
		}
		if err := t.Commit(); err != nil {
			return before, i, fmt.Errorf("%s: migrate %s: %w", p.where, names[i], err)
		}
	}
	return before, len(names), nil
}

// commitWaits lists the synchronous_commit levels at which a commit waits for the synchronous standbys.
var commitWaits = map[string]bool{"on": true, "remote_write": true, "remote_apply": true}

// Health implements Store from pg_is_in_recovery, the synchronous_* settings and pg_stat_replication (which shows
// its standbys' sync_state only to a superuser or a member of pg_monitor: give the hub's role pg_monitor).
func (p *Postgres) Health(ctx context.Context) (Health, error) {
	h := Health{Engine: "postgres"}
	var recovery bool
	err := p.r.QueryRowContext(ctx, "SELECT pg_is_in_recovery(), current_setting('synchronous_commit'), current_setting('synchronous_standby_names')").
		Scan(&recovery, &h.SynchronousCommit, &h.SynchronousStandbyNames)
	if err != nil {
		return Health{}, fmt.Errorf("health of %s: %w", p.where, err)
	}
	h.Role = RolePrimary
	if recovery {
		h.Role = RoleStandby
	}
	rows, err := p.r.QueryContext(ctx, "SELECT application_name FROM pg_stat_replication WHERE state = 'streaming' AND sync_state IN ('sync', 'quorum') ORDER BY 1")
	if err != nil {
		return Health{}, fmt.Errorf("health of %s: %w", p.where, err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return Health{}, fmt.Errorf("health of %s: %w", p.where, err)
		}
		h.SyncStandbys = append(h.SyncStandbys, name)
	}
	if err := rows.Err(); err != nil {
		return Health{}, fmt.Errorf("health of %s: %w", p.where, err)
	}
	h.Synchronous = !recovery && commitWaits[h.SynchronousCommit] && strings.TrimSpace(h.SynchronousStandbyNames) != "" && len(h.SyncStandbys) > 0
	return h, nil
}

// Backup implements Store: PostgreSQL has no file to copy from inside the hub; pg_dump (or the cluster's own base
// backups) is how it is backed up.
func (p *Postgres) Backup(ctx context.Context, path string) error {
	return fmt.Errorf("backup to %q: %w: back up a PostgreSQL database with pg_dump (see docs/install.md)", path, ErrNoBackup)
}
