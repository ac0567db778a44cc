package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/watchword/watchword/shared/wire"
)

// The SQLite store's own tests: migrations, the journal mode and a backup that opens as a store. What every
// implementation must do is the suite in storetest, run by sqlite_test.go.

func openSQLite(t *testing.T) (*SQLite, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hub.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

var ctx = context.Background()
var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

const guidA = "aaaaaaaa-0000-4000-8000-000000000001"

func TestMigrationsFromEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	var v int
	s.w.QueryRow("PRAGMA user_version").Scan(&v)
	var mode string
	s.w.QueryRow("PRAGMA journal_mode").Scan(&mode)
	s.Close()
	if v != SchemaVersion() || v < 1 {
		t.Fatalf("schema version %d, want %d", v, SchemaVersion())
	}
	if mode != "wal" {
		t.Fatalf("journal mode %q", mode)
	}
	// Reopening applies nothing twice.
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	s.w.Exec("PRAGMA user_version = 99")
	s.Close()
	if _, err := Open(ctx, path); err == nil {
		t.Fatal("a database from a newer hub was opened")
	}
}

func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestBackup(t *testing.T) {
	s, _ := openSQLite(t)
	if err := s.Write(ctx, func(tx Tx) error {
		return tx.CreateTenant(&Tenant{GUID: guidA, Name: "MSP", Abbrev: "ms", Recovery: "age1pq1recovery", Policy: wire.DefaultPolicy(), CreatedAt: now})
	}); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "copy.db")
	if err := s.Backup(ctx, dst); err != nil {
		t.Fatal(err)
	}
	if err := s.Backup(ctx, dst); !errors.Is(err, ErrConflict) {
		t.Fatalf("backup over an existing file: %v", err)
	}
	c, err := Open(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Read(ctx, func(tx Tx) error {
		if _, err := tx.Tenant(guidA); err != nil {
			t.Fatalf("tenant in backup: %v", err)
		}
		return nil
	})
}

// TestMigrationUpgradeKeepsData builds a database at schema version 1 (migration 0001 only) with data in it and
// checks that every later migration applies on top without losing rows: accounts keep their names, the owner stays
// an active owner, a co-managed tech's organization becomes a record with co-management on, and active techs and
// agents get a seat dated from before the upgrade.
func TestMigrationUpgradeKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	db := rawDB(t, path)
	v1, err := migrations.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	at := now.UnixNano()
	for _, q := range []string{string(v1), "PRAGMA user_version = 1",
		fmt.Sprintf("INSERT INTO tenants (id, guid, name, abbrev, recovery, policy, created_at) VALUES (1, '%s', 'MSP', 'ms', 'age1pq1recovery', '{}', %d)", guidA, at),
		fmt.Sprintf("INSERT INTO admins (tenant_id, name, role, public_key, key_id, created_at) VALUES (1, 'Owner', 'owner', 'pk-o', 'key-o', %d)", at),
		fmt.Sprintf("INSERT INTO techs (id, tenant_id, username, display_name, email, organization, co_managed, status, public_key, key_id, fingerprint, created_at, updated_at) VALUES (1, 1, 'alice', 'alice', 'a@x', 'Contoso', 1, 'active', 'pk-a', 'key-a', 'fp', %d, %d)", at, at),
		fmt.Sprintf("INSERT INTO agents (id, tenant_id, name, driver, status, public_key, key_id, created_at) VALUES (1, 1, 'x.local', 'ad', 'active', 'pk-x', 'key-x', %d)", at),
		fmt.Sprintf("INSERT INTO accounts (tenant_id, tech_id, agent_id, name, created_at) VALUES (1, 1, 1, 'alice-ms', %d)", at),
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	db.Close()
	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	defer s2.Close()
	s2.Read(ctx, func(tx Tx) error {
		accs, err := tx.AccountsByTech(1, 1)
		if err != nil || len(accs) != 1 || accs[0].Name != "alice-ms" || accs[0].RotateReason != "" || accs[0].Adopted || accs[0].RetryVersion != 0 || !accs[0].RetriedAt.IsZero() {
			t.Fatalf("accounts after upgrade: %+v, %v", accs, err)
		}
		if a, err := tx.AdminByKey(1, "key-o"); err != nil || a.Role != wire.RoleOwner || a.Status != wire.AdminActive {
			t.Fatalf("owner after upgrade: %+v, %v", a, err)
		}
		if o, err := tx.OrgByName(1, "contoso"); err != nil || o.Name != "Contoso" || !o.CoManaged {
			t.Fatalf("organization after upgrade: %+v, %v", o, err)
		}
		if on, err := tx.CoManagement(1); err != nil || !on {
			t.Fatalf("co-management after upgrade: %v, %v", on, err)
		}
		seats, err := tx.Seats(1)
		if err != nil || len(seats) != 2 || !seats[0].Since.Equal(now) || seats[0].Kind != wire.SeatAgent || seats[1].Kind != wire.SeatCoManagedTech {
			t.Fatalf("seats after upgrade: %+v, %v", seats, err)
		}
		return nil
	})
	var v int
	s2.w.QueryRow("PRAGMA user_version").Scan(&v)
	if v != SchemaVersion() {
		t.Fatalf("schema version after upgrade: %d", v)
	}
}
