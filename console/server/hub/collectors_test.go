package hub_test

import (
	"context"
	"encoding/pem"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/wire"
)

// TestCollectors: the owner adds a collector (the fields checked), every admin lists it with the state of its
// stream — here a collector nobody listens for: not connected, why, and the whole chain as its backlog — and the
// owner deletes it; both changes are audited.
func TestCollectors(t *testing.T) {
	h := hubtest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.Hub.StreamAudit(ctx)

	cert, err := h.NewIdentity().TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	caPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens there now

	for _, c := range []struct {
		req   wire.CollectorRequest
		field string
	}{
		{wire.CollectorRequest{Address: addr, CAPEM: caPEM}, "name"},
		{wire.CollectorRequest{Name: "siem", Address: "127.0.0.1", CAPEM: caPEM}, "address"},
		{wire.CollectorRequest{Name: "siem", Address: "127.0.0.1:99999", CAPEM: caPEM}, "address"},
		{wire.CollectorRequest{Name: "siem", Address: addr, CAPEM: "not a certificate"}, "caPem"},
		{wire.CollectorRequest{Name: "siem", Address: addr, CAPEM: caPEM, Format: "xml"}, "format"},
	} {
		_, err := h.Owner.CreateCollector(ctx, c.req)
		var we *wire.Error
		if !errors.As(err, &we) || we.Code != wire.CodeInvalid || we.Field != c.field {
			t.Fatalf("create %+v: %v, want invalid %s", c.req, err, c.field)
		}
	}
	created, err := h.Owner.CreateCollector(ctx, wire.CollectorRequest{Name: "siem", Address: addr, CAPEM: caPEM})
	if err != nil || created.Format != wire.CollectorJSON || created.Name != "siem" {
		t.Fatalf("create: %+v, %v", created, err)
	}
	if _, err := h.Owner.CreateCollector(ctx, wire.CollectorRequest{Name: "siem", Address: addr, CAPEM: caPEM, Format: wire.CollectorCEF}); !isCode(err, wire.CodeConflict) {
		t.Fatalf("a second collector named siem: %v", err)
	}
	var got wire.Collector
	deadline := time.Now().Add(30 * time.Second)
	for {
		list, err := h.Owner.Collectors(ctx)
		if err != nil || len(list) != 1 {
			t.Fatalf("collectors: %+v, %v", list, err)
		}
		got = list[0]
		if got.Error != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stream never reported the unreachable collector: %+v", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got.Connected || !strings.Contains(got.Error, "siem") || got.SentSeq != 0 || got.HeadSeq < 2 || got.Backlog != got.HeadSeq || got.Alert != "" {
		t.Fatalf("an unreachable collector: %+v", got)
	}
	if err := h.Owner.DeleteCollector(ctx, got.ID); err != nil {
		t.Fatal(err)
	}
	if err := h.Owner.DeleteCollector(ctx, got.ID); !isCode(err, wire.CodeNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	if list, err := h.Owner.Collectors(ctx); err != nil || len(list) != 0 {
		t.Fatalf("after the delete: %+v, %v", list, err)
	}
	evs, err := h.Owner.Audit(ctx, wire.AuditQuery{ActionPrefix: "audit.collector."})
	if err != nil || len(evs) != 2 || evs[0].Action != "audit.collector.create" || evs[1].Action != "audit.collector.delete" {
		t.Fatalf("audited: %+v, %v", evs, err)
	}
}
