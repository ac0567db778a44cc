// Package hub is Watchword's headless server: it holds a store of tenants, techs, agents, groups, rights,
// triplets, accounts and sealed credential versions, and serves them over an authenticated HTTPS API. This package
// is the API — the route table and its handlers, grouped by resource — and the Hub they share; what the Hub holds
// that is not the API lives in packages of its own.
//
// # Reading guide
//
// The core:
//
//   - hub.go: Config, the Hub and mutate, the transaction through which every mutation goes: it appends the audit
//     events, bumps the tenant revision and publishes it (package notify).
//   - routes.go: the one table of every endpoint (method, path, who may call it, handler) and Handler.
//   - openapi.go: the types each route reads and answers, turned into the API's OpenAPI description (package
//     apidoc; docs/openapi.json, served at wire.PathOpenAPI).
//   - request.go: the way of every request: protocol and capability versions, authentication, limits, error
//     mapping, the audit of refusals; the health and metrics routes.
//   - roles.go: the access classes of admin routes and the Console roles behind them.
//   - view.go: a tenant's entitlement view (cached per tenant, built once for concurrent readers) and the wake-up
//     signatures an entitlement change publishes.
//   - plan.go: entitlements turned into an agent's plan, the rotation schedule.
//   - credentials.go: entitlements turned into a tech's credential list (full and streamed a page at a time, or
//     delta) and the grants fingerprint that decides between them.
//   - flood.go: what the hub limits against floods (keyed routes, the pending queue, long polls, requests in
//     flight) and why.
//
// The handlers, by resource:
//
//   - tenant.go: a tenant's creation with its built-ins (CreateTenant), the tenant as admins read it, its policy.
//   - admins.go: Console admins: claims, invitations, approval, removal, roles; AddAdmin for an embedded hub.
//   - tokens.go: claim and enrollment tokens.
//   - tech.go: a tech device's registration, status (and its long poll), credentials, changes and events; an
//     admin's list of techs, approve (and where an approved tech belongs), reject, disable and enable.
//   - shortname.go: a tech's short name, which stands for its username in its account names.
//   - agent.go: an agent's enrolment, plan, staging, confirmation, failures and account reports; an admin's list
//     of agents and its actions on them.
//   - accounts.go: accounts by tech or agent, rotation requests, failed accounts, retry and adoption, plan
//     problems.
//   - entitlements.go: tech and agent groups, rights, triplets and the effective access they grant.
//   - audit.go: the audit log, the check of its chain and of the admins' signed audit checkpoints (the route, and
//     VerifyAuditCheckpoints for the operator's verify-audit).
//   - history.go: rotate after use and password history.
//   - jit.go: just-in-time access.
//   - techevent.go: the device's signature over a tech's reveal, copy or JIT request, checked and kept in the audit
//     event.
//   - techlife.go: an admin edits a tech (a move between organizations with its TechGroups), deletes a
//     deactivated one (a tombstone; its accounts deleted by the agents or left disabled), and reads its device.
//   - totp.go: two-factor sessions, lockout, authenticator reset, TOTP secrets sealed at rest.
//   - rekey.go: device replacement.
//   - authority.go: the signed authority the hub relays (updates admins sign, agents' receipts) and cannot make.
//   - orgs.go: client organizations, co-management, seats.
//   - onboard.go: the co-managed onboarding in one transaction, and its extension when run again.
//   - approve.go: what an approval may hand out: a co-managed tech refused while a triplet gives it every domain
//     (unless overridden, audited), and the TechGroups an approval joins.
//   - csvimport.go: CSV import of techs and reservations.
//   - collectors.go: the syslog collectors the audit log streams to (package auditstream), their state, and the
//     signed chain heads the stream sends.
//
// The packages beside it:
//
//   - notify: tenant revisions, per-tech wake-ups, the delta log, long-poll waits.
//   - auditstream: the audit log to syslog collectors over TLS, a cursor each, with signed chain heads.
//   - hubserve: the key file, TLS, listening with a connection cap, shutdown.
//   - hubcli: the watchword-hub command line.
//   - store: the storage interface and its SQLite implementation; entitle: the entitlement index.
//   - metrics, limit, totpseal: Prometheus counters and the scrape key, flood counters, TOTP sealing.
//
// # Authentication
//
// Every principal — a tech device, an agent, a console admin — is its Ed25519 key, presented as a self-signed TLS
// client certificate (seal.Identity.TLSCertificate). The hub names the caller seal.KeyID(seal.PeerKey(cert)) and
// looks it up in the tenant named by the Watchword-Client header. Clients pin the hub's own key by the KeyID carried
// in the invite. Registration, enrollment and admin claims carry the full public key, whose auth key must be the TLS
// key: the caller proves it holds what it registers.
//
// # Zero knowledge
//
// The hub never sees a password. Agents seal each new password to the tech's device recipient and the tenant's
// recovery recipient before staging it; the hub stores and forwards the age envelope as opaque bytes and never
// logs a request body.
package hub

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/watchword/watchword/console/server/hub/auditstream"
	"github.com/watchword/watchword/console/server/hub/limit"
	"github.com/watchword/watchword/console/server/hub/metrics"
	"github.com/watchword/watchword/console/server/hub/notify"
	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/console/server/hub/totpseal"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// Config tunes a Hub. The zero value is usable.
type Config struct {
	Logger *slog.Logger
	// Now is the clock; tests move it.
	Now func() time.Time
	// MaxWait caps long polls (default and maximum wire.MaxWait).
	MaxWait time.Duration
	// RateBurst and RateEvery limit registration, enrollment and claims per client address:
	// RateBurst requests at once, then one per RateEvery (defaults 10 and 6 s).
	RateBurst int
	RateEvery time.Duration
	// NetRateBurst and NetRateEvery limit the same routes per network, the client's /24 (IPv4) or /64 (IPv6):
	// defaults three times RateBurst and a third of RateEvery. TenantRateBurst and TenantRateEvery limit them per
	// tenant: defaults ten times RateBurst and a tenth of RateEvery. Each route has its own buckets (flood.go).
	NetRateBurst    int
	NetRateEvery    time.Duration
	TenantRateBurst int
	TenantRateEvery time.Duration
	// MaxPendingTechs caps each tenant's pending techs; a registration beyond is refused (default 500).
	MaxPendingTechs int
	// MaxLongPolls caps the long polls held at once in total (default 10,000), MaxLongPollsPerKey those of one
	// client key (default 4), MaxRequestsPerKey one key's requests in flight, long polls included (default 32).
	MaxLongPolls       int
	MaxLongPollsPerKey int
	MaxRequestsPerKey  int
	// DisableTOTP stops the credential list requiring a TOTP session of co-managed techs (and of MSP techs under
	// the tenant's security policy; totp.go). A knob for tests about something else: a real hub always enforces
	// it, and lockouts are enforced either way.
	DisableTOTP bool
	// MetricsKey is the scrape key GET /metrics requires as a bearer token (at least metrics.MinScrapeKey
	// characters; metrics.ReadScrapeKey reads one from a file). Empty: metrics are off.
	MetricsKey string
	// Feed, for a hub that is one of several processes (replicas) on one database, carries each one's changes to
	// the others (replicas.go; package pgshare for PostgreSQL). Nil: this hub is alone on its store.
	Feed notify.Feed
	// AuditStreamLock, with replicas, lets one of them at a time stream the audit log (replicas.go). Nil: this
	// hub streams whenever StreamAudit runs.
	AuditStreamLock Exclusive
	// PublicURLs are the addresses clients reach this hub at, every replica's or load balancer's (serve
	// --public-url), in the order clients should try them. The health answer names them and the Console puts them
	// in the invites it shows, so TechClients and agents fail over between them (hubclient).
	PublicURLs []string
}

// Hub serves one store. Create it with New.
type Hub struct {
	st      store.Store
	id      *seal.Identity
	pin     string
	log     *slog.Logger
	now     func() time.Time
	maxWait time.Duration
	metrics *metrics.Registry
	// scrapeKey is the key GET /metrics requires (Config.MetricsKey); nil: metrics are off.
	scrapeKey metrics.ScrapeKey
	limiter   *limit.Buckets // keyed routes per client address (flood.go)
	// refusals bounds the audit events refused requests may write (see auditRefusal).
	refusals    *limit.Buckets
	totp        *totpseal.Sealer // TOTP secrets at rest
	enforceTOTP bool
	floodGates  // registration limits, long polls and requests in flight (flood.go)

	// notify holds the tenants' revisions and wakes long polls (package notify).
	notify *notify.Notifier

	views viewCache // the tenants' entitlement views (view.go)

	authorities authorityCache // the tenants' signed authority states (authority.go)

	stream     *auditstream.Streamer // the audit log to the tenants' syslog collectors (collectors.go)
	streamLock Exclusive             // with replicas, held by the one that streams (replicas.go)

	publicURLs []string // Config.PublicURLs

	mu sync.Mutex // guards problems
	// problems holds the plan problems already audited (accounts.go).
	problems map[problemKey]bool
}

// New creates a hub over st that authenticates itself with id.
func New(st store.Store, id *seal.Identity, cfg Config) *Hub {
	h := &Hub{
		st:          st,
		id:          id,
		pin:         id.Public().ID(),
		log:         cfg.Logger,
		now:         cfg.Now,
		maxWait:     cfg.MaxWait,
		publicURLs:  cfg.PublicURLs,
		enforceTOTP: !cfg.DisableTOTP,
		metrics:     metrics.New(),
		totp:        totpseal.New(id),
		views: viewCache{m: map[int64]*view{}, graphRev: map[int64]int64{}, building: map[viewKey]*viewBuild{},
			recips: seal.RecipientCache{Max: recipientCacheMax}},
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.notify = notify.New(h.now)
	if cfg.Feed != nil {
		h.notify.Share(notify.Shared{Feed: cfg.Feed, Stored: h.storedRevision, Graph: h.views.noteGraph, Logger: h.log})
	}
	h.streamLock = cfg.AuditStreamLock
	if h.maxWait <= 0 || h.maxWait > wire.MaxWait {
		h.maxWait = wire.MaxWait
	}
	burst, every := cfg.RateBurst, cfg.RateEvery
	if burst <= 0 {
		burst = 10
	}
	if every <= 0 {
		every = 6 * time.Second
	}
	h.limiter = limit.NewBuckets(burst, every, h.now)
	h.floodGates = newFloodGates(cfg, burst, every, h.now)
	if cfg.MetricsKey != "" {
		k, err := metrics.NewScrapeKey(cfg.MetricsKey)
		if err != nil {
			h.log.Error("metrics stay off", "err", err)
		}
		h.scrapeKey = k
	}
	h.refusals = limit.NewBuckets(refusalBurst, refusalEvery, h.now)
	host, _ := os.Hostname()
	h.stream = auditstream.New(st, auditstream.Config{Logger: h.log, Now: h.now, Host: host, Head: h.signedHead})
	return h
}

// Pin is the hub's key ID, which clients pin through the invite.
func (h *Hub) Pin() string { return h.pin }

// Certificate is the hub's self-signed TLS certificate, whose key clients pin (hubserve.TLSConfig).
func (h *Hub) Certificate() (tls.Certificate, error) { return h.id.TLSCertificate() }

// MaxWait is the longest the hub holds a long poll: a server's write timeout allows for it.
func (h *Hub) MaxWait() time.Duration { return h.maxWait }

// Logger is the hub's logger (Config.Logger), for the server that runs it.
func (h *Hub) Logger() *slog.Logger { return h.log }

// Store returns the hub's store.
func (h *Hub) Store() store.Store { return h.st }

// Invite builds the invite of tenant guid for a hub reachable at hubURL, and at the other addresses given.
func (h *Hub) Invite(hubURL, guid string, more ...string) wire.Invite {
	return wire.Invite{HubURL: hubURL, ClientGUID: guid, HubPin: h.pin}.WithURLs(append([]string{hubURL}, more...)...)
}

// ---- mutations ----

// change is one mutation in progress: its audit events go into the same transaction.
type change struct {
	tx     store.Tx
	tenant *store.Tenant
	actor  principal
	at     time.Time
	events int
	graph  bool // the entitlement inputs changed
	// groupsOnly: of the entitlement inputs, only groups, rights, triplets or the policy changed, and the techs
	// and agents of the cached view can be kept (readGraph).
	groupsOnly bool
	bump       bool          // clients should refetch
	scope      *notify.Scope // the techs the change concerns; nil: every tech (see concerns)
}

// audit records what the change did. Details must never contain a secret.
func (c *change) audit(action, target, detail string) error {
	c.events++
	return c.tx.Audit(&store.AuditEvent{TenantID: c.tenant.ID, At: c.at, ActorKind: c.actor.kind, ActorID: c.actor.id,
		Action: action, Target: target, Detail: detail})
}

// errUnaudited guards the rule that every mutation is audited.
var errUnaudited = errors.New("mutation without an audit event")

// errNoChange lets a mutation find out it has nothing to do: the transaction rolls back and nothing is audited.
var errNoChange = errors.New("no change")

// mutate runs fn in a write transaction for tenant, then bumps the revision (unless quiet) and wakes long polls.
func (h *Hub) mutate(ctx context.Context, tenant *store.Tenant, actor principal, fn func(c *change) error) error {
	// Published in commit order, after the notify below (notify.Notifier.Begin).
	end := h.notify.Begin(tenant.ID)
	defer end()
	var c *change
	var rev int64
	var gv *graphView
	err := h.st.Write(ctx, func(tx store.Tx) error {
		c = &change{tx: tx, tenant: tenant, actor: actor, at: h.now().UTC(), bump: true}
		if err := fn(c); err != nil {
			return err
		}
		if c.events == 0 {
			return errUnaudited
		}
		if c.bump || c.graph {
			var err error
			if rev, err = tx.BumpRevision(tenant.ID); err != nil {
				return err
			}
		}
		if c.graph {
			// The view as this change leaves it, read before anyone else can change it: whom to wake is the
			// techs whose signature it changes.
			var err error
			if gv, err = h.readGraph(tx, tenant, rev, c.groupsOnly); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	h.stream.Wake()
	if rev > 0 {
		h.publish(tenant.ID, rev, c.graph, c.scope, gv)
	} else {
		h.notify.Pending(tenant.ID, c.scope)
	}
	return nil
}

// publish publishes revision rev of tenant (notify.Notifier.Publish). gv, for an entitlement change, is the view
// the change left: it replaces the cached one first, so that a poll the change wakes reads it, and its signatures
// say which techs the change concerns beyond sc.
func (h *Hub) publish(tenant, rev int64, graph bool, sc *notify.Scope, gv *graphView) {
	var sigs notify.Sigs
	if graph {
		h.views.mu.Lock()
		h.views.noteGraphLocked(tenant, rev)
		if gv != nil {
			h.views.installLocked(tenant, gv.v)
			sigs = gv.sigs
		}
		h.views.mu.Unlock()
	}
	h.notify.Publish(tenant, rev, graph, sc, sigs)
}

// concerns narrows the change's wake-ups to these techs (none: the change concerns no tech, e.g. a rotation
// request that only the agent acts on). Without a call, a change concerns every tech.
func (c *change) concerns(techs ...int64) {
	if c.scope == nil {
		c.scope = notify.NewScope()
	}
	c.scope.Concern(techs...)
}

// touched records that an account's entry in its tech's credential list changed.
func (c *change) touched(acc *store.Account) {
	c.concerns()
	c.scope.Touch(acc.ID, acc.TechID)
}
