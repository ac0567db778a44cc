// Package hubclient is the typed client of the hub's API, the one way the agent, the TechClient and the Console
// talk to a hub.
//
// A Client is built from an invite (hub URL, client GUID, hub fingerprint) and the caller's seal.Identity. It presents the
// identity's self-signed certificate as its TLS client certificate and accepts the hub only if the hub's key
// matches the pin: no certificate authority is involved, and a hub that cannot prove the pinned key gets nothing.
//
//	c, err := hubclient.New(invite, identity)
//	st, err := c.Register(ctx, wire.RegisterRequest{...})   // a tech device
//	plan, err := c.Plan(ctx, lastRev)                      // an agent, long polling
//
// Errors from the hub are *wire.Error values; errors.Is matches them against the sentinels below, so callers can
// branch on ErrPending or ErrUnauthenticated without parsing messages.
//
// An invite may name several addresses of the same hub (wire.Invite.URLs: its replicas, or more than one load
// balancer). The client uses one at a time and stays on it while it answers; when it cannot be reached (a refused
// or dropped connection, a timeout) or a proxy in front of it answers 502, 503 or 504, the client moves to the
// next address and stays there. A request is sent again on the next address only when that cannot do anything
// twice: it is a GET (long polls included), or it never left (no connection, no TLS), or a proxy answered 503
// (it forwarded nothing); a POST that may have reached a hub fails with its error, and the caller's next request
// goes to the next address. An answer of the hub itself (a 4xx refusal, a 500) is the hub speaking: the client
// never fails over on it. Every address is held to the one pinned key: one that presents another key is refused
// as a single-address client refuses it, and never becomes the address in use.
//
// Every request carries this build's wire.CapabilityVersion, and the client keeps the one the hub answers
// (HubCapability, Supports): a caller asks it whether the hub has a feature before offering it.
//
// # Reading guide
//
//   - client.go: Client, New and its options, the one request path (do) with the pin, the failover between the
//     hub's addresses, the protocol and capability headers and the error mapping; the tech's core calls (register, status, credentials, changes, events) and
//     the agent's (enroll, plan, stage, confirm, fail, report), and SealContext, which binds an envelope to its
//     account version.
//   - techwait.go: the long poll of a pending device's own status.
//   - totp.go: two-factor sessions and lockout, for the tech (enrol, code, unlock reports) and the admin
//     (policy, pause, unlock, reset), with IsTOTPRequired, IsLocked and IsWrongCode for the hub's refusals.
//   - rekey.go: device replacement, asked by the new device and decided by an admin.
//   - history.go: a tech's password history of one account.
//   - jit.go: just-in-time access: the tech's requests and the approvers' decisions and long poll.
//   - admin.go: the Console's administration: tenant and policy, admins and tokens, techs, groups, triplets,
//     agents, accounts, access and the audit log.
//   - accounts.go: retry and adoption of failed accounts, and policy changes that need a confirmation.
//   - orgs.go: client organizations, co-management, seats and admin invites.
//   - onboard.go: the co-managed onboarding of one organization in one call.
//   - techimport.go: the CSV import of techs and its reservations.
//   - identity.go: the public key the client authenticates with.
//
// client_test.go and capability_test.go run the client against fake hubs (the pin, the error mapping, a hub older
// than this build); failover_test.go against two hubs on the same key, the first dying in the middle of a long poll,
// and an address with another key; hub_test.go against the real in-process hub.
package hubclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/version"
	"github.com/watchword/watchword/shared/wire"
)

// Sentinels matched by errors.Is against errors returned by the hub.
var (
	ErrUnauthenticated = errors.New("unknown client GUID or key")
	ErrPending         = errors.New("principal is not active")
	ErrForbidden       = errors.New("forbidden")
	ErrNotFound        = errors.New("not found")
	ErrConflict        = errors.New("conflict")
	ErrInvalid         = errors.New("invalid request")
	ErrRateLimited     = errors.New("rate limited")
)

var codeSentinel = map[string]error{
	wire.CodeUnauthenticated: ErrUnauthenticated,
	wire.CodePending:         ErrPending,
	wire.CodeForbidden:       ErrForbidden,
	wire.CodeNotFound:        ErrNotFound,
	wire.CodeConflict:        ErrConflict,
	wire.CodeInvalid:         ErrInvalid,
	wire.CodeBadRequest:      ErrInvalid,
	wire.CodeTooLarge:        ErrInvalid,
	wire.CodeRateLimited:     ErrRateLimited,
}

// Error is a refusal by the hub: the HTTP status and the wire error body.
type Error struct {
	Status int
	Wire   wire.Error
}

func (e *Error) Error() string { return "hub: " + e.Wire.Error() }

// Is lets errors.Is match the sentinels.
func (e *Error) Is(target error) bool { return codeSentinel[e.Wire.Code] == target }

// Unwrap exposes the wire error, so wire.AsError finds its Code and Field.
func (e *Error) Unwrap() error { return &e.Wire }

// Client talks to one tenant on one hub as one identity. It is safe for concurrent use.
type Client struct {
	urls    []string     // the hub's addresses, in the invite's order
	cur     atomic.Int32 // index in urls of the address in use: the last one that answered
	guid    string
	id      *seal.Identity
	http    *http.Client
	public  *seal.PublicKey
	timeout time.Duration
	hubCap  atomic.Int64 // the hub's capability version from its latest answer; 0 before the first
}

// Option adjusts a Client.
type Option func(*Client)

// WithTimeout sets the timeout of ordinary requests (default 30 s); long polls add their wait to it.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) { c.timeout = d }
}

// WithTransport wraps the client's HTTP transport: a test holds or counts requests on their way to a real hub.
// The wrapped transport keeps the TLS set-up, and with it the pin check.
func WithTransport(wrap func(http.RoundTripper) http.RoundTripper) Option {
	return func(c *Client) { c.http.Transport = wrap(c.http.Transport) }
}

// New creates a client for the tenant and hub of inv, authenticating as id.
func New(inv wire.Invite, id *seal.Identity, opts ...Option) (*Client, error) {
	if err := inv.Validate(); err != nil {
		return nil, err
	}
	cert, err := id.TLSCertificate()
	if err != nil {
		return nil, fmt.Errorf("client certificate: %w", err)
	}
	tlsCfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS13,
		// The hub's certificate is self-signed: chain verification is replaced by the pin check below, which
		// runs on every full handshake (no session cache, so no resumption skips it).
		InsecureSkipVerify:    true,
		VerifyPeerCertificate: seal.VerifyPeerKeyID(inv.HubPin),
	}
	// With another address to go to, a connect is bounded, so an address whose host is gone (no refusal, no
	// answer) hands over to the next one well before the request's own timeout. With one address there is
	// nowhere to go: a hub slow to accept (its listen queue full while thousands of clients reconnect at once,
	// their SYNs retried for more than 10 s) is waited for within the request's timeout instead of counted failed.
	dial := &net.Dialer{KeepAlive: 30 * time.Second}
	if len(inv.URLs()) > 1 {
		dial.Timeout = 10 * time.Second
	}
	tr := &http.Transport{
		TLSClientConfig: tlsCfg,
		DialContext:     dial.DialContext,
		// HTTP/1.1: clients make one call at a time (a long poll, then a fetch), and under HTTP/2 each of 2,000
		// idle TechClients cost the hub a third goroutine, a framer and HPACK tables: 270 MiB against 200 MiB
		// with HTTP/1.1 in the hub-under-load benchmark, and slower full lists (flow control).
		ForceAttemptHTTP2:   false,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 16, // HTTP/1.1: an agent rotating 4 accounts at once holds its long poll and 4 calls
		IdleConnTimeout:     90 * time.Second,
	}
	c := &Client{urls: inv.URLs(), guid: inv.ClientGUID, id: id, http: &http.Client{Transport: tr}, public: id.Public(), timeout: 30 * time.Second}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// URL is the hub address the client uses now: the last one that answered, or the invite's first.
func (c *Client) URL() string { return c.urls[c.cur.Load()] }

// ClientGUID is the tenant this client talks to.
func (c *Client) ClientGUID() string { return c.guid }

// HubCapability is the hub's wire.CapabilityVersion as its latest answer on this client stated it in
// wire.HeaderCapability, refusals included: 0 before the hub has answered, wire.MinCapabilityVersion when it
// answered without the header (a hub older than the header). An answer without it after one with it (an error page
// of a proxy in between) leaves the number the hub gave; a hub that cannot be reached changes nothing.
func (c *Client) HubCapability() int { return int(c.hubCap.Load()) }

// Supports reports whether the hub has answered and has the feature that capability version v introduced (one of
// the wire.Cap constants).
func (c *Client) Supports(v int) bool { return c.HubCapability() >= v }

// noteCapability remembers the capability version an answer carries.
func (c *Client) noteCapability(h http.Header) {
	v, err := strconv.Atoi(h.Get(wire.HeaderCapability))
	if err != nil || v < wire.MinCapabilityVersion {
		c.hubCap.CompareAndSwap(0, wire.MinCapabilityVersion)
		return
	}
	c.hubCap.Store(int64(v))
}

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// do sends one request; in and out may be nil. wait extends the timeout for long polls. It starts on the address
// in use and moves on along the hub's addresses as the package comment says.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any, wait time.Duration) error {
	var body []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		body = b
	}
	target := path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	n := int32(len(c.urls))
	start := c.cur.Load()
	var pinErr error
	for i := int32(0); ; i++ {
		idx := (start + i) % n
		raw, status, err, resend := c.once(ctx, idx, method, path, target, body, wait)
		if err == nil || status != 0 && !failoverStatus(status) {
			c.cur.Store(idx) // this address answered: the next request starts here
			if err != nil {
				return err
			}
			if out == nil {
				return nil
			}
			if err := json.Unmarshal(raw, out); err != nil {
				return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
			}
			return nil
		}
		if errors.Is(err, seal.ErrUnexpectedPeer) && pinErr == nil {
			pinErr = err
		}
		next := (idx + 1) % n
		if ctx.Err() != nil || n == 1 || !resend || i == n-1 {
			if n > 1 && ctx.Err() == nil {
				c.cur.CompareAndSwap(idx, next) // the caller's next request tries the next address
			}
			if pinErr != nil && !errors.Is(err, seal.ErrUnexpectedPeer) && i == n-1 {
				return pinErr // another key on the way matters more than a later address being down
			}
			return err
		}
	}
}

// failoverStatus is an answer of a proxy in front of a hub that cannot reach it: the hub itself never sends these.
func failoverStatus(status int) bool {
	return status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

// once sends one request to the address urls[idx]. It returns the answer's body and status (0 when none came),
// the request's error, and whether sending the request again elsewhere cannot do anything twice.
func (c *Client) once(ctx context.Context, idx int32, method, path, target string, body []byte, wait time.Duration) (raw []byte, status int, err error, resend bool) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout+wait)
	defer cancel()
	var sent atomic.Bool // request headers written: a hub may have acted on it
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteHeaders: func() { sent.Store(true) }})
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.urls[idx]+target, rd)
	if err != nil {
		return nil, 0, fmt.Errorf("%s %s: %w", method, path, err), false
	}
	req.Header.Set(wire.HeaderProtocol, strconv.Itoa(wire.ProtocolVersion))
	req.Header.Set(wire.HeaderCapability, strconv.Itoa(wire.CapabilityVersion))
	req.Header.Set(wire.HeaderClient, c.guid)
	req.Header.Set("User-Agent", "watchword/"+version.Version) // the hub shows a tech device's release
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	idempotent := method == http.MethodGet || method == http.MethodHead
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("%s %s: %w", method, path, err), idempotent || !sent.Load()
	}
	defer resp.Body.Close()
	c.noteCapability(resp.Header)
	raw, err = io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, 0, fmt.Errorf("%s %s: read answer: %w", method, path, err), idempotent
	}
	if resp.StatusCode/100 != 2 {
		e := &Error{Status: resp.StatusCode}
		if json.Unmarshal(raw, &e.Wire) != nil || e.Wire.Code == "" {
			e.Wire = wire.Error{Code: wire.CodeInternal, Message: fmt.Sprintf("HTTP %d", resp.StatusCode)}
		}
		return nil, resp.StatusCode, e, idempotent || resp.StatusCode == http.StatusServiceUnavailable
	}
	return raw, resp.StatusCode, nil, false
}

func (c *Client) get(ctx context.Context, path string, q url.Values, out any) error {
	return c.do(ctx, http.MethodGet, path, q, nil, out, 0)
}

func (c *Client) post(ctx context.Context, path string, in, out any) error {
	return c.do(ctx, http.MethodPost, path, nil, in, out, 0)
}

// act posts action on object id under base (…/techs/7/approve) and returns the object as the hub now has it.
func act[T any](ctx context.Context, c *Client, base string, id int64, action string) (*T, error) {
	var out T
	return &out, c.post(ctx, idPath(base, id)+"/"+action, struct{}{}, &out)
}

func idPath(base string, id int64) string { return base + "/" + strconv.FormatInt(id, 10) }

// keyOr is pk, or the public key of this client's identity when pk is empty: what a request that names the key
// it registers (a device, an agent, a replacement) sends by default.
func (c *Client) keyOr(pk string) string {
	if pk == "" {
		return c.public.String()
	}
	return pk
}

func waitQuery(since int64, wait time.Duration) url.Values {
	q := url.Values{"since": {strconv.FormatInt(since, 10)}}
	if wait > 0 {
		q.Set("waitms", strconv.FormatInt(wait.Milliseconds(), 10))
	}
	return q
}

// Healthz checks that the hub answers.
func (c *Client) Healthz(ctx context.Context) error { return c.get(ctx, wire.PathHealthz, nil, nil) }

// Health is the hub's health answer: since wire.CapHubURLs it names the hub's public URLs and its database.
func (c *Client) Health(ctx context.Context) (*wire.Health, error) {
	var out wire.Health
	return &out, c.get(ctx, wire.PathHealthz, nil, &out)
}

// ---- tech ----

// Register registers this device as a tech; PublicKey is filled in from the identity when empty.
func (c *Client) Register(ctx context.Context, req wire.RegisterRequest) (*wire.TechStatusResponse, error) {
	req.PublicKey = c.keyOr(req.PublicKey)
	var out wire.TechStatusResponse
	return &out, c.post(ctx, wire.PathTechRegister, req, &out)
}

// Status returns this tech's own status; it works in every state.
func (c *Client) Status(ctx context.Context) (*wire.TechStatusResponse, error) {
	var out wire.TechStatusResponse
	return &out, c.get(ctx, wire.PathTechStatus, nil, &out)
}

// Credentials lists the accounts this tech is entitled to with their sealed versions.
func (c *Client) Credentials(ctx context.Context) (*wire.CredentialsResponse, error) {
	var out wire.CredentialsResponse
	return &out, c.get(ctx, wire.PathTechCredentials, nil, &out)
}

// CredentialsSince asks for what changed after the list a device holds (its Revision and Grants); the answer is
// a delta (Delta true) or, when the hub cannot give one, the full list. See wire.CredentialsResponse.
func (c *Client) CredentialsSince(ctx context.Context, since int64, grants string) (*wire.CredentialsResponse, error) {
	var out wire.CredentialsResponse
	q := url.Values{"since": {strconv.FormatInt(since, 10)}}
	if grants != "" {
		q.Set("grants", grants)
	}
	return &out, c.get(ctx, wire.PathTechCredentials, q, &out)
}

// WaitChanges long-polls until a change that concerns this tech passes revision since, or wait (at most
// wire.MaxWait) elapses.
func (c *Client) WaitChanges(ctx context.Context, since int64, wait time.Duration) (*wire.ChangesResponse, error) {
	var out wire.ChangesResponse
	return &out, c.do(ctx, http.MethodGet, wire.PathTechChanges, waitQuery(since, wait), nil, &out, wait)
}

// ReportEvent reports a reveal or copy of a credential version.
func (c *Client) ReportEvent(ctx context.Context, ev wire.EventRequest) error {
	if !c.Supports(wire.CapTechEventSignature) { // an older hub refuses the fields it does not know
		ev.Signature, ev.SignedAt = nil, time.Time{}
	}
	return c.post(ctx, wire.PathTechEvents, ev, nil)
}

// ---- agent ----

// Enroll enrolls this identity as an agent with a single-use token.
func (c *Client) Enroll(ctx context.Context, req wire.EnrollRequest) (*wire.EnrollResponse, error) {
	req.PublicKey = c.keyOr(req.PublicKey)
	var out wire.EnrollResponse
	return &out, c.post(ctx, wire.PathAgentEnroll, req, &out)
}

// DefaultPlanWait is how long Plan holds a long poll.
const DefaultPlanWait = 25 * time.Second

// Plan fetches the agent's plan. With since > 0 it long-polls (DefaultPlanWait) until the tenant's revision passes
// since or a rotation falls due; Changed says which.
func (c *Client) Plan(ctx context.Context, since int64) (*wire.Plan, error) {
	return c.PlanWait(ctx, since, DefaultPlanWait)
}

// PlanWait is Plan with an explicit wait.
func (c *Client) PlanWait(ctx context.Context, since int64, wait time.Duration) (*wire.Plan, error) {
	var out wire.Plan
	return &out, c.do(ctx, http.MethodGet, wire.PathAgentPlan, waitQuery(since, wait), nil, &out, wait)
}

// Stage stores a sealed new version before the agent sets it on the target.
func (c *Client) Stage(ctx context.Context, accountID, version int64, envelope []byte) error {
	return c.StageSigned(ctx, accountID, version, envelope, nil)
}

// StageSigned is Stage with the agent's signature over the version's envelope statement (authority.SignEnvelope),
// which the hub keeps with the version for the tech's device to verify. A hub that has not said it takes the
// signature (wire.CapEnvelopeSignature; an agent polls its plan before it stages) gets the version without it.
func (c *Client) StageSigned(ctx context.Context, accountID, version int64, envelope, signature []byte) error {
	return c.post(ctx, wire.PathAgentStage, wire.StageRequest{AccountID: accountID, Version: version, Envelope: envelope,
		Signature: c.signatureFor(signature)}, nil)
}

// signatureFor is signature when the hub takes it, nil otherwise: an older hub refuses a field it does not know.
func (c *Client) signatureFor(signature []byte) []byte {
	if !c.Supports(wire.CapEnvelopeSignature) {
		return nil
	}
	return signature
}

// Confirm records that the target holds the staged version and it verified.
func (c *Client) Confirm(ctx context.Context, accountID, version int64) error {
	return c.post(ctx, wire.PathAgentConfirm, wire.ConfirmRequest{AccountID: accountID, Version: version}, nil)
}

// Fail records that the target never took the staged version.
func (c *Client) Fail(ctx context.Context, accountID, version int64, reason string) error {
	return c.post(ctx, wire.PathAgentFail, wire.FailRequest{AccountID: accountID, Version: version, Reason: reason}, nil)
}

// ReportAccounts reports the observed state of accounts on the target.
func (c *Client) ReportAccounts(ctx context.Context, reports []wire.AccountReport) error {
	return c.post(ctx, wire.PathAgentAccounts, wire.AccountsReport{Accounts: reports}, nil)
}

// SealContext is the seal.Context an envelope of an account version is bound to: the agent seals under it and
// the tech opens under it. Plan and Credential carry every field it needs.
func SealContext(clientGUID string, agentID int64, accountName string, version int64) seal.Context {
	return seal.Context{Tenant: clientGUID, Agent: strconv.FormatInt(agentID, 10), Account: accountName, Version: version}
}
