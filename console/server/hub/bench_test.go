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

// BenchmarkHubPlan measures one agent's plan end to end — TLS request, store reads, entitlement index, JSON —
// for a tenant of n active techs on that agent (the entitle package benchmarks the computation alone).
func BenchmarkHubPlan(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("techs=%d", n), func(b *testing.B) {
			ctx := context.Background()
			h := hubtest.New(b)
			pub := h.NewIdentity().Public()
			err := h.Store.Write(ctx, func(tx store.Tx) error {
				tn, err := tx.Tenant(h.GUID)
				if err != nil {
					return err
				}
				now := time.Now()
				for i := range n {
					// One device key shared by all: only the key ID must be unique, and the plan only reads the key.
					err := tx.CreateTech(&store.Tech{TenantID: tn.ID, Username: fmt.Sprintf("tech%05d", i), DisplayName: "T",
						Email: "t@x.y", Status: wire.TechActive, PublicKey: pub.String(), KeyID: fmt.Sprintf("bench-%d", i),
						Fingerprint: "f", CreatedAt: now, UpdatedAt: now})
					if err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			agent := h.NewAgent("contoso.local", wire.DriverAD)
			p, err := agent.Plan(ctx, 0) // creates the accounts
			if err != nil || len(p.Accounts) != n {
				b.Fatalf("plan: %d accounts, %v", len(p.Accounts), err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := agent.PlanWait(ctx, 0, 0); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "accounts")
		})
	}
}
