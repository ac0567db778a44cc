package view

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/shared/wire"
)

// TestAgentsScreenApprovesPendingAgent: the Agents screen creates an enrollment whose command carries no token (the
// token in its own field); an agent enrolled with it is listed pending, the navigation counts it, and selecting it
// shows its key fingerprint with Approve…, which asks first with the fingerprint and approves at the hub.
func TestAgentsScreenApprovesPendingAgent(t *testing.T) {
	a, w, h := connectedHub(t)
	a.Select("agents")
	var entries []*widget.Entry
	find(w.Canvas().Content(), func(o fyne.CanvasObject) {
		if e, ok := o.(*widget.Entry); ok && e.Visible() {
			entries = append(entries, e)
		}
	})
	tapButton(t, w, "Create enrollment token")
	var cmd, token string
	eventually(t, "the enroll command and its token", func() bool {
		for _, e := range entries {
			fyne.DoAndWait(func() {
				switch {
				case strings.HasPrefix(e.Text, "watchword-agent enroll "):
					cmd = e.Text
				case len(e.Text) > 20 && !strings.Contains(e.Text, " "):
					token = e.Text
				}
			})
		}
		return cmd != "" && token != ""
	})
	if strings.Contains(cmd, token) || !strings.Contains(cmd, "--token-file -") {
		t.Fatalf("the command shows the token or does not read it from standard input: %q", cmd)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id := h.NewIdentity()
	resp, err := h.Client(id).Enroll(ctx, wire.EnrollRequest{Token: token, Name: "wingtip.local", Driver: wire.DriverAD})
	if err != nil || resp.Status != wire.AgentPending {
		t.Fatalf("enroll with the screen's token: %+v, %v", resp, err)
	}
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	sec, _ := a.Section("agents")
	if got := a.NavTitle(sec); !strings.HasSuffix(got, "(1 pending)") {
		t.Fatalf("navigation: %q", got)
	}
	row := -1
	for i, g := range a.Snapshot().Agents {
		if g.ID == resp.AgentID {
			row = i
		}
	}
	fyne.DoAndWait(func() { tables(w.Canvas().Content())[0].Select(widget.TableCellID{Row: row, Col: 0}) })
	fp := id.Public().Fingerprint()
	eventually(t, "the pending agent's fingerprint", func() bool {
		return containsText(w.Canvas().Content(), "wingtip.local waits for approval") &&
			containsText(w.Canvas().Content(), strings.Join(fp.Lines(), "  "))
	})
	tapButton(t, w, "Approve…")
	top := topOverlay(w)
	if top == nil || !containsText(top, "read out the key fingerprint") || !containsText(top, fp.Lines()[0]) {
		t.Fatal("the approval does not ask to compare the fingerprint")
	}
	tapButton(t, w, "Fingerprint matches: approve")
	eventually(t, "the approval", func() bool {
		g := a.Snapshot().Agent(resp.AgentID)
		return g != nil && g.Status == wire.AgentActive && len(a.PendingAgents()) == 0
	})
	eventually(t, "the pending line to go", func() bool {
		return !containsText(w.Canvas().Content(), "wingtip.local waits for approval") && containsText(w.Canvas().Content(), "No agent waits for approval.")
	})
}
