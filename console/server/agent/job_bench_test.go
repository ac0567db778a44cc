package agent

import (
	"testing"

	"github.com/watchword/watchword/shared/rotation"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// BenchmarkJobRecipients: building an account's rotation job, which needs its tech's and the tenant's recovery
// recipients, with the runner's recipient cache against parsing both afresh.
// Run: go test -run '^$' -bench JobRecipients ./console/server/agent/
func BenchmarkJobRecipients(b *testing.B) {
	dev, _ := seal.GenerateIdentity()
	rec, _ := seal.GenerateIdentity()
	plan := &wire.Plan{ClientGUID: "00000000-0000-4000-8000-000000000000", AgentID: 1, Recovery: rec.Public().Recipient().String(),
		Policy: wire.DefaultPolicy()}
	pa := wire.PlanAccount{AccountID: 1, TechID: 1, Username: "alice", AccountName: "alice-tm",
		Recipients: []string{dev.Public().Recipient().String()}}
	b.Run("job", func(b *testing.B) {
		var cache seal.RecipientCache
		for b.Loop() {
			if _, err := buildJob(plan, &pa, rotation.RulesNone, &cache); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parse-both", func(b *testing.B) {
		for b.Loop() {
			if _, err := seal.ParseRecipient(pa.Recipients[0]); err != nil {
				b.Fatal(err)
			}
			if _, err := seal.ParseRecipient(plan.Recovery); err != nil {
				b.Fatal(err)
			}
		}
	})
}
