package graphtest_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/internal/testsupport/graphtest"
)

// assertion builds a client assertion as the documentation describes it (or as MSAL sends it), with edit
// applied to the claims.
func assertion(t *testing.T, srv *graphtest.Server, clientID string, cert *graphtest.AppCert, alg string, edit func(map[string]any)) string {
	enc := base64.RawURLEncoding
	hdr := map[string]any{"alg": alg, "typ": "JWT"}
	if alg == "PS256" {
		s := sha256.Sum256(cert.Cert.Raw)
		hdr["x5t#S256"] = base64.StdEncoding.EncodeToString(s[:]) // MSAL's standard base64
	} else {
		s := sha1.Sum(cert.Cert.Raw)
		hdr["x5t"] = enc.EncodeToString(s[:]) // the documentation's base64url
	}
	now := srv.Now()
	claims := map[string]any{"aud": srv.Authority() + "/oauth2/v2.0/token", "iss": clientID, "sub": clientID,
		"jti": time.Now().Format(time.RFC3339Nano), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
	if edit != nil {
		edit(claims)
	}
	h, _ := json.Marshal(hdr)
	c, _ := json.Marshal(claims)
	signing := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	digest := sha256.Sum256([]byte(signing))
	var sig []byte
	var err error
	if alg == "PS256" {
		sig, err = rsa.SignPSS(rand.Reader, cert.Key, crypto.SHA256, digest[:], nil)
	} else {
		sig, err = rsa.SignPKCS1v15(rand.Reader, cert.Key, crypto.SHA256, digest[:])
	}
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + enc.EncodeToString(sig)
}

func post(t *testing.T, srv *graphtest.Server, path string, form url.Values) (int, map[string]any) {
	resp, err := srv.HTTPClient().PostForm(srv.LoginURL+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func code(out map[string]any) int {
	c, _ := out["error_codes"].([]any)
	if len(c) == 0 {
		return 0
	}
	return int(c[0].(float64))
}

func tokenForm(clientID, a string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "scope": {"https://graph.microsoft.com/.default"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}}
}

func TestClientAssertion(t *testing.T) {
	srv := graphtest.New(t)
	clientID, cert := srv.NewApp(t)
	other := graphtest.NewAppCert(t, "someone else")
	path := "/" + srv.TenantID + "/oauth2/v2.0/token"
	for _, alg := range []string{"PS256", "RS256"} {
		if st, out := post(t, srv, path, tokenForm(clientID, assertion(t, srv, clientID, cert, alg, nil))); st != 200 || out["access_token"] == "" || out["expires_in"].(float64) != 3599 {
			t.Fatalf("%s: %d %v", alg, st, out)
		}
	}
	cases := map[string]struct {
		a    string
		want int
	}{
		"unknown certificate": {assertion(t, srv, clientID, other, "PS256", nil), 700027},
		"wrong audience":      {assertion(t, srv, clientID, cert, "PS256", func(c map[string]any) { c["aud"] = "https://login.microsoftonline.com/x/oauth2/v2.0/token" }), 50027},
		"iss is not sub":      {assertion(t, srv, clientID, cert, "PS256", func(c map[string]any) { c["sub"] = "other" }), 700021},
		"expired":             {assertion(t, srv, clientID, cert, "PS256", func(c map[string]any) { c["exp"] = srv.Now().Add(-time.Hour).Unix() }), 700024},
		"not yet valid":       {assertion(t, srv, clientID, cert, "PS256", func(c map[string]any) { c["nbf"] = srv.Now().Add(time.Hour).Unix() }), 700024},
	}
	for name, c := range cases {
		if st, out := post(t, srv, path, tokenForm(clientID, c.a)); st != 401 || code(out) != c.want || out["error"] != "invalid_client" {
			t.Errorf("%s: %d %v, want 401 AADSTS%d", name, st, out, c.want)
		}
	}
	replay := assertion(t, srv, clientID, cert, "PS256", func(c map[string]any) { c["jti"] = "once" })
	post(t, srv, path, tokenForm(clientID, replay))
	if st, out := post(t, srv, path, tokenForm(clientID, replay)); st != 401 || !strings.Contains(out["error_description"].(string), "jti") {
		t.Errorf("replayed jti: %d %v", st, out)
	}
	if _, out := post(t, srv, "/"+srv.TenantID+"/oauth2/v2.0/token", tokenForm("no-such-app", replay)); code(out) != 700016 {
		t.Errorf("unknown app: %v", out)
	}
}

// graph sends one Graph request with a fresh app token.
func graph(t *testing.T, srv *graphtest.Server, tok, method, path string, body any, hdr ...string) (*http.Response, map[string]any) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, srv.GraphURL+path, r)
	req.Header.Set("Authorization", "Bearer "+tok)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := srv.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

func appToken(t *testing.T, srv *graphtest.Server) string {
	clientID, cert := srv.NewApp(t)
	_, out := post(t, srv, "/"+srv.TenantID+"/oauth2/v2.0/token", tokenForm(clientID, assertion(t, srv, clientID, cert, "PS256", nil)))
	return out["access_token"].(string)
}

func TestGraphAnswers(t *testing.T) {
	srv := graphtest.New(t)
	tok := appToken(t, srv)
	upn := "amy-ab@" + srv.Domain
	newUser := map[string]any{"accountEnabled": false, "displayName": "Amy", "mailNickname": "amy-ab", "userPrincipalName": upn,
		"passwordProfile": map[string]any{"password": "Xq7!vBn3#kLm", "forceChangePasswordNextSignIn": false}}
	resp, out := graph(t, srv, tok, "POST", "/users", newUser, "client-request-id", "abc-123")
	if resp.StatusCode != 201 || out["id"] == "" || resp.Header.Get("client-request-id") != "abc-123" || resp.Header.Get("request-id") == "" {
		t.Fatalf("create: %d %v %v", resp.StatusCode, out, resp.Header)
	}
	if _, ok := out["accountEnabled"]; ok {
		t.Fatal("accountEnabled is not in the default property set")
	}
	id := out["id"].(string)
	if resp, out := graph(t, srv, tok, "POST", "/users", newUser); resp.StatusCode != 400 || !strings.Contains(out["error"].(map[string]any)["message"].(string), "already exists") {
		t.Fatalf("duplicate UPN: %d %v", resp.StatusCode, out)
	}
	delete(newUser, "mailNickname")
	if resp, out := graph(t, srv, tok, "POST", "/users", newUser); resp.StatusCode != 400 || !strings.Contains(out["error"].(map[string]any)["message"].(string), "mailNickname value is required") {
		t.Fatalf("missing field: %d %v", resp.StatusCode, out)
	}
	_, out = graph(t, srv, tok, "GET", "/users/"+url.PathEscape(upn)+"?$select=id,accountEnabled,employeeType", nil)
	if out["id"] != id || out["accountEnabled"] != false || len(out) != 4 { // with @odata.context
		t.Fatalf("select: %v", out)
	}
	if resp, out := graph(t, srv, tok, "GET", "/users?$filter="+url.QueryEscape("employeeType eq 'x'"), nil); resp.StatusCode != 400 || out["error"].(map[string]any)["code"] != "Request_UnsupportedQuery" {
		t.Fatalf("advanced filter without ConsistencyLevel: %d %v", resp.StatusCode, out)
	}
	if resp, _ := graph(t, srv, tok, "GET", "/users?$count=true&$filter="+url.QueryEscape("employeeType eq 'x'"), nil, "ConsistencyLevel", "eventual"); resp.StatusCode != 200 {
		t.Fatalf("advanced filter with ConsistencyLevel: %d", resp.StatusCode)
	}
	if resp, _ := graph(t, srv, tok, "PATCH", "/users/"+id, map[string]any{"accountEnabled": true}); resp.StatusCode != 204 {
		t.Fatalf("patch: %d", resp.StatusCode)
	}
	resp, out = graph(t, srv, tok, "GET", "/users/nobody@"+srv.Domain, nil)
	if e := out["error"].(map[string]any); resp.StatusCode != 404 || e["code"] != "Request_ResourceNotFound" || e["innerError"].(map[string]any)["request-id"] != resp.Header.Get("request-id") {
		t.Fatalf("404 envelope: %v", out)
	}
	// TAP: the value once, never again.
	resp, out = graph(t, srv, tok, "POST", "/users/"+id+"/authentication/temporaryAccessPassMethods", map[string]any{"lifetimeInMinutes": 60})
	if resp.StatusCode != 201 || len(out["temporaryAccessPass"].(string)) < 8 || out["methodUsabilityReason"] != "EnabledByPolicy" {
		t.Fatalf("tap: %d %v", resp.StatusCode, out)
	}
	_, list := graph(t, srv, tok, "GET", "/users/"+id+"/authentication/temporaryAccessPassMethods", nil)
	if v := list["value"].([]any); len(v) != 1 || v[0].(map[string]any)["temporaryAccessPass"] != nil {
		t.Fatalf("tap list shows the pass again: %v", list)
	}
	srv.Advance(61 * time.Minute)
	tok = appToken(t, srv) // the first one expired with the hour
	_, list = graph(t, srv, tok, "GET", "/users/"+id+"/authentication/temporaryAccessPassMethods", nil)
	if list["value"].([]any)[0].(map[string]any)["methodUsabilityReason"] != "Expired" {
		t.Fatalf("tap after its lifetime: %v", list)
	}
	// Role assignment: 201, a duplicate is 400, delete 204.
	body := map[string]any{"principalId": id, "roleDefinitionId": graphtest.RoleHelpdeskAdmin, "directoryScopeId": "/"}
	resp, out = graph(t, srv, tok, "POST", "/roleManagement/directory/roleAssignments", body)
	if resp.StatusCode != 201 {
		t.Fatalf("assign: %d %v", resp.StatusCode, out)
	}
	if resp, _ := graph(t, srv, tok, "POST", "/roleManagement/directory/roleAssignments", body); resp.StatusCode != 400 {
		t.Fatalf("duplicate assignment: %d", resp.StatusCode)
	}
	if resp, _ := graph(t, srv, tok, "DELETE", "/roleManagement/directory/roleAssignments/"+out["id"].(string), nil); resp.StatusCode != 204 {
		t.Fatalf("unassign: %d", resp.StatusCode)
	}
	// Tokens expire on the server's clock.
	srv.Advance(time.Hour)
	if resp, out := graph(t, srv, tok, "GET", "/users/"+id, nil); resp.StatusCode != 401 || out["error"].(map[string]any)["code"] != "InvalidAuthenticationToken" {
		t.Fatalf("expired token: %d %v", resp.StatusCode, out)
	}
}

// Smart lockout: ten distinct wrong passwords lock; a repeated wrong password counts once (the last three hashes).
func TestSmartLockout(t *testing.T) {
	srv := graphtest.New(t)
	clientID, _ := srv.NewApp(t)
	upn := "bob-ab@" + srv.Domain
	srv.AddUser(graphtest.User{UPN: upn, Enabled: true, Password: "Right-Pass-1"})
	path := "/" + srv.TenantID + "/oauth2/v2.0/token"
	try := func(pw string) int {
		_, out := post(t, srv, path, url.Values{"grant_type": {"password"}, "client_id": {clientID}, "scope": {"openid"}, "username": {upn}, "password": {pw}})
		return code(out)
	}
	for range 20 {
		if c := try("Same-Wrong-1"); c != 50126 {
			t.Fatalf("repeated wrong password: %d", c)
		}
	}
	if u, _ := srv.LookupUser(upn); u.BadCount != 1 {
		t.Fatalf("bad count %d after one wrong password twenty times", u.BadCount)
	}
	for i := range 8 {
		try("Wrong-" + string(rune('a'+i)))
	}
	if c := try("Wrong-last"); c != 50053 {
		t.Fatalf("tenth distinct wrong password: %d, want 50053", c)
	}
	if c := try("Right-Pass-1"); c != 50053 {
		t.Fatalf("right password while locked: %d, want 50053", c)
	}
	srv.Advance(graphtest.LockoutDuration)
	if c := try("Right-Pass-1"); c != 0 {
		t.Fatalf("right password after the lock: %d", c)
	}
	if _, out := post(t, srv, path, url.Values{"grant_type": {"password"}, "client_id": {clientID}, "scope": {"Mail.Read"}, "username": {upn}, "password": {"x"}}); code(out) != 65001 {
		t.Fatalf("unconsented scope: %v", out)
	}
}
