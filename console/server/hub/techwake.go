package hub

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/seal"
)

// Wake-ups of an entitlement change.
//
// An entitlement change (a group, a triplet, an agent, a tech's status, the policy) used to wake every TechClient
// of the tenant: 2,000 wake-ups and credential fetches at once for a new, empty tech group, which changes nobody's
// list. The hub now reads the new entitlement view inside the change's own write transaction, computes for every
// tech a signature of everything such a change can alter for its device — the grants fingerprint (hosts, names,
// drivers, rights, intervals, the device key), the tech's status, username and organization, the tenant's name
// and policy — and wakes only the techs whose signature differs from the one last published. A tech whose grants
// changed is woken and, its fingerprint differing, gets the full list.
//
// The published signatures are known only after a first entitlement change of this process; until then, and
// after any change the hub cannot attribute (another process's revision, a mutation that does not say whom it
// concerns), the next entitlement change wakes every tech, as before.

// techSigs is each tech's signature at one revision.
type techSigs map[int64]string

// signatures computes every tech's signature in view v of tenant.
func (v *view) signatures(tenant *store.Tenant) techSigs {
	policy, _ := json.Marshal(tenant.Policy)
	hs := sha256.New()
	fmt.Fprintf(hs, "%q\n%s\n", tenant.Name, policy)
	common := string(hs.Sum(nil))
	sigs := make(techSigs, len(v.techs))
	for id, t := range v.techs {
		fp := v.fingerprint(tenant, id, v.idx.ForTech(id))
		sigs[id] = fmt.Sprintf("%s\x00%s\x00%s\x00%q\x00%q\x00%t\x00%s", common, fp, t.Status, t.Username, t.Organization, t.CoManaged, t.KeyID)
	}
	return sigs
}

// changedTechs lists the techs whose signature differs between old and new (present in one of them only counts).
func changedTechs(old, new techSigs) []int64 {
	var out []int64
	for id, s := range new {
		if o, ok := old[id]; !ok || o != s {
			out = append(out, id)
		}
	}
	for id := range old {
		if _, ok := new[id]; !ok {
			out = append(out, id)
		}
	}
	return out
}

// graphView is the entitlement view a change leaves behind and its techs' signatures, read in the change's
// transaction.
type graphView struct {
	v    *view
	sigs techSigs
}

// readGraph reads the tenant's view as the change leaves it. The tenant row is read again: the change may be
// the policy's. A change of groups, rights, triplets or the policy alone (groupsOnly) keeps the techs and agents
// of the cached view, which only entitlement changes replace: reading all of them again (7,000 rows in the
// hub-under-load benchmark, about 0.1 s) held the tenant's writes back at every such change.
func (h *Hub) readGraph(tx store.Tx, tenant *store.Tenant, groupsOnly bool) (*graphView, error) {
	t, err := tx.Tenant(tenant.GUID)
	if err != nil {
		return nil, err
	}
	var prev *view
	if groupsOnly {
		h.mu.Lock()
		prev = h.views[tenant.ID]
		h.mu.Unlock()
	}
	v, err := h.readView(tx, t, prev)
	if err != nil {
		return nil, err
	}
	return &graphView{v: v, sigs: v.signatures(t)}, nil
}

// recipientCache keeps the age recipient of each tech key: building a view parsed every tech's public key again
// (bech32 and ML-KEM key checks, about 0.3 ms a key, 0.6 s for 2,000 techs), once per entitlement change.
type recipientCache struct {
	mu sync.Mutex
	m  map[[32]byte]string // sha256 of the public key string → recipient
}

// recipientCacheMax bounds the cache; rekeyed and deleted techs' keys are dropped with everything else then.
const recipientCacheMax = 1 << 16

// recipient returns the age recipient of a registered public key, and false if it does not parse.
func (h *Hub) recipient(publicKey string) (string, bool) {
	c := &h.recips
	k := sha256.Sum256([]byte(publicKey))
	c.mu.Lock()
	r, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return r, true
	}
	pk, err := seal.ParsePublicKey(publicKey)
	if err != nil {
		return "", false
	}
	r = pk.Recipient().String()
	c.mu.Lock()
	if c.m == nil || len(c.m) >= recipientCacheMax {
		c.m = map[[32]byte]string{}
	}
	c.m[k] = r
	c.mu.Unlock()
	return r, true
}

// tenantLock serializes a tenant's mutations from their transaction to their notify, so that changes are
// published in the order they commit: a device must never hold a list read after a later change was published
// but before an earlier one was (its since would then be past the earlier change's wake-up).
func (h *Hub) tenantLock(tenant int64) *sync.Mutex {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.tenantMu[tenant]
	if m == nil {
		m = &sync.Mutex{}
		h.tenantMu[tenant] = m
	}
	return m
}
