package graphtest

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
)

var defaultUserProps = []string{"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
	"officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"}

// props are a user's readable properties; passwordProfile is never returned.
func (u *user) props() map[string]any {
	var synced any
	if u.Synced {
		synced = true
	}
	return map[string]any{"id": u.ID, "userPrincipalName": u.UPN, "displayName": u.DisplayName, "mailNickname": u.MailNickname,
		"accountEnabled": u.Enabled, "employeeType": nilIfEmpty(u.EmployeeType), "usageLocation": nilIfEmpty(u.UsageLocation),
		"userType": u.UserType, "onPremisesSyncEnabled": synced, "createdDateTime": iso(u.Created),
		"lastPasswordChangeDateTime": iso(u.PasswordChanged), "businessPhones": []string{}, "givenName": nil, "surname": nil,
		"jobTitle": nil, "mail": nil, "mobilePhone": nil, "officeLocation": nil, "preferredLanguage": nil,
		"passwordPolicies": nil, "passwordProfile": nil}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Server) listUsers(q *req) {
	if !s.need(q, "User.Read.All", "User.ReadWrite.All", "Directory.Read.All") {
		return
	}
	prop, val, ok := s.filter(q, "User", []string{"userPrincipalName", "id", "displayName", "mailNickname"}, []string{"employeeType"})
	if !ok {
		return
	}
	out := []map[string]any{}
	for _, u := range s.users {
		if u.hidden(s.now, false) {
			continue
		}
		all := u.props()
		if prop != "" && !strings.EqualFold(fmt.Sprint(all[prop]), val) {
			continue
		}
		p, ok := s.project(q, "user", all, defaultUserProps)
		if !ok {
			return
		}
		out = append(out, p)
	}
	s.reply(q, http.StatusOK, map[string]any{"@odata.context": s.GraphURL + "/$metadata#users", "value": out})
}

func (s *Server) getUser(q *req) {
	if !s.need(q, "User.Read.All", "User.ReadWrite.All", "Directory.Read.All") {
		return
	}
	u := s.user(q, q.seg[1])
	if u == nil {
		return
	}
	if p, ok := s.project(q, "user", u.props(), defaultUserProps); ok {
		p["@odata.context"] = s.GraphURL + "/$metadata#users/$entity"
		s.reply(q, http.StatusOK, p)
	}
}

type passwordProfile struct {
	Password                      *string `json:"password"`
	ForceChangePasswordNextSignIn *bool   `json:"forceChangePasswordNextSignIn"`
}

type userBody struct {
	AccountEnabled    *bool            `json:"accountEnabled"`
	DisplayName       *string          `json:"displayName"`
	MailNickname      *string          `json:"mailNickname"`
	UserPrincipalName *string          `json:"userPrincipalName"`
	EmployeeType      *string          `json:"employeeType"`
	UsageLocation     *string          `json:"usageLocation"`
	PasswordProfile   *passwordProfile `json:"passwordProfile"`
}

// complexPassword is the cloud password rule: 8 to 256 characters, no Unicode, three of the four classes.
func complexPassword(pw string) bool {
	if len(pw) < 8 || len(pw) > 256 {
		return false
	}
	var classes [4]bool
	for _, c := range pw {
		switch {
		case c > unicode.MaxASCII || c < 0x20:
			return false
		case unicode.IsLower(c):
			classes[0] = true
		case unicode.IsUpper(c):
			classes[1] = true
		case unicode.IsDigit(c):
			classes[2] = true
		default:
			classes[3] = true
		}
	}
	n := 0
	for _, b := range classes {
		if b {
			n++
		}
	}
	return n >= 3
}

const upnChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'.-_!#^~"

func (s *Server) createUser(q *req) {
	if !s.need(q, "User.ReadWrite.All", "User.Create", "Directory.ReadWrite.All") {
		return
	}
	var b userBody
	if !s.body(q, &b) {
		return
	}
	required := map[string]bool{"accountEnabled": b.AccountEnabled != nil, "displayName": b.DisplayName != nil && *b.DisplayName != "",
		"mailNickname": b.MailNickname != nil && *b.MailNickname != "", "userPrincipalName": b.UserPrincipalName != nil && *b.UserPrincipalName != "",
		"passwordProfile": b.PasswordProfile != nil && b.PasswordProfile.Password != nil}
	for _, p := range []string{"accountEnabled", "displayName", "mailNickname", "passwordProfile", "userPrincipalName"} {
		if !required[p] {
			s.fail(q, http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("Property %s value is required but is empty or missing.", p))
			return
		}
	}
	local, domain, _ := strings.Cut(*b.UserPrincipalName, "@")
	switch {
	case local == "" || strings.Trim(local, upnChars) != "" || len(local) > 64 || strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, ".."):
		s.fail(q, http.StatusBadRequest, "Request_BadRequest", "Invalid value specified for property 'userPrincipalName' of resource 'User'.")
		return
	case !strings.EqualFold(domain, s.Domain):
		s.fail(q, http.StatusBadRequest, "Request_BadRequest", "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.")
		return
	case b.UsageLocation != nil && (len(*b.UsageLocation) != 2 || strings.ToUpper(*b.UsageLocation) != *b.UsageLocation):
		s.fail(q, http.StatusBadRequest, "Request_BadRequest", "Invalid value specified for property 'usageLocation' of resource 'User'.")
		return
	case !complexPassword(*b.PasswordProfile.Password):
		s.fail(q, http.StatusBadRequest, "Request_BadRequest", "The specified password does not comply with password complexity requirements. Please provide a different password.")
		return
	}
	if s.find(*b.UserPrincipalName) != nil {
		q.w.Header().Set("Content-Type", "application/json")
		s.statuses[http.StatusBadRequest]++
		q.w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(q.w).Encode(map[string]any{"error": map[string]any{"code": "Request_BadRequest",
			"message": "Another object with the same value for property userPrincipalName already exists.",
			"details": []map[string]string{{"code": "ObjectConflict", "message": "Another object with the same value for property userPrincipalName already exists.", "target": "userPrincipalName"}},
			"innerError": map[string]string{"date": s.now.Format("2006-01-02T15:04:05"), "request-id": q.w.Header().Get("request-id"),
				"client-request-id": q.w.Header().Get("client-request-id")}}})
		return
	}
	u := &user{User: User{ID: newGUID(), UPN: *b.UserPrincipalName, DisplayName: *b.DisplayName, MailNickname: *b.MailNickname,
		Enabled: *b.AccountEnabled, UserType: "Member", Password: *b.PasswordProfile.Password, Created: s.now, PasswordChanged: s.now},
		hideCalls: s.lag.Calls, hideUntil: s.now.Add(s.lag.For)}
	if b.EmployeeType != nil {
		u.EmployeeType = *b.EmployeeType
	}
	if b.UsageLocation != nil {
		u.UsageLocation = *b.UsageLocation
	}
	s.users[u.ID] = u
	p, _ := s.project(&req{query: nil}, "user", u.props(), defaultUserProps)
	p["@odata.context"] = s.GraphURL + "/$metadata#users/$entity"
	s.reply(q, http.StatusCreated, p)
}

func (s *Server) patchUser(q *req) {
	if !s.need(q, "User.ReadWrite.All", "Directory.ReadWrite.All", "User-PasswordProfile.ReadWrite.All", "User.EnableDisableAccount.All") {
		return
	}
	var raw map[string]json.RawMessage
	if !s.body(q, &raw) {
		return
	}
	known := []string{"accountEnabled", "displayName", "employeeType", "usageLocation", "passwordProfile", "mailNickname"}
	for k := range raw {
		if !slices.Contains(known, k) {
			s.fail(q, http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("Invalid property '%s'.", k))
			return
		}
	}
	b, _ := json.Marshal(raw)
	var body userBody
	json.Unmarshal(b, &body)
	u := s.user(q, q.seg[1])
	if u == nil {
		return
	}
	// Each property needs its permission; User.ReadWrite.All covers them all.
	for k := range raw {
		var ok bool
		switch k {
		case "passwordProfile":
			ok = s.need(q, "User.ReadWrite.All", "User-PasswordProfile.ReadWrite.All") && s.needRoleFor(q, u)
		case "accountEnabled":
			ok = s.need(q, "User.ReadWrite.All", "User.EnableDisableAccount.All") && s.needRoleFor(q, u)
		default:
			ok = s.need(q, "User.ReadWrite.All", "Directory.ReadWrite.All")
		}
		if !ok {
			return
		}
	}
	if pp := body.PasswordProfile; pp != nil && (pp.Password == nil || !complexPassword(*pp.Password)) {
		s.fail(q, http.StatusBadRequest, "Request_BadRequest", "The specified password does not comply with password complexity requirements. Please provide a different password.")
		return
	}
	if body.UsageLocation != nil && len(*body.UsageLocation) != 2 {
		s.fail(q, http.StatusBadRequest, "Request_BadRequest", "Invalid value specified for property 'usageLocation' of resource 'User'.")
		return
	}
	// Every check passed: the update applies as a whole.
	if body.AccountEnabled != nil {
		u.Enabled = *body.AccountEnabled
	}
	if body.DisplayName != nil {
		u.DisplayName = *body.DisplayName
	}
	if body.EmployeeType != nil {
		u.EmployeeType = *body.EmployeeType
	}
	if body.UsageLocation != nil {
		u.UsageLocation = *body.UsageLocation
	}
	if pp := body.PasswordProfile; pp != nil {
		u.prevPassword, u.Password = u.Password, *pp.Password
		u.pwLagCalls, u.pwLagUntil = s.lag.PasswordCalls, s.now.Add(s.lag.PasswordFor)
		u.PasswordChanged = s.now
		u.LockedUntil, u.BadCount, u.badHashes = time.Time{}, 0, nil // an admin reset unlocks the account
	}
	s.reply(q, http.StatusNoContent, nil)
}

func (s *Server) deleteUser(q *req) {
	if !s.need(q, "User.ReadWrite.All", "Directory.ReadWrite.All") {
		return
	}
	u := s.user(q, q.seg[1])
	if u == nil || !s.needRoleFor(q, u) {
		return
	}
	delete(s.users, u.ID)
	s.assigns = slices.DeleteFunc(s.assigns, func(a *assignment) bool { return a.principal == u.ID })
	for _, g := range s.groups {
		delete(g.members, u.ID)
	}
	s.reply(q, http.StatusNoContent, nil)
}

func (s *Server) memberOf(q *req) {
	if !s.need(q, "User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "GroupMember.Read.All", "GroupMember.ReadWrite.All") {
		return
	}
	u := s.user(q, q.seg[1])
	if u == nil {
		return
	}
	out := []map[string]any{}
	for _, g := range s.groups {
		if g.members[u.ID] {
			p, ok := s.project(q, "group", g.props(), []string{"id", "displayName", "isAssignableToRole"})
			if !ok {
				return
			}
			p["@odata.type"] = "#microsoft.graph.group"
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b map[string]any) int { return strings.Compare(fmt.Sprint(a["id"]), fmt.Sprint(b["id"])) })
	s.reply(q, http.StatusOK, map[string]any{"value": out})
}

func (g *group) props() map[string]any {
	return map[string]any{"id": g.id, "displayName": g.name, "isAssignableToRole": g.assignable, "securityEnabled": true,
		"mailEnabled": false, "groupTypes": []string{}}
}

func (s *Server) listGroups(q *req) {
	if !s.need(q, "Group.Read.All", "Group.ReadWrite.All", "GroupMember.Read.All", "GroupMember.ReadWrite.All", "Directory.Read.All") {
		return
	}
	prop, val, ok := s.filter(q, "Group", []string{"displayName", "id"}, nil)
	if !ok {
		return
	}
	out := []map[string]any{}
	for _, g := range s.groups {
		all := g.props()
		if prop != "" && fmt.Sprint(all[prop]) != val && !(prop == "displayName" && strings.EqualFold(g.name, val)) {
			continue
		}
		p, ok := s.project(q, "group", all, []string{"id", "displayName", "isAssignableToRole", "securityEnabled", "mailEnabled", "groupTypes"})
		if !ok {
			return
		}
		out = append(out, p)
	}
	s.reply(q, http.StatusOK, map[string]any{"value": out})
}

func (s *Server) group(q *req) *group {
	g := s.groups[q.seg[1]]
	if g == nil {
		s.fail(q, http.StatusNotFound, "Request_ResourceNotFound",
			fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", q.seg[1]))
	}
	return g
}

// memberPerms: adding to or removing from a role-assignable group also needs RoleManagement.ReadWrite.Directory.
func (s *Server) memberPerms(q *req, g *group) bool {
	if !s.need(q, "GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All") {
		return false
	}
	return !g.assignable || s.need(q, "RoleManagement.ReadWrite.Directory")
}

func (s *Server) addMember(q *req) {
	g := s.group(q)
	if g == nil || !s.memberPerms(q, g) {
		return
	}
	var b map[string]string
	if !s.body(q, &b) {
		return
	}
	ref := b["@odata.id"]
	i := strings.LastIndex(ref, "/directoryObjects/")
	if i < 0 {
		s.fail(q, http.StatusBadRequest, "Request_BadRequest", "Invalid object identifier '"+ref+"'.")
		return
	}
	u := s.user(q, strings.Trim(ref[i+len("/directoryObjects/"):], "{}"))
	if u == nil {
		return
	}
	if g.members[u.ID] {
		s.fail(q, http.StatusBadRequest, "Request_BadRequest", "One or more added object references already exist for the following modified properties: 'members'.")
		return
	}
	g.members[u.ID] = true
	s.reply(q, http.StatusNoContent, nil)
}

func (s *Server) removeMember(q *req) {
	g := s.group(q)
	if g == nil || !s.memberPerms(q, g) {
		return
	}
	if !g.members[q.seg[3]] {
		s.fail(q, http.StatusNotFound, "Request_ResourceNotFound",
			fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", q.seg[3]))
		return
	}
	delete(g.members, q.seg[3])
	s.reply(q, http.StatusNoContent, nil)
}

func (s *Server) listRoles(q *req) {
	if !s.need(q, "RoleManagement.Read.Directory", "RoleManagement.ReadWrite.Directory", "Directory.Read.All") {
		return
	}
	prop, val, ok := s.filter(q, "unifiedRoleDefinition", []string{"displayName", "id", "templateId"}, nil)
	if !ok {
		return
	}
	out := []map[string]any{}
	for _, r := range s.roles {
		all := map[string]any{"id": r.id, "templateId": r.id, "displayName": r.name, "isBuiltIn": true, "isEnabled": true,
			"description": "", "rolePermissions": []any{}}
		if prop != "" && all[prop] != val {
			continue
		}
		p, ok := s.project(q, "unifiedRoleDefinition", all, []string{"id", "templateId", "displayName", "isBuiltIn", "isEnabled", "description", "rolePermissions"})
		if !ok {
			return
		}
		out = append(out, p)
	}
	s.reply(q, http.StatusOK, map[string]any{"@odata.context": s.GraphURL + "/$metadata#roleManagement/directory/roleDefinitions", "value": out})
}

func (a *assignment) props() map[string]any {
	return map[string]any{"id": a.id, "principalId": a.principal, "roleDefinitionId": a.role, "directoryScopeId": a.scope}
}

func (s *Server) listAssignments(q *req) {
	if !s.need(q, "RoleManagement.Read.Directory", "RoleManagement.ReadWrite.Directory", "Directory.Read.All") {
		return
	}
	prop, val, ok := s.filter(q, "unifiedRoleAssignment", []string{"principalId", "roleDefinitionId", "id"}, nil)
	if !ok {
		return
	}
	out := []map[string]any{}
	for _, a := range s.assigns {
		all := a.props()
		if prop == "" || all[prop] == val {
			out = append(out, all)
		}
	}
	s.reply(q, http.StatusOK, map[string]any{"value": out})
}

func (s *Server) createAssignment(q *req) {
	if !s.need(q, "RoleManagement.ReadWrite.Directory") {
		return
	}
	var b struct{ PrincipalID, RoleDefinitionID, DirectoryScopeID string }
	if !s.body(q, &b) {
		return
	}
	if b.PrincipalID == "" || b.RoleDefinitionID == "" || b.DirectoryScopeID == "" {
		s.fail(q, http.StatusBadRequest, "Request_BadRequest", "Required properties principalId, roleDefinitionId and directoryScopeId are missing.")
		return
	}
	if !slices.ContainsFunc(s.roles, func(r roleDef) bool { return r.id == b.RoleDefinitionID }) {
		s.fail(q, http.StatusNotFound, "Request_ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", b.RoleDefinitionID))
		return
	}
	if s.user(q, b.PrincipalID) == nil {
		return
	}
	for _, a := range s.assigns {
		if a.principal == b.PrincipalID && a.role == b.RoleDefinitionID && a.scope == b.DirectoryScopeID {
			s.fail(q, http.StatusBadRequest, "Request_BadRequest", "A conflicting object with one or more of the specified property values is present in the directory.")
			return
		}
	}
	a := &assignment{id: newAssignmentID(), principal: b.PrincipalID, role: b.RoleDefinitionID, scope: b.DirectoryScopeID}
	s.assigns = append(s.assigns, a)
	p := a.props()
	p["@odata.context"] = s.GraphURL + "/$metadata#roleManagement/directory/roleAssignments/$entity"
	s.reply(q, http.StatusCreated, p)
}

func (s *Server) deleteAssignment(q *req) {
	if !s.need(q, "RoleManagement.ReadWrite.Directory") {
		return
	}
	i := slices.IndexFunc(s.assigns, func(a *assignment) bool { return a.id == q.seg[3] })
	if i < 0 {
		s.fail(q, http.StatusNotFound, "Request_ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", q.seg[3]))
		return
	}
	s.assigns = slices.Delete(s.assigns, i, i+1)
	s.reply(q, http.StatusNoContent, nil)
}

// tapProps: the pass itself only on creation.
func (s *Server) tapProps(t *tap, withValue bool) map[string]any {
	reason := "EnabledByPolicy"
	end := t.start.Add(time.Duration(t.lifetime) * time.Minute)
	switch {
	case !s.tapPolicy.Enabled:
		reason = "DisabledByPolicy"
	case t.used:
		reason = "OneTimeUsed"
	case s.now.Before(t.start):
		reason = "NotYetValid"
	case !s.now.Before(end):
		reason = "Expired"
	}
	var value any
	if withValue {
		value = t.value
	}
	return map[string]any{"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethod", "id": t.id,
		"temporaryAccessPass": value, "createdDateTime": iso(t.created), "startDateTime": iso(t.start),
		"lifetimeInMinutes": t.lifetime, "isUsableOnce": t.usableOnce, "isUsable": reason == "EnabledByPolicy",
		"methodUsabilityReason": reason}
}

func (s *Server) createTAP(q *req) {
	if !s.need(q, "UserAuthenticationMethod.ReadWrite.All") {
		return
	}
	u := s.user(q, q.seg[1])
	if u == nil {
		return
	}
	var b struct {
		StartDateTime     *time.Time `json:"startDateTime"`
		LifetimeInMinutes *int       `json:"lifetimeInMinutes"`
		IsUsableOnce      *bool      `json:"isUsableOnce"`
	}
	if q.r.ContentLength != 0 && !s.body(q, &b) {
		return
	}
	p := s.tapPolicy
	if !p.Enabled {
		// The HTTP status of this refusal is not documented [U]; the text is the one reported.
		s.fail(q, http.StatusBadRequest, "badRequest", "Converged UserCredentialPolicy does not allow creating or updating this authentication method. AuthMethodType [TemporaryAccessPass].")
		return
	}
	life := p.DefMinutes
	if b.LifetimeInMinutes != nil {
		life = *b.LifetimeInMinutes
	}
	if life < 10 || life > 43200 || life < p.MinMinutes || life > p.MaxMinutes {
		s.fail(q, http.StatusBadRequest, "badRequest", fmt.Sprintf("The lifetime of the Temporary Access Pass must be between %d and %d minutes.", max(10, p.MinMinutes), min(43200, p.MaxMinutes)))
		return
	}
	t := &tap{id: newGUID(), value: passValue(max(8, p.Length)), created: s.now, start: s.now, lifetime: life, usableOnce: p.UsableOnce}
	if b.StartDateTime != nil {
		t.start = b.StartDateTime.UTC()
	}
	if b.IsUsableOnce != nil {
		t.usableOnce = *b.IsUsableOnce
	}
	u.tap = t // one pass per user: a new one replaces the old
	p2 := s.tapProps(t, true)
	p2["@odata.context"] = s.GraphURL + "/$metadata#users('" + u.ID + "')/authentication/temporaryAccessPassMethods/$entity"
	s.reply(q, http.StatusCreated, p2)
}

func (s *Server) getTAP(q *req) {
	if !s.need(q, "UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All") {
		return
	}
	u := s.user(q, q.seg[1])
	if u == nil {
		return
	}
	if len(q.seg) == 4 {
		out := []map[string]any{}
		if u.tap != nil {
			out = append(out, s.tapProps(u.tap, false))
		}
		s.reply(q, http.StatusOK, map[string]any{"value": out})
		return
	}
	if u.tap == nil || u.tap.id != q.seg[4] {
		s.fail(q, http.StatusNotFound, "itemNotFound", "The requested authentication method was not found.")
		return
	}
	s.reply(q, http.StatusOK, s.tapProps(u.tap, false))
}

func (s *Server) deleteTAP(q *req) {
	if !s.need(q, "UserAuthenticationMethod.ReadWrite.All") {
		return
	}
	u := s.user(q, q.seg[1])
	if u == nil {
		return
	}
	if u.tap == nil || u.tap.id != q.seg[4] {
		s.fail(q, http.StatusNotFound, "itemNotFound", "The requested authentication method was not found.")
		return
	}
	u.tap = nil
	s.reply(q, http.StatusNoContent, nil)
}

// passValue is a pass of n characters from the alphabet Entra's passes use.
func passValue(n int) string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789@#$%&*+="
	b := make([]byte, n)
	for i := range b {
		k, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b[i] = alphabet[k.Int64()]
	}
	return string(b)
}
