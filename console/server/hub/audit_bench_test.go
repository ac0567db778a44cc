package hub_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/wire"
)

// BenchmarkAuditQuery100k reads the audit screen's pages from a tenant whose log holds 100,000 events, through
// the admin API (TLS, store, JSON) as the Console does: the newest page unfiltered, by action prefix, by the tech an
// event is about (a busy tech, and one that no event names, which scans the whole log), by a day, the page before a
// seq, and a whole export of one tech's events a page of 1000 at a time. Run it with
// go test -run '^$' -bench AuditQuery100k -benchtime 20x ./console/server/hub/
func BenchmarkAuditQuery100k(b *testing.B) {
	const n, techs, agents = 100_000, 500, 20
	ctx := context.Background()
	h := hubtest.New(b)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var tenant int64
	if err := h.Store.Read(ctx, func(tx store.Tx) error {
		t, err := tx.Tenant(h.GUID)
		if t != nil {
			tenant = t.ID
		}
		return err
	}); err != nil {
		b.Fatal(err)
	}
	filled := time.Now()
	for batch := 0; batch < n; batch += 5000 {
		err := h.Store.Write(ctx, func(tx store.Tx) error {
			for i := batch; i < batch+5000; i++ {
				tech, agent := (i/5)%techs+1, (i/5)%agents+1 // every tech and agent in every kind of event
				e := store.AuditEvent{TenantID: tenant, At: start.Add(time.Duration(i) * 30 * time.Second)}
				switch i % 5 {
				case 0:
					e.ActorKind, e.ActorID, e.Action, e.Target = "tech", int64(tech), "credential.reveal", fmt.Sprintf("account %d", i%9000+1)
					e.Detail = "version=3 devsig=none"
				case 1:
					e.ActorKind, e.ActorID, e.Action, e.Target = "agent", int64(agent), "version.confirm", fmt.Sprintf("account %d", i%9000+1)
				case 2:
					e.ActorKind, e.ActorID, e.Action, e.Target = "admin", 1, "tech.approve", fmt.Sprintf("tech %d", tech)
				case 3:
					e.ActorKind, e.ActorID, e.Action, e.Target = "agent", int64(agent), "account.problem", fmt.Sprintf("tech=%d agent=%d", tech, agent)
				default:
					e.ActorKind, e.ActorID, e.Action, e.Target = "admin", 1, "triplet.create", fmt.Sprintf("triplet %d", i)
				}
				if err := tx.Audit(&e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("filled %d audit events in %s", n, time.Since(filled).Round(time.Millisecond))
	day := start.Add(20 * 24 * time.Hour)
	cases := []struct {
		name string
		q    wire.AuditQuery
	}{
		{"newest-200", wire.AuditQuery{Newest: true, Limit: 200}},
		{"prefix-tech.-200", wire.AuditQuery{Newest: true, Limit: 200, ActionPrefix: "tech."}},
		{"about-busy-tech-200", wire.AuditQuery{Newest: true, Limit: 200, About: "tech 7"}},
		{"about-unknown-tech", wire.AuditQuery{Newest: true, Limit: 200, About: "tech 99999"}},
		{"one-day-200", wire.AuditQuery{Newest: true, Limit: 200, Since: day, Until: day.Add(24 * time.Hour)}},
		{"page-before-50000", wire.AuditQuery{Newest: true, Limit: 200, BeforeSeq: 50_000}},
		{"admin-actor-prefix-200", wire.AuditQuery{Newest: true, Limit: 200, ActorKind: "admin", ActorID: 1, ActionPrefix: "triplet."}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			got := 0
			for b.Loop() {
				evs, err := h.Owner.Audit(ctx, c.q)
				if err != nil {
					b.Fatal(err)
				}
				got = len(evs)
			}
			b.ReportMetric(float64(got), "events")
		})
	}
	b.Run("export-one-tech", func(b *testing.B) {
		got := 0
		for b.Loop() {
			got = 0
			for after := int64(0); ; {
				evs, err := h.Owner.Audit(ctx, wire.AuditQuery{About: "tech 7", AfterSeq: after, Limit: 1000})
				if err != nil {
					b.Fatal(err)
				}
				got += len(evs)
				if len(evs) < 1000 {
					break
				}
				after = evs[len(evs)-1].Seq
			}
		}
		b.ReportMetric(float64(got), "events")
	})
}
