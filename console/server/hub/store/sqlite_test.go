package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/console/server/hub/store/storetest"
)

// openSQLite opens a new, empty SQLite store in the test's directory.
func openSQLite(t *testing.T) store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestConformance runs the suite every Store implementation must pass.
func TestConformance(t *testing.T) { storetest.Run(t, openSQLite) }

// tamperSQL makes each of storetest.Tamperings on the SQLite tables.
var tamperSQL = map[storetest.Tampering]string{
	storetest.EditDetail:   "UPDATE audit SET detail = 'nothing happened' WHERE seq = 2",
	storetest.EditTime:     "UPDATE audit SET at = at + 1 WHERE seq = 3",
	storetest.DeleteMiddle: "DELETE FROM audit WHERE seq = 2",
	storetest.DeleteNewest: "DELETE FROM audit WHERE seq = 4",
	storetest.DeleteAndFix: "DELETE FROM audit WHERE seq = 4; UPDATE audit_head SET seq = 3",
	storetest.Rehash:       "UPDATE audit SET action = 'x', hash = 'ab' WHERE seq = 1",
	storetest.SwapActor:    "UPDATE audit SET actor_id = 77 WHERE seq = 1",
	storetest.DeleteAll:    "DELETE FROM audit",
}

func TestAuditTamper(t *testing.T) {
	storetest.RunTamper(t, openSQLite, func(t *testing.T, s store.Store, how storetest.Tampering) {
		q, ok := tamperSQL[how]
		if !ok {
			t.Fatalf("no statement makes %q", how)
		}
		if err := store.ExecSQL(s, q); err != nil {
			t.Fatal(err)
		}
	})
}
