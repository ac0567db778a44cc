package vm

// The signed authority (package shared/authority) on a technician's device.
//
// An invite that carries the genesis hash of the tenant's signed authority (wire.Invite.Authority, pasted from the
// admin, never learnt from the hub) pins this device to it. From then on the device keeps a verified chain of the
// admins' updates in Options.Dir/authority.cbor (mode 0600, written before it is relied on, verified again at
// every start) and follows the hub's head: an older head (rollback) or a diverging one (fork) is refused and
// shown, and the device keeps what it verified. Before a password is shown, copied or opened from the history,
// the envelope's statement (tenant, agent, account, version, the envelope's hash) must carry the signature of
// the agent it names, with the key the admins enrolled for that agent (authority.State.VerifyEnvelope). An
// unsigned envelope, or one signed by anyone else, is never opened: its row shows an alert instead. age does not
// authenticate who sealed a file, so without this a hub could hand a technician a "password" of its choosing.
//
// A device without an anchor behaves as before: the hub's envelopes are opened as they come.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

// authorityFile keeps the signed authority this device verified.
const authorityFile = "authority.cbor"

// UnsignedAlert is what a row shows instead of a password whose envelope no enrolled agent signed.
const UnsignedAlert = "Not signed by an agent the admins enrolled: this password is not shown. Tell your MSP's admins."

// trust is the device's verified position in the signed authority; nil when the device has no anchor.
type trust struct {
	chain  *authority.Chain // nil when broken
	broken error            // the kept chain is unusable: nothing verifies until it is restored or the device re-registered
}

// loadTrust reads the chain kept for the invite's anchor; a missing file is a chain at its anchor, before the
// genesis. A device without an anchor gets nil.
func loadTrust(dir string, inv wire.Invite) *trust {
	if inv.Authority == "" {
		return nil
	}
	g, err := authority.ParseHash(inv.Authority)
	if err != nil {
		return &trust{broken: fmt.Errorf("the invite's signed authority: %w", err)}
	}
	anchor := authority.Anchor{Tenant: inv.ClientGUID, Genesis: g}
	path := filepath.Join(dir, authorityFile)
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return &trust{chain: authority.NewChain(anchor)}
	case err != nil:
		return &trust{broken: fmt.Errorf("the verified signed authority %q is unreadable: %w", path, err)}
	}
	c, err := authority.LoadChain(b)
	switch {
	case err != nil:
		return &trust{broken: fmt.Errorf("the verified signed authority %q does not verify: %w", path, err)}
	case c.Anchor() != anchor:
		return &trust{broken: fmt.Errorf("the verified signed authority %q is another tenant's or genesis's", path)}
	}
	return &trust{chain: c}
}

// verify checks the statement of one version against the verified state.
func (t *trust) verify(guid string, agent, account int64, accountName string, v *wire.CredentialVersion) error {
	if t.broken != nil {
		return fmt.Errorf("%w: %w", authority.ErrEnvelopeSignature, t.broken)
	}
	st := authority.NewEnvelopeStatement(guid, agent, account, accountName, v.Version, v.Envelope)
	return t.chain.State().VerifyEnvelope(st, v.Signature)
}

// trusted returns the device's trust, loading it for the device's invite the first time; nil without an anchor.
func (a *App) trusted() *trust {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.trust == nil && a.dev != nil && a.dev.Invite.Authority != "" {
		a.trust = loadTrust(a.o.Dir, a.dev.Invite)
	}
	return a.trust
}

// syncAuthority brings the chain to the hub's head before a fetched list is shown. It returns alert when the hub
// serves authority that does not verify (a rollback, a fork, a bad update: the device keeps what it verified and
// says so) and err when the hub could not be asked. A hub older than the signed authority serves none: every
// envelope then fails to verify, which the rows show.
func (a *App) syncAuthority(ctx context.Context, h Hub) (alert, err error) {
	t := a.trusted()
	if t == nil || t.chain == nil || lacks(h, wire.CapAuthority) {
		return nil, nil
	}
	for {
		since := int64(-1)
		if t.chain.State() != nil {
			seq, _ := t.chain.Head()
			since = int64(seq)
		}
		resp, err := h.Authority(ctx, since)
		if err != nil {
			var he *hubclient.Error
			if errors.As(err, &he) {
				return fmt.Errorf("fetch the signed authority: %w", err), nil
			}
			return nil, err
		}
		n, aerr := t.chain.Advance(resp.Updates...)
		if n > 0 {
			if kerr := a.keepAuthority(t); kerr != nil {
				return kerr, nil
			}
		}
		if aerr != nil {
			return fmt.Errorf("the hub's signed authority does not verify, this device keeps what it verified: %w", aerr), nil
		}
		if resp.Head != nil {
			hh, perr := authority.ParseHash(resp.Head.Hash)
			if perr != nil {
				return fmt.Errorf("the hub's signed authority head: %w", perr), nil
			}
			if cerr := t.chain.CheckHead(resp.Head.Seq, hh); cerr != nil {
				return fmt.Errorf("the hub's signed authority: %w", cerr), nil
			}
		}
		if !resp.More || n == 0 {
			return nil, nil
		}
	}
}

// keepAuthority writes the chain to the device directory before anything is verified against it, so that a
// restarted device still refuses an older head.
func (a *App) keepAuthority(t *trust) error {
	b, err := t.chain.MarshalBinary()
	if err == nil {
		err = writeAtomic(filepath.Join(a.o.Dir, authorityFile), b)
	}
	if err != nil {
		return fmt.Errorf("keep the verified signed authority: %w", err)
	}
	return nil
}

// checkRows sets the alert of every row whose shown version no enrolled agent signed; rows of a device without
// an anchor are left as they are.
func (a *App) checkRows(rows []*Row) {
	t := a.trusted()
	if t == nil {
		return
	}
	for _, r := range rows {
		if r.envelope == nil {
			continue // nothing to open
		}
		if r.verify(t) != nil {
			r.Alert = UnsignedAlert
		}
	}
}

// reportRefused tells the admins, once per version, of every row whose version this device refused to open: a
// signature that does not verify means someone other than an enrolled agent made the envelope, most likely a
// breached hub, and the Consoles show each report as an alert. The report is signed by the device like a reveal.
func (a *App) reportRefused(rows []*Row) {
	for _, r := range rows {
		if r.Alert != UnsignedAlert {
			continue
		}
		k := [2]int64{r.AccountID, r.Version}
		a.mu.Lock()
		if a.refused == nil {
			a.refused = map[[2]int64]bool{}
		}
		seen := a.refused[k]
		a.refused[k] = true
		a.mu.Unlock()
		if !seen {
			a.report(wire.EventRequest{Kind: wire.EventUnsigned, AccountID: r.AccountID, Version: r.Version})
		}
	}
}

// verify checks the row's shown version.
func (r *Row) verify(t *trust) error {
	return t.verify(r.guid, r.AgentID, r.AccountID, r.Account, &wire.CredentialVersion{Version: r.Version,
		Envelope: r.envelope, Signature: r.signature})
}
