package hub

// The way of every request: the versions it speaks, authentication, limits, the handler, the mapping of its error
// onto the wire error a client sees, and the audit event of a refusal worth one.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

var errUnknown = &wire.Error{Code: wire.CodeUnauthenticated, Message: "unknown client GUID or key"}

// endpoint wraps a route with authentication, limits, error mapping and metrics.
func (h *Hub) endpoint(rt route) http.Handler {
	pattern := rt.method + " " + rt.path
	return http.HandlerFunc(func(w http.ResponseWriter, hr *http.Request) {
		start := time.Now()
		r := &request{Request: hr, who: principal{kind: "anonymous"}}
		status, resp, err := h.serve(rt, r)
		if err != nil {
			status = h.errorStatus(rt, hr, err)
			h.auditRefusal(rt, r, err)
			writeError(w, status, asWire(err))
		} else if st, ok := resp.(streamer); ok {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(status)
			if err := st.stream(w); err != nil { // the client sees a cut body, never half a list as whole
				h.log.Error("stream response", "route", pattern, "err", err)
			}
		} else if raw, ok := resp.(rawResponse); ok {
			w.Header().Set("Content-Type", raw.contentType)
			w.WriteHeader(status)
			w.Write(raw.body)
		} else {
			writeJSON(w, status, resp)
		}
		h.metrics.Observe(pattern, status, time.Since(start))
	})
}

// rawResponse is a non-JSON answer (metrics).
type rawResponse struct {
	contentType string
	body        []byte
}

func (h *Hub) serve(rt route, r *request) (int, any, error) {
	hr := r.Request
	if err := checkVersions(hr.Header); err != nil {
		return 0, nil, err
	}
	hr.Body = http.MaxBytesReader(nil, hr.Body, wire.MaxBodyBytes)
	if rt.who == scrape {
		if err := h.scrapeKey.Allow(hr); err != nil {
			return 0, nil, err
		}
	}
	if rt.who == public || rt.who == scrape {
		resp, err := rt.handle(h, r)
		return http.StatusOK, resp, err
	}
	if hr.TLS == nil || len(hr.TLS.PeerCertificates) == 0 {
		return 0, nil, &wire.Error{Code: wire.CodeUnauthenticated, Message: "a TLS client certificate is required"}
	}
	key, err := seal.PeerKey(hr.TLS.PeerCertificates[0])
	if err != nil {
		return 0, nil, &wire.Error{Code: wire.CodeUnauthenticated, Message: "the client certificate must carry an Ed25519 key"}
	}
	r.key, r.keyID = key, seal.KeyID(key)
	guid := hr.Header.Get(wire.HeaderClient)
	if !wire.ValidGUID(guid) {
		return 0, nil, wire.Invalid(wire.HeaderClient, "header must carry the tenant's client GUID")
	}
	tenantLimited := false
	if rt.who == keyed { // per address, network and tenant (flood.go)
		if err := h.rateByAddress(rt, hr); err != nil {
			return 0, nil, err
		}
		if tenantLimited, err = h.rateByTenant(rt, guid, false); err != nil {
			return 0, nil, err
		}
	}
	err = h.st.Read(hr.Context(), func(tx store.Tx) error {
		t, err := tx.Tenant(guid)
		if err != nil {
			return err
		}
		r.tenant = t // set before the principal is known, so that a refusal can be audited in this tenant
		switch rt.who {
		case techAny, techActive:
			if r.who.tech, err = tx.TechByKey(t.ID, r.keyID); err == nil {
				r.who.kind, r.who.id = "tech", r.who.tech.ID
			}
		case agentActive:
			if r.who.agent, err = tx.AgentByKey(t.ID, r.keyID); err == nil {
				r.who.kind, r.who.id = "agent", r.who.agent.ID
			}
		case adminAny, ownerOnly, adminRead, orgManage, orgRead:
			if r.who.admin, err = tx.AdminByKey(t.ID, r.keyID); err == nil {
				r.who.kind, r.who.id = "admin", r.who.admin.ID
			}
		case anyActive:
			err = r.anyPrincipal(tx, t.ID)
		}
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil, errUnknown
	}
	if err != nil {
		return 0, nil, err
	}
	if rt.who == keyed && !tenantLimited {
		if _, err := h.rateByTenant(rt, guid, true); err != nil {
			return 0, nil, err
		}
	}
	switch {
	case rt.who == techActive && r.who.tech.Status != wire.TechActive:
		return 0, nil, &wire.Error{Code: wire.CodePending, Message: fmt.Sprintf("tech is %s", r.who.tech.Status)}
	case rt.who == agentActive && r.who.agent.Status == wire.AgentPending:
		return 0, nil, errAgentPending
	case rt.who == agentActive && r.who.agent.Status != wire.AgentActive:
		return 0, nil, &wire.Error{Code: wire.CodePending, Message: fmt.Sprintf("agent is %s", r.who.agent.Status)}
	case isAdminAccess(rt.who):
		if err := checkRole(rt.who, r.who.admin); err != nil {
			return 0, nil, err
		}
	case rt.who == anyActive:
		if err := r.checkActive(); err != nil {
			return 0, nil, err
		}
	}
	if err := checkAPI(r.who.admin, h.now(), clientAddr(hr)); err != nil { // apiidentity.go
		return 0, nil, err
	}
	// One key's requests in flight, long polls included (flood.go).
	release, err := h.requests.Acquire(r.keyID)
	if err != nil {
		return 0, nil, err
	}
	defer release()
	if r.who.tech != nil {
		h.touchTech(r) // the device's last sighting (techlife.go)
	}
	if err := h.auditAPIRead(rt, r); err != nil {
		return 0, nil, err
	}
	resp, err := rt.handle(h, r)
	return http.StatusOK, resp, err
}

// anyPrincipal finds the caller's key among the tenant's techs, agents and admins, in that order.
func (r *request) anyPrincipal(tx store.Tx, tenant int64) error {
	var err error
	if r.who.tech, err = tx.TechByKey(tenant, r.keyID); err == nil {
		r.who.kind, r.who.id = "tech", r.who.tech.ID
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if r.who.agent, err = tx.AgentByKey(tenant, r.keyID); err == nil {
		r.who.kind, r.who.id = "agent", r.who.agent.ID
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if r.who.admin, err = tx.AdminByKey(tenant, r.keyID); err == nil {
		r.who.kind, r.who.id = "admin", r.who.admin.ID
	}
	return err
}

// checkActive admits, on an anyActive route, the principal anyPrincipal found as its own class would: an active
// tech, an active agent, an active admin of any role.
func (r *request) checkActive() error {
	switch {
	case r.who.tech != nil && r.who.tech.Status != wire.TechActive:
		return &wire.Error{Code: wire.CodePending, Message: fmt.Sprintf("tech is %s", r.who.tech.Status)}
	case r.who.agent != nil && r.who.agent.Status == wire.AgentPending:
		return errAgentPending
	case r.who.agent != nil && r.who.agent.Status != wire.AgentActive:
		return &wire.Error{Code: wire.CodePending, Message: fmt.Sprintf("agent is %s", r.who.agent.Status)}
	case r.who.admin != nil:
		return checkRole(orgRead, r.who.admin)
	}
	return nil
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

var codeStatus = map[string]int{
	wire.CodeBadRequest:      http.StatusBadRequest,
	wire.CodeInvalid:         http.StatusBadRequest,
	wire.CodeUnauthenticated: http.StatusUnauthorized,
	wire.CodeForbidden:       http.StatusForbidden,
	wire.CodePending:         http.StatusForbidden,
	wire.CodeNotFound:        http.StatusNotFound,
	wire.CodeConflict:        http.StatusConflict,
	wire.CodeRateLimited:     http.StatusTooManyRequests,
	wire.CodeTooLarge:        http.StatusRequestEntityTooLarge,
	wire.CodeInternal:        http.StatusInternalServerError,
}

// asWire maps any handler error onto the wire error a client sees. Unexpected errors become a bare "internal".
func asWire(err error) *wire.Error {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var all []wire.Error
		for _, e := range joined.Unwrap() {
			if we, ok := wire.AsError(e); ok {
				all = append(all, *we)
			}
		}
		if len(all) > 1 {
			first := all[0]
			first.Errors = all
			return &first
		}
	}
	if we, ok := wire.AsError(err); ok {
		return we
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &wire.Error{Code: wire.CodeNotFound, Message: err.Error()}
	case errors.Is(err, store.ErrConflict):
		return &wire.Error{Code: wire.CodeConflict, Message: err.Error()}
	case errors.Is(err, store.ErrTokenInvalid):
		return &wire.Error{Code: wire.CodeForbidden, Field: "token", Message: "token is unknown, used or expired"}
	case strings.Contains(err.Error(), "database or disk is full"): // SQLITE_FULL: nothing was written
		return &wire.Error{Code: wire.CodeInternal, Message: "the hub's storage is full; nothing was changed, retry later"}
	}
	return &wire.Error{Code: wire.CodeInternal, Message: "internal error"}
}

func (h *Hub) errorStatus(rt route, hr *http.Request, err error) int {
	we := asWire(err)
	status, ok := codeStatus[we.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if status >= 500 {
		// The error names objects, never secrets or bodies.
		h.log.Error("request failed", "route", rt.method+" "+rt.path, "err", err)
	} else {
		h.log.Debug("request refused", "route", rt.method+" "+rt.path, "code", we.Code, "field", we.Field)
	}
	return status
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		writeError(w, http.StatusInternalServerError, &wire.Error{Code: wire.CodeInternal, Message: "internal error"})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func writeError(w http.ResponseWriter, status int, e *wire.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(e)
}

// decode reads the body strictly: one JSON value, no unknown fields, within wire.MaxBodyBytes.
func (r *request) decode(v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &wire.Error{Code: wire.CodeTooLarge, Message: fmt.Sprintf("body exceeds %d bytes", wire.MaxBodyBytes)}
		}
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return wire.Invalid(ute.Field, "wrong type %s", ute.Value)
		}
		if s, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return wire.Invalid(strings.Trim(s, `"`), "unknown field")
		}
		return &wire.Error{Code: wire.CodeBadRequest, Message: "body is not valid JSON"}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &wire.Error{Code: wire.CodeBadRequest, Message: "body holds more than one JSON value"}
	}
	return nil
}

// pathID parses the {id} path value.
func (r *request) pathID() (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, wire.Invalid("id", "must be a positive integer")
	}
	return id, nil
}

// queryInt parses an optional integer query parameter.
func (r *request) queryInt(name string) (int64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, wire.Invalid(name, "must be a non-negative integer")
	}
	return n, nil
}

// waitDeadline reads the wait query parameter (seconds) and caps it.
func (h *Hub) waitDeadline(r *request) (time.Time, error) {
	secs, err := r.queryInt("wait")
	if err != nil {
		return time.Time{}, err
	}
	d := min(time.Duration(secs)*time.Second, h.maxWait)
	if ms, _ := r.queryInt("waitms"); ms > 0 {
		d = min(time.Duration(ms)*time.Millisecond, h.maxWait)
	}
	return h.now().Add(d), nil
}

// read runs fn in a read transaction and returns its result.
func read[T any](h *Hub, r *request, fn func(tx store.Tx) (T, error)) (T, error) {
	var out T
	err := h.st.Read(r.Context(), func(tx store.Tx) error {
		var err error
		out, err = fn(tx)
		return err
	})
	return out, err
}

// ---- refusals ----

// protocolError is a request in a protocol version the hub does not speak. A client that sends an older version
// than the hub's is refused rather than served in a weaker dialect: there is no downgrade.
type protocolError struct{ version string }

func errProtocol(v string) error { return &protocolError{version: v} }

func (e *protocolError) Error() string {
	return fmt.Sprintf("protocol version %q not supported (hub speaks %d)", e.version, wire.ProtocolVersion)
}

// As lets asWire turn it into the bad_request a client sees.
func (e *protocolError) As(target any) bool {
	if p, ok := target.(**wire.Error); ok {
		*p = &wire.Error{Code: wire.CodeBadRequest, Field: wire.HeaderProtocol, Message: e.Error()}
		return true
	}
	return false
}

// capabilityError is a request from a client older than wire.MinCapabilityVersion, or whose capability header is
// not a number: the hub's routes assume what such a client cannot do.
type capabilityError struct{ version string }

func (e *capabilityError) Error() string {
	return fmt.Sprintf("capability version %q not supported: the hub serves clients of capability %d or later (it has %d); update the client",
		e.version, wire.MinCapabilityVersion, wire.CapabilityVersion)
}

// As lets asWire turn it into the bad_request a client sees.
func (e *capabilityError) As(target any) bool {
	if p, ok := target.(**wire.Error); ok {
		*p = &wire.Error{Code: wire.CodeBadRequest, Field: wire.HeaderCapability, Message: e.Error()}
		return true
	}
	return false
}

// checkVersions refuses a request in another major protocol version than the hub's, or from a client older than
// wire.MinCapabilityVersion. A header that is absent says nothing (the client predates it); one that is present
// must be a decimal number.
func checkVersions(hdr http.Header) error {
	if v := hdr.Get(wire.HeaderProtocol); v != "" {
		if n, ok := parseVersion(v); !ok || n != wire.ProtocolVersion {
			return errProtocol(v)
		}
	}
	if vs := hdr.Values(wire.HeaderCapability); len(vs) > 0 {
		if n, ok := parseVersion(vs[0]); !ok || len(vs) > 1 || n < wire.MinCapabilityVersion {
			return &capabilityError{version: strings.Join(vs, ", ")}
		}
	}
	return nil
}

// parseVersion reads a version header: decimal digits only (no sign, no fraction).
func parseVersion(s string) (int, bool) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// refusalBurst and refusalEvery bound the audit events that refusals can write per client address and tenant:
// a caller with many keys must not be able to flood the audit log. Refusals beyond the bound are still logged.
const (
	refusalBurst = 20
	refusalEvery = 30 * time.Second
)

// refusal names a refused request worth an audit event, or returns "" for ordinary bad input. Worth auditing is
// what an impostor, a replay or a removed principal produces: an unknown key in a known tenant, a principal that
// is no longer active, a token that is unknown or used, a username or key that is already registered, another
// agent's account, an unsupported protocol or capability version.
func refusal(rt route, r *request, err error) string {
	if _, ok := err.(*protocolError); ok {
		return "protocol"
	}
	if _, ok := err.(*capabilityError); ok {
		return "capability"
	}
	if errors.As(err, new(errReservedUsername)) { // answered as a taken username (csvimport.go)
		return "reserved-username"
	}
	we := asWire(err)
	switch {
	case we.Code == wire.CodeUnauthenticated:
		return "unauthenticated"
	case we.Code == wire.CodePending:
		return "inactive"
	case we.Code == wire.CodeForbidden && we.Field == "token":
		return "token"
	case we.Code == wire.CodeForbidden:
		return "forbidden"
	case we.Code == wire.CodeConflict && rt.who == keyed:
		return "duplicate-" + we.Field
	case rt.who == agentActive && strings.Contains(we.Field, "accountId"):
		return "foreign-account"
	}
	return ""
}

// auditRefusal records a refused request in the audit chain of the tenant it named, in a transaction of its own
// (the request's own transaction, if any, rolled back). It never records a body: only the route, the kind of
// refusal and the caller's key ID.
func (h *Hub) auditRefusal(rt route, r *request, err error) {
	kind := refusal(rt, r, err)
	if kind == "" {
		return
	}
	if r.tenant == nil && r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		// Refused before the tenant was looked up (protocol or capability version): find it now, if the header names one.
		if key, err := seal.PeerKey(r.TLS.PeerCertificates[0]); err == nil && r.keyID == "" {
			r.keyID = seal.KeyID(key)
		}
		guid := r.Header.Get(wire.HeaderClient)
		if wire.ValidGUID(guid) {
			_ = h.st.Read(r.Context(), func(tx store.Tx) error {
				t, err := tx.Tenant(guid)
				r.tenant = t
				return err
			})
		}
	}
	if r.tenant == nil { // an unknown tenant has no audit chain
		h.log.Info("request refused", "route", rt.method+" "+rt.path, "refusal", kind, "addr", clientAddr(r.Request))
		return
	}
	if !h.refusals.Allow(strconv.FormatInt(r.tenant.ID, 10) + "|" + clientAddr(r.Request)) {
		h.log.Warn("request refused (audit bound reached)", "tenant", r.tenant.GUID, "route", rt.method+" "+rt.path,
			"refusal", kind, "key", r.keyID)
		return
	}
	actorKind, actorID := r.who.kind, r.who.id
	detail := fmt.Sprintf("route=%q refusal=%s code=%s", rt.method+" "+rt.path, kind, asWire(err).Code)
	if r.keyID != "" {
		detail += " key=" + r.keyID
	}
	// The request's context may already be cancelled (the client hung up); the record must still be written.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	werr := h.st.Write(ctx, func(tx store.Tx) error {
		return tx.Audit(&store.AuditEvent{TenantID: r.tenant.ID, At: h.now().UTC(), ActorKind: actorKind, ActorID: actorID,
			Action: "request.refused", Target: "route " + rt.path, Detail: detail})
	})
	if werr != nil {
		h.log.Error("audit refused request", "tenant", r.tenant.GUID, "route", rt.method+" "+rt.path, "err", werr)
	}
}

// ---- the hub's own routes ----

// metricsText is GET /metrics, for the operator's scraper (package metrics).
func (h *Hub) metricsText(r *request) (any, error) {
	return rawResponse{contentType: "text/plain; version=0.0.4", body: []byte(h.metrics.Text())}, nil
}

// healthz answers a load balancer's check and a client's first look: it reads the store, names the hub's public
// URLs and its database, and fails when that database is a standby (a hub there can stage nothing), so a check
// takes a replica stuck on one out of rotation.
func (h *Hub) healthz(r *request) (any, error) {
	if err := h.st.Read(r.Context(), func(tx store.Tx) error { _, err := tx.Tenants(); return err }); err != nil {
		return nil, err
	}
	db, err := h.st.Health(r.Context())
	if err != nil {
		return nil, err
	}
	if db.Role != store.RolePrimary {
		return nil, &wire.Error{Code: wire.CodeInternal, Message: fmt.Sprintf("the %s database this hub reaches is a %s", db.Engine, db.Role)}
	}
	return wire.Health{OK: true, Protocol: wire.ProtocolVersion, Capability: wire.CapabilityVersion, URLs: h.publicURLs,
		DB: &wire.HealthDB{Engine: db.Engine, Role: db.Role, Synchronous: db.SyncStandbys}}, nil
}
