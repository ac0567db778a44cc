package agent

import (
	"context"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/shared/wire"
)

// TestDeletesADeletedTechsAccounts: an account in plan.Delete is deleted from the target and reported deleted, not
// disabled; a plan the signed authority refuses deletes nothing (disablesOnly keeps its disables alone).
func TestDeletesADeletedTechsAccounts(t *testing.T) {
	hub := &fakeHub{}
	fd := newFakeDriver()
	fd.pw["dora-ms"], fd.groups["dora-ms"] = "old", []string{"ops"}
	r, err := New(Config{Hub: hub, NewDriver: func() (driver.Driver, error) { return fd, nil }, Parallelism: 1,
		Retry: time.Millisecond, Backoff: Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	plan := &wire.Plan{ClientGUID: "g", AgentID: 1, Driver: "ad", Delete: []wire.PlanDisable{{AccountID: 7, TechID: 3, AccountName: "dora-ms"}}}
	if refused := disablesOnly(plan); len(refused.Delete) != 0 {
		t.Fatalf("a refused plan keeps deletes: %+v", refused.Delete)
	}
	sum := r.Sync(context.Background(), plan)
	if sum.Failed != 0 {
		t.Fatalf("summary %+v", sum)
	}
	if _, ok := fd.pw["dora-ms"]; ok {
		t.Fatal("the account is still on the target")
	}
	if len(hub.reports) != 1 || hub.reports[0] != (wire.AccountReport{AccountID: 7, State: wire.AccountDeleted}) {
		t.Fatalf("reports %+v, want account 7 deleted", hub.reports)
	}
}
