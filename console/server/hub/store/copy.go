package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrTargetNotEmpty: Copy writes only into a database that holds no hub data yet, so that nothing of another hub
// mixes with the copy and the copy's IDs are the source's.
var ErrTargetNotEmpty = errors.New("target database is not empty")

// TableCount is one table's rows in the source and, after the copy, in the target.
type TableCount struct {
	Table          string
	Source, Target int64
}

// AuditHeadCopy is one tenant's audit chain head (its last event's sequence number and hash) on both sides.
type AuditHeadCopy struct {
	Tenant                 int64
	Seq                    int64
	SourceHash, TargetHash string
}

// CopyReport is what Copy wrote and what it checked afterwards.
type CopyReport struct {
	Tables      []TableCount    // in the order they were copied (referenced tables first)
	AuditEvents int64           // events whose chain verified on the target (VerifyAudit)
	AuditHeads  []AuditHeadCopy // every tenant's head, by tenant
}

// Rows is the number of rows copied, every table together.
func (r *CopyReport) Rows() int64 {
	var n int64
	for _, t := range r.Tables {
		n += t.Target
	}
	return n
}

// Copy moves a hub from its SQLite file to a PostgreSQL database: every table of src is copied into dst (whose
// schema dst's migrations already made: OpenPostgres with Options.Migrate), row by row with the same IDs, in one
// transaction on dst under the write lock. dst must hold no hub data (ErrTargetNotEmpty). The source is read in
// one snapshot, so a hub still writing to it cannot tear the copy, but what it writes after the snapshot is not
// copied: stop the hub first.
//
// Before writing, the source's audit chain must verify (a broken chain would be carried over and could no longer
// be told from damage done by the move). Row triggers of dst are off while the rows go in, so a trigger that
// derives a column on insert (a seat's start) keeps the source's value; each identity sequence is moved past the
// highest copied ID, so the next row the hub inserts does not collide. After the commit Copy reads both sides
// again: each table's row count must be equal, dst's audit chain must verify with as many events, and each
// tenant's chain head must have the source's hash. Any difference is an error, with the report filled in.
func Copy(ctx context.Context, src *SQLite, dst *Postgres) (*CopyReport, error) {
	if _, err := src.VerifyAudit(ctx); err != nil {
		return nil, fmt.Errorf("copy: the source's audit chain does not verify, nothing copied: %w", err)
	}
	stx, err := src.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("copy: read %s: %w", src.path, err)
	}
	defer stx.Rollback()
	tables, err := sqliteTables(ctx, stx)
	if err != nil {
		return nil, fmt.Errorf("copy: tables of %s: %w", src.path, err)
	}
	targetCols, err := postgresColumns(ctx, dst)
	if err != nil {
		return nil, err
	}
	if err := sameTables(tables, targetCols); err != nil {
		return nil, fmt.Errorf("copy from %s to %s: %w", src.path, dst.where, err)
	}

	dtx, err := dst.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("copy: begin on %s: %w", dst.where, err)
	}
	defer dtx.Rollback()
	if err := dst.lockWrite(ctx, dtx); err != nil {
		return nil, fmt.Errorf("copy: lock %s: %w", dst.where, err)
	}
	for _, t := range tables {
		var has bool
		if err := dtx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM "+quoteIdent(t.name)+")").Scan(&has); err != nil {
			return nil, fmt.Errorf("copy: read %s on %s: %w", t.name, dst.where, err)
		}
		if has {
			return nil, fmt.Errorf("copy to %s: %w: table %s has rows (copy only into a database no hub has used)", dst.where, ErrTargetNotEmpty, t.name)
		}
	}
	report := &CopyReport{}
	for _, t := range tables {
		if _, err := dtx.ExecContext(ctx, "ALTER TABLE "+quoteIdent(t.name)+" DISABLE TRIGGER USER"); err != nil {
			return nil, fmt.Errorf("copy: table %s on %s: %w", t.name, dst.where, err)
		}
		n, err := copyTable(ctx, stx, dtx, t, targetCols[t.name])
		if err != nil {
			return nil, fmt.Errorf("copy: table %s to %s: %w", t.name, dst.where, err)
		}
		if _, err := dtx.ExecContext(ctx, "ALTER TABLE "+quoteIdent(t.name)+" ENABLE TRIGGER USER"); err != nil {
			return nil, fmt.Errorf("copy: table %s on %s: %w", t.name, dst.where, err)
		}
		report.Tables = append(report.Tables, TableCount{Table: t.name, Source: n})
		if targetCols[t.name]["id"].identity {
			if _, err := dtx.ExecContext(ctx, "SELECT setval(pg_get_serial_sequence($1, 'id'), m) FROM (SELECT MAX(id) AS m FROM "+
				quoteIdent(t.name)+") AS x WHERE m IS NOT NULL", t.name); err != nil {
				return nil, fmt.Errorf("copy: the ID sequence of %s on %s: %w", t.name, dst.where, err)
			}
		}
	}
	if err := dtx.Commit(); err != nil {
		return nil, fmt.Errorf("copy: commit on %s: %w", dst.where, err)
	}
	return report, verifyCopy(ctx, stx, dst, report)
}

// verifyCopy fills in the target's side of report and says what differs.
func verifyCopy(ctx context.Context, stx *sql.Tx, dst *Postgres, report *CopyReport) error {
	var errs []error
	for i, t := range report.Tables {
		if err := stx.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+quoteIdent(t.Table)).Scan(&report.Tables[i].Source); err != nil {
			return fmt.Errorf("copy: count %s in the source: %w", t.Table, err)
		}
		if err := dst.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+quoteIdent(t.Table)).Scan(&report.Tables[i].Target); err != nil {
			return fmt.Errorf("copy: count %s on %s: %w", t.Table, dst.where, err)
		}
		if c := report.Tables[i]; c.Source != c.Target {
			errs = append(errs, fmt.Errorf("table %s: %d rows in the source, %d in the target", c.Table, c.Source, c.Target))
		}
	}
	n, err := dst.VerifyAudit(ctx)
	report.AuditEvents = n
	if err != nil {
		errs = append(errs, fmt.Errorf("the audit chain does not verify on the target: %w", err))
	}
	var srcEvents int64
	if err := stx.QueryRowContext(ctx, "SELECT COUNT(*) FROM audit").Scan(&srcEvents); err != nil {
		return fmt.Errorf("copy: count audit events in the source: %w", err)
	}
	if n != srcEvents {
		errs = append(errs, fmt.Errorf("the target's audit chain holds %d events, the source's %d", n, srcEvents))
	}
	heads := map[int64]*AuditHeadCopy{}
	read := func(q interface {
		QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	}, target bool) error {
		rows, err := q.QueryContext(ctx, "SELECT tenant_id, seq, hash FROM audit_head")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var tenant, seq int64
			var hash string
			if err := rows.Scan(&tenant, &seq, &hash); err != nil {
				return err
			}
			h := heads[tenant]
			if h == nil {
				h = &AuditHeadCopy{Tenant: tenant, Seq: seq}
				heads[tenant] = h
			}
			if target {
				h.TargetHash = hash
			} else {
				h.SourceHash = hash
			}
			if h.Seq != seq {
				errs = append(errs, fmt.Errorf("tenant %d: the audit head is event %d in the source, %d in the target", tenant, h.Seq, seq))
			}
		}
		return rows.Err()
	}
	if err := read(stx, false); err != nil {
		return fmt.Errorf("copy: audit heads of the source: %w", err)
	}
	if err := read(dst.r, true); err != nil {
		return fmt.Errorf("copy: audit heads on %s: %w", dst.where, err)
	}
	for _, h := range heads {
		report.AuditHeads = append(report.AuditHeads, *h)
		if h.SourceHash != h.TargetHash {
			errs = append(errs, fmt.Errorf("tenant %d: the audit head's hash differs between the source and the target", h.Tenant))
		}
	}
	sort.Slice(report.AuditHeads, func(i, j int) bool { return report.AuditHeads[i].Tenant < report.AuditHeads[j].Tenant })
	if len(errs) > 0 {
		return fmt.Errorf("copy to %s: the copy does not match its source: %w", dst.where, errors.Join(errs...))
	}
	return nil
}

// srcTable is a table of the SQLite file: its columns in order and the columns its rows are read in order of.
type srcTable struct {
	name    string
	cols    []string
	orderBy []string
	refs    []string // the tables its foreign keys reference
}

// sqliteTables lists the source's tables, each after the tables it references (so the target's foreign keys hold
// as rows go in); tables SQLite keeps for itself are left out.
func sqliteTables(ctx context.Context, stx *sql.Tx) ([]srcTable, error) {
	names, err := strs(ctx, stx, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
	if err != nil {
		return nil, err
	}
	byName := map[string]*srcTable{}
	for _, name := range names {
		t := &srcTable{name: name}
		rows, err := stx.QueryContext(ctx, "SELECT name, pk FROM pragma_table_info(?) ORDER BY cid", name)
		if err != nil {
			return nil, err
		}
		pks := map[int]string{}
		for rows.Next() {
			var col string
			var pk int
			if err := rows.Scan(&col, &pk); err != nil {
				rows.Close()
				return nil, err
			}
			t.cols = append(t.cols, col)
			if pk > 0 {
				pks[pk] = col
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		for i := 1; i <= len(pks); i++ {
			t.orderBy = append(t.orderBy, pks[i])
		}
		if len(t.orderBy) == 0 {
			t.orderBy = t.cols // no primary key: a stable order all the same
		}
		if t.refs, err = strs(ctx, stx, "SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?)", name); err != nil {
			return nil, err
		}
		byName[name] = t
	}
	var out []srcTable
	state := map[string]int{} // 1: being placed, 2: placed
	var place func(name string, path []string) error
	place = func(name string, path []string) error {
		switch state[name] {
		case 2:
			return nil
		case 1:
			return fmt.Errorf("the foreign keys of tables %s form a cycle", strings.Join(append(path, name), " → "))
		}
		t := byName[name]
		if t == nil {
			return fmt.Errorf("a foreign key references table %s, which does not exist", name)
		}
		state[name] = 1
		for _, ref := range t.refs {
			if ref != name { // a table referencing itself: its rows go in order of their keys
				if err := place(ref, append(path, name)); err != nil {
					return err
				}
			}
		}
		state[name] = 2
		out = append(out, *t)
		return nil
	}
	for _, name := range names {
		if err := place(name, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func strs(ctx context.Context, stx *sql.Tx, q string, args ...any) ([]string, error) {
	rows, err := stx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// pgColumn is a column of the target: its type as information_schema names it, and whether it is an identity.
type pgColumn struct {
	dataType string
	identity bool
}

// postgresColumns reads the columns of the target's tables (its schema on the search path), without the
// migrations' own version table.
func postgresColumns(ctx context.Context, dst *Postgres) (map[string]map[string]pgColumn, error) {
	rows, err := dst.r.QueryContext(ctx, `SELECT table_name, column_name, data_type, is_identity FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name <> 'schema_version'`)
	if err != nil {
		return nil, fmt.Errorf("copy: columns of %s: %w", dst.where, err)
	}
	defer rows.Close()
	out := map[string]map[string]pgColumn{}
	for rows.Next() {
		var table, col, typ, ident string
		if err := rows.Scan(&table, &col, &typ, &ident); err != nil {
			return nil, fmt.Errorf("copy: columns of %s: %w", dst.where, err)
		}
		if out[table] == nil {
			out[table] = map[string]pgColumn{}
		}
		out[table][col] = pgColumn{dataType: typ, identity: ident == "YES"}
	}
	return out, rows.Err()
}

// sameTables checks that source and target have the same tables with the same columns: both were made by this
// binary's migrations, so a difference means one of them is not at this binary's schema.
func sameTables(src []srcTable, dst map[string]map[string]pgColumn) error {
	seen := map[string]bool{}
	for _, t := range src {
		seen[t.name] = true
		cols, ok := dst[t.name]
		if !ok {
			return fmt.Errorf("table %s is missing in the target", t.name)
		}
		if len(cols) != len(t.cols) {
			return fmt.Errorf("table %s has %d columns in the source, %d in the target", t.name, len(t.cols), len(cols))
		}
		for _, c := range t.cols {
			if _, ok := cols[c]; !ok {
				return fmt.Errorf("table %s: column %s is missing in the target", t.name, c)
			}
		}
	}
	for name := range dst {
		if !seen[name] {
			return fmt.Errorf("table %s of the target is not in the source", name)
		}
	}
	return nil
}

// copyBatchParams bounds the parameters of one INSERT (PostgreSQL takes at most 65,535).
const copyBatchParams = 30000

// copyTable copies t's rows from the source into the target in multi-row INSERTs, and returns how many it wrote.
func copyTable(ctx context.Context, stx, dtx *sql.Tx, t srcTable, cols map[string]pgColumn) (int64, error) {
	quoted := make([]string, len(t.cols))
	for i, c := range t.cols {
		quoted[i] = quoteIdent(c)
	}
	order := make([]string, len(t.orderBy))
	for i, c := range t.orderBy {
		order[i] = quoteIdent(c)
	}
	rows, err := stx.QueryContext(ctx, "SELECT "+strings.Join(quoted, ", ")+" FROM "+quoteIdent(t.name)+" ORDER BY "+strings.Join(order, ", "))
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	perBatch := max(1, min(1000, copyBatchParams/len(t.cols)))
	head := "INSERT INTO " + quoteIdent(t.name) + " (" + strings.Join(quoted, ", ") + ") VALUES "
	var args []any
	var n, inBatch int64
	flush := func() error {
		if inBatch == 0 {
			return nil
		}
		var b strings.Builder
		b.WriteString(head)
		for r := range inBatch {
			if r > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for c := range t.cols {
				if c > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "$%d", int(r)*len(t.cols)+c+1)
			}
			b.WriteByte(')')
		}
		if _, err := dtx.ExecContext(ctx, b.String(), args...); err != nil {
			return err
		}
		n += inBatch
		args, inBatch = args[:0], 0
		return nil
	}
	vals := make([]any, len(t.cols))
	ptrs := make([]any, len(t.cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		for i, c := range t.cols {
			v, err := pgValue(vals[i], cols[c].dataType)
			if err != nil {
				return n, fmt.Errorf("column %s: %w", c, err)
			}
			args = append(args, v)
		}
		inBatch++
		if inBatch == int64(perBatch) {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	return n, flush()
}

// pgValue is a SQLite value as the target column of type typ takes it. SQLite keeps whatever a row was given, so
// text in a BLOB column (or bytes in a TEXT one) is carried over as the target's type; a number where text is
// due, or the reverse, is an error rather than a guess.
func pgValue(v any, typ string) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		switch typ {
		case "bytea":
			return []byte(x), nil
		case "bigint", "integer", "smallint":
			return nil, fmt.Errorf("text where the target keeps a %s", typ)
		}
		return x, nil
	case []byte:
		switch typ {
		case "bytea":
			return x, nil
		case "bigint", "integer", "smallint":
			return nil, fmt.Errorf("bytes where the target keeps a %s", typ)
		}
		return string(x), nil
	case int64:
		switch typ {
		case "bigint", "integer", "smallint", "numeric", "double precision", "real":
			return x, nil
		case "boolean":
			return x != 0, nil
		}
		return nil, fmt.Errorf("a number where the target keeps %s", typ)
	case float64:
		switch typ {
		case "numeric", "double precision", "real":
			return x, nil
		}
		return nil, fmt.Errorf("a fraction where the target keeps %s", typ)
	case bool:
		return x, nil
	}
	return nil, fmt.Errorf("a value of type %T", v)
}

// quoteIdent quotes a table or column name for PostgreSQL and SQLite alike.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
