package graphtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// req is one Graph request being answered, with the server's lock held throughout.
type req struct {
	w     http.ResponseWriter
	r     *http.Request
	seg   []string
	app   *App
	query url.Values
}

func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("request-id", newGUID())
	if c := r.Header.Get("client-request-id"); c != "" {
		w.Header().Set("client-request-id", c)
	}
	path := strings.TrimPrefix(r.URL.EscapedPath(), "/v1.0")
	var seg []string
	for _, p := range strings.Split(strings.Trim(path, "/"), "/") {
		u, err := url.PathUnescape(p)
		if err != nil {
			u = p
		}
		seg = append(seg, u)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r.Method+" /"+strings.Join(seg, "/"))
	q := &req{w: w, r: r, seg: seg, query: r.URL.Query()}
	if !strings.HasPrefix(r.URL.EscapedPath(), "/v1.0/") {
		s.fail(q, http.StatusNotFound, "BadRequest", "Resource not found for the segment '"+seg[0]+"'.")
		return
	}
	for i, f := range s.faults {
		if (f.Method == "" || f.Method == r.Method) && strings.HasPrefix("/"+strings.Join(seg, "/"), f.Path) {
			s.faults = slices.Delete(s.faults, i, i+1)
			if f.RetryAfter != "" {
				w.Header().Set("Retry-After", f.RetryAfter)
			}
			switch f.Status {
			case http.StatusTooManyRequests:
				w.Header().Set("x-ms-throttle-scope", "Tenant_Application/ReadWrite/"+s.TenantID)
				w.Header().Set("x-ms-throttle-information", "WriteLimitExceeded")
				s.fail(q, f.Status, "TooManyRequests", "Too many requests.")
			case http.StatusServiceUnavailable:
				s.fail(q, f.Status, "serviceNotAvailable", "The service is temporarily unavailable for maintenance or is overloaded.")
			case http.StatusGatewayTimeout:
				s.fail(q, f.Status, "gatewayTimeout", "The response from a different service was not received in time.")
			default:
				s.fail(q, f.Status, "generalException", "Injected failure.")
			}
			return
		}
	}
	auth := r.Header.Get("Authorization")
	tok, found := s.tokens[strings.TrimPrefix(auth, "Bearer ")]
	switch {
	case !strings.HasPrefix(auth, "Bearer ") || auth == "Bearer ":
		s.fail(q, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
		return
	case !found:
		s.fail(q, http.StatusUnauthorized, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed.")
		return
	case !s.now.Before(tok.expires):
		s.fail(q, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
		return
	}
	q.app = s.apps[tok.app]
	s.route(q)
}

// route dispatches on the path's segments. Call with s.mu held.
func (s *Server) route(q *req) {
	m, seg := q.r.Method, q.seg
	is := func(method string, pattern ...string) bool {
		if method != m || len(pattern) != len(seg) {
			return false
		}
		for i, p := range pattern {
			if p != "*" && p != seg[i] {
				return false
			}
		}
		return true
	}
	tap := "temporaryAccessPassMethods"
	switch {
	case is("GET", "users"):
		s.listUsers(q)
	case is("POST", "users"):
		s.createUser(q)
	case is("GET", "users", "*"):
		s.getUser(q)
	case is("PATCH", "users", "*"):
		s.patchUser(q)
	case is("DELETE", "users", "*"):
		s.deleteUser(q)
	case is("GET", "users", "*", "memberOf"), is("GET", "users", "*", "memberOf", "microsoft.graph.group"):
		s.memberOf(q)
	case is("GET", "users", "*", "authentication", tap), is("GET", "users", "*", "authentication", tap, "*"):
		s.getTAP(q)
	case is("POST", "users", "*", "authentication", tap):
		s.createTAP(q)
	case is("DELETE", "users", "*", "authentication", tap, "*"):
		s.deleteTAP(q)
	case is("GET", "roleManagement", "directory", "roleDefinitions"):
		s.listRoles(q)
	case is("GET", "roleManagement", "directory", "roleAssignments"):
		s.listAssignments(q)
	case is("POST", "roleManagement", "directory", "roleAssignments"):
		s.createAssignment(q)
	case is("DELETE", "roleManagement", "directory", "roleAssignments", "*"):
		s.deleteAssignment(q)
	case is("GET", "groups"):
		s.listGroups(q)
	case is("POST", "groups", "*", "members", "$ref"):
		s.addMember(q)
	case is("DELETE", "groups", "*", "members", "*", "$ref"):
		s.removeMember(q)
	default:
		s.fail(q, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", seg[len(seg)-1]))
	}
}

// fail writes Graph's error envelope.
func (s *Server) fail(q *req, status int, code, msg string) {
	s.statuses[status]++
	q.w.Header().Set("Content-Type", "application/json")
	q.w.WriteHeader(status)
	json.NewEncoder(q.w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg,
		"innerError": map[string]string{"date": s.now.Format("2006-01-02T15:04:05"), "request-id": q.w.Header().Get("request-id"),
			"client-request-id": q.w.Header().Get("client-request-id")}}})
}

// reply writes a success answer; a nil body is 204.
func (s *Server) reply(q *req, status int, body any) {
	s.statuses[status]++
	if body == nil {
		q.w.WriteHeader(status)
		return
	}
	q.w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	q.w.WriteHeader(status)
	json.NewEncoder(q.w).Encode(body)
}

// need answers 403 unless the app holds one of the permissions.
func (s *Server) need(q *req, anyOf ...string) bool {
	for _, p := range anyOf {
		if slices.Contains(q.app.Permissions, p) {
			return true
		}
	}
	s.fail(q, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
	return false
}

// needRoleFor answers 403 unless the app's service principal holds a directory role that may change the
// password, the enabled state or the existence of target: Privileged Authentication Administrator or Global
// Administrator for a user holding any role (or in a role-assignable group), else at least User Administrator.
func (s *Server) needRoleFor(q *req, target *user) bool {
	allowed := []string{RolePrivilegedAuthAdmn, RoleGlobalAdmin}
	if !s.holdsRole(target.ID) {
		allowed = append(allowed, RoleUserAdmin, RoleHelpdeskAdmin, RoleAuthAdmin)
	}
	for _, r := range q.app.DirectoryRoles {
		if slices.Contains(allowed, r) {
			return true
		}
	}
	s.fail(q, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
	return false
}

// body decodes the request's JSON body into v, answering 400 when it is not JSON.
func (s *Server) body(q *req, v any) bool {
	if err := json.NewDecoder(q.r.Body).Decode(v); err != nil {
		s.fail(q, http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
		return false
	}
	return true
}

var filterEq = regexp.MustCompile(`^\s*([A-Za-z]+(?:/[A-Za-z0-9]+)?)\s+eq\s+'((?:[^']|'')*)'\s*$`)

// filter parses the one form of $filter the server knows, prop eq 'value' (” escapes a quote). ok is false
// (and a 400 written) for anything else or a property outside allowed; a property in advanced needs the
// advanced-query header and $count=true. An absent $filter is prop "".
func (s *Server) filter(q *req, resource string, allowed, advanced []string) (prop, value string, ok bool) {
	f := q.query.Get("$filter")
	if f == "" {
		return "", "", true
	}
	m := filterEq.FindStringSubmatch(f)
	if m == nil || !slices.Contains(allowed, m[1]) && !slices.Contains(advanced, m[1]) {
		s.fail(q, http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported Query.")
		return "", "", false
	}
	if slices.Contains(advanced, m[1]) && (q.r.Header.Get("ConsistencyLevel") != "eventual" || q.query.Get("$count") != "true") {
		s.fail(q, http.StatusBadRequest, "Request_UnsupportedQuery",
			fmt.Sprintf("Unsupported or invalid query filter clause specified for property '%s' of resource '%s'.", m[1], resource))
		return "", "", false
	}
	return m[1], strings.ReplaceAll(m[2], "''", "'"), true
}

// project applies $select to an object's properties; an unknown property is a 400. Without $select it keeps
// the default set.
func (s *Server) project(q *req, typ string, all map[string]any, defaults []string) (map[string]any, bool) {
	sel := defaults
	if v := q.query.Get("$select"); v != "" {
		sel = strings.Split(v, ",")
	}
	out := map[string]any{}
	for _, p := range sel {
		p = strings.TrimSpace(p)
		v, ok := all[p]
		if !ok {
			s.fail(q, http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("Could not find a property named '%s' on type 'microsoft.graph.%s'.", p, typ))
			return nil, false
		}
		out[p] = v
	}
	return out, true
}

// user finds the user a path segment names (id or UPN); replication hides a new one (404), and counts the call.
func (s *Server) user(q *req, key string) *user {
	u := s.find(key)
	if u == nil || u.hidden(s.now, true) {
		s.fail(q, http.StatusNotFound, "Request_ResourceNotFound",
			fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", key))
		return nil
	}
	return u
}

func iso(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}
