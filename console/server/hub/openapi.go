package hub

import (
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/watchword/watchword/console/server/hub/apidoc"
	"github.com/watchword/watchword/shared/wire"
)

// The OpenAPI description is generated from the route table (routes.go) and the wire types: routeDocs names what
// each row reads and answers, and package apidoc turns that into the document. docs/openapi.json is a copy the
// golden test (openapi_test.go) keeps equal to OpenAPI(); regenerate it with
//
//	go test ./console/server/hub -run TestOpenAPIGolden -update
//
//go:generate go test . -run TestOpenAPIGolden -update

// routeDoc is what one route of the table reads and answers.
type routeDoc struct {
	summary  string
	in       reflect.Type // the JSON body; nil: none
	optional bool         // the body may be left out
	out      reflect.Type // the JSON answer
	query    []apidoc.Param
	actions  []string // the values of an {action} wildcard
}

func typ[T any]() reflect.Type { return reflect.TypeFor[T]() }

func qInt(name, desc string) apidoc.Param {
	return apidoc.Param{Name: name, Type: "integer", Description: desc}
}
func qText(name, desc string) apidoc.Param {
	return apidoc.Param{Name: name, Type: "string", Description: desc}
}

var (
	techActions  = []string{wire.ActionApprove, wire.ActionReject, wire.ActionDisable, wire.ActionEnable}
	agentActions = techActions

	qSince = qInt("since", "a revision or sequence number the caller has already seen")
	qWait  = []apidoc.Param{qInt("wait", "long poll: seconds to wait for a change (capped by the hub)"),
		qInt("waitms", "long poll in milliseconds, instead of wait")}
)

type none = struct{}

// routeDocs maps each route of the table ("METHOD path", as routes() declares it) to the types its handler reads
// (r.decode) and answers. A route missing here fails TestOpenAPIEveryRouteDescribed; a wrong answer type fails
// TestOpenAPIReachesEveryHandler, which checks the hub's answers against the document.
var routeDocs = map[string]routeDoc{
	"GET " + wire.PathHealthz: {summary: "The hub is up and its database a primary: its protocol and capability versions, public URLs and database",
		out: typ[wire.Health]()},
	"GET " + wire.PathMetrics: {summary: "Prometheus metrics of the hub"},
	"GET " + wire.PathOpenAPI: {summary: "This OpenAPI description",
		out: typ[map[string]any]()},
	"POST " + wire.PathTechRegister: {summary: "Register a tech device (pending until an admin approves it)",
		in: typ[wire.RegisterRequest](), out: typ[wire.TechStatusResponse]()},
	"GET " + wire.PathTechStatus: {summary: "The calling device's tech status",
		out: typ[wire.TechStatusResponse]()},
	"GET " + wire.PathTechCredentials: {summary: "The tech's accounts and sealed envelopes (a delta after since)",
		out:   typ[wire.CredentialsResponse](),
		query: []apidoc.Param{qSince, qText("grants", "the caller's grants digest: unchanged grants answer only what changed")}},
	"GET " + wire.PathTechChanges: {summary: "Long poll until something that concerns the tech changes",
		out: typ[wire.ChangesResponse](), query: append([]apidoc.Param{qSince}, qWait...)},
	"POST " + wire.PathTechEvents: {summary: "Report a reveal or a copy of a password",
		in: typ[wire.EventRequest](), out: typ[none]()},
	"GET " + wire.PathTechAccounts + "/{id}/history": {summary: "The sealed password history of one of the tech's accounts",
		out: typ[wire.HistoryResponse]()},
	"GET " + wire.PathTechStatusWait: {summary: "Long poll until the tech's status differs from the one it knows",
		out:   typ[wire.TechStatusResponse](),
		query: append([]apidoc.Param{qText("status", "the status the caller knows: answers when it differs")}, qWait...)},
	"GET " + wire.PathTechJIT: {summary: "The tech's just-in-time requests",
		out: typ[wire.JITGrantsResponse]()},
	"POST " + wire.PathTechJIT: {summary: "Request just-in-time access to an account",
		in: typ[wire.JITRequest](), out: typ[wire.JITGrant]()},
	"POST " + wire.PathTechJIT + "/{id}/{action}": {summary: "End one of the tech's own just-in-time windows",
		out: typ[wire.JITGrant](), actions: []string{wire.ActionJITDone}},
	"POST " + wire.PathTechTOTPEnroll: {summary: "Start enrolling an authenticator (TOTP)",
		in: typ[none](), out: typ[wire.TOTPEnrollment]()},
	"POST " + wire.PathTechTOTPConfirm: {summary: "Confirm the authenticator with a first code and open a session",
		in: typ[wire.CodeRequest](), out: typ[wire.TechSecurity]()},
	"POST " + wire.PathTechSession: {summary: "Open a two-factor session with a code",
		in: typ[wire.CodeRequest](), out: typ[wire.TechSecurity]()},
	"GET " + wire.PathTechSecurity: {summary: "The device's two-factor and lockout state",
		out: typ[wire.TechSecurity]()},
	"POST " + wire.PathTechUnlockReport: {summary: "Report a local unlock (passphrase) attempt",
		in: typ[wire.UnlockReport](), out: typ[wire.TechSecurity]()},
	"POST " + wire.PathTechRekey: {summary: "Ask to replace a lost device's key (a re-key request)",
		in: typ[wire.RekeyRequest](), out: typ[wire.Rekey]()},
	"GET " + wire.PathTechRekey: {summary: "The state of this device's re-key request",
		out: typ[wire.Rekey]()},

	"POST " + wire.PathAgentEnroll: {summary: "Enroll an agent with a single-use token",
		in: typ[wire.EnrollRequest](), out: typ[wire.EnrollResponse]()},
	"GET " + wire.PathAgentPlan: {summary: "The agent's plan: its accounts, recipients and due rotations (long poll)",
		out: typ[wire.Plan](), query: append([]apidoc.Param{qSince}, qWait...)},
	"POST " + wire.PathAgentStage: {summary: "Stage a sealed new version of an account's password",
		in: typ[wire.StageRequest](), out: typ[none]()},
	"POST " + wire.PathAgentConfirm: {summary: "Confirm a staged version: the password is set on the target",
		in: typ[wire.ConfirmRequest](), out: typ[none]()},
	"POST " + wire.PathAgentFail: {summary: "Report a failed staged version",
		in: typ[wire.FailRequest](), out: typ[none]()},
	"POST " + wire.PathAgentAccounts: {summary: "Report the state of the agent's accounts on its target",
		in: typ[wire.AccountsReport](), out: typ[none]()},
	"POST " + wire.PathAgentAuthority: {summary: "Report the authority head the agent verified, or why it refuses",
		in: typ[wire.AgentAuthorityReport](), out: typ[none]()},
	"POST " + wire.PathAgentJITTAP: {summary: "Store the sealed Temporary Access Pass the agent issued for an open just-in-time window",
		in: typ[wire.JITTAPRequest](), out: typ[none]()},

	"GET " + wire.PathAuthority: {summary: "The tenant's signed authority updates after a sequence number, and the head",
		out: typ[wire.AuthorityResponse](), query: []apidoc.Param{qSince}},
	"POST " + wire.PathAdminAuthority: {summary: "Publish one signed authority update",
		in: typ[wire.AuthorityPublish](), out: typ[wire.AuthorityHead]()},

	"POST " + wire.PathAdminClaim: {summary: "Claim an admin seat with a single-use token",
		in: typ[wire.ClaimRequest](), out: typ[wire.ClaimResponse]()},
	"GET " + wire.PathAdminTenant: {summary: "The tenant, its policy and settings",
		out: typ[wire.Tenant]()},
	"PUT " + wire.PathAdminPolicy: {summary: "Change the tenant's password policy",
		in: typ[wire.PolicyRequest](), out: typ[wire.Tenant]()},
	"GET " + wire.PathAdminAdmins: {summary: "The tenant's admins",
		out: typ[wire.AdminsResponse]()},
	"POST " + wire.PathAdminClaimTokens: {summary: "Create a single-use claim token",
		in: typ[wire.TokenRequest](), out: typ[wire.TokenResponse]()},
	"GET " + wire.PathAdminTechs: {summary: "The techs, by status",
		out: typ[wire.TechsResponse](), query: []apidoc.Param{qText("status", "only techs of this status")}},
	"POST " + wire.PathAdminTechs + "/{id}/{action}": {summary: "Approve, reject, disable or enable a tech",
		in: typ[wire.ApproveRequest](), optional: true, out: typ[wire.Tech](), actions: techActions},
	"PUT " + wire.PathAdminTechs + "/{id}": {summary: "Edit a tech: display name, email, or a move to another organization",
		in: typ[wire.TechEditRequest](), out: typ[wire.Tech]()},
	"DELETE " + wire.PathAdminTechs + "/{id}": {summary: "Delete a deactivated tech",
		in: typ[wire.TechDeleteRequest](), optional: true, out: typ[wire.Tech]()},
	"GET " + wire.PathAdminTechs + "/{id}" + wire.PathAdminTechDevice: {summary: "A tech's device and its replacements",
		out: typ[wire.TechDevice]()},
	"PUT " + wire.PathAdminTechs + "/{id}/short-name": {summary: "Set a tech's short name",
		in: typ[wire.TechShortNameRequest](), out: typ[wire.Tech]()},
	"GET " + wire.PathAdminTechGroups: {summary: "The tech groups",
		out: typ[wire.GroupsResponse]()},
	"POST " + wire.PathAdminTechGroups: {summary: "Create a tech group",
		in: typ[wire.GroupRequest](), out: typ[wire.Group]()},
	"PUT " + wire.PathAdminTechGroups + "/{id}": {summary: "Update a tech group",
		in: typ[wire.GroupRequest](), out: typ[wire.Group]()},
	"DELETE " + wire.PathAdminTechGroups + "/{id}": {summary: "Delete a tech group",
		out: typ[none]()},
	"POST " + wire.PathAdminTechGroups + "/{id}/members": {summary: "Add and remove members of a tech group",
		in: typ[wire.MembersRequest](), out: typ[wire.Group]()},
	"GET " + wire.PathAdminAgentGroups: {summary: "The agent groups",
		out: typ[wire.GroupsResponse]()},
	"POST " + wire.PathAdminAgentGroups: {summary: "Create an agent group",
		in: typ[wire.GroupRequest](), out: typ[wire.Group]()},
	"PUT " + wire.PathAdminAgentGroups + "/{id}": {summary: "Update an agent group",
		in: typ[wire.GroupRequest](), out: typ[wire.Group]()},
	"DELETE " + wire.PathAdminAgentGroups + "/{id}": {summary: "Delete an agent group",
		out: typ[none]()},
	"POST " + wire.PathAdminAgentGroups + "/{id}/members": {summary: "Add and remove members of an agent group",
		in: typ[wire.MembersRequest](), out: typ[wire.Group]()},
	"GET " + wire.PathAdminRights: {summary: "The rights",
		out: typ[wire.RightsResponse]()},
	"POST " + wire.PathAdminRights: {summary: "Create a right",
		in: typ[wire.RightRequest](), out: typ[wire.Right]()},
	"PUT " + wire.PathAdminRights + "/{id}": {summary: "Update a right",
		in: typ[wire.RightRequest](), out: typ[wire.Right]()},
	"DELETE " + wire.PathAdminRights + "/{id}": {summary: "Delete a right",
		out: typ[none]()},
	"GET " + wire.PathAdminTriplets: {summary: "The triplets (tech group, agent group, right)",
		out: typ[wire.TripletsResponse]()},
	"POST " + wire.PathAdminTriplets: {summary: "Create a triplet",
		in: typ[wire.TripletRequest](), out: typ[wire.Triplet]()},
	"PUT " + wire.PathAdminTriplets + "/{id}": {summary: "Update a triplet's mode",
		in: typ[wire.TripletRequest](), out: typ[wire.Triplet]()},
	"DELETE " + wire.PathAdminTriplets + "/{id}": {summary: "Delete a triplet",
		out: typ[none]()},
	"POST " + wire.PathAdminTokens: {summary: "Create an agent enrollment token",
		in: typ[wire.TokenRequest](), out: typ[wire.TokenResponse]()},
	"GET " + wire.PathAdminAgents: {summary: "The agents",
		out: typ[wire.AgentsResponse]()},
	"POST " + wire.PathAdminAgents + "/{id}/{action}": {summary: "Approve, reject, disable or enable an agent",
		out: typ[wire.Agent](), actions: agentActions},
	"GET " + wire.PathAdminAccounts: {summary: "Accounts by tech or agent",
		out:   typ[wire.AccountsResponse](),
		query: []apidoc.Param{qInt("tech", "only this tech's accounts"), qInt("agent", "only this agent's accounts")}},
	"POST " + wire.PathAdminAccounts + "/{id}/{action}": {summary: "Retry a failed account or adopt an existing one",
		in: typ[wire.AdoptRequest](), optional: true, out: typ[wire.Account](), actions: []string{wire.AccountRetry, wire.AccountAdopt}},
	"POST " + wire.PathAdminRotate: {summary: "Rotate accounts now",
		in: typ[wire.RotateRequest](), out: typ[wire.RotateResponse]()},
	"GET " + wire.PathAdminAudit: {summary: "The audit log, filtered, a page at a time",
		out: typ[wire.AuditResponse](), query: []apidoc.Param{
			qText("action", "only this action"), qText("actionPrefix", "only actions starting so"),
			qText("actorKind", "only this kind of actor"), qInt("actorId", "only this actor"),
			qText("about", "only events about a principal, e.g. \"tech 8\""),
			qInt("after", "only events after this sequence number"), qInt("before", "only events before this sequence number"),
			{Name: "since", Type: "date-time", Description: "only events at or after"},
			{Name: "until", Type: "date-time", Description: "only events before"},
			{Name: "order", Type: "string", Enum: []string{"oldest", "newest"}},
			qInt("limit", "at most this many events (at most 1000)")}},
	"GET " + wire.PathAdminAuditVerify: {summary: "Check the audit chain and the admins' signed checkpoints",
		out: typ[wire.VerifyResponse]()},
	"GET " + wire.PathAdminAuditCollectors: {summary: "The audit collectors and the state of each stream",
		out: typ[[]wire.Collector]()},
	"POST " + wire.PathAdminAuditCollectors: {summary: "Add an audit collector",
		in: typ[wire.CollectorRequest](), out: typ[wire.Collector]()},
	"DELETE " + wire.PathAdminAuditCollectors + "/{id}": {summary: "Delete an audit collector",
		out: typ[*none]()}, // null
	"GET " + wire.PathAdminAccess: {summary: "Effective access by tech or agent",
		out:   typ[wire.AccessResponse](),
		query: []apidoc.Param{qInt("tech", "only this tech's access"), qInt("agent", "only access to this agent")}},
	"POST " + wire.PathAdminOnboard: {summary: "Onboard a client: organization, groups, rights and triplets in one step",
		in: typ[wire.OnboardRequest](), out: typ[wire.OnboardResponse]()},
	"GET " + wire.PathAdminSecurityPolicy: {summary: "The two-factor and lockout policy",
		out: typ[wire.SecurityPolicy]()},
	"PUT " + wire.PathAdminSecurityPolicy: {summary: "Change the two-factor and lockout policy",
		in: typ[wire.SecurityPolicy](), out: typ[wire.SecurityPolicy]()},
	"GET " + wire.PathAdminTechSecurity: {summary: "The techs' two-factor and lockout states",
		out: typ[wire.TechSecurityResponse]()},
	"POST " + wire.PathAdminTechSecurity + "/{id}/pause": {summary: "Pause a tech's two-factor requirement",
		in: typ[wire.TOTPPauseRequest](), out: typ[wire.TechSecurity]()},
	"POST " + wire.PathAdminTechSecurity + "/{id}/unlock": {summary: "Unlock a locked tech",
		in: typ[none](), out: typ[wire.TechSecurity]()},
	"POST " + wire.PathAdminTechSecurity + "/{id}/reset": {summary: "Reset a tech's authenticator",
		in: typ[none](), out: typ[wire.TechSecurity]()},
	"GET " + wire.PathAdminRekeys: {summary: "Pending device replacements",
		out: typ[wire.RekeysResponse](), query: []apidoc.Param{qText("status", "only re-keys of this status")}},
	"POST " + wire.PathAdminRekeys + "/{id}/{action}": {summary: "Approve or reject a device replacement",
		out: typ[wire.Rekey](), actions: []string{wire.ActionApprove, wire.ActionReject}},
	"GET " + wire.PathAdminTechImports: {summary: "Past CSV imports of techs",
		out: typ[wire.ImportsResponse]()},
	"POST " + wire.PathAdminTechImports: {summary: "Import techs from CSV",
		in: typ[wire.ImportRequest](), out: typ[wire.Import]()},
	"GET " + wire.PathAdminTechImportTemplate: {summary: "The CSV import template",
		out: typ[wire.ImportTemplate]()},
	"GET " + wire.PathAdminTechReservations: {summary: "Reserved usernames from imports",
		out: typ[wire.ReservationsResponse]()},
	"GET " + wire.PathAdminOrgs: {summary: "The organizations",
		out: typ[wire.OrgsResponse]()},
	"POST " + wire.PathAdminOrgs: {summary: "Create an organization",
		in: typ[wire.OrgRequest](), out: typ[wire.Org]()},
	"PUT " + wire.PathAdminOrgs + "/{id}/comanagement": {summary: "Turn co-management on for an organization",
		in: typ[wire.CoManagementRequest](), out: typ[wire.CoManagementPlan]()},
	"PUT " + wire.PathAdminCoManagement: {summary: "Turn co-management on or off for the tenant",
		in: typ[wire.CoManagementRequest](), out: typ[wire.CoManagementPlan]()},
	"GET " + wire.PathAdminSeats: {summary: "Seats in use",
		out: typ[wire.SeatsResponse]()},
	"POST " + wire.PathAdminInvites: {summary: "Invite an admin of a role (single-use token)",
		in: typ[wire.InviteRequest](), out: typ[wire.TokenResponse]()},
	"POST " + wire.PathAdminAdmins + "/{id}/{action}": {summary: "Approve or remove an admin",
		out: typ[wire.Admin](), actions: []string{wire.ActionApprove, wire.ActionRemove}},
	"PUT " + wire.PathAdminAdmins + "/{id}/role": {summary: "Change an admin's role",
		in: typ[wire.AdminRoleRequest](), out: typ[wire.Admin]()},
	"GET " + wire.PathAdminJIT: {summary: "Just-in-time requests, by status (long poll)",
		out:   typ[wire.JITGrantsResponse](),
		query: append([]apidoc.Param{qText("status", "only requests of this status (open: pending, approved or active)"), qSince}, qWait...)},
	"POST " + wire.PathAdminJIT + "/{id}/{action}": {summary: "Approve, refuse or end a just-in-time request",
		in: typ[wire.JITDecision](), out: typ[wire.JITGrant](), actions: []string{wire.ActionJITApprove, wire.ActionJITRefuse, wire.ActionJITEnd}},
}

// accessText says who may call a route, for the description.
var accessText = map[access]string{
	public:      "anyone, without a client certificate",
	keyed:       "any client key, naming a known tenant (rate limited)",
	techAny:     "a registered tech in any state",
	techActive:  "an active tech",
	agentActive: "an active agent",
	anyActive:   "an active tech, an active agent or an admin of any role",
	adminAny:    "an admin whose role allows the change (roles.go)",
	ownerOnly:   "the tenant's owner",
	scrape:      "the operator's scrape key as a bearer token",
	adminRead:   "an admin of any role",
	orgManage:   "an admin who manages the tech's organization",
	orgRead:     "an admin, a Co-managed Manager seeing its own organization only",
}

// endpoints describes the route table for package apidoc. A route routeDocs does not describe is still listed,
// without its bodies, and named in undescribed (TestOpenAPIEveryRouteDescribed fails on it).
func endpoints() (out []apidoc.Endpoint, undescribed []string) {
	for _, rt := range routes() {
		key := rt.method + " " + rt.path
		d, ok := routeDocs[key]
		if !ok {
			undescribed = append(undescribed, key)
		}
		ep := apidoc.Endpoint{Method: rt.method, Path: rt.path, Access: accessNames[rt.who],
			Summary: d.summary, Description: "Who may call: " + accessText[rt.who] + ".",
			In: d.in, InOptional: d.optional, Out: d.out, Query: d.query,
			PathVars: []apidoc.Param{{Name: "id", Type: "integer", Description: "the object's ID"},
				{Name: "action", Type: "string", Enum: d.actions}}}
		switch rt.who {
		case public:
		case scrape:
			ep.Security, ep.Out, ep.OutType = "scrapeKey", nil, "text/plain"
		default:
			ep.Security = "clientKey"
			ep.Headers = []apidoc.Param{{Name: wire.HeaderClient, Type: "string", Description: "the tenant's client GUID"}}
		}
		if part, ok := strings.CutPrefix(rt.path, "/v1/"); ok {
			ep.Tags = []string{strings.SplitN(part, "/", 2)[0]}
		} else {
			ep.Tags = []string{"hub"}
		}
		out = append(out, ep)
	}
	return out, undescribed
}

// OpenAPI returns the hub API's OpenAPI 3.1 description, as docs/openapi.json holds it.
func OpenAPI() ([]byte, error) {
	eps, _ := endpoints()
	return apidoc.Build(apidoc.Info{
		Title:   "Watchword hub API",
		Version: strconv.Itoa(wire.ProtocolVersion) + "." + strconv.Itoa(wire.CapabilityVersion),
		Description: "Generated from the hub's route table and the wire types (package shared/wire); do not edit. " +
			"Every request but the public ones authenticates with a TLS client certificate carrying an Ed25519 key " +
			"and names the tenant in the " + wire.HeaderClient + " header. Bodies are read strictly: one JSON value, " +
			"no unknown field; a field left out reads as its zero value. The version is the protocol version and " +
			"the hub's capability version (" + wire.HeaderCapability + ").",
		Security: map[string]any{
			"clientKey": map[string]any{"type": "mutualTLS",
				"description": "a self-signed client certificate with an Ed25519 key; the principal is the key's ID"},
			"scrapeKey": map[string]any{"type": "http", "scheme": "bearer", "description": "the operator's scrape key"},
		},
		Error: typ[wire.Error](),
	}, eps)
}

// openAPIDoc is the description, built on the first request (the route table and types do not change at run time).
var openAPIDoc struct {
	once sync.Once
	body []byte
	err  error
}

// openAPI serves the description: public, as healthz, since it holds nothing a hub's own build does not.
func (h *Hub) openAPI(r *request) (any, error) {
	openAPIDoc.once.Do(func() { openAPIDoc.body, openAPIDoc.err = OpenAPI() })
	if openAPIDoc.err != nil {
		return nil, openAPIDoc.err
	}
	return rawResponse{contentType: "application/json", body: openAPIDoc.body}, nil
}
