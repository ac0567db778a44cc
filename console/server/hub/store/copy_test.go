package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/hub"
	"github.com/watchword/watchword/console/server/hub/hubserve"
	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/targets"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

// TestCopyToPostgres moves a hub with real content (two tenants, techs, an agent with confirmed and staged
// versions, the audit chains of all of it) from its SQLite file to PostgreSQL: every table's rows arrive equal,
// IDs and derived columns included; the audit chains verify with the source's heads; a hub over the copy serves
// the same tech the same envelopes; new rows get new IDs; and a second copy into the same database is refused.
func TestCopyToPostgres(t *testing.T) {
	dsn := targets.PostgresSchema(t, targets.PostgresDSN(t))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	h := hubtest.New(t)
	src, ok := any(h.Store).(*store.SQLite)
	if !ok {
		t.Skip("the harness's hub is on PostgreSQL: the copy's source is a SQLite file")
	}
	alice := h.ActiveTech("alice")
	h.ActiveTech("bob")
	h.NewTech("carol") // pending
	agent := h.NewAgent("contoso.local", wire.DriverAD)
	plan, err := agent.Plan(ctx, 0)
	if err != nil || len(plan.Accounts) != 2 {
		t.Fatalf("plan: %v, %d accounts", err, len(plan.Accounts))
	}
	for _, pa := range plan.Accounts {
		for v := pa.CurrentVersion + 1; v <= pa.CurrentVersion+2; v++ {
			env := hubtest.Seal(t, plan, pa, v, fmt.Sprintf("pw-%s-%d", pa.AccountName, v))
			if err := agent.StageSigned(ctx, pa.AccountID, v, env, agent.SignEnvelope(plan, pa, v, env)); err != nil {
				t.Fatal(err)
			}
			if v == pa.CurrentVersion+1 { // the second stays staged
				if err := agent.Confirm(ctx, pa.AccountID, v); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if _, err := h.Hub.CreateTenant(ctx, hub.TenantSpec{Name: "Other MSP", Abbrev: "ot", Recovery: h.Recovery.Public().Recipient().String()}); err != nil {
		t.Fatal(err)
	}
	before, err := alice.Credentials(ctx)
	if err != nil || len(before.Credentials) != 1 || len(before.Credentials[0].Versions) != 2 {
		t.Fatalf("alice's credentials before: %+v, %v", before, err)
	}

	dst, err := store.OpenPostgres(ctx, dsn, store.Options{Migrate: true, AllowAsyncReplication: true})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	rep, err := store.Copy(ctx, src, dst)
	if err != nil {
		t.Fatalf("copy: %v (report %+v)", err, rep)
	}
	if rep.Rows() < 20 || rep.AuditEvents < 10 || len(rep.AuditHeads) != 2 {
		t.Fatalf("copied %d rows, %d audit events, %d heads: too little for this hub", rep.Rows(), rep.AuditEvents, len(rep.AuditHeads))
	}
	for _, tc := range rep.Tables {
		if tc.Source != tc.Target {
			t.Errorf("table %s: %d rows, %d copied", tc.Table, tc.Source, tc.Target)
		}
	}
	for _, hd := range rep.AuditHeads {
		if hd.SourceHash == "" || hd.SourceHash != hd.TargetHash {
			t.Errorf("tenant %d: audit head %q, copied %q", hd.Tenant, hd.SourceHash, hd.TargetHash)
		}
	}
	sameRows(t, ctx, h.DBPath, dsn, rep.Tables)

	// A hub over the copy, with the same key, serves alice what she had.
	moved := hub.New(dst, h.HubKey, hub.Config{DisableTOTP: true})
	tlsCfg, err := hubserve.TLSConfig(moved)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(moved.Handler())
	srv.TLS = tlsCfg
	base, stop := context.WithCancel(context.Background())
	srv.Config.BaseContext = func(net.Listener) context.Context { return base }
	srv.StartTLS()
	defer func() { stop(); srv.Close() }()
	c, err := hubclient.New(h.Invite.WithURLs(srv.URL), alice.Identity)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	after, err := c.Credentials(ctx)
	if err != nil {
		t.Fatalf("alice on the moved hub: %v", err)
	}
	bv, av := before.Credentials[0].Versions, after.Credentials[0].Versions
	if len(av) != len(bv) || after.Credentials[0].AccountID != before.Credentials[0].AccountID {
		t.Fatalf("alice's credentials moved: %+v, were %+v", after.Credentials, before.Credentials)
	}
	for i := range bv {
		if av[i].Version != bv[i].Version || av[i].State != bv[i].State || !bytes.Equal(av[i].Envelope, bv[i].Envelope) {
			t.Fatalf("version %d moved as %+v", bv[i].Version, av[i])
		}
	}
	// New rows take IDs after the copied ones, and the chains go on from their heads.
	nt, err := moved.CreateTenant(ctx, hub.TenantSpec{Name: "Third", Abbrev: "th", Recovery: h.Recovery.Public().Recipient().String()})
	if err != nil {
		t.Fatalf("a new tenant on the copy: %v", err)
	}
	var ids []int64
	if err := dst.Read(ctx, func(tx store.Tx) error {
		ts, err := tx.Tenants()
		for _, tn := range ts {
			ids = append(ids, tn.ID)
		}
		return err
	}); err != nil || len(ids) != 3 {
		t.Fatalf("tenants on the copy: %v, %v", ids, err)
	}
	if n, err := dst.VerifyAudit(ctx); err != nil || n <= rep.AuditEvents {
		t.Fatalf("audit after the new tenant %s: %d events (copied %d), %v", nt.GUID, n, rep.AuditEvents, err)
	}

	if _, err := store.Copy(ctx, src, dst); !errors.Is(err, store.ErrTargetNotEmpty) {
		t.Fatalf("a second copy into the same database: %v, want ErrTargetNotEmpty", err)
	}
}

// sameRows compares every copied table row by row, in primary key order, between the SQLite file and PostgreSQL.
func sameRows(t *testing.T, ctx context.Context, path, dsn string, tables []store.TableCount) {
	t.Helper()
	lite, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	pg, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	for _, tc := range tables {
		var cols []string
		rows, err := lite.QueryContext(ctx, "SELECT name FROM pragma_table_info(?) ORDER BY cid", tc.Table)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var c string
			rows.Scan(&c)
			cols = append(cols, `"`+c+`"`)
		}
		rows.Close()
		q := "SELECT " + join(cols) + " FROM \"" + tc.Table + "\" ORDER BY " + join(cols)
		a, b := dump(t, ctx, lite, q), dump(t, ctx, pg, q)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("table %s differs:\nsqlite   %q\npostgres %q", tc.Table, a, b)
		}
	}
}

func join(cols []string) string {
	var b bytes.Buffer
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c)
	}
	return b.String()
}

// dump reads every row of q as text, so that the engines' value types compare.
func dump(t *testing.T, ctx context.Context, db *sql.DB, q string) [][]string {
	t.Helper()
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			switch x := v.(type) {
			case []byte:
				row[i] = string(x)
			case nil:
				row[i] = "NULL"
			default:
				row[i] = fmt.Sprint(x)
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
