package hubclient

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/watchword/watchword/shared/wire"
)

// Just-in-time access (wire/jit.go describes the flow).

// RequestJIT asks for a window on one of this tech's JIT accounts: the grant comes back approved (the agent
// enables the account within seconds) or pending when the account's triplet requires an approver.
func (c *Client) RequestJIT(ctx context.Context, req wire.JITRequest) (*wire.JITGrant, error) {
	if !c.Supports(wire.CapTechEventSignature) { // an older hub refuses the fields it does not know
		req.Signature, req.SignedAt = nil, time.Time{}
	}
	var out wire.JITGrant
	return &out, c.post(ctx, wire.PathTechJIT, req, &out)
}

// EndJIT closes one of this tech's open grants before expiry (the Done button): a pending one is withdrawn, an
// open window closes and the agent disables the account and rotates its password away from this device.
func (c *Client) EndJIT(ctx context.Context, id int64) (*wire.JITGrant, error) {
	var out wire.JITGrant
	return &out, c.post(ctx, wire.TechJITPath(id, wire.ActionJITDone), struct{}{}, &out)
}

// ListMyJIT lists this tech's grants, newest first.
func (c *Client) ListMyJIT(ctx context.Context) ([]wire.JITGrant, error) {
	var out wire.JITGrantsResponse
	return out.Grants, c.get(ctx, wire.PathTechJIT, nil, &out)
}

// ListJITRequests lists the grants this admin may see (a Co-managed Manager: its organization's techs), newest
// first; status filters when not empty (wire.JITPending for the approval queue, wire.JITOpen for pending, approved
// and active ones).
func (c *Client) ListJITRequests(ctx context.Context, status wire.JITStatus) ([]wire.JITGrant, error) {
	r, err := c.WaitJITRequests(ctx, status, 0, 0)
	if err != nil {
		return nil, err
	}
	return r.Grants, nil
}

// WaitJITRequests is the Console's notification: with since > 0 (the Revision of the list it holds) the hub holds
// the request until a JIT grant changes after since or wait (at most wire.MaxWait) elapses, then lists as
// ListJITRequests does. Changed is false when the wait timed out.
func (c *Client) WaitJITRequests(ctx context.Context, status wire.JITStatus, since int64, wait time.Duration) (*wire.JITGrantsResponse, error) {
	q := url.Values{}
	if status != "" {
		q.Set("status", string(status))
	}
	if since > 0 {
		q.Set("since", strconv.FormatInt(since, 10))
		if wait > 0 {
			q.Set("waitms", strconv.FormatInt(wait.Milliseconds(), 10))
		}
	}
	var out wire.JITGrantsResponse
	return &out, c.do(ctx, http.MethodGet, wire.PathAdminJIT, q, nil, &out, wait)
}

// ApproveJIT approves a pending grant (Owner, Administrator, or the Co-managed Manager of the tech's
// organization): its window opens now.
func (c *Client) ApproveJIT(ctx context.Context, id int64, note string) (*wire.JITGrant, error) {
	var out wire.JITGrant
	return &out, c.post(ctx, wire.AdminJITPath(id, wire.ActionJITApprove), wire.JITDecision{Note: note}, &out)
}

// RefuseJIT refuses a pending grant; note (optional) is shown to the tech.
func (c *Client) RefuseJIT(ctx context.Context, id int64, note string) (*wire.JITGrant, error) {
	var out wire.JITGrant
	return &out, c.post(ctx, wire.AdminJITPath(id, wire.ActionJITRefuse), wire.JITDecision{Note: note}, &out)
}

// EndJITNow closes an open window early (or withdraws a pending request) as an approver; note (optional) is
// kept and audited. The agent disables the account and rotates it away as at expiry.
func (c *Client) EndJITNow(ctx context.Context, id int64, note string) (*wire.JITGrant, error) {
	var out wire.JITGrant
	return &out, c.post(ctx, wire.AdminJITPath(id, wire.ActionJITEnd), wire.JITDecision{Note: note}, &out)
}

// UpdateTriplet changes a triplet's mode (standing or jit, maximum duration, approval).
func (c *Client) UpdateTriplet(ctx context.Context, id int64, t wire.TripletRequest) (*wire.Triplet, error) {
	var out wire.Triplet
	return &out, c.do(ctx, http.MethodPut, idPath(wire.PathAdminTriplets, id), nil, t, &out, 0)
}

// StageRecoveryOnly stores a sealed new version whose envelope only the recovery recipient opens (a JIT account
// outside its window); the hub never hands it to the tech.
func (c *Client) StageRecoveryOnly(ctx context.Context, accountID, version int64, envelope []byte) error {
	return c.StageRecoveryOnlySigned(ctx, accountID, version, envelope, nil)
}

// StageRecoveryOnlySigned is StageRecoveryOnly with the agent's signature over the envelope statement.
func (c *Client) StageRecoveryOnlySigned(ctx context.Context, accountID, version int64, envelope, signature []byte) error {
	return c.post(ctx, wire.PathAgentStage, wire.StageRequest{AccountID: accountID, Version: version, Envelope: envelope,
		RecoveryOnly: true, Signature: c.signatureFor(signature)}, nil)
}

// StoreJITTAP hands the hub the sealed Temporary Access Pass the agent issued for an open window (capability
// wire.CapJITTAP; an older hub answers not found).
func (c *Client) StoreJITTAP(ctx context.Context, req wire.JITTAPRequest) error {
	req.Signature = c.signatureFor(req.Signature)
	return c.post(ctx, wire.PathAgentJITTAP, req, nil)
}
