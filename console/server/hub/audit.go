package hub

// The tenant's audit log as its admins read it, filtered (actor, action or its prefix, the principal an event is
// about, time) and paged either way (after a seq oldest first, or before one newest first), each event with its
// tenant and previous hash so that an export verifies away from the hub; and the check of its hash chain.
//
// The chain alone is unkeyed: whoever writes the database can delete events and compute every later hash again,
// and the walk still holds. Its signed backbone is the newest audit checkpoint of the tenant's signed authority
// (authority.OpAuditCheckpoint), which an admin's Console signs after verifying the chain: the event at the
// checkpoint must still carry the hash the admins signed. The hub holds no key that could sign a new one over a
// rewritten history.

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/wire"
)

func (h *Hub) adminAudit(r *request) (any, error) {
	q := r.URL.Query()
	aq := wire.AuditQuery{Action: q.Get("action"), ActorKind: q.Get("actorKind"), ActionPrefix: q.Get("actionPrefix"),
		About: q.Get("about")}
	var err error
	if aq.ActorID, err = r.queryInt("actorId"); err != nil {
		return nil, err
	}
	if aq.AfterSeq, err = r.queryInt("after"); err != nil {
		return nil, err
	}
	if aq.BeforeSeq, err = r.queryInt("before"); err != nil {
		return nil, err
	}
	if _, _, ok := aq.AboutPrincipal(); aq.About != "" && !ok {
		return nil, wire.Invalid("about", "must be a kind and an ID, e.g. \"tech 8\"")
	}
	switch o := q.Get("order"); o {
	case "", "oldest":
	case "newest":
		aq.Newest = true
	default:
		return nil, wire.Invalid("order", "must be oldest or newest")
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
				Action: e.Action, Target: e.Target, Detail: e.Detail, Hash: e.Hash, PrevHash: e.PrevHash, Tenant: e.TenantID})
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
	err = h.st.Read(r.Context(), func(tx store.Tx) error {
		return checkAuditCheckpoint(tx, r.tenant.ID, func(head *store.AuthorityUpdate) (*authority.State, error) {
			return h.authorityState(tx, r.tenant.ID, head)
		})
	})
	if errors.Is(err, store.ErrAuditBroken) {
		return &wire.VerifyResponse{OK: false, Events: n, Error: err.Error()}, nil
	}
	if err != nil {
		return nil, err
	}
	return &wire.VerifyResponse{OK: true, Events: n}, nil
}

// checkAuditCheckpoint compares tenant's audit chain with the newest checkpoint its signed authority holds (state
// replays the stored chain to its head): the event at the checkpoint must be there with the hash the admins
// signed. A tenant without a signed authority, or without a checkpoint in it, has nothing to compare. A rewrite,
// or a stored authority that does not verify (so that nothing can be compared), is store.ErrAuditBroken.
func checkAuditCheckpoint(tx store.Tx, tenant int64, state func(*store.AuthorityUpdate) (*authority.State, error)) error {
	head, err := tx.AuthorityHead(tenant)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	s, err := state(head)
	if err != nil {
		return brokenAudit("the signed checkpoints of the audit log cannot be checked: " + err.Error())
	}
	cp := s.Audit
	if cp.Seq == 0 {
		return nil
	}
	evs, err := tx.AuditEvents(tenant, wire.AuditQuery{AfterSeq: cp.Seq - 1, Limit: 1})
	if err != nil {
		return err
	}
	if len(evs) == 0 || evs[0].Seq != cp.Seq {
		return brokenAudit(fmt.Sprintf("the audit history was rewritten: event %d, which the admins signed in authority update %d, is missing",
			cp.Seq, cp.Update))
	}
	if got, err := hex.DecodeString(evs[0].Hash); err != nil || string(got) != string(cp.Hash) {
		return brokenAudit(fmt.Sprintf("the audit history was rewritten: event %d is not the one the admins signed in authority update %d",
			cp.Seq, cp.Update))
	}
	return nil
}

// brokenAudit is a failure of the checkpoint check: a store.ErrAuditBroken that says what broke without repeating
// that the chain is broken.
type brokenAudit string

func (e brokenAudit) Error() string { return string(e) }
func (e brokenAudit) Unwrap() error { return store.ErrAuditBroken }

// VerifyAuditCheckpoints checks every tenant's audit chain against the newest checkpoint of its signed authority,
// replaying each stored chain from its genesis (the operator's verify-audit, beside the store's walk of the hash
// chains). It returns how many tenants' chains a checkpoint pins; the failures of every tenant are joined, each a
// store.ErrAuditBroken that names the tenant.
func VerifyAuditCheckpoints(ctx context.Context, st store.Store) (pinned int, err error) {
	err = st.Read(ctx, func(tx store.Tx) error {
		ts, err := tx.Tenants()
		if err != nil {
			return err
		}
		var errs []error
		for _, t := range ts {
			var cp int64
			err := checkAuditCheckpoint(tx, t.ID, func(head *store.AuthorityUpdate) (*authority.State, error) {
				s, err := replayAuthority(tx, t.ID, head)
				if s != nil {
					cp = s.Audit.Seq
				}
				return s, err
			})
			switch {
			case errors.Is(err, store.ErrAuditBroken):
				errs = append(errs, fmt.Errorf("tenant %d (%s): %w", t.ID, t.Name, err))
			case err != nil:
				return err
			case cp > 0:
				pinned++
			}
		}
		return errors.Join(errs...)
	})
	return pinned, err
}
