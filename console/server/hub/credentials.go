package hub

// A tech's credential list: full, or only what changed since the device's revision when the fingerprint of its
// grants is unchanged (delta); a full list is streamed a page of versions at a time.

import (
	"bufio"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/entitle"
	"github.com/watchword/watchword/shared/wire"
)

// credentials lists what a tech's entitlements grant right now, with the envelopes the tech can open: only what
// changed after since when the device's list (revision since, grants fingerprint grants) allows a delta.
//
// A full list comes back without its versions when paged is true: the caller writes it with a credentialPages,
// which reads them a page at a time.
func (h *Hub) credentials(ctx context.Context, tenant *store.Tenant, tech *store.Tech, since int64, grants string, paged bool) (*wire.CredentialsResponse, *credentialPages, error) {
	// The revision before the view: a view is never older than the revision read before it (notify replaces both
	// at once), so a change published in between wakes the device again rather than being taken as held.
	rev, _ := h.notify.Current(tenant)
	v, err := h.view(ctx, tenant)
	if err != nil {
		return nil, nil, err
	}
	out := &wire.CredentialsResponse{ClientGUID: tenant.GUID, Revision: rev, Credentials: []wire.Credential{}}
	all := v.idx.ForTech(tech.ID)
	out.Grants = v.fingerprint(tenant, tech.ID, all)
	if since > 0 && grants == out.Grants {
		if changed, ok := h.notify.ChangedSince(tenant, tech.ID, since); ok {
			out.Delta = true
			if err := h.delta(ctx, tenant, v, tech, all, changed, out); err != nil {
				return nil, nil, err
			}
			return out, nil, h.jitDecorate(ctx, tenant, v, tech.ID, out)
		}
	}
	if len(all) == 0 {
		return out, nil, nil
	}
	pages := &credentialPages{h: h, ctx: ctx, tenant: tenant, v: v, tech: tech.ID}
	err = h.st.Read(ctx, func(tx store.Tx) error {
		accounts, err := tx.AccountsByTech(tenant.ID, tech.ID)
		if err != nil {
			return err
		}
		byAgent := map[int64]*store.Account{}
		for i := range accounts {
			byAgent[accounts[i].AgentID] = &accounts[i]
		}
		for _, g := range all {
			acc := byAgent[g.Agent.ID]
			if acc == nil {
				continue // the agent has not planned it yet
			}
			out.Credentials = append(out.Credentials, v.credential(tenant, g, acc, nil))
			pages.items = append(pages.items, pageItem{g, acc})
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if err := h.jitDecorate(ctx, tenant, v, tech.ID, out); err != nil {
		return nil, nil, err
	}
	if !paged {
		if err := pages.fill(out.Credentials, 0, len(out.Credentials)); err != nil {
			return nil, nil, err
		}
		return out, nil, nil
	}
	return out, pages, nil
}

// delta fills out with the entries of the accounts in changed: their current entry, or their ID in Removed when
// the tech no longer holds them.
func (h *Hub) delta(ctx context.Context, tenant *store.Tenant, v *view, tech *store.Tech, all []entitle.Grant, changed []int64, out *wire.CredentialsResponse) error {
	if len(changed) == 0 {
		return nil
	}
	slices.Sort(changed)
	changed = slices.Compact(changed)
	byAgent := make(map[int64]entitle.Grant, len(all))
	for _, g := range all {
		byAgent[g.Agent.ID] = g
	}
	return h.st.Read(ctx, func(tx store.Tx) error {
		for _, id := range changed {
			acc, err := tx.Account(tenant.ID, id)
			if errors.Is(err, store.ErrNotFound) {
				out.Removed = append(out.Removed, id)
				continue
			}
			if err != nil {
				return err
			}
			g, ok := byAgent[acc.AgentID]
			if !ok || acc.TechID != tech.ID {
				out.Removed = append(out.Removed, id)
				continue
			}
			versions, err := tx.Versions(tenant.ID, acc.ID)
			if err != nil {
				return err
			}
			// Newest first, as LiveVersionsByTech returns them.
			slices.SortFunc(versions, func(a, b store.Version) int { return cmp.Compare(b.Version, a.Version) })
			out.Credentials = append(out.Credentials, v.credential(tenant, g, acc, versions))
		}
		return nil
	})
}

// credential renders one account of a grant with its live versions (newest first).
func (v *view) credential(tenant *store.Tenant, g entitle.Grant, acc *store.Account, versions []store.Version) wire.Credential {
	agent := v.agents[g.Agent.ID]
	names, groups := v.rightNames(g.Rights, agent.Driver)
	c := wire.Credential{AccountID: acc.ID, AgentID: agent.ID, AgentName: agent.Name, Driver: agent.Driver,
		AccountName: acc.Name, Rights: names, Groups: groups, Versions: []wire.CredentialVersion{},
		NextRotationAt: schedule(tenant, acc, v.intervalFor(tenant, agent.ID)), RotatesAfterUseAt: rotatesAfterUseAt(acc)}
	// Every staged version above the confirmed one (the target may hold any of them), then the confirmed one.
	// Failed and superseded versions are not handed out.
	for _, ver := range versions {
		if ver.RecoveryOnly { // a JIT account outside its window: only the recovery recipient opens it
			if ver.State == wire.VersionConfirmed {
				break
			}
			continue
		}
		if ver.State == wire.VersionStaged || ver.State == wire.VersionConfirmed {
			c.Versions = append(c.Versions, wire.CredentialVersion{Version: ver.Version, State: ver.State,
				Envelope: ver.Envelope, StagedAt: ver.StagedAt, ConfirmedAt: ver.ConfirmedAt, Signature: ver.Signature})
		}
		if ver.State == wire.VersionConfirmed {
			break
		}
	}
	return c
}

// fingerprint hashes the shape of a tech's grants — hosts, names, drivers, rights, intervals — which decides every
// field of its credential list but the accounts' own (name, versions, rotation time), which the account log
// covers. Two lists with the same fingerprint differ only in accounts the log names.
func (v *view) fingerprint(tenant *store.Tenant, tech int64, grants []entitle.Grant) string {
	key := fpKey{tech: tech, interval: tenant.Policy.Interval(), guid: tenant.GUID}
	v.fpMu.Lock()
	fp, ok := v.fps[key]
	v.fpMu.Unlock()
	if ok {
		return fp
	}
	hs := sha256.New()
	keyID := ""
	if t := v.techs[tech]; t != nil {
		keyID = t.KeyID // a re-keyed device needs its whole list again
	}
	fmt.Fprintf(hs, "%s\n%d\n%s\n", tenant.GUID, key.interval, keyID)
	for _, g := range grants {
		agent := v.agents[g.Agent.ID]
		if agent == nil {
			continue
		}
		names, _ := v.rightNames(g.Rights, agent.Driver)
		fmt.Fprintf(hs, "%d\x00%q\x00%s\x00%q\x00%d\n", agent.ID, agent.Name, agent.Driver, names, v.intervalFor(tenant, agent.ID))
		if rule := v.jitOf(tech, agent.ID); rule.jit { // the JIT fields of the entry
			fmt.Fprintf(hs, "jit\x00%d\x00%t\n", rule.max, rule.approval)
		}
	}
	fp = base64.RawURLEncoding.EncodeToString(hs.Sum(nil)[:12])
	v.fpMu.Lock()
	if v.fps == nil {
		v.fps = map[fpKey]string{}
	}
	v.fps[key] = fp
	v.fpMu.Unlock()
	return fp
}

type fpKey struct {
	tech     int64
	interval time.Duration
	guid     string
}

// streamer is a response written piece by piece: a full credential list of a tech with 5,000 accounts is about
// 17 MB of JSON, which writeJSON would first build in memory (and the hub held several at once under load).
type streamer interface {
	stream(w io.Writer) error
}

// credentialStream writes a CredentialsResponse one credential at a time. With pages, the list's versions are
// read as it is written, a page at a time.
type credentialStream struct {
	*wire.CredentialsResponse
	pages *credentialPages
}

var _ streamer = credentialStream{}

// pageSize is how many accounts' versions a full list reads at once: about 1 MB of envelopes, where reading
// them all first held the whole 17 MB of a 5,000-account list (twice, with the driver's copies) while it was
// written, and the garbage collector's headroom doubled that in the hub's resident set.
const pageSize = 256

// credentialPages reads the versions of a full list's entries. Each page is its own short read transaction, so
// that a slow client never holds a database connection: a page may therefore hold versions newer than the
// list's revision, which the next delta hands out again (merging them is idempotent).
type credentialPages struct {
	h      *Hub
	ctx    context.Context
	tenant *store.Tenant
	v      *view
	tech   int64
	items  []pageItem // in the order of the list's entries
}

type pageItem struct {
	g   entitle.Grant
	acc *store.Account
}

// fill sets the versions of creds[lo:hi].
func (p *credentialPages) fill(creds []wire.Credential, lo, hi int) error {
	ids := make([]int64, 0, hi-lo)
	for _, it := range p.items[lo:hi] {
		ids = append(ids, it.acc.ID)
	}
	return p.h.st.Read(p.ctx, func(tx store.Tx) error {
		live, err := tx.LiveVersionsOfAccounts(p.tenant.ID, p.tech, ids)
		if err != nil {
			return err
		}
		for i := lo; i < hi; i++ {
			it := p.items[i]
			creds[i].Versions = p.v.credential(p.tenant, it.g, it.acc, live[it.acc.ID]).Versions
		}
		return nil
	})
}

// streamBufs reuses the 32 KB write buffers of streamed lists.
var streamBufs = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 32<<10) }}

func (s credentialStream) stream(w io.Writer) error {
	bw := streamBufs.Get().(*bufio.Writer)
	bw.Reset(w)
	defer func() {
		bw.Reset(nil)
		streamBufs.Put(bw)
	}()
	// The header fields are the response without its list, which is written after them.
	head := *s.CredentialsResponse
	head.Credentials = nil
	b, err := json.Marshal(head)
	if err != nil {
		return err
	}
	bw.Write(b[:len(b)-1]) // without the closing brace
	bw.WriteString(`,"credentials":[`)
	enc := json.NewEncoder(bw)
	creds := s.Credentials
	for lo := 0; lo < len(creds); lo += pageSize {
		hi := min(lo+pageSize, len(creds))
		if s.pages != nil {
			if err := s.pages.fill(creds, lo, hi); err != nil {
				return err
			}
		}
		for i := lo; i < hi; i++ {
			if i > 0 {
				bw.WriteByte(',')
			}
			if err := enc.Encode(&creds[i]); err != nil {
				return err
			}
			if s.pages != nil {
				creds[i].Versions = nil // written: its envelopes can go
			}
		}
	}
	bw.WriteString("]}\n")
	return bw.Flush()
}
