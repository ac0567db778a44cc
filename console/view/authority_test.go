package view

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/wire"
)

// TestAuthorityScreenTurnsOnAndAlerts: the owner sees the signed authority off with what turning it on trusts,
// turns it on through the confirmation (what it signs, the genesis fingerprint), and the screen then shows the
// head's fingerprint and the genesis hash; an agent that refuses the hub's plan shows as an alert on the screen,
// in the agents section and in the status bar.
func TestAuthorityScreenTurnsOnAndAlerts(t *testing.T) {
	a, w, h, _ := demoConsole(t)
	a.UseAuthority(h.OwnerID.Signer(), nil, nil)
	tapLabel(t, w, "Signed authority")
	eventually(t, "the authority off", func() bool {
		return showsPrefix(w.Canvas().Content(), "Off: the hub alone decides")
	})
	tapButton(t, w, "Turn on the signed authority…")
	eventually(t, "the confirmation", func() bool {
		top := topOverlay(w)
		return top != nil && containsText(top, "approved tech(s)") && containsText(top, "trusts what the hub holds")
	})
	tapButton(t, w, "Sign and publish")
	eventually(t, "the authority on", func() bool { return a.Snapshot().Authority.On() })
	st := a.Snapshot().Authority
	eventually(t, "the head's fingerprint", func() bool {
		return shows(w.Canvas().Content(), "On: update 0, head "+vm.Fingerprint(st.Head)) &&
			containsText(w.Canvas().Content(), "Signed authority 0 · "+vm.Fingerprint(st.Head))
	})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ag := h.NewAgent("refuser.local", wire.DriverAD)
	if err := ag.ReportAuthority(ctx, wire.AgentAuthorityReport{Head: &wire.AuthorityHead{Seq: st.Seq, Hash: st.Head.String()},
		Refusal: `account "eve-tm": no signed triplet grants tech 9`}); err != nil {
		t.Fatal(err)
	}
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the refusal as an alert", func() bool {
		root := w.Canvas().Content()
		return containsText(root, "refuser.local refuses: account") && containsText(root, "Signed authority: 1 alert(s)")
	})
	tapLabel(t, w, "Agents")
	eventually(t, "the refusal on the agents screen", func() bool {
		return match(w.Canvas().Content(), func(s string) bool { return strings.HasPrefix(s, "refuser.local refuses") })
	})
}
