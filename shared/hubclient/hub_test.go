package hubclient_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/hub"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/wire"
)

// TestHubCapabilityOfTheRealHub: the hub of this build answers its own capability version, which is this build's,
// so a client of the same build may use every feature.
func TestHubCapabilityOfTheRealHub(t *testing.T) {
	h := hubtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := h.Client(h.NewIdentity())
	if got := c.HubCapability(); got != 0 {
		t.Fatalf("before any answer: capability %d, want 0", got)
	}
	if err := c.Healthz(ctx); err != nil {
		t.Fatal(err)
	}
	if got := c.HubCapability(); got != wire.CapabilityVersion {
		t.Fatalf("after the hub's health answer: capability %d, want %d", got, wire.CapabilityVersion)
	}
	// A refusal carries it too: this identity is no tech of the tenant.
	c = h.Client(h.NewIdentity())
	if _, err := c.Status(ctx); err == nil {
		t.Fatal("an unknown device got its status")
	}
	if got := c.HubCapability(); got != wire.CapabilityVersion || !c.Supports(wire.CapAdoption) {
		t.Fatalf("after the hub's refusal: capability %d (supports adoption %v), want %d", got, c.Supports(wire.CapAdoption), wire.CapabilityVersion)
	}
}

// TestHealthOfTheRealHub: the health answer names the public URLs the operator gave the hub and the database it
// is connected to: a SQLite file is its own primary, with no synchronous standby.
func TestHealthOfTheRealHub(t *testing.T) {
	urls := []string{"https://hub-a.example:8443", "https://hub-b.example:8443"}
	h := hubtest.New(t, hubtest.WithConfig(func(c *hub.Config) { c.PublicURLs = urls }))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := h.Client(h.NewIdentity()).Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := wire.Health{OK: true, Protocol: wire.ProtocolVersion, Capability: wire.CapabilityVersion, URLs: urls,
		DB: &wire.HealthDB{Engine: wire.DBEngineSQLite, Role: wire.DBRolePrimary}}
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("health %+v (db %+v), want %+v (db %+v)", *got, got.DB, want, want.DB)
	}
}
