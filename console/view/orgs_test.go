package view

import (
	"testing"

	"github.com/watchword/watchword/shared/wire"
)

// Switching co-management off shows the hub's plan and applies it only when confirmed.
func TestOrgsScreenConfirmsCoManagementOff(t *testing.T) {
	a, w, world := connected(t)
	a.Select("orgs")
	eventually(t, "the organizations", func() bool {
		return shows(w.Canvas().Content(), "Contoso Ltd: co-management on, 2 co-managed techs (0 active)")
	})
	if !shows(w.Canvas().Content(), "Co-management for the tenant: on") {
		t.Fatal("the tenant's switch is not shown")
	}
	tapButton(t, w, "Switch co-management…")
	eventually(t, "the plan", func() bool {
		top := topOverlay(w)
		return top != nil && containsText(top, "deactivate 2 co-managed tech(s): gkim (Contoso Ltd, pending); hadams (Contoso Ltd, pending)")
	})
	if !containsText(topOverlay(w), "the audit log and all credential history: nothing of them is deleted") {
		t.Fatal("the confirmation does not say the audit log and credential history are kept")
	}
	if a.Snapshot().Tech(world.Techs["gkim"]).Status != wire.TechPending {
		t.Fatal("the preview changed a tech")
	}
	tapButton(t, w, "Disable co-management")
	eventually(t, "co-management off", func() bool { return a.Snapshot().Tech(world.Techs["gkim"]).Status == wire.TechDisabled })
	if a.Snapshot().Tech(world.Techs["icosta"]).Status != wire.TechPending {
		t.Fatal("another organization's tech changed")
	}
}

// The admins with their roles, the seats by kind with their start dates.
func TestAdminsAndSeatsScreens(t *testing.T) {
	a, w, _ := connected(t)
	a.Select("admins")
	eventually(t, "the admins", func() bool { return shows(w.Canvas().Content(), "Owner: Owner, active") })
	a.Select("seats")
	eventually(t, "the seats", func() bool { return showsPrefix(w.Canvas().Content(), "MSP techs: 4, oldest since ") })
	if !containsText(w.Canvas().Content(), "Co-managed techs: 0") || !containsText(w.Canvas().Content(), "Agents: 9, oldest since ") {
		t.Fatal("seat summary incomplete")
	}
}
