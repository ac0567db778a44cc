package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strconv"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// SQLite is the Store on a SQLite file. Writes go through one connection (SQLite has one writer anyway, and a
// single writer never meets SQLITE_BUSY); reads use a small pool that WAL lets run beside the writer.
type SQLite struct {
	db
	path string
}

var _ Store = (*SQLite)(nil)

// Open opens (creating if needed) the database at path and migrates it to SchemaVersion.
func Open(ctx context.Context, path string) (*SQLite, error) {
	s, _, err := openSQLiteFile(ctx, path)
	return s, err
}

// openSQLiteFile opens and migrates the database at path, and says which version it found.
func openSQLiteFile(ctx context.Context, path string) (*SQLite, int, error) {
	// Create the file owner-only before SQLite does (it would use the umask); WAL and SHM files inherit the mode.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	}
	// secure_delete zeroes what a DELETE frees: a pruned password version (tx_history.go) must not linger in
	// free pages of the file.
	dsn := func(lock string) string {
		return "file:" + url.PathEscape(path) + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
			"&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)&_pragma=secure_delete(1)&_txlock=" + lock
	}
	w, err := sql.Open("sqlite", dsn("immediate"))
	if err != nil {
		return nil, 0, fmt.Errorf("open database %q: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	r, err := sql.Open("sqlite", dsn("deferred"))
	if err != nil {
		w.Close()
		return nil, 0, fmt.Errorf("open database %q: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	s := &SQLite{db: db{eng: engineSQLite, w: w, r: r, readOpts: &sql.TxOptions{ReadOnly: true}}, path: path}
	before, err := s.migrate(ctx)
	if err != nil {
		s.Close()
		return nil, 0, err
	}
	return s, before, nil
}

// migrate applies the steps the file lacks, each in its own transaction with the new PRAGMA user_version, and
// returns the version it started from.
func (s *SQLite) migrate(ctx context.Context) (int, error) {
	var have int
	if err := s.w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&have); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	names, err := migrationNames()
	if err != nil {
		return 0, err
	}
	if have > len(names) {
		return have, fmt.Errorf("database schema version %d is newer than this hub (%d)", have, len(names))
	}
	for i := have; i < len(names); i++ {
		body, err := migrationSQL(engineSQLite, names[i])
		if err != nil {
			return have, err
		}
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return have, fmt.Errorf("migrate to %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, body); err != nil {
			tx.Rollback()
			return have, fmt.Errorf("migrate %s: %w", names[i], err)
		}
		if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(i+1)); err != nil {
			tx.Rollback()
			return have, fmt.Errorf("migrate %s: %w", names[i], err)
		}
		if err := tx.Commit(); err != nil {
			return have, fmt.Errorf("migrate %s: %w", names[i], err)
		}
	}
	return have, nil
}

// Health implements Store: a SQLite file is its own primary, and a commit is durable on this one disk only.
func (s *SQLite) Health(ctx context.Context) (Health, error) {
	if err := s.r.PingContext(ctx); err != nil {
		return Health{}, fmt.Errorf("health of %q: %w", s.path, err)
	}
	return Health{Engine: "sqlite", Role: RolePrimary}, nil
}

// Backup implements Store with VACUUM INTO, which copies a consistent snapshot while readers and writers go on.
//
// A copy holds everything the database does (the audit log, the techs' two-factor state, every sealed
// envelope), so it is owner-only like the database: the file is created empty with mode 0600, whatever the
// umask, before SQLite fills it (VACUUM INTO accepts an empty file; it would create a missing one with the
// umask's mode). Creating it exclusively also refuses a path that appears between the check and the copy.
func (s *SQLite) Backup(ctx context.Context, path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("backup to %q: %w: file exists", path, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("backup to %q: %w", path, err)
	}
	if err := errors.Join(f.Chmod(0o600), f.Close()); err != nil {
		os.Remove(path)
		return fmt.Errorf("backup to %q: %w", path, err)
	}
	if _, err := s.r.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		os.Remove(path) // an empty or partial copy is no backup
		return fmt.Errorf("backup to %q: %w", path, err)
	}
	return nil
}

// Checkpoint copies the WAL into the database file and truncates it, so values just overwritten (a secret re-sealed
// in place) do not linger in old WAL frames; secure_delete has already zeroed them in the file's free space.
func (s *SQLite) Checkpoint(ctx context.Context) error {
	var busy, logFrames, done int
	if err := s.w.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &done); err != nil {
		return fmt.Errorf("checkpoint %q: %w", s.path, err)
	}
	if busy != 0 {
		return fmt.Errorf("checkpoint %q: a reader kept %d of %d WAL frames", s.path, logFrames-done, logFrames)
	}
	return nil
}
