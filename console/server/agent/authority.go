package agent

// The signed authority (package shared/authority), for an agent pinned to its tenant's anchor.
//
// The hub decides nothing such an agent acts on. Before every pass the runner brings its chain to the head the
// plan names — fetching the updates after its own head, verifying each against the admins the chain already
// trusts, and keeping them on disk (AuthorityPin.File, atomically, mode 0600) before it acts, so that a restarted
// agent still refuses an older head — and then checks every recipient, group and account name of the plan against
// the signed state (authority.Chain.CheckPlan). The pass then works on that very plan, so what it seals to and
// grants is exactly what was checked.
//
// A plan that fails any step is refused whole: nothing is ensured, staged or set. Only its Disable list is carried
// out, since taking access away never widens who can read a password (and the drivers refuse to disable an
// account that is not Watchword's). The refusal is logged once, as one line naming what was refused, and reported
// to the hub (wire.AgentAuthorityReport), which shows it on the admin's agent list as an alert; the first plan
// that passes again reports the head with an empty refusal, which clears it. Every head the chain advances to is
// reported as a receipt; an unchanged one is not reported again.
//
// The kept chain is read and verified again by New. A file that does not verify, or belongs to another anchor,
// refuses every plan until someone deals with it on this machine: the agent never starts over from what the hub
// serves, which would let the hub choose the history. A runner without an AuthorityPin trusts the hub's plan as
// agents always did.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/watchword/watchword/shared/atomicfile"
	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

// AuthorityPin pins a runner to its tenant's signed authority.
type AuthorityPin struct {
	// Anchor is the tenant and genesis hash pinned at enrolment, never learnt from the hub.
	Anchor authority.Anchor
	// File keeps the verified updates between runs (required).
	File string
	// Hub serves the updates and takes the agent's receipts; usually the same client as Config.Hub.
	Hub AuthorityHub
}

// AuthorityHub is what a pinned runner needs of the hub besides HubClient.
type AuthorityHub interface {
	Authority(ctx context.Context, since int64) (*wire.AuthorityResponse, error)
	ReportAuthority(ctx context.Context, r wire.AgentAuthorityReport) error
}

var _ AuthorityHub = (*hubclient.Client)(nil)

// errUnreachable marks a check that failed because the hub did not answer, as opposed to one that found the plan
// wanting: the pass still acts on nothing, but the runner backs off as for any outage and reports no refusal.
var errUnreachable = errors.New("the hub did not answer")

// pin is a runner's verified position in the signed authority.
type pin struct {
	cfg AuthorityPin

	mu     sync.Mutex // one check at a time
	chain  *authority.Chain
	broken error                      // the kept chain is unusable: every plan is refused with it
	sent   *wire.AgentAuthorityReport // the last report the hub took
	logged string                     // the last refusal logged
}

// loadPin reads the kept chain; a missing file is a chain at its anchor, before the genesis.
func loadPin(p *AuthorityPin) (*pin, error) {
	if p.Hub == nil || p.File == "" || p.Anchor.Tenant == "" || p.Anchor.Genesis.IsZero() {
		return nil, errors.New("agent: a signed authority pin needs an anchor, a file and a hub")
	}
	out := &pin{cfg: *p}
	b, err := os.ReadFile(p.File)
	switch {
	case errors.Is(err, os.ErrNotExist):
		out.chain = authority.NewChain(p.Anchor)
		return out, nil
	case err != nil:
		out.broken = fmt.Errorf("the verified signed authority %q is unreadable: %w", p.File, err)
		return out, nil
	}
	c, err := authority.LoadChain(b)
	switch {
	case err != nil:
		out.broken = fmt.Errorf("the verified signed authority %q does not verify (%w); this agent refuses every plan "+
			"until it is restored or the agent is pinned again", p.File, err)
	case c.Anchor() != p.Anchor:
		out.broken = fmt.Errorf("the verified signed authority %q is of genesis %s, but this agent is pinned to %s; this "+
			"agent refuses every plan until the file is removed or the agent is pinned again", p.File,
			short(c.Anchor().Genesis), short(p.Anchor.Genesis))
	default:
		out.chain = c
	}
	return out, nil
}

// short is a hash's prefix for messages: enough to tell heads apart, short enough to read.
func short(h authority.Hash) string { return h.String()[:16] }

// checkAuthority verifies plan against the signed authority, advancing and keeping the chain first, then reports
// the outcome to the hub when it changed. A non-nil error refuses the plan.
func (r *Runner) checkAuthority(ctx context.Context, plan *wire.Plan) error {
	p := r.pin
	p.mu.Lock()
	defer p.mu.Unlock()
	applied, err := r.verifyPlan(ctx, plan)
	if applied > 0 {
		seq, h := p.chain.Head()
		r.log.Info("signed authority verified", "updates", applied, "head", seq, "hash", short(h))
	}
	if errors.Is(err, errUnreachable) {
		r.log.Warn("plan not acted on: the signed authority could not be fetched", "revision", plan.Revision, "err", err)
		return err
	}
	refusal := ""
	if err != nil {
		refusal = clip(oneLine(err.Error()))
		r.stats.refused.Add(1)
		if refusal != p.logged {
			// One line, clipped as the report is: a plan of thousands of accounts can fail for each of them.
			problems := 1
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				problems = len(j.Unwrap())
			}
			r.log.Error("plan refused: the signed authority does not allow it; acting on none of it but its disables",
				"revision", plan.Revision, "problems", problems, "refused", refusal)
		}
	} else if p.logged != "" {
		r.log.Info("plan verified against the signed authority again", "revision", plan.Revision)
	}
	p.logged = refusal
	r.reportAuthority(ctx, wire.AgentAuthorityReport{Head: p.head(), Refusal: refusal})
	return err
}

// verifyPlan is checkAuthority's work, under p.mu: it returns the updates it applied and why it refuses plan.
func (r *Runner) verifyPlan(ctx context.Context, plan *wire.Plan) (applied int, err error) {
	p := r.pin
	if p.broken != nil {
		return 0, p.broken
	}
	if plan.Authority == nil {
		return 0, fmt.Errorf("the hub serves no signed authority, but this agent is pinned to %s", short(p.cfg.Anchor.Genesis))
	}
	want, err := authority.ParseHash(plan.Authority.Hash)
	if err != nil {
		return 0, fmt.Errorf("the plan's signed authority head: %w", err)
	}
	if err := p.chain.CheckHead(plan.Authority.Seq, want); err != nil {
		return 0, err
	}
	if !p.at(plan.Authority.Seq, want) {
		applied, err = r.advance(ctx, plan.Authority.Seq)
		if applied > 0 {
			if kerr := p.keep(); kerr != nil {
				// Acting on a state this agent could forget would let a restart accept an older head.
				return applied, kerr
			}
		}
		if err != nil {
			return applied, err
		}
		if !p.at(plan.Authority.Seq, want) {
			seq, h := p.chain.Head()
			return applied, fmt.Errorf("%w: the plan names signed authority head %d (%s), but the updates the hub "+
				"serves lead to %d (%s)", authority.ErrFork, plan.Authority.Seq, short(want), seq, short(h))
		}
	}
	return applied, p.chain.CheckPlan(plan)
}

// at reports whether the chain's verified head is (seq, h).
func (p *pin) at(seq uint64, h authority.Hash) bool {
	if p.chain.State() == nil {
		return false
	}
	s, head := p.chain.Head()
	return s == seq && head == h
}

// head is the chain's head as the hub's messages carry it; nil before the genesis.
func (p *pin) head() *wire.AuthorityHead {
	if p.chain == nil || p.chain.State() == nil {
		return nil
	}
	seq, h := p.chain.Head()
	return &wire.AuthorityHead{Seq: seq, Hash: h.String()}
}

// advance fetches and verifies the updates after the chain's head up to upTo, the head the plan names: the plan
// is checked against the state it was made from, so an update the admins publish meanwhile is verified with the
// next plan, which names it, instead of making this one look wrong.
func (r *Runner) advance(ctx context.Context, upTo uint64) (applied int, err error) {
	p := r.pin
	for {
		since := int64(-1)
		if p.chain.State() != nil {
			seq, _ := p.chain.Head()
			since = int64(seq)
		}
		fctx, cancel := context.WithTimeout(ctx, r.stepTimeout())
		resp, err := p.cfg.Hub.Authority(fctx, since)
		cancel()
		if err != nil {
			if isRefusal(err) {
				return applied, fmt.Errorf("fetch the signed authority: %w", err)
			}
			return applied, fmt.Errorf("%w: fetch the signed authority: %v", errUnreachable, err)
		}
		batch, beyond := resp.Updates, false
		for i, b := range resp.Updates {
			// An update that does not decode is left to Advance, which refuses it with the reason.
			if u, err := authority.Decode(b); err == nil && u.Seq > upTo {
				batch, beyond = resp.Updates[:i], true
				break
			}
		}
		n, err := p.chain.Advance(batch...)
		applied += n
		if err != nil {
			return applied, err
		}
		if beyond || !resp.More || n == 0 {
			return applied, nil
		}
	}
}

// keep writes the chain to its file before the runner acts on what it verified.
func (p *pin) keep() error {
	b, err := p.chain.MarshalBinary()
	if err == nil {
		err = atomicfile.Write(p.cfg.File, b, 0o600)
	}
	if err != nil {
		return fmt.Errorf("keep the verified signed authority in %q: %w", p.cfg.File, err)
	}
	return nil
}

// reportAuthority sends rep unless the hub already took the same one; a report that fails is sent again with the
// next plan.
func (r *Runner) reportAuthority(ctx context.Context, rep wire.AgentAuthorityReport) {
	p := r.pin
	if s := p.sent; s != nil && s.Refusal == rep.Refusal && (s.Head == nil) == (rep.Head == nil) &&
		(s.Head == nil || *s.Head == *rep.Head) {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, r.stepTimeout())
	err := p.cfg.Hub.ReportAuthority(rctx, rep)
	cancel()
	if err != nil {
		r.log.Warn("report the signed authority head", "err", err)
		return
	}
	p.sent = &rep
}

// disablesOnly is what a refused plan still lets the runner do: disable the accounts it lists.
func disablesOnly(plan *wire.Plan) *wire.Plan {
	return &wire.Plan{ClientGUID: plan.ClientGUID, AgentID: plan.AgentID, Driver: plan.Driver, Revision: plan.Revision,
		Disable: plan.Disable, Changed: plan.Changed}
}
