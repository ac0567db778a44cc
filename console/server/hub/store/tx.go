package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/watchword/watchword/shared/auditexport"
	"github.com/watchword/watchword/shared/wire"
)

// The transaction of both engines: tenants, techs, admins, tokens, agents, groups, rights, triplets, accounts,
// versions and the audit chain with its verification. The queries are written once, with ? placeholders, in the
// SQL both engines accept; tx's helpers in sql.go rebind them for PostgreSQL.

// ---- tenants ----

const tenantCols = "id, guid, name, abbrev, recovery, policy, revision, created_at"

func scanTenant(sc scanner) (*Tenant, error) {
	var t Tenant
	var policy string
	var created int64
	if err := sc.Scan(&t.ID, &t.GUID, &t.Name, &t.Abbrev, &t.Recovery, &policy, &t.Revision, &created); err != nil {
		return nil, err
	}
	t.CreatedAt = tm(created)
	if err := json.Unmarshal([]byte(policy), &t.Policy); err != nil {
		return nil, fmt.Errorf("tenant %q policy: %w", t.GUID, err)
	}
	return &t, nil
}

func (x *tx) CreateTenant(t *Tenant) error {
	p, _ := json.Marshal(t.Policy)
	return x.create(&t.ID, "create tenant "+t.GUID, "INSERT INTO tenants (guid, name, abbrev, recovery, policy, created_at) VALUES (?,?,?,?,?,?)",
		t.GUID, t.Name, t.Abbrev, t.Recovery, string(p), ns(t.CreatedAt))
}

func (x *tx) Tenant(guid string) (*Tenant, error) {
	return queryOne(x, "tenant "+guid, scanTenant, "SELECT "+tenantCols+" FROM tenants WHERE guid = ?", guid)
}

func (x *tx) TenantByID(id int64) (*Tenant, error) {
	return queryOne(x, fmt.Sprintf("tenant %d", id), scanTenant, "SELECT "+tenantCols+" FROM tenants WHERE id = ?", id)
}

func (x *tx) Tenants() ([]Tenant, error) {
	return queryAll(x, "list tenants", scanTenant, "SELECT "+tenantCols+" FROM tenants ORDER BY id")
}

func (x *tx) UpdateTenant(t *Tenant) error {
	p, _ := json.Marshal(t.Policy)
	return x.one("update tenant "+t.GUID, "UPDATE tenants SET name = ?, abbrev = ?, recovery = ?, policy = ? WHERE id = ?",
		t.Name, t.Abbrev, t.Recovery, string(p), t.ID)
}

func (x *tx) BumpRevision(tenant int64) (int64, error) {
	var rev int64
	err := x.queryRow("UPDATE tenants SET revision = revision + 1 WHERE id = ? RETURNING revision", tenant).Scan(&rev)
	return rev, wrap(fmt.Sprintf("bump revision of tenant %d", tenant), err)
}

// ---- techs ----

const techCols = "id, tenant_id, username, display_name, email, organization, co_managed, status, public_key, key_id, fingerprint, created_at, updated_at, short_name, last_seen_at, client_version, deleted_at, delete_accounts"

func scanTech(sc scanner) (*Tech, error) {
	var t Tech
	var created, updated, seen, deleted int64
	if err := sc.Scan(&t.ID, &t.TenantID, &t.Username, &t.DisplayName, &t.Email, &t.Organization, &t.CoManaged,
		&t.Status, &t.PublicKey, &t.KeyID, &t.Fingerprint, &created, &updated, &t.ShortName,
		&seen, &t.ClientVersion, &deleted, &t.DeleteAccounts); err != nil {
		return nil, err
	}
	t.CreatedAt, t.UpdatedAt, t.LastSeen, t.DeletedAt = tm(created), tm(updated), tm(seen), tm(deleted)
	return &t, nil
}

func (x *tx) CreateTech(t *Tech) error {
	return x.create(&t.ID, "create tech "+t.Username, "INSERT INTO techs (tenant_id, username, display_name, email, organization, co_managed, status, public_key, key_id, fingerprint, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
		t.TenantID, t.Username, t.DisplayName, t.Email, t.Organization, b2i(t.CoManaged), t.Status, t.PublicKey, t.KeyID, t.Fingerprint, ns(t.CreatedAt), ns(t.UpdatedAt))
}

func (x *tx) Tech(tenant, id int64) (*Tech, error) {
	return row(x, fmt.Sprintf("tech %d", id), scanTech, techCols, "techs", "id", tenant, id)
}

func (x *tx) TechByKey(tenant int64, keyID string) (*Tech, error) {
	return row(x, "tech by key", scanTech, techCols, "techs", "key_id", tenant, keyID)
}

// CountTechs implements Tx.
func (x *tx) CountTechs(tenant int64, status wire.TechStatus) (int, error) {
	var n int
	err := x.queryRow("SELECT COUNT(*) FROM techs WHERE tenant_id = ? AND status = ?", tenant, status).Scan(&n)
	return n, wrap("count techs", err)
}

func (x *tx) Techs(tenant int64, status wire.TechStatus) ([]Tech, error) {
	q := "SELECT " + techCols + " FROM techs WHERE tenant_id = ?"
	args := []any{tenant}
	if status != "" {
		q += " AND status = ?"
		args = append(args, status)
	}
	return queryAll(x, "list techs", scanTech, q+" ORDER BY id", args...)
}

func (x *tx) UpdateTech(t *Tech) error {
	return x.one(fmt.Sprintf("update tech %d", t.ID), "UPDATE techs SET display_name = ?, email = ?, organization = ?, co_managed = ?, status = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
		t.DisplayName, t.Email, t.Organization, b2i(t.CoManaged), t.Status, ns(t.UpdatedAt), t.TenantID, t.ID)
}

// SetTechShortName implements Tx.
func (x *tx) SetTechShortName(tenant, tech int64, short string, at time.Time) error {
	return x.one(fmt.Sprintf("set the short name of tech %d", tech), "UPDATE techs SET short_name = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
		short, ns(at), tenant, tech)
}

// ---- admins ----

const adminCols = "id, tenant_id, name, role, public_key, key_id, created_at, organization, status, api, api_expires_at, api_sources"

func scanAdmin(sc scanner) (*Admin, error) {
	var a Admin
	var created, apiExp int64
	var api int
	if err := sc.Scan(&a.ID, &a.TenantID, &a.Name, &a.Role, &a.PublicKey, &a.KeyID, &created, &a.Organization, &a.Status, &api, &apiExp, &a.APISources); err != nil {
		return nil, err
	}
	a.CreatedAt, a.API, a.APIExpiresAt = tm(created), api != 0, tm(apiExp)
	return &a, nil
}

func (x *tx) CreateAdmin(a *Admin) error {
	if a.Status == "" {
		a.Status = wire.AdminActive
	}
	return x.create(&a.ID, "create admin "+a.Name, "INSERT INTO admins (tenant_id, name, role, public_key, key_id, created_at, organization, status, api, api_expires_at, api_sources) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
		a.TenantID, a.Name, a.Role, a.PublicKey, a.KeyID, ns(a.CreatedAt), a.Organization, a.Status, b2i(a.API), ns(a.APIExpiresAt), a.APISources)
}

func (x *tx) AdminByKey(tenant int64, keyID string) (*Admin, error) {
	return row(x, "admin by key", scanAdmin, adminCols, "admins", "key_id", tenant, keyID)
}

func (x *tx) Admins(tenant int64) ([]Admin, error) {
	return queryAll(x, "list admins", scanAdmin, "SELECT "+adminCols+" FROM admins WHERE tenant_id = ? ORDER BY id", tenant)
}

// ---- tokens ----

func (x *tx) CreateToken(t *Token) error {
	return x.create(&t.ID, "create "+t.Kind+" token", "INSERT INTO tokens (tenant_id, kind, role, hash, expires_at, created_at, organization, approve_on_use, api, api_expires_at, api_sources) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
		t.TenantID, t.Kind, t.Role, t.Hash, ns(t.ExpiresAt), ns(t.CreatedAt), t.Organization, b2i(t.ApproveOnUse), b2i(t.API), ns(t.APIExpiresAt), t.APISources)
}

func (x *tx) UseToken(tenant int64, kind, hash string, now time.Time) (*Token, error) {
	var t Token
	var exp, used, created, apiExp int64
	var approve, api int
	err := x.queryRow("SELECT id, tenant_id, kind, role, hash, expires_at, used_at, created_at, organization, approve_on_use, api, api_expires_at, api_sources FROM tokens WHERE tenant_id = ? AND kind = ? AND hash = ?",
		tenant, kind, hash).Scan(&t.ID, &t.TenantID, &t.Kind, &t.Role, &t.Hash, &exp, &used, &created, &t.Organization, &approve, &api, &apiExp, &t.APISources)
	t.ApproveOnUse, t.API, t.APIExpiresAt = approve != 0, api != 0, tm(apiExp)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("use %s token: %w", kind, ErrTokenInvalid)
	}
	if err != nil {
		return nil, wrap("use "+kind+" token", err)
	}
	if used != 0 || now.UnixNano() >= exp {
		return nil, fmt.Errorf("use %s token: %w", kind, ErrTokenInvalid)
	}
	if _, err := x.exec("use "+kind+" token", "UPDATE tokens SET used_at = ? WHERE id = ?", ns(now), t.ID); err != nil {
		return nil, err
	}
	t.ExpiresAt, t.UsedAt, t.CreatedAt = tm(exp), now, tm(created)
	return &t, nil
}

// ---- agents ----

const agentCols = "id, tenant_id, name, driver, status, public_key, key_id, version, last_seen, created_at, review, authority_seq, authority_hash, authority_refusal"

func scanAgent(sc scanner) (*Agent, error) {
	var a Agent
	var seen, created int64
	var review string
	if err := sc.Scan(&a.ID, &a.TenantID, &a.Name, &a.Driver, &a.Status, &a.PublicKey, &a.KeyID, &a.Version, &seen, &created, &review,
		&a.Authority.Seq, &a.Authority.Hash, &a.Authority.Refusal); err != nil {
		return nil, err
	}
	if review != "" { // pending or rejected: the status column says disabled
		a.Status = wire.AgentStatus(review)
	}
	a.LastSeen, a.CreatedAt = tm(seen), tm(created)
	return &a, nil
}

// agentColumns maps an agent's status onto the status and review columns: only an active agent is 'active'.
func agentColumns(s wire.AgentStatus) (status, review string, err error) {
	switch s {
	case wire.AgentActive, wire.AgentDisabled:
		return string(s), "", nil
	case wire.AgentPending, wire.AgentRejected:
		return string(wire.AgentDisabled), string(s), nil
	}
	return "", "", fmt.Errorf("unknown agent status %q", s)
}

func (x *tx) CreateAgent(a *Agent) error {
	status, review, err := agentColumns(a.Status)
	if err != nil {
		return err
	}
	return x.create(&a.ID, "create agent "+a.Name, "INSERT INTO agents (tenant_id, name, driver, status, public_key, key_id, version, last_seen, created_at, review) VALUES (?,?,?,?,?,?,?,?,?,?)",
		a.TenantID, a.Name, a.Driver, status, a.PublicKey, a.KeyID, a.Version, ns(a.LastSeen), ns(a.CreatedAt), review)
}

func (x *tx) Agent(tenant, id int64) (*Agent, error) {
	return row(x, fmt.Sprintf("agent %d", id), scanAgent, agentCols, "agents", "id", tenant, id)
}

func (x *tx) AgentByKey(tenant int64, keyID string) (*Agent, error) {
	return row(x, "agent by key", scanAgent, agentCols, "agents", "key_id", tenant, keyID)
}

func (x *tx) Agents(tenant int64) ([]Agent, error) {
	return x.agents(tenant, agentCols)
}

// agentColsBrief is agentCols with an empty public key.
var agentColsBrief = strings.Replace(agentCols, "public_key", "''", 1)

func (x *tx) AgentsBrief(tenant int64) ([]Agent, error) {
	return x.agents(tenant, agentColsBrief)
}

func (x *tx) agents(tenant int64, cols string) ([]Agent, error) {
	return queryAll(x, "list agents", scanAgent, "SELECT "+cols+" FROM agents WHERE tenant_id = ? ORDER BY id", tenant)
}

func (x *tx) UpdateAgent(a *Agent) error {
	status, review, err := agentColumns(a.Status)
	if err != nil {
		return err
	}
	return x.one(fmt.Sprintf("update agent %d", a.ID), "UPDATE agents SET name = ?, status = ?, review = ?, version = ?, last_seen = ? WHERE tenant_id = ? AND id = ?",
		a.Name, status, review, a.Version, ns(a.LastSeen), a.TenantID, a.ID)
}

// ---- groups ----

func (x *tx) CreateGroup(g *Group) error {
	if err := x.create(&g.ID, "create group "+g.Name, "INSERT INTO groups (tenant_id, kind, name, builtin, interval_seconds, rotate_after_use_seconds) VALUES (?,?,?,?,?,?)",
		g.TenantID, g.Kind, g.Name, b2i(g.Builtin), g.IntervalSeconds, g.RotateAfterUseSeconds); err != nil {
		return err
	}
	if len(g.Members) > 0 {
		return x.SetMembers(g.TenantID, g.ID, g.Members)
	}
	return nil
}

func scanGroup(sc scanner) (*Group, error) {
	var g Group
	var afterUse sql.NullInt64
	if err := sc.Scan(&g.ID, &g.TenantID, &g.Kind, &g.Name, &g.Builtin, &g.IntervalSeconds, &afterUse); err != nil {
		return nil, err
	}
	if afterUse.Valid {
		g.RotateAfterUseSeconds = &afterUse.Int64
	}
	return &g, nil
}

// membership is one row of group_members.
type membership struct{ group, member int64 }

func scanMembership(sc scanner) (*membership, error) {
	var m membership
	if err := sc.Scan(&m.group, &m.member); err != nil {
		return nil, err
	}
	return &m, nil
}

// groups lists the groups matching where, with their members.
func (x *tx) groups(where string, args ...any) ([]Group, error) {
	out, err := queryAll(x, "list groups", scanGroup,
		"SELECT id, tenant_id, kind, name, builtin, interval_seconds, rotate_after_use_seconds FROM groups WHERE "+where+" ORDER BY id", args...)
	if err != nil || len(out) == 0 {
		return nil, err
	}
	members, err := queryAll(x, "list members", scanMembership, "SELECT group_id, member_id FROM group_members WHERE group_id IN (SELECT id FROM groups WHERE "+
		where+") ORDER BY group_id, member_id", args...)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]int, len(out))
	for i, g := range out {
		byID[g.ID] = i
	}
	for _, m := range members {
		if i, ok := byID[m.group]; ok {
			out[i].Members = append(out[i].Members, m.member)
		}
	}
	return out, nil
}

func (x *tx) Group(tenant, id int64) (*Group, error) {
	gs, err := x.groups("tenant_id = ? AND id = ?", tenant, id)
	if err != nil {
		return nil, err
	}
	if len(gs) == 0 {
		return nil, fmt.Errorf("group %d: %w", id, ErrNotFound)
	}
	return &gs[0], nil
}

func (x *tx) Groups(tenant int64, kind string) ([]Group, error) {
	return x.groups("tenant_id = ? AND kind = ?", tenant, kind)
}

func (x *tx) UpdateGroup(g *Group) error {
	return x.one(fmt.Sprintf("update group %d", g.ID), "UPDATE groups SET name = ?, interval_seconds = ?, rotate_after_use_seconds = ? WHERE tenant_id = ? AND id = ?",
		g.Name, g.IntervalSeconds, g.RotateAfterUseSeconds, g.TenantID, g.ID)
}

func (x *tx) DeleteGroup(tenant, id int64) error {
	return x.one(fmt.Sprintf("delete group %d", id), "DELETE FROM groups WHERE tenant_id = ? AND id = ?", tenant, id)
}

// checkMembers verifies that every member exists in the tenant with the group's kind.
func (x *tx) checkMembers(tenant, group int64, members []int64) error {
	var kind string
	err := x.queryRow("SELECT kind FROM groups WHERE tenant_id = ? AND id = ?", tenant, group).Scan(&kind)
	if err != nil {
		return wrap(fmt.Sprintf("group %d", group), err)
	}
	table := "techs"
	if kind == KindAgent {
		table = "agents"
	}
	for _, m := range members {
		var one int
		if err := x.queryRow("SELECT 1 FROM "+table+" WHERE tenant_id = ? AND id = ?", tenant, m).Scan(&one); err != nil {
			return wrap(fmt.Sprintf("member %d of group %d", m, group), err)
		}
	}
	return nil
}

func (x *tx) SetMembers(tenant, group int64, members []int64) error {
	if err := x.checkMembers(tenant, group, members); err != nil {
		return err
	}
	if _, err := x.exec("set members", "DELETE FROM group_members WHERE group_id = ?", group); err != nil {
		return err
	}
	return x.AddMembers(tenant, group, members)
}

func (x *tx) AddMembers(tenant, group int64, members []int64) error {
	if err := x.checkMembers(tenant, group, members); err != nil {
		return err
	}
	return x.eachMember("add member", "INSERT INTO group_members (group_id, member_id) VALUES (?,?) ON CONFLICT DO NOTHING", group, members)
}

func (x *tx) RemoveMembers(tenant, group int64, members []int64) error {
	if err := x.checkMembers(tenant, group, nil); err != nil {
		return err
	}
	return x.eachMember("remove member", "DELETE FROM group_members WHERE group_id = ? AND member_id = ?", group, members)
}

// eachMember runs q, which takes the group and one member, for every member.
func (x *tx) eachMember(op, q string, group int64, members []int64) error {
	for _, m := range members {
		if _, err := x.exec(op, q, group, m); err != nil {
			return err
		}
	}
	return nil
}

// ---- rights ----

const rightCols = "id, tenant_id, name, builtin, targets"

func scanRight(sc scanner) (*Right, error) {
	var r Right
	var targets string
	if err := sc.Scan(&r.ID, &r.TenantID, &r.Name, &r.Builtin, &targets); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(targets), &r.Targets); err != nil {
		return nil, fmt.Errorf("right %q targets: %w", r.Name, err)
	}
	return &r, nil
}

func (x *tx) CreateRight(r *Right) error {
	t, _ := json.Marshal(r.Targets)
	return x.create(&r.ID, "create right "+r.Name, "INSERT INTO rights (tenant_id, name, builtin, targets) VALUES (?,?,?,?)",
		r.TenantID, r.Name, b2i(r.Builtin), string(t))
}

func (x *tx) Right(tenant, id int64) (*Right, error) {
	return row(x, fmt.Sprintf("right %d", id), scanRight, rightCols, "rights", "id", tenant, id)
}

func (x *tx) Rights(tenant int64) ([]Right, error) {
	return queryAll(x, "list rights", scanRight, "SELECT "+rightCols+" FROM rights WHERE tenant_id = ? ORDER BY id", tenant)
}

func (x *tx) UpdateRight(r *Right) error {
	t, _ := json.Marshal(r.Targets)
	return x.one(fmt.Sprintf("update right %d", r.ID), "UPDATE rights SET name = ?, targets = ? WHERE tenant_id = ? AND id = ?",
		r.Name, string(t), r.TenantID, r.ID)
}

func (x *tx) DeleteRight(tenant, id int64) error {
	return x.one(fmt.Sprintf("delete right %d", id), "DELETE FROM rights WHERE tenant_id = ? AND id = ?", tenant, id)
}

// ---- triplets ----

func (x *tx) CreateTriplet(t *Triplet) error {
	// The references must belong to the tenant and have the right kinds; foreign keys alone would accept
	// another tenant's group.
	tg, err := x.Group(t.TenantID, t.TechGroupID)
	if err != nil {
		return err
	}
	ag, err := x.Group(t.TenantID, t.AgentGroupID)
	if err != nil {
		return err
	}
	if tg.Kind != KindTech || ag.Kind != KindAgent {
		return fmt.Errorf("create triplet: %w: group kinds must be tech then agent", ErrNotFound)
	}
	if _, err := x.Right(t.TenantID, t.RightID); err != nil {
		return err
	}
	return x.create(&t.ID, "create triplet", `INSERT INTO triplets (tenant_id, tech_group_id, agent_group_id, right_id, builtin,
		mode, max_duration_seconds, approval_required) VALUES (?,?,?,?,?,?,?,?)`,
		t.TenantID, t.TechGroupID, t.AgentGroupID, t.RightID, b2i(t.Builtin), t.mode(), t.MaxDurationSeconds, b2i(t.ApprovalRequired))
}

func scanTriplet(sc scanner) (*Triplet, error) {
	var t Triplet
	if err := sc.Scan(&t.ID, &t.TenantID, &t.TechGroupID, &t.AgentGroupID, &t.RightID, &t.Builtin, &t.Mode, &t.MaxDurationSeconds, &t.ApprovalRequired); err != nil {
		return nil, err
	}
	return &t, nil
}

func (x *tx) Triplets(tenant int64) ([]Triplet, error) {
	return queryAll(x, "list triplets", scanTriplet, `SELECT id, tenant_id, tech_group_id, agent_group_id, right_id, builtin, mode, max_duration_seconds, approval_required
		FROM triplets WHERE tenant_id = ? ORDER BY id`, tenant)
}

func (x *tx) DeleteTriplet(tenant, id int64) error {
	return x.one(fmt.Sprintf("delete triplet %d", id), "DELETE FROM triplets WHERE tenant_id = ? AND id = ?", tenant, id)
}

// ---- accounts ----

const accountCols = "id, tenant_id, tech_id, agent_id, name, state, last_error, current_version, rotate_requested_at, rotate_reason, rotated_at, created_at, adopted, retried_at, retry_version"

func scanAccount(sc scanner) (*Account, error) {
	var a Account
	var req, rot, created, retried int64
	if err := sc.Scan(&a.ID, &a.TenantID, &a.TechID, &a.AgentID, &a.Name, &a.State, &a.LastError, &a.CurrentVersion, &req, &a.RotateReason, &rot, &created,
		&a.Adopted, &retried, &a.RetryVersion); err != nil {
		return nil, err
	}
	a.RotateRequestedAt, a.RotatedAt, a.CreatedAt, a.RetriedAt = tm(req), tm(rot), tm(created), tm(retried)
	return &a, nil
}

func (x *tx) accounts(op, where string, args ...any) ([]Account, error) {
	return queryAll(x, op, scanAccount, "SELECT "+accountCols+" FROM accounts WHERE "+where+" ORDER BY id", args...)
}

func (x *tx) EnsureAccount(tenant, tech, agent int64, name string, now time.Time) (*Account, error) {
	a, err := scanAccount(x.queryRow("SELECT "+accountCols+" FROM accounts WHERE tenant_id = ? AND tech_id = ? AND agent_id = ?", tenant, tech, agent))
	if err == nil {
		return a, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, wrap("account", err)
	}
	if _, err := x.Tech(tenant, tech); err != nil {
		return nil, err
	}
	if _, err := x.Agent(tenant, agent); err != nil {
		return nil, err
	}
	a = &Account{TenantID: tenant, TechID: tech, AgentID: agent, Name: name, State: "planned", CreatedAt: now}
	a.ID, err = x.insert("create account "+name, "INSERT INTO accounts (tenant_id, tech_id, agent_id, name, created_at) VALUES (?,?,?,?,?)",
		tenant, tech, agent, name, ns(now))
	return a, err
}

func (x *tx) Account(tenant, id int64) (*Account, error) {
	return row(x, fmt.Sprintf("account %d", id), scanAccount, accountCols, "accounts", "id", tenant, id)
}

func (x *tx) AccountsByAgent(tenant, agent int64) ([]Account, error) {
	return x.accounts("list accounts of agent", "tenant_id = ? AND agent_id = ?", tenant, agent)
}

func (x *tx) AccountsByTech(tenant, tech int64) ([]Account, error) {
	return x.accounts("list accounts of tech", "tenant_id = ? AND tech_id = ?", tenant, tech)
}

func (x *tx) UpdateAccount(a *Account) error {
	return x.one(fmt.Sprintf("update account %d", a.ID), `UPDATE accounts SET state = ?, last_error = ?, rotate_requested_at = ?, rotate_reason = ?,
		adopted = ?, retried_at = ?, retry_version = ? WHERE tenant_id = ? AND id = ?`,
		a.State, a.LastError, ns(a.RotateRequestedAt), a.RotateReason, b2i(a.Adopted), ns(a.RetriedAt), a.RetryVersion, a.TenantID, a.ID)
}

func (x *tx) Unresolved(tenant, account int64) (int, string, error) {
	a, err := x.Account(tenant, account)
	if err != nil {
		return 0, "", err
	}
	// The floor: the last version confirmed at some point, or the version current at the admin's last retry.
	var floor int64
	err = x.queryRow("SELECT COALESCE(MAX(version), 0) FROM versions WHERE account_id = ? AND confirmed_at != 0", account).Scan(&floor)
	if err != nil {
		return 0, "", wrap("unresolved versions", err)
	}
	floor = max(floor, a.RetryVersion)
	var n int
	var reason sql.NullString
	err = x.queryRow(`SELECT COUNT(*), (SELECT reason FROM versions WHERE account_id = ? AND version > ? AND state = 'failed'
		ORDER BY version DESC LIMIT 1) FROM versions WHERE account_id = ? AND version > ? AND state IN ('staged','failed')`,
		account, floor, account, floor).Scan(&n, &reason)
	return n, reason.String, wrap("unresolved versions", err)
}

func (x *tx) RequestRotation(tenant, tech, agent, account int64, at time.Time) (int, error) {
	q := "UPDATE accounts SET rotate_requested_at = ?, rotate_reason = 'rotate-now' WHERE tenant_id = ?"
	args := []any{ns(at), tenant}
	for col, v := range map[string]int64{"tech_id": tech, "agent_id": agent, "id": account} {
		if v != 0 {
			q += " AND " + col + " = ?"
			args = append(args, v)
		}
	}
	res, err := x.exec("request rotation", q, args...)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// ---- versions ----

func (x *tx) StageVersion(tenant int64, v *Version) error {
	a, err := x.Account(tenant, v.AccountID)
	if err != nil {
		return err
	}
	if v.Version <= a.CurrentVersion {
		return fmt.Errorf("stage version %d of account %d: %w: current version is %d", v.Version, a.ID, ErrConflict, a.CurrentVersion)
	}
	v.State = wire.VersionStaged
	v.ID, err = x.insert("stage version", "INSERT INTO versions (account_id, version, envelope, state, staged_at, recovery_only, signature) VALUES (?,?,?,?,?,?,?)",
		v.AccountID, v.Version, v.Envelope, v.State, ns(v.StagedAt), b2i(v.RecoveryOnly), v.Signature)
	if err != nil {
		return err
	}
	_, err = x.exec("stage version", "UPDATE accounts SET current_version = ? WHERE id = ?", v.Version, a.ID)
	return err
}

// versionCols are a version's columns, of the versions table as v.
const versionCols = "v.id, v.account_id, v.version, v.envelope, v.state, v.reason, v.staged_at, v.confirmed_at, v.recovery_only, v.signature"

// versionColsBrief is versionCols without the envelope and its signature.
var versionColsBrief = strings.NewReplacer("v.envelope", "NULL", "v.signature", "NULL").Replace(versionCols)

func scanVersion(sc scanner) (*Version, error) {
	var v Version
	var staged, confirmed int64
	if err := sc.Scan(&v.ID, &v.AccountID, &v.Version, &v.Envelope, &v.State, &v.Reason, &staged, &confirmed, &v.RecoveryOnly, &v.Signature); err != nil {
		return nil, err
	}
	v.StagedAt, v.ConfirmedAt = tm(staged), tm(confirmed)
	return &v, nil
}

func (x *tx) LatestVersions(tenant, agent int64) (map[int64]Version, error) {
	vs, err := queryAll(x, "latest versions", scanVersion, "SELECT "+versionColsBrief+`
		FROM accounts a JOIN versions v ON v.account_id = a.id AND v.version = a.current_version
		WHERE a.tenant_id = ? AND a.agent_id = ?`, tenant, agent)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]Version, len(vs))
	for _, v := range vs {
		out[v.AccountID] = v
	}
	return out, nil
}

func (x *tx) Versions(tenant, account int64) ([]Version, error) {
	if _, err := x.Account(tenant, account); err != nil {
		return nil, err
	}
	return queryAll(x, "list versions", scanVersion, "SELECT "+versionCols+" FROM versions v WHERE v.account_id = ? ORDER BY v.version DESC", account)
}

func (x *tx) LiveVersionsByTech(tenant, tech int64) (map[int64][]Version, error) {
	return x.liveVersions(tenant, tech, nil)
}

func (x *tx) LiveVersionsOfAccounts(tenant, tech int64, accounts []int64) (map[int64][]Version, error) {
	if len(accounts) == 0 {
		return map[int64][]Version{}, nil
	}
	return x.liveVersions(tenant, tech, accounts)
}

// liveVersions reads the live versions of the tech's accounts, of those in accounts only unless it is nil.
func (x *tx) liveVersions(tenant, tech int64, accounts []int64) (map[int64][]Version, error) {
	args := []any{tenant, tech}
	in := ""
	if accounts != nil {
		in = " AND a.id IN (?" + strings.Repeat(",?", len(accounts)-1) + ")"
		for _, id := range accounts {
			args = append(args, id)
		}
	}
	vs, err := queryAll(x, "live versions of tech", scanVersion, "SELECT "+versionCols+`
		FROM accounts a JOIN versions v ON v.account_id = a.id
		WHERE a.tenant_id = ? AND a.tech_id = ?`+in+` AND v.state IN ('staged','confirmed') AND v.recovery_only = 0
		ORDER BY v.account_id, v.version DESC`, args...)
	if err != nil {
		return nil, err
	}
	out := map[int64][]Version{}
	for _, v := range vs {
		out[v.AccountID] = append(out[v.AccountID], v)
	}
	return out, nil
}

func (x *tx) versionState(account, version int64) (wire.VersionState, error) {
	var st wire.VersionState
	err := x.queryRow("SELECT state FROM versions WHERE account_id = ? AND version = ?", account, version).Scan(&st)
	return st, wrap(fmt.Sprintf("version %d of account %d", version, account), err)
}

func (x *tx) ConfirmVersion(tenant, account, version int64, now time.Time) error {
	if _, err := x.Account(tenant, account); err != nil {
		return err
	}
	st, err := x.versionState(account, version)
	if err != nil {
		return err
	}
	if st != wire.VersionStaged {
		return fmt.Errorf("confirm version %d of account %d: %w: it is %s", version, account, ErrConflict, st)
	}
	if _, err := x.exec("confirm version", "UPDATE versions SET state = 'confirmed', confirmed_at = ? WHERE account_id = ? AND version = ?", ns(now), account, version); err != nil {
		return err
	}
	// Older versions, confirmed or staged, are no longer what the target holds.
	if _, err := x.exec("confirm version", "UPDATE versions SET state = 'superseded' WHERE account_id = ? AND version < ? AND state IN ('confirmed','staged')", account, version); err != nil {
		return err
	}
	_, err = x.exec("confirm version", "UPDATE accounts SET rotated_at = ? WHERE id = ?", ns(now), account)
	return err
}

func (x *tx) FailVersion(tenant, account, version int64, reason string) error {
	if _, err := x.Account(tenant, account); err != nil {
		return err
	}
	st, err := x.versionState(account, version)
	if err != nil {
		return err
	}
	if st != wire.VersionStaged {
		return fmt.Errorf("fail version %d of account %d: %w: it is %s", version, account, ErrConflict, st)
	}
	_, err = x.exec("fail version", "UPDATE versions SET state = 'failed', reason = ? WHERE account_id = ? AND version = ?", reason, account, version)
	return err
}

// ---- audit ----

// auditHash links an event to its predecessor, with the formula an exported log is verified by away from the hub.
func auditHash(e *AuditEvent) string {
	return auditexport.Hash(e.PrevHash, e.TenantID, e.Seq, e.At, e.ActorKind, e.ActorID, e.Action, e.Target, e.Detail)
}

func (x *tx) Audit(e *AuditEvent) error {
	var seq int64
	var prev string
	err := x.queryRow("SELECT seq, hash FROM audit_head WHERE tenant_id = ?", e.TenantID).Scan(&seq, &prev)
	if errors.Is(err, sql.ErrNoRows) {
		// The first event of a tenant's chain. A deleted head row shows at verification, since the chain
		// then has events but no head.
		if _, err := x.exec("audit head", "INSERT INTO audit_head (tenant_id, seq, hash) VALUES (?, 0, '')", e.TenantID); err != nil {
			return err
		}
	} else if err != nil {
		return wrap("audit head", err)
	}
	e.Seq, e.PrevHash = seq+1, prev
	e.At = e.At.UTC().Round(0)
	e.Hash = auditHash(e)
	if _, err := x.exec("append audit", "INSERT INTO audit (seq, tenant_id, at, actor_kind, actor_id, action, target, detail, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?)",
		e.Seq, e.TenantID, e.At.UnixNano(), e.ActorKind, e.ActorID, e.Action, e.Target, e.Detail, e.PrevHash, e.Hash); err != nil {
		return err
	}
	return x.one("audit head", "UPDATE audit_head SET seq = ?, hash = ? WHERE tenant_id = ?", e.Seq, e.Hash, e.TenantID)
}

const auditCols = "seq, tenant_id, at, actor_kind, actor_id, action, target, detail, prev_hash, hash"

func scanAudit(sc scanner) (*AuditEvent, error) {
	var e AuditEvent
	var at int64
	if err := sc.Scan(&e.Seq, &e.TenantID, &at, &e.ActorKind, &e.ActorID, &e.Action, &e.Target, &e.Detail, &e.PrevHash, &e.Hash); err != nil {
		return nil, err
	}
	e.At = time.Unix(0, at).UTC()
	return &e, nil
}

func (x *tx) AuditEvents(tenant int64, q wire.AuditQuery) ([]AuditEvent, error) {
	where := []string{"tenant_id = ?"}
	args := []any{tenant}
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if q.Action != "" {
		add("action = ?", q.Action)
	}
	if q.ActorKind != "" {
		add("actor_kind = ?", q.ActorKind)
	}
	if q.ActorID != 0 {
		add("actor_id = ?", q.ActorID)
	}
	if !q.Since.IsZero() {
		add("at >= ?", q.Since.UnixNano())
	}
	if !q.Until.IsZero() {
		add("at < ?", q.Until.UnixNano())
	}
	if q.AfterSeq != 0 {
		add("seq > ?", q.AfterSeq)
	}
	if q.BeforeSeq != 0 {
		add("seq < ?", q.BeforeSeq)
	}
	if q.ActionPrefix != "" {
		where = append(where, "substr(action, 1, ?) = ?")
		args = append(args, len(q.ActionPrefix), q.ActionPrefix)
	}
	if q.About != "" {
		kind, id, ok := q.AboutPrincipal()
		if !ok {
			return nil, fmt.Errorf("list audit: about %q is not KIND ID", q.About)
		}
		// The target names a principal as "tech 8", or as a "tech=8" field among others ("tech=8 agent=3").
		where = append(where, "((actor_kind = ? AND actor_id = ?) OR target = ? OR "+x.eng.instr("' ' || target || ' '", "?")+" > 0)")
		args = append(args, kind, id, q.About, fmt.Sprintf(" %s=%d ", kind, id))
	}
	limit := q.Limit
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	order := " ORDER BY seq"
	if q.Newest {
		order += " DESC"
	}
	return queryAll(x, "list audit", scanAudit, "SELECT "+auditCols+" FROM audit WHERE "+strings.Join(where, " AND ")+order+" LIMIT "+strconv.Itoa(limit), args...)
}

// auditHead is a tenant's last event: a deleted tail shows against it.
type auditHead struct {
	tenant, seq int64
	hash        string
}

func scanAuditHead(sc scanner) (*auditHead, error) {
	var h auditHead
	if err := sc.Scan(&h.tenant, &h.seq, &h.hash); err != nil {
		return nil, err
	}
	return &h, nil
}

// verifyAudit walks the chains of every tenant, or of tenant alone when it is not 0.
func (x *tx) verifyAudit(tenant int64) (int64, error) {
	where, args := "", []any{}
	if tenant != 0 {
		where, args = " WHERE tenant_id = ?", []any{tenant}
	}
	headRows, err := queryAll(x, "verify audit", scanAuditHead, "SELECT tenant_id, seq, hash FROM audit_head"+where, args...)
	if err != nil {
		return 0, err
	}
	heads := make(map[int64]auditHead, len(headRows))
	for _, h := range headRows {
		heads[h.tenant] = h
	}
	rows, err := x.query("SELECT "+auditCols+" FROM audit"+where+" ORDER BY tenant_id, seq", args...)
	if err != nil {
		return 0, wrap("verify audit", err)
	}
	defer rows.Close()
	var total int64
	var errs []error
	type chain struct {
		n    int64
		prev string
	}
	chains := map[int64]*chain{}
	for rows.Next() && len(errs) < 10 {
		e, err := scanAudit(rows)
		if err != nil {
			return total, wrap("verify audit", err)
		}
		total++
		c := chains[e.TenantID]
		if c == nil {
			c = &chain{}
			chains[e.TenantID] = c
		}
		c.n++
		switch {
		case e.Seq != c.n:
			errs = append(errs, fmt.Errorf("%w: tenant %d: event %d follows %d (an event was deleted)", ErrAuditBroken, e.TenantID, e.Seq, c.n-1))
			c.n = e.Seq
		case e.PrevHash != c.prev:
			errs = append(errs, fmt.Errorf("%w: tenant %d: event %d does not link to its predecessor", ErrAuditBroken, e.TenantID, e.Seq))
		}
		if auditHash(e) != e.Hash {
			errs = append(errs, fmt.Errorf("%w: tenant %d: event %d was altered", ErrAuditBroken, e.TenantID, e.Seq))
		}
		c.prev = e.Hash
	}
	if err := rows.Err(); err != nil {
		return total, wrap("verify audit", err)
	}
	for tenant, head := range heads {
		c := chains[tenant]
		if c == nil {
			c = &chain{}
		}
		if head.seq != c.n || head.hash != c.prev {
			errs = append(errs, fmt.Errorf("%w: tenant %d: the chain ends at event %d but its head records %d (events were deleted or the head was altered)",
				ErrAuditBroken, tenant, c.n, head.seq))
		}
	}
	for tenant := range chains {
		if _, ok := heads[tenant]; !ok {
			errs = append(errs, fmt.Errorf("%w: tenant %d: the chain has no head", ErrAuditBroken, tenant))
		}
	}
	return total, errors.Join(errs...)
}
