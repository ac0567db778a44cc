package hub

// Floods: registrations, long polls, requests in flight (the connection cap is hubserve's).
//
// The keyed routes (registration, enrolment, claims, device replacement) answer anyone holding a key, and a key
// costs nothing to make. Their rate is bounded three ways, each route with buckets of its own so that a flood of
// registrations does not stop an agent enrolling: per client address; per network, the address's /24 (IPv4) or /64
// (IPv6), since one host easily holds many addresses of its network (all of 127.0.0.0/8 on loopback, a /64 on any
// IPv6 interface); and per tenant, whatever the networks, checked once the tenant is known so that made-up tenant
// GUIDs cannot fill its table.
//
// A tenant holds at most MaxPendingTechs pending techs; a registration beyond is refused with the limit named. The
// first refusal since the queue last had room is audited (tech.register-refused) and the admin's tech list carries
// the queue's state (wire.Registrations) for the Console to show. A pending registration changes nobody's
// entitlements, so it does not rebuild the entitlement view in the tenant's write lock (each of 1,200 flooded
// registrations did, for longer the more techs there were, while agents' stages and confirmations queued
// behind) and wakes no tech device.
//
// Long polls are counted per client key and in total, and so are a key's requests in flight; hubserve.Listen caps
// the connections it holds. A poll or request beyond a cap is refused with rate_limited, which clients back off from.

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/watchword/watchword/console/server/hub/limit"
	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/wire"
)

// Defaults of the limits in Config.
const (
	defaultMaxPendingTechs    = 500
	defaultMaxLongPolls       = 10_000
	defaultMaxLongPollsPerKey = 4
	defaultMaxRequestsPerKey  = 32
)

// floodGates is the Hub's share of this file.
type floodGates struct {
	netLimiter    *limit.Buckets // keyed routes per network
	tenantLimiter *limit.Buckets // keyed routes per tenant
	maxPending    int
	polls         *limit.Gate // long polls, per key and in total
	requests      *limit.Gate // requests in flight, per key
	knownTenants  sync.Map    // GUIDs of tenants looked up: limited before the next lookup

	regMu   sync.Mutex
	regFull map[int64]*regRefusals // tenant ID → refusals since its queue was last below the limit
}

type regRefusals struct {
	since time.Time
	n     int64
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

func newFloodGates(cfg Config, burst int, every time.Duration, now func() time.Time) floodGates {
	return floodGates{
		netLimiter: limit.NewBuckets(orDefault(cfg.NetRateBurst, 3*burst), orDefault(cfg.NetRateEvery, max(every/3, time.Nanosecond)), now),
		tenantLimiter: limit.NewBuckets(orDefault(cfg.TenantRateBurst, 10*burst),
			orDefault(cfg.TenantRateEvery, max(every/10, time.Nanosecond)), now),
		maxPending: orDefault(cfg.MaxPendingTechs, defaultMaxPendingTechs),
		polls:      limit.NewGate("long polls", orDefault(cfg.MaxLongPolls, defaultMaxLongPolls), orDefault(cfg.MaxLongPollsPerKey, defaultMaxLongPollsPerKey)),
		requests:   limit.NewGate("requests in flight", 0, orDefault(cfg.MaxRequestsPerKey, defaultMaxRequestsPerKey)),
		regFull:    map[int64]*regRefusals{},
	}
}

// ---- rates of the keyed routes ----

func errRate(from string) error {
	return &wire.Error{Code: wire.CodeRateLimited, Message: fmt.Sprintf("too many requests %s; retry later", from)}
}

// rateByAddress applies the address and network limits of a keyed route; the tenant's follows once the tenant is
// known (rateByTenant).
func (h *Hub) rateByAddress(rt route, hr *http.Request) error {
	addr := clientAddr(hr)
	if !h.limiter.Allow(rt.path + "|" + addr) {
		return errRate("from this address")
	}
	if n := limit.Network(addr); !h.netLimiter.Allow(rt.path + "|" + n) {
		return errRate("from network " + n)
	}
	return nil
}

// rateByTenant applies the tenant's limit of a keyed route. A tenant this process has looked up before is limited
// before the lookup: refusing a flood costs no read of the database then. A GUID no one has looked up is limited
// after (the lookup refuses a made-up one), so made-up GUIDs never fill the tenant table.
func (h *Hub) rateByTenant(rt route, guid string, known bool) (checked bool, err error) {
	if _, ok := h.knownTenants.Load(guid); !ok && !known {
		return false, nil
	}
	h.knownTenants.Store(guid, true)
	if !h.tenantLimiter.Allow(rt.path + "|" + guid) {
		return true, errRate("to this tenant")
	}
	return true, nil
}

// ---- the pending queue ----

// pendingFullError refuses a registration to a tenant whose pending queue is full.
type pendingFullError struct{ limit int }

func (e *pendingFullError) Error() string {
	return fmt.Sprintf("this tenant already has %d pending registrations, the most the hub holds: an admin must approve or reject some before another device can register", e.limit)
}

// As lets asWire turn it into the rate_limited a client sees.
func (e *pendingFullError) As(target any) bool {
	if p, ok := target.(**wire.Error); ok {
		*p = &wire.Error{Code: wire.CodeRateLimited, Message: e.Error()}
		return true
	}
	return false
}

// pendingRoom refuses a registration when tenant's pending queue is full.
func (h *Hub) pendingRoom(tx store.Tx, tenant *store.Tenant) error {
	n, err := tx.CountTechs(tenant.ID, wire.TechPending)
	if err != nil {
		return err
	}
	if n >= h.maxPending {
		return &pendingFullError{limit: h.maxPending}
	}
	return nil
}

// registrationRefused counts a registration refused for a full queue; the first since the queue last had room is
// audited, and wakes the Consoles' long polls so they can say so.
func (h *Hub) registrationRefused(ctx context.Context, tenant *store.Tenant) {
	h.regMu.Lock()
	st := h.regFull[tenant.ID]
	first := st == nil
	if first {
		st = &regRefusals{since: h.now().UTC()}
		h.regFull[tenant.ID] = st
	}
	st.n++
	h.regMu.Unlock()
	if !first {
		return
	}
	// The registrant may have hung up; the record is the tenant's.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := h.mutate(ctx, tenant, principal{kind: "system"}, func(c *change) error {
		c.concerns() // no tech's list changes
		n, err := c.tx.CountTechs(tenant.ID, wire.TechPending)
		if err != nil {
			return err
		}
		return c.audit("tech.register-refused", "tenant "+tenant.GUID, fmt.Sprintf("reason=pending-limit limit=%d pending=%d", h.maxPending, n))
	})
	if err != nil {
		h.log.Error("audit refused registration", "tenant", tenant.GUID, "err", err)
	}
}

// registrationAccepted notes that tenant's queue had room again.
func (h *Hub) registrationAccepted(tenant int64) {
	h.regMu.Lock()
	delete(h.regFull, tenant)
	h.regMu.Unlock()
}

// registrations is the state of tenant's pending queue for the admin's tech list.
func (h *Hub) registrations(tx store.Tx, tenant int64) (*wire.Registrations, error) {
	n, err := tx.CountTechs(tenant, wire.TechPending)
	if err != nil {
		return nil, err
	}
	out := &wire.Registrations{Pending: n, PendingLimit: h.maxPending, Full: n >= h.maxPending}
	h.regMu.Lock()
	if st := h.regFull[tenant]; st != nil {
		out.Refused, out.RefusedSince = st.n, st.since
	}
	h.regMu.Unlock()
	return out, nil
}

// ---- long polls and requests in flight ----

// longPoll takes a long-poll place for the caller, to hold while it waits.
func (h *Hub) longPoll(r *request) (release func(), err error) {
	return h.polls.Acquire(r.keyID)
}
