package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// engine is the small dialect that separates SQLite from PostgreSQL in the shared transaction code: how
// placeholders are written, the one string function they name differently, and how a statement that fails is
// kept from spoiling the rest of its transaction.
type engine int

const (
	engineSQLite engine = iota
	enginePostgres
)

func (e engine) String() string {
	if e == enginePostgres {
		return "postgres"
	}
	return "sqlite"
}

// rebind turns the ? placeholders of q into PostgreSQL's $1, $2, ... (a ? inside a quoted literal stays).
func (e engine) rebind(q string) string {
	if e != enginePostgres || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n, quoted := 0, false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			quoted = !quoted
		case c == '?' && !quoted:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// instr is the SQL expression for the position of needle in hay (0: absent).
func (e engine) instr(hay, needle string) string {
	if e == enginePostgres {
		return "strpos(" + hay + ", " + needle + ")"
	}
	return "instr(" + hay + ", " + needle + ")"
}

// db is what both engines share: a pool for writes and one for reads, and the hook that makes a write the only
// one running.
type db struct {
	eng engine
	w   *sql.DB
	r   *sql.DB
	// lockWrite runs first in every write transaction: PostgreSQL takes the advisory lock that makes writes one
	// at a time across processes (SQLite's BEGIN IMMEDIATE already did).
	lockWrite func(context.Context, *sql.Tx) error
	// readOpts are the options of a read transaction.
	readOpts *sql.TxOptions
}

// Close closes both connection pools.
func (s *db) Close() error { return errors.Join(s.r.Close(), s.w.Close()) }

// Read implements Store.
func (s *db) Read(ctx context.Context, fn func(Tx) error) error {
	t, err := s.r.BeginTx(ctx, s.readOpts)
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	defer t.Rollback()
	return fn(&tx{ctx: ctx, t: t, eng: s.eng})
}

// Write implements Store. A commit that fails (a lost connection, a failover) is reported: the transaction is
// then either wholly applied or not at all, never half.
func (s *db) Write(ctx context.Context, fn func(Tx) error) error {
	t, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin write: %w", err)
	}
	// Deferred, so that fn leaving by a panic or runtime.Goexit (a test's Fatal) still ends the transaction and
	// releases its locks; after a commit it does nothing.
	defer t.Rollback()
	if s.lockWrite != nil {
		if err := s.lockWrite(ctx, t); err != nil {
			return fmt.Errorf("begin write: %w", err)
		}
	}
	if err := fn(&tx{ctx: ctx, t: t, eng: s.eng, write: true}); err != nil {
		return err
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// VerifyAudit implements Store.
func (s *db) VerifyAudit(ctx context.Context) (int64, error) {
	var n int64
	err := s.Read(ctx, func(t Tx) error {
		var err error
		n, err = t.(*tx).verifyAudit(0)
		return err
	})
	return n, err
}

// VerifyAuditOf implements Store.
func (s *db) VerifyAuditOf(ctx context.Context, tenant int64) (int64, error) {
	if tenant <= 0 {
		return 0, fmt.Errorf("verify audit: tenant %d: %w", tenant, ErrNotFound)
	}
	var n int64
	err := s.Read(ctx, func(t Tx) error {
		var err error
		n, err = t.(*tx).verifyAudit(tenant)
		return err
	})
	return n, err
}

// tx is the one implementation of Tx, for both engines.
type tx struct {
	ctx   context.Context
	t     *sql.Tx
	eng   engine
	write bool
}

var _ Tx = (*tx)(nil)

func ns(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func tm(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// b2i stores a bool: both engines keep flags as integers 0 and 1, so the schema has one source.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// wrap turns driver errors into the package's sentinels.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%s: %w", op, ErrConflict)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%s: %w: unknown reference", op, ErrNotFound)
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%s: %w", op, ErrConflict)
		case "23503": // foreign_key_violation
			return fmt.Errorf("%s: %w: unknown reference", op, ErrNotFound)
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// guard runs a statement of a write transaction that may fail while the transaction goes on (a uniqueness
// conflict the caller handles). SQLite undoes the failed statement alone; PostgreSQL would abort the whole
// transaction, so there the statement runs inside a savepoint that a failure rolls back to.
func (x *tx) guard(run func() error) error {
	if x.eng != enginePostgres || !x.write {
		return run()
	}
	if _, err := x.t.ExecContext(x.ctx, "SAVEPOINT stmt"); err != nil {
		return err
	}
	if err := run(); err != nil {
		if _, rerr := x.t.ExecContext(x.ctx, "ROLLBACK TO SAVEPOINT stmt"); rerr != nil {
			return errors.Join(err, rerr)
		}
		x.t.ExecContext(x.ctx, "RELEASE SAVEPOINT stmt")
		return err
	}
	_, err := x.t.ExecContext(x.ctx, "RELEASE SAVEPOINT stmt")
	return err
}

func (x *tx) exec(op, q string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := x.guard(func() error {
		var err error
		res, err = x.t.ExecContext(x.ctx, x.eng.rebind(q), args...)
		return err
	})
	return res, wrap(op, err)
}

func (x *tx) queryRow(q string, args ...any) *sql.Row {
	return x.t.QueryRowContext(x.ctx, x.eng.rebind(q), args...)
}

func (x *tx) query(q string, args ...any) (*sql.Rows, error) {
	return x.t.QueryContext(x.ctx, x.eng.rebind(q), args...)
}

// one runs an UPDATE or DELETE that must hit exactly one row.
func (x *tx) one(op, q string, args ...any) error {
	res, err := x.exec(op, q, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	return nil
}

// insert runs an INSERT into a table with an id column and returns the new row's ID (RETURNING: both engines
// have it, and PostgreSQL's driver has no LastInsertId).
func (x *tx) insert(op, q string, args ...any) (int64, error) {
	var id int64
	err := x.guard(func() error { return x.queryRow(q+" RETURNING id", args...).Scan(&id) })
	return id, wrap(op, err)
}

// create runs an INSERT and sets *id to the new row's ID.
func (x *tx) create(id *int64, op, q string, args ...any) error {
	var err error
	*id, err = x.insert(op, q, args...)
	return err
}

// scanner is what a scan function reads: one *sql.Row or the current row of *sql.Rows.
type scanner interface{ Scan(...any) error }

// queryOne runs q and scans the row it returns; no row is ErrNotFound. op names the object in errors.
func queryOne[T any](x *tx, op string, scan func(scanner) (*T, error), q string, args ...any) (*T, error) {
	v, err := scan(x.queryRow(q, args...))
	return v, wrap(op, err)
}

// row reads the tenant's one row of table whose column col is v.
func row[T any](x *tx, op string, scan func(scanner) (*T, error), cols, table, col string, tenant int64, v any) (*T, error) {
	return queryOne(x, op, scan, "SELECT "+cols+" FROM "+table+" WHERE tenant_id = ? AND "+col+" = ?", tenant, v)
}

// queryAll runs q and scans every row it returns, in order. op names the list in errors.
func queryAll[T any](x *tx, op string, scan func(scanner) (*T, error), q string, args ...any) ([]T, error) {
	rows, err := x.query(q, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, *v)
	}
	return out, wrap(op, rows.Err())
}
