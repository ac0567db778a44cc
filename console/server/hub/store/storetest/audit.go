package storetest

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/wire"
)

// testAuditQuery: each tenant has its own chain, numbered from 1; events filter and list in order; the chains
// verify together and one by one.
func testAuditQuery(t *testing.T, s store.Store) {
	a, b := twoTenants(t, s)
	write(t, s, func(tx store.Tx) error {
		for i, e := range []store.AuditEvent{
			{TenantID: a.ID, At: now, ActorKind: "admin", ActorID: 1, Action: "tech.approve", Target: "tech 1"},
			{TenantID: b.ID, At: now, ActorKind: "admin", ActorID: 9, Action: "tech.approve", Target: "tech 9"},
			{TenantID: a.ID, At: now.Add(time.Minute), ActorKind: "agent", ActorID: 2, Action: "version.confirm", Target: "account 3"},
			{TenantID: a.ID, At: now.Add(2 * time.Minute), ActorKind: "admin", ActorID: 1, Action: "right.delete", Target: "right 4", Detail: `name="DA"`},
		} {
			if err := tx.Audit(&e); err != nil || e.Seq != []int64{1, 1, 2, 3}[i] || e.Hash == "" {
				t.Fatalf("append %d: %+v, %v", i, e, err)
			}
		}
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		all, _ := tx.AuditEvents(a.ID, wire.AuditQuery{})
		if len(all) != 3 {
			t.Fatalf("tenant A sees %d events", len(all))
		}
		for i, e := range all {
			if e.Seq != int64(i+1) || e.TenantID != a.ID || (i > 0 && e.PrevHash != all[i-1].Hash) {
				t.Fatalf("chain of A: %+v", all)
			}
		}
		if all[2].Detail != `name="DA"` || !all[2].At.Equal(now.Add(2*time.Minute)) || all[2].Target != "right 4" {
			t.Fatalf("event read back: %+v", all[2])
		}
		got, _ := tx.AuditEvents(a.ID, wire.AuditQuery{ActorKind: "agent"})
		if len(got) != 1 || got[0].Action != "version.confirm" {
			t.Fatalf("by actor kind: %+v", got)
		}
		got, _ = tx.AuditEvents(a.ID, wire.AuditQuery{Since: now.Add(time.Second)})
		if len(got) != 2 {
			t.Fatalf("since: %+v", got)
		}
		checks := []struct {
			q    wire.AuditQuery
			seqs []int64
		}{
			{wire.AuditQuery{Action: "tech.approve"}, []int64{1}},
			{wire.AuditQuery{ActorKind: "admin", ActorID: 1}, []int64{1, 3}},
			{wire.AuditQuery{Until: now.Add(time.Minute)}, []int64{1}},
			{wire.AuditQuery{Since: now.Add(time.Minute), Until: now.Add(2 * time.Minute)}, []int64{2}},
			{wire.AuditQuery{AfterSeq: 1}, []int64{2, 3}},
			{wire.AuditQuery{Limit: 2}, []int64{1, 2}},
			{wire.AuditQuery{ActorID: 9}, nil},
			{wire.AuditQuery{ActionPrefix: "tech."}, []int64{1}},
			{wire.AuditQuery{ActionPrefix: "v"}, []int64{2}},
			{wire.AuditQuery{ActionPrefix: "%"}, nil}, // not a LIKE pattern
			{wire.AuditQuery{About: "tech 1"}, []int64{1}},
			{wire.AuditQuery{About: "agent 2"}, []int64{2}},
			{wire.AuditQuery{About: "admin 1"}, []int64{1, 3}},
			{wire.AuditQuery{About: "right 4", ActionPrefix: "right."}, []int64{3}},
			{wire.AuditQuery{Newest: true}, []int64{3, 2, 1}},
			{wire.AuditQuery{Newest: true, BeforeSeq: 3, Limit: 1}, []int64{2}},
			{wire.AuditQuery{BeforeSeq: 3, AfterSeq: 1}, []int64{2}},
		}
		for _, c := range checks {
			got, err := tx.AuditEvents(a.ID, c.q)
			var seqs []int64
			for _, e := range got {
				seqs = append(seqs, e.Seq)
			}
			if err != nil || !slices.Equal(seqs, c.seqs) {
				t.Fatalf("query %+v: %v, %v; want %v", c.q, seqs, err, c.seqs)
			}
		}
		if got, err := tx.AuditEvents(b.ID, wire.AuditQuery{}); err != nil || len(got) != 1 || got[0].ActorID != 9 {
			t.Fatalf("tenant B sees %+v, %v", got, err)
		}
		return nil
	})
	if n, err := s.VerifyAudit(ctx); err != nil || n != 4 {
		t.Fatalf("verify: %d, %v", n, err)
	}
	if n, err := s.VerifyAuditOf(ctx, a.ID); err != nil || n != 3 {
		t.Fatalf("verify A: %d, %v", n, err)
	}
	if n, err := s.VerifyAuditOf(ctx, b.ID); err != nil || n != 1 {
		t.Fatalf("verify B: %d, %v", n, err)
	}
	quiet := newTenant(t, s, "cccccccc-0000-4000-8000-000000000003")
	if n, err := s.VerifyAuditOf(ctx, quiet.ID); err != nil || n != 0 {
		t.Fatalf("verify a tenant without events: %d, %v", n, err)
	}
	_, err := s.VerifyAuditOf(ctx, 0)
	isNotFound(t, "verify no tenant", err)

	// About matches a "tech=ID" field of the target as a whole field: tech 1 is not tech 11.
	c := newTenant(t, s, "dddddddd-0000-4000-8000-000000000004")
	write(t, s, func(tx store.Tx) error {
		for _, target := range []string{"tech=11 agent=2", "tech=1 agent=2", "agent=2 tech=1", "tech 11"} {
			if err := tx.Audit(&store.AuditEvent{TenantID: c.ID, At: now, ActorKind: "system", Action: "account.problem", Target: target}); err != nil {
				return err
			}
		}
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		for about, want := range map[string][]int64{"tech 1": {2, 3}, "tech 11": {1, 4}, "agent 2": {1, 2, 3}, "agent 1": nil} {
			got, err := tx.AuditEvents(c.ID, wire.AuditQuery{About: about})
			var seqs []int64
			for _, e := range got {
				seqs = append(seqs, e.Seq)
			}
			if err != nil || !slices.Equal(seqs, want) {
				t.Fatalf("about %q: %v, %v; want %v", about, seqs, err, want)
			}
		}
		if _, err := tx.AuditEvents(c.ID, wire.AuditQuery{About: "tech"}); err == nil {
			t.Fatal("about without an ID is accepted")
		}
		return nil
	})
}

// A failing Write leaves nothing behind.
func testRollback(t *testing.T, s store.Store) {
	a := newTenant(t, s, guidA)
	boom := errors.New("boom")
	err := s.Write(ctx, func(tx store.Tx) error {
		if err := tx.CreateTech(&store.Tech{TenantID: a.ID, Username: "ghost", KeyID: "g", Status: wire.TechPending}); err != nil {
			return err
		}
		if err := tx.Audit(&store.AuditEvent{TenantID: a.ID, At: now, ActorKind: "system", Action: "x"}); err != nil {
			return err
		}
		if _, err := tx.BumpRevision(a.ID); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("write: %v", err)
	}
	read(t, s, func(tx store.Tx) error {
		if list, _ := tx.Techs(a.ID, ""); len(list) != 0 {
			t.Fatalf("rolled back tech persisted: %+v", list)
		}
		if tn, err := tx.TenantByID(a.ID); err != nil || tn.Revision != 0 {
			t.Fatalf("rolled back revision persisted: %+v, %v", tn, err)
		}
		return nil
	})
	if n, err := s.VerifyAudit(ctx); err != nil || n != 0 {
		t.Fatalf("audit after rollback: %d, %v", n, err)
	}
	// The chain goes on from where the committed events left it.
	write(t, s, func(tx store.Tx) error {
		e := &store.AuditEvent{TenantID: a.ID, At: now, ActorKind: "system", Action: "y"}
		if err := tx.Audit(e); err != nil || e.Seq != 1 {
			t.Fatalf("first event after a rollback: %+v, %v", e, err)
		}
		return nil
	})
}

// testBackup: a backup is written to a new file, never over an existing one. An engine without a file copy
// (PostgreSQL: pg_dump) says so with ErrNoBackup, naming the tool, and writes nothing.
func testBackup(t *testing.T, s store.Store) {
	newTenant(t, s, guidA)
	dst := filepath.Join(t.TempDir(), "copy.db")
	err := s.Backup(ctx, dst)
	if errors.Is(err, store.ErrNoBackup) {
		if !strings.Contains(err.Error(), "pg_dump") {
			t.Errorf("backup refused without naming the tool to use: %v", err)
		}
		if _, serr := os.Stat(dst); serr == nil {
			t.Errorf("a refused backup left %s behind", dst)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dst); err != nil || fi.Size() == 0 {
		t.Fatalf("backup file: %v, %v", fi, err)
	}
	isConflict(t, "backup over an existing file", s.Backup(ctx, dst))
}

// testClose: a closed store refuses transactions.
func testClose(t *testing.T, s store.Store) {
	newTenant(t, s, guidA)
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := s.Read(ctx, func(store.Tx) error { return nil }); err == nil {
		t.Fatal("a read after close")
	}
	if err := s.Write(ctx, func(store.Tx) error { return nil }); err == nil {
		t.Fatal("a write after close")
	}
}

// testHealth: the store names its engine, and the database it writes to is a primary.
func testHealth(t *testing.T, s store.Store) {
	h, err := s.Health(ctx)
	if err != nil {
		t.Fatalf("health: %v", err)
	}
	if h.Engine != "sqlite" && h.Engine != "postgres" {
		t.Errorf("health engine %q", h.Engine)
	}
	if h.Role != store.RolePrimary {
		t.Errorf("health role %q of a store written to, want %q", h.Role, store.RolePrimary)
	}
	if h.Synchronous && len(h.SyncStandbys) == 0 {
		t.Errorf("synchronous with no synchronous standby: %+v", h)
	}
}
