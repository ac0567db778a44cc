package hub_test

import (
	"context"
	"fmt"
	"testing"

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
			techs := make([]string, n)
			for i := range techs {
				techs[i] = fmt.Sprintf("tech%05d", i)
			}
			h.AddTechs(techs...)
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
