package hub

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/watchword/watchword/console/server/hub/auditstream"
	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/wire"
)

// StreamAudit streams every tenant's audit log to its collectors until ctx ends (package auditstream); the
// server that runs the hub runs it beside the API. With replicas, only the one holding Config.AuditStreamLock
// streams, and another takes over when it stops (replicas.go).
func (h *Hub) StreamAudit(ctx context.Context) {
	if h.streamLock == nil {
		h.stream.Run(ctx)
		return
	}
	h.streamLock.Run(ctx, func(ctx context.Context) {
		h.log.Info("audit stream: this replica streams")
		h.stream.Run(ctx)
	})
}

// signedHead is the tenant's chain head signed with the hub's key, with the newest audit checkpoint its admins
// signed into the signed authority (auditstream.Head says what each proves). A tenant without events has none.
func (h *Hub) signedHead(ctx context.Context, tenant int64) (*auditstream.Head, error) {
	var out *auditstream.Head
	err := h.st.Read(ctx, func(tx store.Tx) error {
		evs, err := tx.AuditEvents(tenant, wire.AuditQuery{Newest: true, Limit: 1})
		if err != nil || len(evs) == 0 {
			return err
		}
		at := h.now().UTC()
		out = &auditstream.Head{Tenant: tenant, Seq: evs[0].Seq, Hash: evs[0].Hash, At: at, HubKeyID: h.pin,
			HubKey: h.id.Public().AuthKey()}
		out.Signature = ed25519.Sign(h.id.Signer(), auditstream.HeadStatement(tenant, out.Seq, out.Hash, at))
		head, err := tx.AuthorityHead(tenant)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		s, err := h.authorityState(tx, tenant, head)
		if err != nil {
			return err
		}
		if s.Audit.Seq > 0 {
			out.Checkpoint = &auditstream.Checkpoint{Seq: s.Audit.Seq, Hash: hex.EncodeToString(s.Audit.Hash), Update: s.Audit.Update}
		}
		return nil
	})
	return out, err
}

// adminCollectors lists the tenant's collectors with the state of their streams.
func (h *Hub) adminCollectors(r *request) (any, error) {
	out := []wire.Collector{}
	err := h.st.Read(r.Context(), func(tx store.Tx) error {
		cs, err := tx.Collectors(r.tenant.ID)
		if err != nil {
			return err
		}
		var headSeq int64
		if evs, err := tx.AuditEvents(r.tenant.ID, wire.AuditQuery{Newest: true, Limit: 1}); err != nil {
			return err
		} else if len(evs) > 0 {
			headSeq = evs[0].Seq
		}
		for _, c := range cs {
			out = append(out, h.collectorWire(&c, headSeq))
		}
		return nil
	})
	return out, err
}

func (h *Hub) collectorWire(c *store.Collector, headSeq int64) wire.Collector {
	st := h.stream.State(c.ID)
	w := wire.Collector{ID: c.ID, Name: c.Name, Address: c.Address, Format: c.Format, CreatedAt: c.CreatedAt,
		Connected: st.Connected, Error: st.Error, SentSeq: c.SentSeq, SentAt: c.SentAt, HeadSeq: headSeq,
		Backlog: max(headSeq-c.SentSeq, 0), HeadSentAt: c.HeadAt}
	if w.Backlog >= wire.CollectorBacklogAlert {
		w.Alert = fmt.Sprintf("%d audit events are waiting for collector %q", w.Backlog, c.Name)
	}
	return w
}

// adminCollectorCreate adds a collector; the stream starts at the first event of the chain, so that the SIEM's
// copy verifies from the genesis.
func (h *Hub) adminCollectorCreate(r *request) (any, error) {
	var req wire.CollectorRequest
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	name, err := text("name", req.Name, true, 100)
	if err != nil {
		return nil, err
	}
	addr, err := text("address", req.Address, true, 300)
	if err != nil {
		return nil, err
	}
	host, port, err := net.SplitHostPort(addr)
	if p, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || p < 1 || p > 65535 {
		return nil, wire.Invalid("address", "must be host:port")
	}
	if err := checkCAPEM(req.CAPEM); err != nil {
		return nil, err
	}
	format := req.Format
	switch format {
	case "":
		format = wire.CollectorJSON
	case wire.CollectorJSON, wire.CollectorCEF:
	default:
		return nil, wire.Invalid("format", "must be %s or %s", wire.CollectorJSON, wire.CollectorCEF)
	}
	var c *store.Collector
	err = h.mutate(r.Context(), r.tenant, r.who, func(ch *change) error {
		ch.bump = false
		c = &store.Collector{TenantID: r.tenant.ID, Name: name, Address: addr, CAPEM: req.CAPEM, Format: format, CreatedAt: ch.at}
		if err := ch.tx.CreateCollector(c); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &wire.Error{Code: wire.CodeConflict, Field: "name", Message: "a collector of that name exists"}
			}
			return err
		}
		return ch.audit("audit.collector.create", fmt.Sprintf("collector %d", c.ID), fmt.Sprintf("name=%q address=%q format=%s", name, addr, format))
	})
	if err != nil {
		return nil, err
	}
	return h.collectorWire(c, 0), nil
}

// adminCollectorDelete removes a collector: its stream stops at the next read of the collectors.
func (h *Hub) adminCollectorDelete(r *request) (any, error) {
	id, err := r.pathID()
	if err != nil {
		return nil, err
	}
	err = h.mutate(r.Context(), r.tenant, r.who, func(ch *change) error {
		ch.bump = false
		c, err := ch.tx.Collector(r.tenant.ID, id)
		if err != nil {
			return err
		}
		if err := ch.tx.DeleteCollector(r.tenant.ID, id); err != nil {
			return err
		}
		return ch.audit("audit.collector.delete", fmt.Sprintf("collector %d", id), fmt.Sprintf("name=%q address=%q sentSeq=%d", c.Name, c.Address, c.SentSeq))
	})
	return nil, err
}

// checkCAPEM accepts one or more PEM certificates and nothing else.
func checkCAPEM(s string) error {
	rest, n := []byte(s), 0
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if _, err := x509.ParseCertificate(b.Bytes); b.Type != "CERTIFICATE" || err != nil {
			return wire.Invalid("caPem", "holds something that is not a certificate")
		}
		n++
	}
	if n == 0 {
		return wire.Invalid("caPem", "must be the collector's CA certificate in PEM")
	}
	return nil
}
