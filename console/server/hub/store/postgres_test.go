package store_test

import (
	"context"
	"testing"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/console/server/hub/store/storetest"
	"github.com/watchword/watchword/internal/testsupport/targets"
)

// openPostgres opens a new, empty PostgreSQL store in a schema of its own on the test server. That server is a
// single node (scripts/targets.sh): no standby can be synchronous, so the durability check is waived.
func openPostgres(t *testing.T) store.Store {
	t.Helper()
	dsn := targets.PostgresSchema(t, targets.PostgresDSN(t))
	s, err := store.OpenURL(context.Background(), dsn, store.Options{Migrate: true, AllowAsyncReplication: true})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestConformancePostgres runs the suite on PostgreSQL.
func TestConformancePostgres(t *testing.T) { storetest.Run(t, openPostgres) }

// TestAuditTamperPostgres: the same statements alter the same tables on PostgreSQL.
func TestAuditTamperPostgres(t *testing.T) {
	storetest.RunTamper(t, openPostgres, func(t *testing.T, s store.Store, how storetest.Tampering) {
		q, ok := tamperSQL[how]
		if !ok {
			t.Fatalf("no statement makes %q", how)
		}
		if err := store.ExecSQL(s, q); err != nil {
			t.Fatal(err)
		}
	})
}
