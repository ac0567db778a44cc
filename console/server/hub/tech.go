package hub

import (
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/watchword/watchword/console/server/hub/entitle"
	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

var usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,31}$`)

// usernameProblem says what is wrong with a tech username, or "" when it may be registered. A reserved name (a
// built-in or privileged principal of the targets) is refused whatever the naming format: under a format without
// a fixed part the tech's account would be that principal.
func usernameProblem(u string) string {
	if !usernameRE.MatchString(u) {
		return "1 to 32 characters: lowercase letters, digits, '.', '_' or '-', starting with a letter or digit"
	}
	if entitle.Reserved(u) {
		return fmt.Sprintf("%q is the name of a built-in or privileged account on the targets (such as Administrator, Guest, krbtgt or root): choose another", u)
	}
	return ""
}

// checkKey parses a registered public key and checks it is the key the caller authenticated with.
func (r *request) checkKey(field, s string) (*seal.PublicKey, error) {
	pk, err := seal.ParsePublicKey(strings.TrimSpace(s))
	if err != nil {
		return nil, wire.Invalid(field, "not a Watchword public key")
	}
	if pk.ID() != r.keyID {
		return nil, wire.Invalid(field, "does not match the TLS client key")
	}
	return pk, nil
}

// text validates a free-text field: trimmed, printable, within max runes.
func text(field, s string, required bool, max int) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" && required {
		return "", wire.Invalid(field, "is required")
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return "", wire.Invalid(field, "must be valid text of at most %d characters", max)
	}
	for _, c := range s {
		if !unicode.IsPrint(c) {
			return "", wire.Invalid(field, "must not contain control characters")
		}
	}
	return s, nil
}

func (h *Hub) techRegister(r *request) (any, error) {
	var req wire.RegisterRequest
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	var errs []error
	pk, err := r.checkKey("publicKey", req.PublicKey)
	errs = append(errs, err)
	if problem := usernameProblem(req.Username); problem != "" {
		errs = append(errs, wire.Invalid("username", "%s", problem))
	}
	display, err := text("displayName", req.DisplayName, false, 100)
	errs = append(errs, err)
	if display == "" {
		display = req.Username
	}
	email, err := text("email", req.Email, true, 254)
	errs = append(errs, err)
	if err == nil {
		if a, perr := mail.ParseAddress(email); perr != nil || a.Address != email || a.Name != "" {
			errs = append(errs, wire.Invalid("email", "must be a plain address such as name@example.com"))
		}
	}
	org, err := text("organization", req.Organization, false, 100)
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// A full pending queue refuses before the tenant's write lock is taken, then again inside it (flood.go).
	full := func(err error) error {
		var pf *pendingFullError
		if errors.As(err, &pf) {
			h.registrationRefused(r.Context(), r.tenant)
		}
		return err
	}
	if err := h.st.Read(r.Context(), func(tx store.Tx) error { return h.pendingRoom(tx, r.tenant) }); err != nil {
		return nil, full(err)
	}
	now := h.now().UTC()
	t := &store.Tech{TenantID: r.tenant.ID, Username: req.Username, DisplayName: display, Email: email, Organization: org,
		CoManaged: org != "", Status: wire.TechPending, PublicKey: pk.String(), KeyID: pk.ID(),
		Fingerprint: pk.Fingerprint().String(), CreatedAt: now, UpdatedAt: now}
	err = h.mutate(r.Context(), r.tenant, principal{kind: "tech"}, func(c *change) error {
		// A pending tech changes nobody's entitlements or credential list: no view rebuild, no device woken. The
		// revision still moves, so that the Consoles' long polls show the new registration.
		c.concerns()
		if err := h.pendingRoom(c.tx, r.tenant); err != nil {
			return err
		}
		if _, err := c.tx.TechByKey(r.tenant.ID, pk.ID()); err == nil {
			return &wire.Error{Code: wire.CodeConflict, Field: "publicKey", Message: "this device is already registered"}
		}
		if err := registerOrg(c, t); err != nil { // the organization's co-management switch (orgs.go)
			return err
		}
		if err := c.tx.CreateTech(t); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &wire.Error{Code: wire.CodeConflict, Field: "username", Message: "username is taken"}
			}
			return err
		}
		c.actor.id = t.ID
		if err := h.matchReservation(c, t); err != nil { // a username reserved by a CSV import (csvimport.go)
			return err
		}
		detail := fmt.Sprintf("username=%q email=%q organization=%q key=%s", t.Username, t.Email, t.Organization, t.KeyID)
		if t.Organization != "" {
			if _, err := c.tx.OrgByName(r.tenant.ID, t.Organization); errors.Is(err, store.ErrNotFound) {
				detail += " organizationRecorded=false" // held as text; approval records it (orgs.go)
			} else if err != nil {
				return err
			}
		}
		return c.audit("tech.register", fmt.Sprintf("tech %d", t.ID), detail)
	})
	if err != nil {
		return nil, full(err)
	}
	h.registrationAccepted(r.tenant.ID)
	h.log.Info("tech registered", "tenant", r.tenant.GUID, "tech", t.ID)
	return techStatus(r.tenant, t), nil
}

func techStatus(tenant *store.Tenant, t *store.Tech) *wire.TechStatusResponse {
	out := &wire.TechStatusResponse{TechID: t.ID, Username: t.Username, Status: t.Status, Fingerprint: t.Fingerprint}
	if t.Status == wire.TechActive {
		out.TenantName = tenant.Name
	}
	return out
}

func (h *Hub) techStatus(r *request) (any, error) {
	return techStatus(r.tenant, r.who.tech), nil
}

func (h *Hub) techCredentials(r *request) (any, error) {
	if err := h.sessionGate(r); err != nil { // lockout and two-factor session (totp.go)
		return nil, err
	}
	since, err := r.queryInt("since")
	if err != nil {
		return nil, err
	}
	out, pages, err := h.credentials(r.Context(), r.tenant, r.who.tech, since, r.URL.Query().Get("grants"), true)
	if err != nil {
		return nil, err
	}
	return credentialStream{out, pages}, nil
}

func (h *Hub) techChanges(r *request) (any, error) {
	since, err := r.queryInt("since")
	if err != nil {
		return nil, err
	}
	until, err := h.waitDeadline(r)
	if err != nil {
		return nil, err
	}
	release, err := h.longPoll(r) // flood.go
	if err != nil {
		return nil, err
	}
	defer release()
	rev, changed := h.notify.TechWait(r.Context(), r.tenant, r.who.id, since, until)
	return &wire.ChangesResponse{Revision: rev, Changed: changed}, nil
}

func (h *Hub) techEvent(r *request) (any, error) {
	var req wire.EventRequest
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	if req.Kind != wire.EventReveal && req.Kind != wire.EventCopy {
		return nil, wire.Invalid("kind", "must be %q or %q", wire.EventReveal, wire.EventCopy)
	}
	err := h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		c.bump = false
		c.concerns() // an earlier rotation concerns the agent; the tech's list changes when it stages
		acc, err := c.tx.Account(r.tenant.ID, req.AccountID)
		if err != nil || acc.TechID != r.who.id {
			return wire.Invalid("accountId", "no such account of yours")
		}
		versions, err := c.tx.Versions(r.tenant.ID, acc.ID)
		if err != nil {
			return err
		}
		found := false
		for _, v := range versions {
			found = found || v.Version == req.Version
		}
		if !found {
			return wire.Invalid("version", "no such version of account %d", acc.ID)
		}
		if err := c.audit("credential."+req.Kind, fmt.Sprintf("account %d", acc.ID), fmt.Sprintf("version=%d name=%q", req.Version, acc.Name)); err != nil {
			return err
		}
		// Rotate after use (history.go): a reveal or a copy makes the account due once the grace has passed.
		return markUsed(c, acc, req.Kind)
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// techStatusWait holds a long poll until the calling tech's status differs from the one its device knows. It
// wakes on changes that concern the caller (or every tech) and answers only about the caller, so a pending tech
// learns nothing else.
func (h *Hub) techStatusWait(r *request) (any, error) {
	known := wire.TechStatus(r.URL.Query().Get("status"))
	until, err := h.waitDeadline(r)
	if err != nil {
		return nil, err
	}
	release, err := h.longPoll(r) // flood.go
	if err != nil {
		return nil, err
	}
	defer release()
	// Take the revision before re-reading the tech: a change committed in between then wakes the wait.
	since, _ := h.notify.Current(r.tenant)
	tech := r.who.tech
	reread := func() error {
		return h.st.Read(r.Context(), func(tx store.Tx) error {
			t, err := tx.TechByKey(r.tenant.ID, r.keyID)
			if err == nil {
				tech = t
			}
			return err
		})
	}
	if err := reread(); err != nil {
		return nil, err
	}
	for tech.Status == known {
		rev, changed := h.notify.TechWait(r.Context(), r.tenant, tech.ID, since, until)
		if !changed {
			break
		}
		since = rev
		if err := reread(); err != nil {
			return nil, err
		}
	}
	return techStatus(r.tenant, tech), nil
}
