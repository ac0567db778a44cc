package view

import (
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/shared/wire"
)

// TestEntraEnrolmentAndRights: the enrolment picker offers entra and then asks for the tenant's settings, which
// the enroll command carries; the rights editor says a right's groups on an entra agent are role names, and the
// effective access names its column so.
func TestEntraEnrolmentAndRights(t *testing.T) {
	a, w, _ := connected(t)
	a.Select("agents")
	root := w.Canvas().Content()
	var picker *widget.Select
	entries := map[string]*widget.Entry{}
	var cmd *widget.Entry
	find(root, func(o fyne.CanvasObject) {
		switch x := o.(type) {
		case *widget.Select:
			if slices.Contains(x.Options, wire.DriverAD) {
				picker = x
			}
		case *widget.Entry:
			entries[x.PlaceHolder] = x
			if strings.HasPrefix(x.PlaceHolder, "The enroll command appears here") {
				cmd = x
			}
		}
	})
	if picker == nil || !slices.Contains(picker.Options, wire.DriverEntra) || cmd == nil {
		t.Fatalf("the enrolment driver picker does not offer entra: %v", picker)
	}
	field := func(prefix string) *widget.Entry {
		t.Helper()
		for ph, e := range entries {
			if strings.HasPrefix(ph, prefix) {
				return e
			}
		}
		t.Fatalf("no field %q", prefix)
		return nil
	}
	tenant := field("Directory (tenant) ID")
	if checkShown(root, "Temporary Access Pass per JIT window") {
		t.Fatal("the entra settings show for an ad agent")
	}
	fyne.DoAndWait(func() { picker.SetSelected(wire.DriverEntra) })
	eventually(t, "the entra settings", func() bool {
		return checkShown(root, "Temporary Access Pass per JIT window (tenant requires MFA)") &&
			checkShown(root, "Verify passwords by a sign-in")
	})
	fyne.DoAndWait(func() {
		test.Type(field("Domain or host name"), "contoso.onmicrosoft.com")
		test.Type(tenant, "72f988bf-86f1-41af-91ab-2d7cd011db47")
		test.Type(field("Application (client) ID"), "0d6f2f4c-4a8b-4f5e-9b1c-3c2d1e0f9a8b")
		test.Type(field("Certificate PEM file"), "/etc/watchword/entra.pem")
		test.Type(field("Verified domain"), "contoso.onmicrosoft.com")
	})
	find(root, func(o fyne.CanvasObject) {
		if c, ok := o.(*widget.Check); ok && strings.HasPrefix(c.Text, "Temporary Access Pass per JIT window") {
			c.SetChecked(true)
		}
	})
	tapButton(t, w, "Create enrollment token")
	eventually(t, "the entra enroll command", func() bool {
		return strings.Contains(cmd.Text, "--driver entra --tenant-id 72f988bf-86f1-41af-91ab-2d7cd011db47 --client-id 0d6f2f4c-4a8b-4f5e-9b1c-3c2d1e0f9a8b --cert-file '/etc/watchword/entra.pem' --upn-domain contoso.onmicrosoft.com --usage-location US --verify=true --issue-tap=true")
	})

	a.Select("rights")
	var targets *widget.Entry
	find(w.Canvas().Content(), func(o fyne.CanvasObject) {
		if e, ok := o.(*widget.Entry); ok && strings.HasPrefix(e.PlaceHolder, "ad: Domain Admins") {
			targets = e
		}
	})
	if targets == nil || !strings.Contains(targets.PlaceHolder, "entra: User Administrator") ||
		!containsText(w.Canvas().Content(), "on entra (Microsoft Entra ID), the directory roles") {
		t.Fatalf("the rights editor says nothing of Entra roles: %v", targets)
	}
	a.Select("access")
	eventually(t, "the access column", func() bool { return containsText(w.Canvas().Content(), "Target groups or Entra roles") })
}

// checkShown says whether a check box whose text starts with prefix is on screen: it and every container above
// it visible.
func checkShown(root fyne.CanvasObject, prefix string) bool {
	seen := false
	var visit func(o fyne.CanvasObject)
	visit = func(o fyne.CanvasObject) {
		if o == nil || !o.Visible() {
			return
		}
		if c, ok := o.(*widget.Check); ok && strings.HasPrefix(c.Text, prefix) {
			seen = true
		}
		switch x := o.(type) {
		case *fyne.Container:
			for _, c := range x.Objects {
				visit(c)
			}
		case fyne.Widget:
			for _, c := range test.WidgetRenderer(x).Objects() {
				visit(c)
			}
		}
	}
	fyne.DoAndWait(func() { visit(root) })
	return seen
}
