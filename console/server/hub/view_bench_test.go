package hub

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// BenchmarkViewBuild measures building a tenant's entitlement view of n active techs, each with its own device
// key, once the hub has seen the keys: what every entitlement change costs. Parsing a key and encoding its
// recipient again each time would add 60 to 90 µs a tech; the recipient cache (viewCache.recips) keeps that out.
func BenchmarkViewBuild(b *testing.B) {
	for _, n := range []int{2000} {
		b.Run(fmt.Sprintf("techs=%d", n), func(b *testing.B) {
			ctx := context.Background()
			st, err := store.Open(ctx, filepath.Join(b.TempDir(), "hub.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			id, err := seal.GenerateIdentity()
			if err != nil {
				b.Fatal(err)
			}
			h := New(st, id, Config{})
			nt, err := h.CreateTenant(ctx, TenantSpec{Name: "Bench MSP", Abbrev: "bn", Recovery: id.Public().Recipient().String()})
			if err != nil {
				b.Fatal(err)
			}
			var tenant *store.Tenant
			err = st.Write(ctx, func(tx store.Tx) error {
				if tenant, err = tx.Tenant(nt.GUID); err != nil {
					return err
				}
				now := time.Now()
				for i := range n {
					k, err := seal.GenerateIdentity()
					if err != nil {
						return err
					}
					err = tx.CreateTech(&store.Tech{TenantID: tenant.ID, Username: fmt.Sprintf("tech%05d", i), DisplayName: "T",
						Email: "t@x.y", Status: wire.TechActive, PublicKey: k.Public().String(), KeyID: k.Public().ID(),
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
			v, err := h.buildView(ctx, tenant) // the first build parses every key
			if err != nil || len(v.recipients) != n {
				b.Fatalf("view: %d recipients, %v", len(v.recipients), err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := h.buildView(ctx, tenant); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
