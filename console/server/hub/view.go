package hub

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/watchword/watchword/console/server/hub/notify"
	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/entitle"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// view is a tenant's entitlement index with what plans need to render it.
type view struct {
	// rev is the tenant revision the view was read at (its inputs may be newer, never older): it is cached only
	// while no entitlement change came after it (viewCache.graphRev).
	rev        int64
	idx        *entitle.Index
	techs      map[int64]*store.Tech
	agents     map[int64]*store.Agent
	rights     map[int64]*store.Right
	recipients map[int64][]string // tech ID → age recipients
	interval   map[int64]int64    // agent ID → interval override in seconds (smallest of its groups)
	jit        *jitTriplets       // nil when no triplet is jit (jit.go)
	// The techs and agents as the index reads them, kept so that a change of groups, rights or triplets alone
	// can build its view without reading every tech and agent again (see change.groupsOnly).
	gTechs  []entitle.Tech
	gAgents []entitle.Agent

	fpMu sync.Mutex
	fps  map[fpKey]string // grants fingerprints, per tech (see fingerprint)
}

// viewCache holds each tenant's entitlement view, built once for concurrent readers and dropped (or replaced) by an
// entitlement change.
//
// The key is the store's tenant revision, which every hub process sharing the store sees alike: graphRev is the
// revision of the tenant's latest entitlement change this process knows of, its own or another process's (the
// Notifier tells of those in revision order, notify.Shared.Graph), and a view read at an older revision is never
// cached. A request first waits for the Notifier to reach the revision of the tenant row it read (notify.Await),
// so no view it gets is older than a change committed before it started, whichever process committed it.
type viewCache struct {
	mu       sync.Mutex
	m        map[int64]*view // tenant ID → entitlement view, dropped when the graph changes
	graphRev map[int64]int64 // tenant ID → revision of its latest entitlement change
	// building holds the views being built, so that concurrent requests share one build.
	building map[viewKey]*viewBuild
	// recips keeps the age recipient of each tech key: building a view parsed every tech's public key and encoded
	// its recipient again (60 to 90 µs a key, over a tenth of a second for 2,000 techs), once per entitlement
	// change.
	recips seal.RecipientCache
}

// viewBuild is a view being built; others that need the same generation wait for it instead of building their
// own. After an entitlement change thousands of woken TechClients ask at once: each building its own view (every
// tech and agent of the tenant) took seconds and hundreds of megabytes.
type viewBuild struct {
	done chan struct{}
	v    *view
	err  error
}

type viewKey struct{ tenant, gen int64 }

// noteGraph records an entitlement change of tenant at rev, or a change that cannot be attributed, and drops the
// cached view read before it.
func (c *viewCache) noteGraph(tenant, rev int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.noteGraphLocked(tenant, rev)
}

func (c *viewCache) noteGraphLocked(tenant, rev int64) {
	if rev > c.graphRev[tenant] {
		c.graphRev[tenant] = rev
	}
	if v := c.m[tenant]; v != nil && v.rev < c.graphRev[tenant] {
		delete(c.m, tenant)
	}
}

// installLocked caches v, the tenant's view read at v.rev, unless an entitlement change came after it or the
// cached one is newer. c.mu is held.
func (c *viewCache) installLocked(tenant int64, v *view) {
	if v.rev < c.graphRev[tenant] {
		return
	}
	if cur := c.m[tenant]; cur == nil || cur.rev < v.rev {
		c.m[tenant] = v
	}
}

func (h *Hub) view(ctx context.Context, tenant *store.Tenant) (*view, error) {
	h.notify.Await(ctx, tenant)
	h.views.mu.Lock()
	v, ok := h.views.m[tenant.ID]
	gen := h.views.graphRev[tenant.ID]
	if ok {
		h.views.mu.Unlock()
		return v, nil
	}
	key := viewKey{tenant.ID, gen}
	b, building := h.views.building[key]
	if !building {
		b = &viewBuild{done: make(chan struct{})}
		h.views.building[key] = b
	}
	h.views.mu.Unlock()
	if building {
		select {
		case <-b.done:
			return b.v, b.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	// Others wait on this build: it must not end with this request.
	b.v, b.err = h.buildView(context.WithoutCancel(ctx), tenant)
	h.views.mu.Lock()
	delete(h.views.building, key)
	h.views.mu.Unlock()
	close(b.done)
	return b.v, b.err
}

func (h *Hub) buildView(ctx context.Context, tenant *store.Tenant) (*view, error) {
	var v *view
	err := h.st.Read(ctx, func(tx store.Tx) error {
		// The revision first: what is read after it is as new or newer, and a view may be newer than its rev,
		// never older.
		t, err := tx.TenantByID(tenant.ID)
		if err != nil {
			return err
		}
		if v, err = h.readView(tx, tenant, nil); err == nil {
			v.rev = t.Revision
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	h.views.mu.Lock()
	h.views.installLocked(tenant.ID, v)
	h.views.mu.Unlock()
	return v, nil
}

// readView reads a tenant's entitlement inputs in tx and computes its index. With prev, the techs and agents are
// prev's: only the groups, rights and triplets are read again.
func (h *Hub) readView(tx store.Tx, tenant *store.Tenant, prev *view) (*view, error) {
	v := &view{techs: map[int64]*store.Tech{}, agents: map[int64]*store.Agent{}, rights: map[int64]*store.Right{},
		recipients: map[int64][]string{}, interval: map[int64]int64{}}
	g := &entitle.Graph{}
	if prev != nil {
		// Read-only once built: shared, not copied.
		v.techs, v.agents, v.recipients = prev.techs, prev.agents, prev.recipients
		g.Techs, g.Agents = prev.gTechs, prev.gAgents
	}
	err := func() error {
		if prev != nil {
			return nil
		}
		techs, err := tx.Techs(tenant.ID, "")
		if err != nil {
			return err
		}
		for i := range techs {
			t := &techs[i]
			v.techs[t.ID] = t
			g.Techs = append(g.Techs, entitle.Tech{ID: t.ID, Active: t.Status == wire.TechActive, Username: t.Username, ShortName: t.ShortName})
			if rcpt, err := h.views.recips.PublicKeyRecipientString(t.PublicKey); err == nil {
				v.recipients[t.ID] = []string{rcpt}
			}
			t.PublicKey = "" // 2 KB a tech, and the view needs only the recipient
		}
		// Without their 2 KB public keys, which the view does not need: reading them was half the time of a view
		// build, which an entitlement change does in its write transaction (readGraph).
		agents, err := tx.AgentsBrief(tenant.ID)
		if err != nil {
			return err
		}
		for i := range agents {
			a := &agents[i]
			v.agents[a.ID] = a
			g.Agents = append(g.Agents, entitle.Agent{ID: a.ID, Active: a.Status == wire.AgentActive, Driver: a.Driver})
		}
		return nil
	}()
	if err == nil {
		err = readGroups(tx, tenant, v, g)
	}
	if err != nil {
		return nil, fmt.Errorf("entitlements of tenant %s: %w", tenant.GUID, err)
	}
	v.gTechs, v.gAgents = g.Techs, g.Agents
	start := time.Now()
	v.idx = entitle.Compute(g)
	h.metrics.Recomputed(time.Since(start))
	return v, nil
}

// readGroups reads the groups, rights and triplets of the view.
func readGroups(tx store.Tx, tenant *store.Tenant, v *view, g *entitle.Graph) error {
	err := func() error {
		tgs, err := tx.Groups(tenant.ID, store.KindTech)
		if err != nil {
			return err
		}
		for _, grp := range tgs {
			g.TechGroups = append(g.TechGroups, entitle.Group{ID: grp.ID, All: grp.Builtin && grp.Name == wire.AllTechs, Members: grp.Members})
		}
		ags, err := tx.Groups(tenant.ID, store.KindAgent)
		if err != nil {
			return err
		}
		for _, grp := range ags {
			g.AgentGroups = append(g.AgentGroups, entitle.Group{ID: grp.ID, Members: grp.Members})
			if grp.IntervalSeconds > 0 {
				for _, m := range grp.Members {
					if cur, ok := v.interval[m]; !ok || grp.IntervalSeconds < cur {
						v.interval[m] = grp.IntervalSeconds
					}
				}
			}
		}
		rights, err := tx.Rights(tenant.ID)
		if err != nil {
			return err
		}
		for i := range rights {
			v.rights[rights[i].ID] = &rights[i]
		}
		trips, err := tx.Triplets(tenant.ID)
		if err != nil {
			return err
		}
		for _, t := range trips {
			g.Triplets = append(g.Triplets, entitle.Triplet{ID: t.ID, TechGroup: t.TechGroupID, AgentGroup: t.AgentGroupID, Right: t.RightID})
		}
		v.jit = buildJIT(trips, tgs, ags)
		return nil
	}()
	return err
}

// ---- wake-up signatures ----

// signatures computes every tech's signature in view v of tenant (notify.Sigs): everything an entitlement change
// can alter for its device — the grants fingerprint (hosts, names, drivers, rights, intervals, the device key), the
// tech's status, username and organization, the tenant's name and policy. A tech whose grants changed is woken
// and, its fingerprint differing, gets the full list.
func (v *view) signatures(tenant *store.Tenant) notify.Sigs {
	policy, _ := json.Marshal(tenant.Policy)
	hs := sha256.New()
	fmt.Fprintf(hs, "%q\n%s\n", tenant.Name, policy)
	common := string(hs.Sum(nil))
	sigs := make(notify.Sigs, len(v.techs))
	for id, t := range v.techs {
		fp := v.fingerprint(tenant, id, v.idx.ForTech(id))
		sigs[id] = fmt.Sprintf("%s\x00%s\x00%s\x00%q\x00%q\x00%t\x00%s", common, fp, t.Status, t.Username, t.Organization, t.CoManaged, t.KeyID)
	}
	return sigs
}

// graphView is the entitlement view a change leaves behind and its techs' signatures, read in the change's
// transaction.
type graphView struct {
	v    *view
	sigs notify.Sigs
}

// readGraph reads the tenant's view as the change committing revision rev leaves it. The tenant row is read again:
// the change may be the policy's. A change of groups, rights, triplets or the policy alone (groupsOnly) keeps the
// techs and agents of the cached view, which only entitlement changes replace: reading all of them again (7,000
// rows in the hub-under-load benchmark, about 0.1 s) held the tenant's writes back at every such change. The
// cached view serves only when this process has applied every revision before this one: a change another process
// committed just before may not have reached it yet.
func (h *Hub) readGraph(tx store.Tx, tenant *store.Tenant, rev int64, groupsOnly bool) (*graphView, error) {
	t, err := tx.Tenant(tenant.GUID)
	if err != nil {
		return nil, err
	}
	var prev *view
	if groupsOnly && h.notify.Applied(tenant.ID) == rev-1 {
		h.views.mu.Lock()
		prev = h.views.m[tenant.ID]
		h.views.mu.Unlock()
	}
	v, err := h.readView(tx, t, prev)
	if err != nil {
		return nil, err
	}
	v.rev = rev
	return &graphView{v: v, sigs: v.signatures(t)}, nil
}

// recipientCacheMax bounds the view cache's recipients (viewCache.recips), which hold every tech key the hub has
// seen; rekeyed and deleted techs' keys are dropped with everything else when it fills.
const recipientCacheMax = 1 << 16
