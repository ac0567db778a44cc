package view

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/shared/wire"
)

// The owner invites an API identity from the admins screen with an expiry and source addresses: the token the
// screen shows is an API invite carrying both, which the script's key claims as a pending API identity.
func TestAdminsInviteAPIIdentity(t *testing.T) {
	a, w, h := connectedHub(t)
	a.Select("admins")
	eventually(t, "the admins", func() bool { return shows(w.Canvas().Content(), "Owner: Owner, active") })
	var check *widget.Check
	var expires, sources, token *widget.Entry
	find(w.Canvas().Content(), func(o fyne.CanvasObject) {
		switch x := o.(type) {
		case *widget.Check:
			if x.Text == "API identity (for a script)" {
				check = x
			}
		case *widget.Entry:
			switch {
			case x.PlaceHolder == "Expires YYYY-MM-DD (empty: never)":
				expires = x
			case x.PlaceHolder == "From CIDRs, e.g. 10.0.0.0/8 (empty: any)":
				sources = x
			case strings.HasPrefix(x.PlaceHolder, "The single-use invite"):
				token = x
			}
		}
	})
	if check == nil || expires == nil || sources == nil || token == nil {
		t.Fatalf("the API identity's invite fields: %v %v %v %v", check, expires, sources, token)
	}
	test.Tap(check)
	test.Type(expires, "2099-03-31")
	test.Type(sources, "10.0.0.0/8, 192.0.2.7")
	tapButton(t, w, "Invite")
	eventually(t, "the invite token", func() bool { return token.Text != "" })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := h.Client(h.NewIdentity()).Claim(ctx, token.Text, "rmm-sync")
	if err != nil {
		t.Fatal(err)
	}
	ad := resp.Admin
	if !ad.API || ad.Status != wire.AdminPending || ad.ExpiresAt.Format("2006-01-02") != "2099-03-31" || len(ad.Sources) != 2 {
		t.Fatalf("the claimed API identity: %+v", ad)
	}
}
