package hub

// Device replacement and terminated staff.
//
// A tech with a lost laptop registers the new device with POST PathTechRekey, naming the existing username and its
// email. The request waits as a re-key; the admin compares the old and the new fingerprint side by side and
// approves. In the approving transaction the new key becomes the tech's (the old one stops authenticating at once),
// every staged and confirmed envelope of the tech is retired (none sealed to the old key stays current), every
// account of the tech is due for rotation now, and the TOTP session is dropped. A deactivated tech cannot
// re-register under the same username: the "disable password reset" for terminated employees.

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/wire"
)

func rekeyWire(k *store.Rekey, t *store.Tech) wire.Rekey {
	out := wire.Rekey{ID: k.ID, TechID: k.TechID, Status: k.Status, OldFingerprint: k.OldFingerprint, Fingerprint: k.Fingerprint,
		CreatedAt: k.CreatedAt, DecidedAt: k.DecidedAt}
	if t != nil {
		out.Username, out.Organization = t.Username, t.Organization
	}
	return out
}

var errDeactivated = &wire.Error{Code: wire.CodeForbidden, Field: "username",
	Message: "this tech is deactivated: a deactivated tech cannot register a device again"}

// errRekeyRefused is the one answer to a re-key that names no active tech by both username and email, and to one
// for a tech whose replacement is already waiting: the caller learns neither whether the username exists nor
// whether the email was right nor whether another device asked first.
var errRekeyRefused = &wire.Error{Code: wire.CodeForbidden,
	Message: "no device replacement was started: check the username and the email you registered with; if both are right, ask your admin (a replacement may already be waiting for a decision)"}

// techRekey registers the caller's key as the replacement device of an existing tech.
//
// At most one re-key per tech waits. Another device's request for the same tech while one is pending is refused
// with errRekeyRefused, as an unknown username is, and counted on the pending request (Contested, with that
// device's fingerprint) and audited as tech.rekey-contested: the admin sees it before deciding. Only once the
// admin rejects the pending request does a new one get in; the device that made the pending request gets it back.
func (h *Hub) techRekey(r *request) (any, error) {
	var req wire.RekeyRequest
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	var errs []error
	pk, err := r.checkKey("publicKey", req.PublicKey)
	errs = append(errs, err)
	if !usernameRE.MatchString(req.Username) {
		errs = append(errs, wire.Invalid("username", "is not a valid username"))
	}
	if strings.TrimSpace(req.Email) == "" {
		errs = append(errs, wire.Invalid("email", "is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var out wire.Rekey
	var refused error // committed with its audit event, answered afterwards
	again := false    // the device of the pending request asked again: it gets that request back
	err = h.mutate(r.Context(), r.tenant, principal{kind: "tech"}, func(c *change) error {
		c.bump = false
		t, err := c.tx.TechByUsername(r.tenant.ID, req.Username)
		if errors.Is(err, store.ErrNotFound) {
			return errRekeyRefused
		}
		if err != nil {
			return err
		}
		c.actor.id = t.ID
		switch {
		case !strings.EqualFold(strings.TrimSpace(req.Email), t.Email):
			return errRekeyRefused
		case t.Status == wire.TechDisabled:
			return errNoChange // refused and audited below
		case t.Status != wire.TechActive:
			return &wire.Error{Code: wire.CodeConflict, Field: "username", Message: fmt.Sprintf("tech is %s: only an active tech's device can be replaced", t.Status)}
		}
		if _, err := c.tx.TechByKey(r.tenant.ID, pk.ID()); err == nil {
			return &wire.Error{Code: wire.CodeConflict, Field: "publicKey", Message: "this device is already registered"}
		}
		pending, err := c.tx.Rekeys(r.tenant.ID, wire.RekeyPending)
		if err != nil {
			return err
		}
		for _, k := range pending {
			switch {
			case k.TechID != t.ID:
				continue
			case k.KeyID == pk.ID():
				out, again = rekeyWire(&k, t), true
				return errNoChange
			}
			fp := pk.Fingerprint().String()
			if err := c.tx.ContestRekey(r.tenant.ID, k.ID, fp, c.at); err != nil {
				return err
			}
			c.bump = true // admins' pending lists
			refused = errRekeyRefused
			return c.audit("tech.rekey-contested", fmt.Sprintf("tech %d", t.ID),
				fmt.Sprintf("username=%q pending=%d pendingFingerprint=%q refusedFingerprint=%q", t.Username, k.ID, k.Fingerprint, fp))
		}
		k := &store.Rekey{TenantID: r.tenant.ID, TechID: t.ID, PublicKey: pk.String(), KeyID: pk.ID(),
			Fingerprint: pk.Fingerprint().String(), OldKeyID: t.KeyID, OldFingerprint: t.Fingerprint, Status: wire.RekeyPending, CreatedAt: c.at}
		if err := c.tx.CreateRekey(k); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &wire.Error{Code: wire.CodeConflict, Field: "publicKey", Message: "this device already asked to replace a tech's"}
			}
			return err
		}
		c.bump = true // admins' pending lists
		out = rekeyWire(k, t)
		return c.audit("tech.rekey-request", fmt.Sprintf("tech %d", t.ID),
			fmt.Sprintf("username=%q old=%q new=%q", t.Username, k.OldFingerprint, k.Fingerprint))
	})
	switch {
	case errors.Is(err, errNoChange) && again:
		return out, nil
	case errors.Is(err, errNoChange):
		// The refusal of a terminated tech is audited on its own (the refused transaction rolled back).
		h.auditDeactivatedRekey(r, req.Username)
		return nil, errDeactivated
	case err != nil:
		return nil, err
	case refused != nil:
		return nil, refused
	}
	return out, nil
}

func (h *Hub) auditDeactivatedRekey(r *request, username string) {
	err := h.mutate(r.Context(), r.tenant, principal{kind: "tech"}, func(c *change) error {
		c.bump = false
		return c.audit("tech.rekey-refused", "username "+username, fmt.Sprintf("username=%q reason=deactivated key=%s", username, r.keyID))
	})
	if err != nil {
		h.log.Error("audit refused re-key", "tenant", r.tenant.GUID, "err", err)
	}
}

// techRekeyStatus tells the new device how its request stands (it is not the tech's key until approved).
func (h *Hub) techRekeyStatus(r *request) (any, error) {
	return read(h, r, func(tx store.Tx) (wire.Rekey, error) {
		k, err := tx.RekeyByKey(r.tenant.ID, r.keyID)
		if err != nil {
			return wire.Rekey{}, &wire.Error{Code: wire.CodeNotFound, Message: "this device has no re-key request"}
		}
		t, err := tx.Tech(r.tenant.ID, k.TechID)
		return rekeyWire(k, t), err
	})
}

func (h *Hub) adminRekeys(r *request) (any, error) {
	return read(h, r, func(tx store.Tx) (*wire.RekeysResponse, error) {
		ks, err := tx.Rekeys(r.tenant.ID, r.URL.Query().Get("status"))
		if err != nil {
			return nil, err
		}
		out := &wire.RekeysResponse{Rekeys: []wire.Rekey{}}
		for i := range ks {
			t, err := tx.Tech(r.tenant.ID, ks[i].TechID)
			if err != nil {
				return nil, err
			}
			if mayManage(r, t) {
				k := rekeyWire(&ks[i], t)
				k.Contested, k.ContestedFingerprint, k.ContestedAt = ks[i].Contested, ks[i].ContestedFingerprint, ks[i].ContestedAt
				out.Rekeys = append(out.Rekeys, k)
			}
		}
		return out, nil
	})
}

func (h *Hub) adminRekeyAction(r *request) (any, error) {
	id, err := r.pathID()
	if err != nil {
		return nil, err
	}
	action := r.PathValue("action")
	if action != wire.ActionApprove && action != wire.ActionReject {
		return nil, wire.Invalid("action", "must be approve or reject")
	}
	var out wire.Rekey
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		k, err := c.tx.Rekey(r.tenant.ID, id)
		if err != nil {
			return err
		}
		t, err := c.tx.Tech(r.tenant.ID, k.TechID)
		if err != nil {
			return err
		}
		if !mayManage(r, t) {
			return &wire.Error{Code: wire.CodeNotFound, Message: fmt.Sprintf("re-key %d: not found", id)}
		}
		if k.Status != wire.RekeyPending {
			return &wire.Error{Code: wire.CodeConflict, Message: fmt.Sprintf("re-key %d is already %s", id, k.Status)}
		}
		target := fmt.Sprintf("tech %d", t.ID)
		if action == wire.ActionReject {
			k.Status, k.DecidedAt = wire.RekeyRejected, c.at
			if err := c.tx.DecideRekey(r.tenant.ID, id, k.Status, c.at); err != nil {
				return err
			}
			out = rekeyWire(k, t)
			return c.audit("tech.rekey-reject", target, fmt.Sprintf("username=%q new=%q", t.Username, k.Fingerprint))
		}
		if t.Status != wire.TechActive {
			return &wire.Error{Code: wire.CodeConflict, Message: fmt.Sprintf("tech %q is %s: approve a replacement of an active tech only", t.Username, t.Status)}
		}
		if t.KeyID != k.OldKeyID {
			return &wire.Error{Code: wire.CodeConflict, Message: "the tech's key changed since this request was made"}
		}
		if err := c.tx.SetTechKey(r.tenant.ID, t.ID, k.PublicKey, k.KeyID, k.Fingerprint, c.at); err != nil {
			return err
		}
		retired, err := c.tx.RetireTechVersions(r.tenant.ID, t.ID)
		if err != nil {
			return err
		}
		rotated, err := c.tx.RequestRotation(r.tenant.ID, t.ID, 0, 0, c.at)
		if err != nil {
			return err
		}
		s, err := c.tx.TechSecurity(r.tenant.ID, t.ID)
		if err != nil {
			return err
		}
		s.SessionKey, s.SessionUntil = "", time.Time{} // the new device opens its own session
		if err := c.tx.PutTechSecurity(s); err != nil {
			return err
		}
		k.Status, k.DecidedAt = wire.RekeyApproved, c.at
		if err := c.tx.DecideRekey(r.tenant.ID, id, k.Status, c.at); err != nil {
			return err
		}
		c.graph = true // the tech's recipient changed
		out = rekeyWire(k, t)
		out.Rotated = rotated
		return c.audit("tech.rekey-approve", target, fmt.Sprintf("username=%q old=%q new=%q retired=%d rotate=%d",
			t.Username, k.OldFingerprint, k.Fingerprint, retired, rotated))
	})
	return out, err
}
