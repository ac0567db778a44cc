package hub

import (
	"crypto/ed25519"
	"net/http"
	"strconv"

	"github.com/watchword/watchword/console/server/hub/store"
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
	scrape                    // the operator's scrape key as a bearer token, no client certificate (package metrics)
	anyActive                 // an active tech, an active agent or an admin of any role: what every principal verifies
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
		{"GET", wire.PathOpenAPI, public, (*Hub).openAPI},

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
		{"POST", wire.PathAgentAuthority, agentActive, (*Hub).agentAuthority},
		{"POST", wire.PathAgentJITTAP, agentActive, (*Hub).agentJITTAP},

		{"GET", wire.PathAuthority, anyActive, (*Hub).authority},
		{"POST", wire.PathAdminAuthority, orgManage, (*Hub).adminAuthority},

		{"POST", wire.PathAdminClaim, keyed, (*Hub).adminClaim},
		{"GET", wire.PathAdminTenant, orgRead, (*Hub).adminTenant},
		{"PUT", wire.PathAdminPolicy, adminAny, (*Hub).adminPolicy},
		{"GET", wire.PathAdminAdmins, adminRead, (*Hub).adminAdmins},
		{"POST", wire.PathAdminClaimTokens, ownerOnly, (*Hub).adminClaimToken},
		{"GET", wire.PathAdminTechs, orgRead, (*Hub).adminTechs},
		{"POST", wire.PathAdminTechs + "/{id}/{action}", orgManage, (*Hub).adminTechAction},
		{"PUT", wire.PathAdminTechs + "/{id}", orgManage, (*Hub).adminTechEdit},
		{"DELETE", wire.PathAdminTechs + "/{id}", orgManage, (*Hub).adminTechDelete},
		{"GET", wire.PathAdminTechs + "/{id}" + wire.PathAdminTechDevice, orgRead, (*Hub).adminTechDevice},
		{"PUT", wire.PathAdminTechs + "/{id}/short-name", adminAny, (*Hub).adminTechShortName},
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
		{"GET", wire.PathAdminAuditCollectors, adminRead, (*Hub).adminCollectors},
		{"POST", wire.PathAdminAuditCollectors, ownerOnly, (*Hub).adminCollectorCreate},
		{"DELETE", wire.PathAdminAuditCollectors + "/{id}", ownerOnly, (*Hub).adminCollectorDelete},
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
	agentActive: "active-agent", anyActive: "active-any", adminAny: "admin", ownerOnly: "owner", scrape: "scrape", adminRead: "read", orgManage: "org", orgRead: "org-read"}

// RouteInfo describes one endpoint of the API table, for docs and tests.
type RouteInfo struct {
	Method string
	Path   string // a net/http pattern path, with {id} and {action} wildcards
	Access string // public, keyed, tech, active-tech, active-agent, active-any, admin, owner, scrape, read, org, org-read (roles.go)
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
