package hubclient

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/watchword/watchword/shared/wire"
)

// Claim makes this identity an admin of the tenant with a claim token (the owner token from `watchword-hub init`
// or one an owner created).
func (c *Client) Claim(ctx context.Context, token, name string) (*wire.ClaimResponse, error) {
	var out wire.ClaimResponse
	return &out, c.post(ctx, wire.PathAdminClaim, wire.ClaimRequest{Token: token, PublicKey: c.public.String(), Name: name}, &out)
}

// Tenant describes the tenant.
func (c *Client) Tenant(ctx context.Context) (*wire.Tenant, error) {
	var out wire.Tenant
	return &out, c.get(ctx, wire.PathAdminTenant, nil, &out)
}

// SetPolicy replaces the tenant's rotation and naming policy.
func (c *Client) SetPolicy(ctx context.Context, p wire.Policy) (*wire.Tenant, error) {
	var out wire.Tenant
	return &out, c.do(ctx, http.MethodPut, wire.PathAdminPolicy, nil, p, &out, 0)
}

// Admins lists the tenant's admins.
func (c *Client) Admins(ctx context.Context) ([]wire.Admin, error) {
	var out wire.AdminsResponse
	return out.Admins, c.get(ctx, wire.PathAdminAdmins, nil, &out)
}

// CreateClaimToken creates a single-use token that makes its presenter an admin (owner only).
func (c *Client) CreateClaimToken(ctx context.Context, ttl time.Duration) (*wire.TokenResponse, error) {
	var out wire.TokenResponse
	return &out, c.post(ctx, wire.PathAdminClaimTokens, wire.TokenRequest{TTLSeconds: int64(ttl / time.Second)}, &out)
}

// Registrations returns the state of the tenant's registration queue: pending techs, the hub's limit, and the
// registrations refused while it was full.
func (c *Client) Registrations(ctx context.Context) (*wire.Registrations, error) {
	var out wire.TechsResponse
	if err := c.get(ctx, wire.PathAdminTechs, url.Values{"status": {string(wire.TechPending)}}, &out); err != nil {
		return nil, err
	}
	if out.Registrations == nil {
		return nil, fmt.Errorf("GET %s: the hub does not report its registration queue", wire.PathAdminTechs)
	}
	return out.Registrations, nil
}

// CreateEnrollmentToken creates a single-use agent enrollment token (ttl 0: one day). The agent that uses it is
// pending until an admin approves it (ApproveAgent).
func (c *Client) CreateEnrollmentToken(ctx context.Context, ttl time.Duration) (*wire.TokenResponse, error) {
	return c.CreateEnrollmentTokenWith(ctx, wire.TokenRequest{TTLSeconds: int64(ttl / time.Second)})
}

// CreateEnrollmentTokenWith creates a single-use agent enrollment token as req says; with req.ApproveOnUse the
// agent that uses it is active at once.
func (c *Client) CreateEnrollmentTokenWith(ctx context.Context, req wire.TokenRequest) (*wire.TokenResponse, error) {
	var out wire.TokenResponse
	return &out, c.post(ctx, wire.PathAdminTokens, req, &out)
}

// Techs lists techs, all of them when status is empty.
func (c *Client) Techs(ctx context.Context, status wire.TechStatus) ([]wire.Tech, error) {
	var q url.Values
	if status != "" {
		q = url.Values{"status": {string(status)}}
	}
	var out wire.TechsResponse
	return out.Techs, c.get(ctx, wire.PathAdminTechs, q, &out)
}

// ApproveTech activates a pending (or rejected) tech. Compare fingerprints first.
func (c *Client) ApproveTech(ctx context.Context, id int64) (*wire.Tech, error) {
	return act[wire.Tech](ctx, c, wire.PathAdminTechs, id, wire.ActionApprove)
}

// RejectTech rejects a pending tech.
func (c *Client) RejectTech(ctx context.Context, id int64) (*wire.Tech, error) {
	return act[wire.Tech](ctx, c, wire.PathAdminTechs, id, wire.ActionReject)
}

// DisableTech deactivates a tech: their accounts get disabled on every target at the agents' next sync.
func (c *Client) DisableTech(ctx context.Context, id int64) (*wire.Tech, error) {
	return act[wire.Tech](ctx, c, wire.PathAdminTechs, id, wire.ActionDisable)
}

// EnableTech reactivates a disabled tech.
func (c *Client) EnableTech(ctx context.Context, id int64) (*wire.Tech, error) {
	return act[wire.Tech](ctx, c, wire.PathAdminTechs, id, wire.ActionEnable)
}

func groupPath(agents bool) string {
	if agents {
		return wire.PathAdminAgentGroups
	}
	return wire.PathAdminTechGroups
}

// TechGroups lists TechGroups; AgentGroups lists AgentGroups.
func (c *Client) TechGroups(ctx context.Context) ([]wire.Group, error)  { return c.groups(ctx, false) }
func (c *Client) AgentGroups(ctx context.Context) ([]wire.Group, error) { return c.groups(ctx, true) }

func (c *Client) groups(ctx context.Context, agents bool) ([]wire.Group, error) {
	var out wire.GroupsResponse
	return out.Groups, c.get(ctx, groupPath(agents), nil, &out)
}

// CreateTechGroup and CreateAgentGroup create a group.
func (c *Client) CreateTechGroup(ctx context.Context, g wire.GroupRequest) (*wire.Group, error) {
	return c.createGroup(ctx, false, g)
}
func (c *Client) CreateAgentGroup(ctx context.Context, g wire.GroupRequest) (*wire.Group, error) {
	return c.createGroup(ctx, true, g)
}

func (c *Client) createGroup(ctx context.Context, agents bool, g wire.GroupRequest) (*wire.Group, error) {
	var out wire.Group
	return &out, c.post(ctx, groupPath(agents), g, &out)
}

// UpdateGroup renames a group, sets its interval override and, when g.Members is not nil, replaces its members.
func (c *Client) UpdateGroup(ctx context.Context, agents bool, id int64, g wire.GroupRequest) (*wire.Group, error) {
	var out wire.Group
	return &out, c.do(ctx, http.MethodPut, idPath(groupPath(agents), id), nil, g, &out, 0)
}

// DeleteGroup deletes a group and its triplets.
func (c *Client) DeleteGroup(ctx context.Context, agents bool, id int64) error {
	return c.do(ctx, http.MethodDelete, idPath(groupPath(agents), id), nil, nil, nil, 0)
}

// EditMembers adds and removes members of a group.
func (c *Client) EditMembers(ctx context.Context, agents bool, id int64, add, remove []int64) (*wire.Group, error) {
	var out wire.Group
	return &out, c.post(ctx, idPath(groupPath(agents), id)+"/members", wire.MembersRequest{Add: add, Remove: remove}, &out)
}

// Rights lists rights.
func (c *Client) Rights(ctx context.Context) ([]wire.Right, error) {
	var out wire.RightsResponse
	return out.Rights, c.get(ctx, wire.PathAdminRights, nil, &out)
}

// CreateRight creates a right.
func (c *Client) CreateRight(ctx context.Context, r wire.RightRequest) (*wire.Right, error) {
	var out wire.Right
	return &out, c.post(ctx, wire.PathAdminRights, r, &out)
}

// UpdateRight renames a right or changes its target groups.
func (c *Client) UpdateRight(ctx context.Context, id int64, r wire.RightRequest) (*wire.Right, error) {
	var out wire.Right
	return &out, c.do(ctx, http.MethodPut, idPath(wire.PathAdminRights, id), nil, r, &out, 0)
}

// DeleteRight deletes a right and its triplets.
func (c *Client) DeleteRight(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, idPath(wire.PathAdminRights, id), nil, nil, nil, 0)
}

// Triplets lists triplets.
func (c *Client) Triplets(ctx context.Context) ([]wire.Triplet, error) {
	var out wire.TripletsResponse
	return out.Triplets, c.get(ctx, wire.PathAdminTriplets, nil, &out)
}

// CreateTriplet grants a right to a TechGroup on an AgentGroup.
func (c *Client) CreateTriplet(ctx context.Context, t wire.TripletRequest) (*wire.Triplet, error) {
	var out wire.Triplet
	return &out, c.post(ctx, wire.PathAdminTriplets, t, &out)
}

// DeleteTriplet deletes a triplet (the All triplet included).
func (c *Client) DeleteTriplet(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, idPath(wire.PathAdminTriplets, id), nil, nil, nil, 0)
}

// Agents lists agents.
func (c *Client) Agents(ctx context.Context) ([]wire.Agent, error) {
	var out wire.AgentsResponse
	return out.Agents, c.get(ctx, wire.PathAdminAgents, nil, &out)
}

// DisableAgent stops an agent from getting anything; EnableAgent lets it back.
func (c *Client) DisableAgent(ctx context.Context, id int64) (*wire.Agent, error) {
	return act[wire.Agent](ctx, c, wire.PathAdminAgents, id, wire.ActionDisable)
}
func (c *Client) EnableAgent(ctx context.Context, id int64) (*wire.Agent, error) {
	return act[wire.Agent](ctx, c, wire.PathAdminAgents, id, wire.ActionEnable)
}

// ApproveAgent makes a pending agent active (it joins AllDomains); RejectAgent refuses it for good.
func (c *Client) ApproveAgent(ctx context.Context, id int64) (*wire.Agent, error) {
	return act[wire.Agent](ctx, c, wire.PathAdminAgents, id, wire.ActionApprove)
}
func (c *Client) RejectAgent(ctx context.Context, id int64) (*wire.Agent, error) {
	return act[wire.Agent](ctx, c, wire.PathAdminAgents, id, wire.ActionReject)
}

// Accounts lists the accounts of a tech (techID != 0) or an agent.
func (c *Client) Accounts(ctx context.Context, techID, agentID int64) ([]wire.Account, error) {
	var out wire.AccountsResponse
	return out.Accounts, c.get(ctx, wire.PathAdminAccounts, ofWhom(techID, agentID), &out)
}

// ofWhom is the query naming a tech (techID != 0) or an agent.
func ofWhom(techID, agentID int64) url.Values {
	q := url.Values{}
	if techID != 0 {
		q.Set("tech", strconv.FormatInt(techID, 10))
	}
	if agentID != 0 {
		q.Set("agent", strconv.FormatInt(agentID, 10))
	}
	return q
}

// RotateNow marks matching accounts for immediate rotation.
func (c *Client) RotateNow(ctx context.Context, r wire.RotateRequest) (int, error) {
	var out wire.RotateResponse
	return out.Accounts, c.post(ctx, wire.PathAdminRotate, r, &out)
}

// Audit reads the audit log, oldest first.
func (c *Client) Audit(ctx context.Context, q wire.AuditQuery) ([]wire.AuditEvent, error) {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("action", q.Action)
	set("actorKind", q.ActorKind)
	if q.ActorID != 0 {
		v.Set("actorId", strconv.FormatInt(q.ActorID, 10))
	}
	if q.AfterSeq != 0 {
		v.Set("after", strconv.FormatInt(q.AfterSeq, 10))
	}
	if q.Limit != 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.Format(time.RFC3339Nano))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.Format(time.RFC3339Nano))
	}
	set("actionPrefix", q.ActionPrefix)
	set("about", q.About)
	if q.BeforeSeq != 0 {
		v.Set("before", strconv.FormatInt(q.BeforeSeq, 10))
	}
	if q.Newest {
		v.Set("order", "newest")
	}
	var out wire.AuditResponse
	return out.Events, c.get(ctx, wire.PathAdminAudit, v, &out)
}

// VerifyAudit asks the hub to check its audit chain.
func (c *Client) VerifyAudit(ctx context.Context) (*wire.VerifyResponse, error) {
	var out wire.VerifyResponse
	return &out, c.get(ctx, wire.PathAdminAuditVerify, nil, &out)
}

// Access returns the effective access of a tech (techID != 0) or an agent.
func (c *Client) Access(ctx context.Context, techID, agentID int64) ([]wire.Access, error) {
	var out wire.AccessResponse
	return out.Access, c.get(ctx, wire.PathAdminAccess, ofWhom(techID, agentID), &out)
}

// SetTechShortName sets the short name that stands for a tech's username in its account names ("" takes it away);
// the answer carries the tech's naming problems that remain (wire.CapShortName).
func (c *Client) SetTechShortName(ctx context.Context, id int64, short string) (*wire.Tech, error) {
	var out wire.Tech
	return &out, c.do(ctx, http.MethodPut, idPath(wire.PathAdminTechs, id)+"/short-name", nil, wire.TechShortNameRequest{ShortName: short}, &out, 0)
}

// Collectors lists the syslog collectors the tenant's audit log streams to, with their state (wire.CapAuditStream).
func (c *Client) Collectors(ctx context.Context) ([]wire.Collector, error) {
	var out []wire.Collector
	return out, c.get(ctx, wire.PathAdminAuditCollectors, nil, &out)
}

// CreateCollector adds a syslog collector (the owner only); the stream starts at the first event of the chain.
func (c *Client) CreateCollector(ctx context.Context, req wire.CollectorRequest) (*wire.Collector, error) {
	var out wire.Collector
	return &out, c.post(ctx, wire.PathAdminAuditCollectors, req, &out)
}

// DeleteCollector removes a syslog collector (the owner only).
func (c *Client) DeleteCollector(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, idPath(wire.PathAdminAuditCollectors, id), nil, nil, nil, 0)
}
