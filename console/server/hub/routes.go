package hub

import (
	"bytes"
	"crypto/ed25519"
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

// access is who may call a route.
type access int

const (
	public      access = iota // anyone, no client certificate (health)
	keyed                     // any client key of a known tenant: registration, enrollment, claims (rate limited)
	techAny                   // a registered tech in any state: only its own status
	techActive                // an active tech
	agentActive               // an active agent
	adminAny                  // an admin of the tenant
	ownerOnly                 // the tenant's owner
	scrape                    // the operator's scrape key as a bearer token, no client certificate (metrics.go)
)

// principal is the authenticated caller.
type principal struct {
	kind  string // tech, agent, admin, system, anonymous
	id    int64
	tech  *store.Tech
	agent *store.Agent
	admin *store.Admin
}

// request is what a handler gets: the HTTP request, the tenant and the authenticated caller.
type request struct {
	*http.Request
	tenant *store.Tenant
	who    principal
	keyID  string            // seal.KeyID of the TLS client key
	key    ed25519.PublicKey // the TLS client key
}

type handler func(h *Hub, r *request) (any, error)

// route is one row of the API table.
type route struct {
	method string
	path   string
	who    access
	handle handler
}

// routes is the whole API. Every endpoint is here and nowhere else.
func routes() []route {
	return []route{
		{"GET", wire.PathHealthz, public, (*Hub).healthz},
		{"GET", wire.PathMetrics, scrape, (*Hub).metricsText},

		{"POST", wire.PathTechRegister, keyed, (*Hub).techRegister},
		{"GET", wire.PathTechStatus, techAny, (*Hub).techStatus},
		{"GET", wire.PathTechCredentials, techActive, (*Hub).techCredentials},
		{"GET", wire.PathTechChanges, techActive, (*Hub).techChanges},
		{"POST", wire.PathTechEvents, techActive, (*Hub).techEvent},
		{"GET", wire.PathTechAccounts + "/{id}/history", techActive, (*Hub).techHistory},
		{"GET", wire.PathTechStatusWait, techAny, (*Hub).techStatusWait},
		{"GET", wire.PathTechJIT, techActive, (*Hub).techJITList},
		{"POST", wire.PathTechJIT, techActive, (*Hub).techJITRequest},
		{"POST", wire.PathTechJIT + "/{id}/{action}", techActive, (*Hub).techJITAction},
		{"POST", wire.PathTechTOTPEnroll, techActive, (*Hub).techTOTPEnroll},
		{"POST", wire.PathTechTOTPConfirm, techActive, (*Hub).techTOTPConfirm},
		{"POST", wire.PathTechSession, techActive, (*Hub).techSession},
		{"GET", wire.PathTechSecurity, techActive, (*Hub).techSecurity},
		{"POST", wire.PathTechUnlockReport, techActive, (*Hub).techUnlockReport},
		{"POST", wire.PathTechRekey, keyed, (*Hub).techRekey},
		{"GET", wire.PathTechRekey, keyed, (*Hub).techRekeyStatus},

		{"POST", wire.PathAgentEnroll, keyed, (*Hub).agentEnroll},
		{"GET", wire.PathAgentPlan, agentActive, (*Hub).agentPlan},
		{"POST", wire.PathAgentStage, agentActive, (*Hub).agentStage},
		{"POST", wire.PathAgentConfirm, agentActive, (*Hub).agentConfirm},
		{"POST", wire.PathAgentFail, agentActive, (*Hub).agentFail},
		{"POST", wire.PathAgentAccounts, agentActive, (*Hub).agentAccounts},

		{"POST", wire.PathAdminClaim, keyed, (*Hub).adminClaim},
		{"GET", wire.PathAdminTenant, orgRead, (*Hub).adminTenant},
		{"PUT", wire.PathAdminPolicy, adminAny, (*Hub).adminPolicy},
		{"GET", wire.PathAdminAdmins, adminRead, (*Hub).adminAdmins},
		{"POST", wire.PathAdminClaimTokens, ownerOnly, (*Hub).adminClaimToken},
		{"GET", wire.PathAdminTechs, orgRead, (*Hub).adminTechs},
		{"POST", wire.PathAdminTechs + "/{id}/{action}", orgManage, (*Hub).adminTechAction},
		{"GET", wire.PathAdminTechGroups, adminRead, groupHandler(store.KindTech, (*Hub).adminGroups)},
		{"POST", wire.PathAdminTechGroups, adminAny, groupHandler(store.KindTech, (*Hub).adminGroupCreate)},
		{"PUT", wire.PathAdminTechGroups + "/{id}", adminAny, groupHandler(store.KindTech, (*Hub).adminGroupUpdate)},
		{"DELETE", wire.PathAdminTechGroups + "/{id}", adminAny, groupHandler(store.KindTech, (*Hub).adminGroupDelete)},
		{"POST", wire.PathAdminTechGroups + "/{id}/members", adminAny, groupHandler(store.KindTech, (*Hub).adminGroupMembers)},
		{"GET", wire.PathAdminAgentGroups, adminRead, groupHandler(store.KindAgent, (*Hub).adminGroups)},
		{"POST", wire.PathAdminAgentGroups, adminAny, groupHandler(store.KindAgent, (*Hub).adminGroupCreate)},
		{"PUT", wire.PathAdminAgentGroups + "/{id}", adminAny, groupHandler(store.KindAgent, (*Hub).adminGroupUpdate)},
		{"DELETE", wire.PathAdminAgentGroups + "/{id}", adminAny, groupHandler(store.KindAgent, (*Hub).adminGroupDelete)},
		{"POST", wire.PathAdminAgentGroups + "/{id}/members", adminAny, groupHandler(store.KindAgent, (*Hub).adminGroupMembers)},
		{"GET", wire.PathAdminRights, adminRead, (*Hub).adminRights},
		{"POST", wire.PathAdminRights, adminAny, (*Hub).adminRightCreate},
		{"PUT", wire.PathAdminRights + "/{id}", adminAny, (*Hub).adminRightUpdate},
		{"DELETE", wire.PathAdminRights + "/{id}", adminAny, (*Hub).adminRightDelete},
		{"GET", wire.PathAdminTriplets, adminRead, (*Hub).adminTriplets},
		{"POST", wire.PathAdminTriplets, adminAny, (*Hub).adminTripletCreate},
		{"PUT", wire.PathAdminTriplets + "/{id}", adminAny, (*Hub).adminTripletUpdate},
		{"DELETE", wire.PathAdminTriplets + "/{id}", adminAny, (*Hub).adminTripletDelete},
		{"POST", wire.PathAdminTokens, adminAny, (*Hub).adminEnrollToken},
		{"GET", wire.PathAdminAgents, orgRead, (*Hub).adminAgents},
		{"POST", wire.PathAdminAgents + "/{id}/{action}", adminAny, (*Hub).adminAgentAction},
		{"GET", wire.PathAdminAccounts, adminRead, (*Hub).adminAccounts},
		{"POST", wire.PathAdminAccounts + "/{id}/{action}", adminAny, (*Hub).adminAccountAction},
		{"POST", wire.PathAdminRotate, adminAny, (*Hub).adminRotate},
		{"GET", wire.PathAdminAudit, adminRead, (*Hub).adminAudit},
		{"GET", wire.PathAdminAuditVerify, adminRead, (*Hub).adminAuditVerify},
		{"GET", wire.PathAdminAccess, adminRead, (*Hub).adminAccess},
		{"POST", wire.PathAdminOnboard, adminAny, (*Hub).adminOnboard},
		{"GET", wire.PathAdminSecurityPolicy, adminRead, (*Hub).adminSecurityPolicy},
		{"PUT", wire.PathAdminSecurityPolicy, adminAny, (*Hub).adminSetSecurityPolicy},
		{"GET", wire.PathAdminTechSecurity, orgRead, (*Hub).adminTechSecurity},
		{"POST", wire.PathAdminTechSecurity + "/{id}/pause", adminAny, (*Hub).adminTOTPPause},
		{"POST", wire.PathAdminTechSecurity + "/{id}/unlock", orgManage, (*Hub).adminTechUnlock},
		{"POST", wire.PathAdminTechSecurity + "/{id}/reset", orgManage, (*Hub).adminTOTPReset},
		{"GET", wire.PathAdminRekeys, orgRead, (*Hub).adminRekeys},
		{"POST", wire.PathAdminRekeys + "/{id}/{action}", orgManage, (*Hub).adminRekeyAction},
		{"GET", wire.PathAdminTechImports, adminRead, (*Hub).adminImports},
		{"POST", wire.PathAdminTechImports, adminAny, (*Hub).adminImport},
		{"GET", wire.PathAdminTechImportTemplate, adminRead, (*Hub).adminImportTemplate},
		{"GET", wire.PathAdminTechReservations, orgRead, (*Hub).adminReservations},
		{"GET", wire.PathAdminOrgs, adminRead, (*Hub).adminOrgs},
		{"POST", wire.PathAdminOrgs, adminAny, (*Hub).adminOrgCreate},
		{"PUT", wire.PathAdminOrgs + "/{id}/comanagement", adminAny, (*Hub).adminOrgCoManagement},
		{"PUT", wire.PathAdminCoManagement, adminAny, (*Hub).adminTenantCoManagement},
		{"GET", wire.PathAdminSeats, adminRead, (*Hub).adminSeats},
		{"POST", wire.PathAdminInvites, ownerOnly, (*Hub).adminInvite},
		{"POST", wire.PathAdminAdmins + "/{id}/{action}", ownerOnly, (*Hub).adminAdminAction},
		{"PUT", wire.PathAdminAdmins + "/{id}/role", ownerOnly, (*Hub).adminAdminRole},
		{"GET", wire.PathAdminJIT, orgRead, (*Hub).adminJITList},
		{"POST", wire.PathAdminJIT + "/{id}/{action}", orgManage, (*Hub).adminJITAction},
	}
}

var accessNames = map[access]string{public: "public", keyed: "keyed", techAny: "tech", techActive: "active-tech",
	agentActive: "active-agent", adminAny: "admin", ownerOnly: "owner", scrape: "scrape", adminRead: "read", orgManage: "org", orgRead: "org-read"}

// RouteInfo describes one endpoint of the API table, for docs and tests.
type RouteInfo struct {
	Method string
	Path   string // a net/http pattern path, with {id} and {action} wildcards
	Access string // public, keyed, tech, active-tech, active-agent, admin, owner, scrape, read, org, org-read (roles.go)
}

// Routes lists the API table.
func Routes() []RouteInfo {
	var out []RouteInfo
	for _, rt := range routes() {
		out = append(out, RouteInfo{Method: rt.method, Path: rt.path, Access: accessNames[rt.who]})
	}
	return out
}

// Handler returns the hub's HTTP handler. It expects TLS with client certificates requested
// (hubserve.TLSConfig). Every response carries the hub's wire.CapabilityVersion in wire.HeaderCapability.
func (h *Hub) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routes() {
		mux.Handle(rt.method+" "+rt.path, h.endpoint(rt))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, &wire.Error{Code: wire.CodeNotFound, Message: "no such endpoint"})
	})
	capability := strconv.Itoa(wire.CapabilityVersion)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(wire.HeaderCapability, capability)
		mux.ServeHTTP(w, r)
	})
}

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
		h.metrics.observe(pattern, status, time.Since(start))
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
		if err := h.scrapeAllowed(hr); err != nil {
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
	}
	// One key's requests in flight, long polls included (flood.go).
	release, err := h.requests.acquire(r.keyID)
	if err != nil {
		return 0, nil, err
	}
	defer release()
	resp, err := rt.handle(h, r)
	return http.StatusOK, resp, err
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

func (h *Hub) healthz(r *request) (any, error) {
	if err := h.st.Read(r.Context(), func(tx store.Tx) error { _, err := tx.Tenants(); return err }); err != nil {
		return nil, err
	}
	return map[string]any{"ok": true, "protocol": wire.ProtocolVersion, "capability": wire.CapabilityVersion}, nil
}
