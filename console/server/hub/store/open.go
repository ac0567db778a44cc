package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors of opening a store.
var (
	// ErrAsyncReplication: the PostgreSQL server cannot promise that a commit is on a synchronous standby, so a
	// staged envelope could be lost with the primary after the agent set the password.
	ErrAsyncReplication = errors.New("replication is not synchronous")
	// ErrSchemaBehind: the PostgreSQL schema is older than this binary; `watchword-hub migrate` brings it up.
	ErrSchemaBehind = errors.New("database schema is older than this hub")
	// ErrNoBackup: the engine has no online file copy (PostgreSQL is backed up with pg_dump).
	ErrNoBackup = errors.New("backup not supported by this engine")
)

// Roles of the database a store reaches.
const (
	RolePrimary = "primary"
	RoleStandby = "standby"
)

// Health is what Store.Health reports.
type Health struct {
	Engine string // "sqlite" or "postgres"
	Role   string // RolePrimary or RoleStandby (pg_is_in_recovery)
	// SynchronousCommit and SynchronousStandbyNames are PostgreSQL's settings of those names ("" for SQLite).
	SynchronousCommit       string
	SynchronousStandbyNames string
	// SyncStandbys names the standbys streaming with sync_state sync or quorum.
	SyncStandbys []string
	// Synchronous: a commit returns only once a synchronous standby has it, so it survives the primary's loss.
	Synchronous bool
}

// Options adjust OpenURL.
type Options struct {
	// AllowAsyncReplication opens a PostgreSQL store whose commits do not wait for a synchronous standby (a single
	// server, or asynchronous replicas), accepting that a failover may lose recent commits.
	AllowAsyncReplication bool
	// Migrate brings a PostgreSQL schema up to SchemaVersion on open, under the migration lock; without it an
	// older schema is ErrSchemaBehind. A SQLite file is always migrated on open.
	Migrate bool
}

// IsPostgres reports whether dsn names a PostgreSQL database rather than a SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// SQLitePath is the file a SQLite dsn names (a plain path or sqlite:PATH), "" for a PostgreSQL URL.
func SQLitePath(dsn string) string {
	if IsPostgres(dsn) {
		return ""
	}
	return strings.TrimPrefix(dsn, "sqlite:")
}

// OpenURL opens the store dsn names: a SQLite file (a plain path, or sqlite:PATH), migrated on open, or a
// PostgreSQL database (postgres://… or postgresql://…, multi-host with target_session_attrs=read-write to follow a
// failover), whose replication must be synchronous unless opts.AllowAsyncReplication.
func OpenURL(ctx context.Context, dsn string, opts Options) (Store, error) {
	if IsPostgres(dsn) {
		return OpenPostgres(ctx, dsn, opts)
	}
	if dsn == "" {
		return nil, errors.New("open store: no database named")
	}
	return Open(ctx, SQLitePath(dsn))
}

// Migrate brings the database dsn names to SchemaVersion and returns the versions before and after: SQLite under
// its write lock, PostgreSQL under an advisory lock, so that several hubs starting at once apply each step once.
func Migrate(ctx context.Context, dsn string) (before, after int, err error) {
	if IsPostgres(dsn) {
		p, err := openPostgres(ctx, dsn)
		if err != nil {
			return 0, 0, err
		}
		defer p.Close()
		return p.migrate(ctx)
	}
	s, before, err := openSQLiteFile(ctx, SQLitePath(dsn))
	if err != nil {
		return before, before, fmt.Errorf("migrate: %w", err)
	}
	defer s.Close()
	return before, SchemaVersion(), nil
}
