package view

import (
	"context"
	"encoding/pem"
	"net"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// The owner adds a syslog collector on the audit streaming screen; the table shows it with the state of its stream
// (nobody listens at its address: not connected, and why), the events not yet sent, and deleting it asks first.
func TestAuditStreamScreen(t *testing.T) {
	a, w, h, _ := demoConsole(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.Hub.StreamAudit(ctx)
	cert, err := h.NewIdentity().TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	a.Select("auditstream")
	eventually(t, "the form", func() bool { return containsText(w.Canvas().Content(), "Add a collector: syslog over TLS") })
	typeIn := func(placeholder, s string) {
		t.Helper()
		var entry *widget.Entry
		find(w.Canvas().Content(), func(o fyne.CanvasObject) {
			if e, ok := o.(*widget.Entry); ok && strings.HasPrefix(e.PlaceHolder, placeholder) {
				entry = e
			}
		})
		if entry == nil {
			t.Fatalf("no entry %q", placeholder)
		}
		fyne.DoAndWait(func() { entry.SetText(s) })
	}
	typeIn("siem.example.net", addr)
	typeIn("-----BEGIN CERTIFICATE-----", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})))
	tapButton(t, w, "Add collector")
	eventually(t, "a refusal without a name", func() bool { return topOverlay(w) != nil && containsText(topOverlay(w), "a name is required") })
	fyne.DoAndWait(func() { w.Canvas().Overlays().Top().Hide() })
	var name *widget.Entry
	find(w.Canvas().Content(), func(o fyne.CanvasObject) {
		if e, ok := o.(*widget.Entry); ok && e.PlaceHolder == "siem" {
			name = e
		}
	})
	fyne.DoAndWait(func() { test.Type(name, "siem") })
	tapButton(t, w, "Add collector")
	eventually(t, "the collector, not connected", func() bool {
		a.Select("audit")
		a.Select("auditstream")
		root := w.Canvas().Content()
		return shows(root, "siem") && showsPrefix(root, "Not connected: audit collector \"siem\"") && shows(root, "none yet")
	})
	cs, err := a.LoadCollectors(ctx)
	if err != nil || len(cs.List) != 1 || cs.List[0].Backlog < 1 || !shows(w.Canvas().Content(), cs.List[0].Address) {
		t.Fatalf("collectors: %+v, %v", cs, err)
	}
	if !containsText(w.Canvas().Content(), "JSON") {
		t.Fatal("the format is not shown")
	}
}
