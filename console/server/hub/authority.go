package hub

// The signed authority (package shared/authority), which the hub relays and cannot make: every update is signed by
// the tenant's admins in their Consoles, and every verifier (agents, Consoles, TechClients) replays the chain from
// the genesis it pinned. The hub holds no key that could extend it; what it checks here only keeps the stored
// chain one that verifies, so that a Console that published a stale or forged update hears so at once instead of
// every agent refusing it later.
//
//   - GET wire.PathAuthority: the updates after a head, for any active principal of the tenant.
//   - POST wire.PathAdminAuthority: one update from an admin whose role can sign something (owner, administrator,
//     Co-managed Manager); the update's own signatures decide what it may do. It must extend the stored head
//     (409 otherwise) and verify against the state the stored chain replays to (400 with the reason otherwise).
//   - POST wire.PathAgentAuthority: an agent's receipt (the head it verified) and its refusal of a plan, shown on
//     the admin's agent list; a new refusal is audited.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/wire"
)

// authorityBatchBytes bounds the updates one answer carries besides wire.MaxAuthorityBatch: updates may be up to
// authority.MaxUpdateBytes each, and an answer stays well within what a client reads (base64 adds a third).
const authorityBatchBytes = 16 << 20

// maxRefusal bounds the refusal an agent reports, in bytes; a longer one is clipped, never refused: it is an alarm.
const maxRefusal = 500

// authorityCacheMax bounds the tenants whose replayed state the hub keeps; past it, one is dropped and replayed
// from the store when next needed.
const authorityCacheMax = 256

// authorityCache keeps each tenant's authority state as the stored chain replays to, so that a publish applies one
// update instead of replaying them all. An entry is used only when it is at the stored head; anything else (a
// restarted hub, another writer) replays the chain from the store.
type authorityCache struct {
	mu sync.Mutex
	m  map[int64]*authority.State
}

func (c *authorityCache) get(tenant int64, head *store.AuthorityUpdate) *authority.State {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.m[tenant]; s != nil && s.Seq == head.Seq && s.Head.String() == head.Hash {
		return s
	}
	return nil
}

func (c *authorityCache) put(tenant int64, s *authority.State) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[int64]*authority.State{}
	}
	if _, ok := c.m[tenant]; !ok && len(c.m) >= authorityCacheMax {
		for k := range c.m { // any one: a dropped tenant is replayed from the store
			delete(c.m, k)
			break
		}
	}
	c.m[tenant] = s
}

// authorityState returns the state tenant's stored chain replays to, at head. The stored updates are verified
// again as any verifier does: a chain edited in the database does not replay, and the hub extends nothing then.
func (h *Hub) authorityState(tx store.Tx, tenant int64, head *store.AuthorityUpdate) (*authority.State, error) {
	if s := h.authorities.get(tenant, head); s != nil {
		return s, nil
	}
	s, err := replayAuthority(tx, tenant, head)
	if err != nil {
		return nil, err
	}
	h.authorities.put(tenant, s)
	return s, nil
}

// replayAuthority verifies tenant's stored chain from its genesis to head, as any verifier does.
func replayAuthority(tx store.Tx, tenant int64, head *store.AuthorityUpdate) (*authority.State, error) {
	s := &authority.State{}
	for since := int64(-1); ; {
		page, err := tx.AuthorityUpdates(tenant, since, wire.MaxAuthorityBatch)
		if err != nil {
			return nil, err
		}
		for _, stored := range page {
			u, err := authority.Decode(stored.Body)
			if err == nil {
				s, err = s.Apply(u)
			}
			if err == nil && s.Head.String() != stored.Hash {
				err = fmt.Errorf("stored under hash %s", stored.Hash)
			}
			if err != nil {
				return nil, fmt.Errorf("the stored signed authority of tenant %d does not verify at update %d: %w", tenant, stored.Seq, err)
			}
			since = int64(stored.Seq)
		}
		if len(page) < wire.MaxAuthorityBatch {
			break
		}
	}
	if s.Seq != head.Seq || s.Head.String() != head.Hash {
		return nil, fmt.Errorf("the stored signed authority of tenant %d replays to update %d, its head is %d", tenant, s.Seq, head.Seq)
	}
	return s, nil
}

// authorityHead is the tenant's head as the wire carries it; nil when the tenant has no signed authority.
func authorityHead(tx store.Tx, tenant int64) (*wire.AuthorityHead, error) {
	head, err := tx.AuthorityHead(tenant)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &wire.AuthorityHead{Seq: head.Seq, Hash: head.Hash}, nil
}

// readAuthorityHead reads the tenant's head in a transaction of its own (the plan's).
func (h *Hub) readAuthorityHead(ctx context.Context, tenant int64) (*wire.AuthorityHead, error) {
	var out *wire.AuthorityHead
	err := h.st.Read(ctx, func(tx store.Tx) error {
		var err error
		out, err = authorityHead(tx, tenant)
		return err
	})
	return out, err
}

// authority is GET wire.PathAuthority: the updates after since (-1, or no since: from the genesis), as stored,
// with the head. The answer is cut at wire.MaxAuthorityBatch updates or authorityBatchBytes, whichever comes
// first (at least one update), and says More then.
func (h *Hub) authority(r *request) (any, error) {
	since := int64(-1)
	if s := r.URL.Query().Get("since"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < -1 {
			return nil, wire.Invalid("since", "must be -1 (from the genesis) or a sequence number")
		}
		since = n
	}
	return read(h, r, func(tx store.Tx) (*wire.AuthorityResponse, error) {
		head, err := authorityHead(tx, r.tenant.ID)
		if err != nil {
			return nil, err
		}
		page, err := tx.AuthorityUpdates(r.tenant.ID, since, wire.MaxAuthorityBatch+1)
		if err != nil {
			return nil, err
		}
		out := &wire.AuthorityResponse{Updates: [][]byte{}, Head: head}
		size := 0
		for i, u := range page {
			if i == wire.MaxAuthorityBatch || i > 0 && size+len(u.Body) > authorityBatchBytes {
				out.More = true
				break
			}
			size += len(u.Body)
			out.Updates = append(out.Updates, u.Body)
		}
		return out, nil
	})
}

// authorityRefused is an update that does not verify, answered with the verifier's reason.
func authorityRefused(err error) error {
	return &wire.Error{Code: wire.CodeInvalid, Field: "update", Message: err.Error()}
}

// adminAuthority is POST wire.PathAdminAuthority: one signed update, stored when it extends the head and verifies.
func (h *Hub) adminAuthority(r *request) (any, error) {
	var req wire.AuthorityPublish
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	if len(req.Update) == 0 {
		return nil, wire.Invalid("update", "is required")
	}
	u, err := authority.Decode(req.Update)
	if err != nil {
		return nil, authorityRefused(err)
	}
	if u.Tenant != r.tenant.GUID {
		return nil, authorityRefused(fmt.Errorf("%w: update for tenant %q, published to %q", authority.ErrWrongTenant, u.Tenant, r.tenant.GUID))
	}
	if u.Seq == 0 && r.who.admin.Role != wire.RoleOwner {
		// Agents pin the genesis from the Console, never from the hub; still, the hub serves only its owner's.
		return nil, &wire.Error{Code: wire.CodeForbidden, Message: "only the tenant's owner may publish the signed authority's genesis"}
	}
	hash, err := u.Hash()
	if err != nil {
		return nil, authorityRefused(err)
	}
	var next *authority.State
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		head, err := c.tx.AuthorityHead(r.tenant.ID)
		state := &authority.State{}
		switch {
		case errors.Is(err, store.ErrNotFound):
			if u.Seq != 0 {
				return &wire.Error{Code: wire.CodeConflict, Field: "update", Message: fmt.Sprintf(
					"update %d extends nothing: the tenant has no signed authority yet, publish its genesis first", u.Seq)}
			}
		case err != nil:
			return err
		default:
			if u.Seq != head.Seq+1 || hashHex(u.Parent) != head.Hash {
				return &wire.Error{Code: wire.CodeConflict, Field: "update", Message: fmt.Sprintf(
					"update %d (parent %s) does not extend the head, update %d (%s): fetch, apply the change again and sign",
					u.Seq, short(hashHex(u.Parent)), head.Seq, short(head.Hash))}
			}
			if state, err = h.authorityState(c.tx, r.tenant.ID, head); err != nil {
				return err
			}
		}
		if next, err = state.Apply(u); err != nil {
			return authorityRefused(err)
		}
		if err := c.tx.AppendAuthority(&store.AuthorityUpdate{TenantID: r.tenant.ID, Seq: u.Seq, Hash: hash.String(),
			Body: req.Update, CreatedAt: c.at}); err != nil {
			return err
		}
		// Every agent and device verifies the new head: the revision bump (every tech concerned) wakes them.
		return c.audit("authority.update", fmt.Sprintf("authority %d", u.Seq), authorityDetail(u, hash))
	})
	if err != nil {
		return nil, err
	}
	h.authorities.put(r.tenant.ID, next)
	return &wire.AuthorityHead{Seq: u.Seq, Hash: hash.String()}, nil
}

// authorityDetail is the audit detail of an update: sequence number, hash prefix, signers and what it does, in a
// few hundred characters at most (an update may hold a thousand operations; the log holds them all).
func authorityDetail(u *authority.Update, hash authority.Hash) string {
	signers := make([]string, len(u.Sigs))
	for i, s := range u.Sigs {
		signers[i] = s.KeyID
	}
	ops := make([]string, len(u.Ops))
	for i, op := range u.Ops {
		ops[i] = op.String()
	}
	return fmt.Sprintf("seq=%d hash=%s signers=%s ops=%d %q", u.Seq, short(hash.String()),
		clip(strings.Join(signers, ","), 120), len(u.Ops), clip(strings.Join(ops, "; "), 240))
}

func hashHex(b []byte) string { return fmt.Sprintf("%x", b) }

// short is a hash's prefix for messages and the audit log.
func short(hash string) string { return clip(hash, 16+len("…")) }

// agentAuthority is POST wire.PathAgentAuthority: the agent's receipt. It is bookkeeping and is not audited, except
// a refusal that appears or changes: that is the alarm of a plan the signed authority does not allow.
func (h *Hub) agentAuthority(r *request) (any, error) {
	var rep wire.AgentAuthorityReport
	if err := r.decode(&rep); err != nil {
		return nil, err
	}
	var rec store.AgentAuthority
	if rep.Head != nil {
		hash, err := authority.ParseHash(rep.Head.Hash)
		if err != nil {
			return nil, wire.Invalid("head.hash", "must be 64 hex digits")
		}
		rec.Seq, rec.Hash = rep.Head.Seq, hash.String()
	}
	rec.Refusal = refusalText(rep.Refusal)
	a := r.who.agent
	err := h.st.Write(r.Context(), func(tx store.Tx) error {
		cur, err := tx.Agent(r.tenant.ID, a.ID)
		if err != nil {
			return err
		}
		if cur.Authority == rec {
			return nil
		}
		if err := tx.SetAgentAuthority(r.tenant.ID, a.ID, rec); err != nil {
			return err
		}
		if rec.Refusal == "" || rec.Refusal == cur.Authority.Refusal {
			return nil
		}
		return tx.Audit(&store.AuditEvent{TenantID: r.tenant.ID, At: h.now().UTC(), ActorKind: r.who.kind, ActorID: a.ID,
			Action: "agent.authority-refused", Target: fmt.Sprintf("agent %d", a.ID),
			Detail: fmt.Sprintf("name=%q seq=%d hash=%s refusal=%q", cur.Name, rec.Seq, short(rec.Hash), clip(rec.Refusal, 300))})
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// refusalText makes an agent's refusal one trimmed line of at most maxRefusal bytes.
func refusalText(s string) string {
	s = strings.Map(func(c rune) rune {
		if unicode.IsControl(c) {
			return ' '
		}
		return c
	}, s)
	return clip(strings.TrimSpace(s), maxRefusal)
}
