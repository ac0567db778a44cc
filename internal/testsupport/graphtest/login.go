package graphtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Smart lockout: ten failures lock an account for a minute at first, longer on repeats; the last three wrong
// passwords' hashes are remembered and a repeat of one of them is not counted again.
const (
	LockoutThreshold = 10
	LockoutDuration  = time.Minute
)

// graphResource is the token's audience and the .default scope's resource.
const graphResource = "https://graph.microsoft.com"

func (s *Server) serveLogin(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 2 {
		http.NotFound(w, r)
		return
	}
	tenant := parts[0]
	rest := strings.Join(parts[1:], "/")
	if !strings.EqualFold(tenant, s.TenantID) && tenant != "organizations" {
		s.stsError(w, http.StatusBadRequest, "invalid_request", 90002,
			fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return
	}
	switch {
	case r.Method == http.MethodGet && rest == "v2.0/.well-known/openid-configuration":
		base := s.LoginURL + "/" + s.TenantID
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		json.NewEncoder(w).Encode(map[string]any{
			"token_endpoint":                        base + "/oauth2/v2.0/token",
			"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
			"issuer":                                base + "/v2.0",
			"jwks_uri":                              s.LoginURL + "/" + s.TenantID + "/discovery/v2.0/keys",
			"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
			"tenant_region_scope":                   "EU",
		})
	case r.Method == http.MethodPost && rest == "oauth2/v2.0/token":
		if err := r.ParseForm(); err != nil {
			s.stsError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
			return
		}
		switch r.PostForm.Get("grant_type") {
		case "client_credentials":
			s.clientCredentials(w, r)
		case "password":
			s.passwordGrant(w, r)
		default:
			s.stsError(w, http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
		}
	default:
		http.NotFound(w, r)
	}
}

// stsError writes the token endpoint's error body.
func (s *Server) stsError(w http.ResponseWriter, status int, kind string, code int, msg string) {
	trace, corr := newGUID(), newGUID()
	s.mu.Lock()
	ts := s.now.Format("2006-01-02 15:04:05Z")
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"error": kind, "error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", code, msg, trace, corr, ts),
		"error_codes": []int{code}, "timestamp": ts, "trace_id": trace, "correlation_id": corr,
		"error_uri": s.LoginURL + "/error?code=" + strconv.Itoa(code),
	})
}

// clientCredentials checks the certificate assertion and issues an app token with the consented permissions.
func (s *Server) clientCredentials(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	clientID := f.Get("client_id")
	s.mu.Lock()
	app, ok := s.apps[clientID]
	var certs []*x509.Certificate
	var perms []string
	if ok {
		certs, perms = app.Certs, slices.Clone(app.Permissions)
	}
	s.mu.Unlock()
	if !ok {
		s.stsError(w, http.StatusBadRequest, "unauthorized_client", 700016,
			fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", clientID, s.TenantID))
		return
	}
	// MSAL adds the OpenID scopes to every request; Entra ignores them for client credentials.
	var resource []string
	for _, sc := range strings.Fields(f.Get("scope")) {
		if !slices.Contains([]string{"openid", "profile", "offline_access"}, sc) {
			resource = append(resource, sc)
		}
	}
	if len(resource) != 1 || resource[0] != graphResource+"/.default" {
		s.stsError(w, http.StatusBadRequest, "invalid_scope", 1002012,
			fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", f.Get("scope")))
		return
	}
	if f.Get("client_assertion") == "" {
		s.stsError(w, http.StatusUnauthorized, "invalid_client", 7000218,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	if f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		s.stsError(w, http.StatusUnauthorized, "invalid_client", 700025, "Client assertion type is invalid.")
		return
	}
	if code, msg := s.checkAssertion(f.Get("client_assertion"), clientID, certs); code != 0 {
		s.stsError(w, http.StatusUnauthorized, "invalid_client", code, msg)
		return
	}
	s.mu.Lock()
	tok := s.issue(clientID, perms)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok})
}

// issue makes an access token: a JWT-shaped string whose payload carries the app's roles (a client may decode
// it to see its permissions, as on Entra) and whose signature is a random value only this server knows. Call
// with s.mu held.
func (s *Server) issue(clientID string, roles []string) string {
	enc := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": "RS256"})
	payload, _ := json.Marshal(map[string]any{"aud": graphResource, "iss": "https://sts.windows.net/" + s.TenantID + "/",
		"tid": s.TenantID, "appid": clientID, "roles": roles, "iat": s.now.Unix(), "nbf": s.now.Unix(),
		"exp": s.now.Add(time.Hour).Unix()})
	sig := make([]byte, 32)
	rand.Read(sig)
	tok := enc.EncodeToString(header) + "." + enc.EncodeToString(payload) + "." + enc.EncodeToString(sig)
	s.tokens[tok] = token{app: clientID, expires: s.now.Add(time.Hour)}
	return tok
}

// checkAssertion verifies a client assertion: the certificate named by x5t#S256 (or x5t) among the registered
// ones, the PS256 or RS256 signature with its key, aud the token endpoint, iss and sub the client, nbf/exp around
// now (five minutes of skew), and a jti never seen before. It returns the AADSTS code and text, or 0. The codes for
// a wrong audience and a replayed jti are not documented [U].
func (s *Server) checkAssertion(assertion, clientID string, certs []*x509.Certificate) (int, string) {
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return 50027, "JWT token is invalid or malformed."
	}
	var hdr map[string]any
	var claims map[string]any
	if decodeSeg(parts[0], &hdr) != nil || decodeSeg(parts[1], &claims) != nil {
		return 50027, "JWT token is invalid or malformed."
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return 50027, "JWT token is invalid or malformed."
	}
	var cert *x509.Certificate
	for _, c := range certs {
		s256, s1 := sha256.Sum256(c.Raw), sha1.Sum(c.Raw)
		if thumbMatches(hdr["x5t#S256"], s256[:]) || thumbMatches(hdr["x5t"], s1[:]) {
			cert = c
		}
	}
	if cert == nil {
		return 700027, "Client assertion failed signature validation. [Reason - The key was not found.]"
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return 700027, "Client assertion failed signature validation. [Reason - The key is not an RSA key.]"
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch hdr["alg"] {
	case "PS256":
		err = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	case "RS256":
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
	default:
		err = fmt.Errorf("alg %v", hdr["alg"])
	}
	if err != nil {
		return 700027, "Client assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value.]"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if claims["aud"] != s.LoginURL+"/"+s.TenantID+"/oauth2/v2.0/token" {
		return 50027, fmt.Sprintf("Invalid JWT token. The audience claim '%v' is not the token endpoint.", claims["aud"])
	}
	if claims["iss"] != clientID || claims["sub"] != clientID {
		return 700021, "Client assertion application identifier doesn't match 'client_id' parameter."
	}
	nbf, okN := num(claims["nbf"])
	exp, okE := num(claims["exp"])
	const skew = 5 * time.Minute
	if !okE || !okN || s.now.Add(skew).Before(time.Unix(nbf, 0)) || s.now.Add(-skew).After(time.Unix(exp, 0)) {
		return 700024, "Client assertion is not within its valid time range."
	}
	jti, _ := claims["jti"].(string)
	if jti == "" || s.jtis[jti] {
		return 50027, "Invalid JWT token. The token identifier (jti) has been used before."
	}
	s.jtis[jti] = true
	return 0, ""
}

func decodeSeg(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// thumbMatches accepts a thumbprint in base64url (what the documentation shows) or standard base64 (what MSAL
// Go sends).
func thumbMatches(v any, want []byte) bool {
	s, ok := v.(string)
	if !ok || s == "" {
		return false
	}
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(s); err == nil && hex.EncodeToString(b) == hex.EncodeToString(want) {
			return true
		}
	}
	return false
}

func num(v any) (int64, bool) {
	switch n := v.(type) {
	case float64:
		return int64(n), true
	case string:
		i, err := strconv.ParseInt(n, 10, 64)
		return i, err == nil
	}
	return 0, false
}

// passwordGrant is the resource-owner password sign-in: the verifier's answers, in the order Entra gives them as
// far as it is documented. Lock first (50053 answers right and wrong passwords alike); then the password, with
// smart lockout counting distinct wrong passwords; then the account's state (50057 disabled; see SetDisabledFirst
// for the other order, which Microsoft does not document [U]); then MFA (50076).
func (s *Server) passwordGrant(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	s.mu.Lock()
	app, ok := s.apps[f.Get("client_id")]
	var public bool
	var delegated []string
	if ok {
		public, delegated = app.PublicClient, app.Delegated
	}
	s.mu.Unlock()
	if !ok {
		s.stsError(w, http.StatusBadRequest, "unauthorized_client", 700016,
			fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", f.Get("client_id"), s.TenantID))
		return
	}
	if !public && f.Get("client_assertion") == "" && f.Get("client_secret") == "" {
		s.stsError(w, http.StatusUnauthorized, "invalid_client", 7000218,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	for _, sc := range strings.Fields(f.Get("scope")) {
		bare := strings.TrimPrefix(sc, graphResource+"/")
		if !slices.Contains([]string{"openid", "profile", "offline_access", "email"}, bare) && !slices.Contains(delegated, bare) {
			s.stsError(w, http.StatusBadRequest, "invalid_grant", 65001,
				fmt.Sprintf("The user or administrator has not consented to use the application with ID '%s'. Send an interactive authorization request for this user and resource.", f.Get("client_id")))
			return
		}
	}
	s.mu.Lock()
	u := s.find(f.Get("username"))
	if u == nil || u.hidden(s.now, false) {
		s.mu.Unlock()
		s.stsError(w, http.StatusBadRequest, "invalid_grant", 50034,
			"The user account does not exist in the tenant directory. To sign into this application, the account must be added to the directory.")
		return
	}
	code, msg := s.signIn(u, f.Get("password"))
	s.mu.Unlock()
	if code != 0 {
		s.stsError(w, http.StatusBadRequest, "invalid_grant", code, msg)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "scope": f.Get("scope"), "expires_in": 3599,
		"access_token": base64.RawURLEncoding.EncodeToString([]byte(newGUID()))})
}

// signIn runs one user's sign-in state machine. Call with s.mu held.
func (s *Server) signIn(u *user, password string) (int, string) {
	if s.now.Before(u.LockedUntil) {
		return 50053, "Your account is locked because you've tried to sign in too many times with an incorrect user ID or password."
	}
	if s.disabledFirst && !u.Enabled {
		return 50057, "The user account is disabled."
	}
	current := u.Password
	if u.prevPassword != "" && (u.pwLagCalls > 0 || s.now.Before(u.pwLagUntil)) {
		current = u.prevPassword // the new password has not reached the sign-in service yet
		if u.pwLagCalls > 0 {
			u.pwLagCalls--
		}
	}
	if password == "" || password != current {
		h := hashOf(password)
		if !slices.Contains(u.badHashes, h) {
			u.badHashes = append(u.badHashes, h)
			if len(u.badHashes) > 3 {
				u.badHashes = u.badHashes[1:]
			}
			u.BadCount++
			if u.BadCount >= LockoutThreshold {
				u.LockedUntil = s.now.Add(LockoutDuration << min(u.Lockouts, 6))
				u.Lockouts++
				u.BadCount = 0
				return 50053, "Your account is locked because you've tried to sign in too many times with an incorrect user ID or password."
			}
		}
		return 50126, "Error validating credentials due to invalid username or password."
	}
	if !u.Enabled {
		return 50057, "The user account is disabled."
	}
	u.BadCount, u.badHashes = 0, nil
	if u.MFA || s.mfaForAdmins && s.holdsRole(u.ID) {
		return 50076, "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '00000003-0000-0000-c000-000000000000'."
	}
	return 0, ""
}

// holdsRole says whether a user holds a directory role, directly or through a role-assignable group. Call with
// s.mu held.
func (s *Server) holdsRole(id string) bool {
	for _, a := range s.assigns {
		if a.principal == id {
			return true
		}
	}
	for _, g := range s.groups {
		if g.assignable && g.members[id] {
			return true
		}
	}
	return false
}

// hidden says whether replication still hides a new user from a request; count uses one of its hidden calls.
func (u *user) hidden(now time.Time, count bool) bool {
	if u.hideCalls > 0 {
		if count {
			u.hideCalls--
		}
		return true
	}
	return now.Before(u.hideUntil)
}
