package hub

// The tenant's audit log as its admins read it, filtered and paged, and the check of its hash chain.

import (
	"errors"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/wire"
)

func (h *Hub) adminAudit(r *request) (any, error) {
	q := r.URL.Query()
	aq := wire.AuditQuery{Action: q.Get("action"), ActorKind: q.Get("actorKind")}
	var err error
	if aq.ActorID, err = r.queryInt("actorId"); err != nil {
		return nil, err
	}
	if aq.AfterSeq, err = r.queryInt("after"); err != nil {
		return nil, err
	}
	limit, err := r.queryInt("limit")
	if err != nil {
		return nil, err
	}
	aq.Limit = int(min(limit, 1000))
	for name, dst := range map[string]*time.Time{"since": &aq.Since, "until": &aq.Until} {
		if s := q.Get(name); s != "" {
			if *dst, err = time.Parse(time.RFC3339Nano, s); err != nil {
				return nil, wire.Invalid(name, "must be an RFC 3339 time")
			}
		}
	}
	return read(h, r, func(tx store.Tx) (*wire.AuditResponse, error) {
		es, err := tx.AuditEvents(r.tenant.ID, aq)
		out := &wire.AuditResponse{Events: []wire.AuditEvent{}}
		for _, e := range es {
			out.Events = append(out.Events, wire.AuditEvent{Seq: e.Seq, At: e.At, ActorKind: e.ActorKind, ActorID: e.ActorID,
				Action: e.Action, Target: e.Target, Detail: e.Detail, Hash: e.Hash})
		}
		return out, err
	})
}

func (h *Hub) adminAuditVerify(r *request) (any, error) {
	// The caller's tenant's chain only: whether another tenant's chain holds is none of its admins' business
	// (the hub's operator checks them all with watchword-hub verify-audit).
	n, err := h.st.VerifyAuditOf(r.Context(), r.tenant.ID)
	if errors.Is(err, store.ErrAuditBroken) {
		return &wire.VerifyResponse{OK: false, Events: n, Error: "the audit chain is broken; run watchword-hub verify-audit on the hub"}, nil
	}
	if err != nil {
		return nil, err
	}
	return &wire.VerifyResponse{OK: true, Events: n}, nil
}
