package hub

// Techs: a device's registration, status (and its long poll), credentials, changes and events; an admin's list of
// techs and its actions on them, and where an approved tech belongs.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/entitle"
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
	tap := wire.IsTAPEvent(req.Kind)
	if req.Kind != wire.EventReveal && req.Kind != wire.EventCopy && req.Kind != wire.EventUnsigned && !tap {
		return nil, wire.Invalid("kind", "must be %q, %q, %q, %q or %q", wire.EventReveal, wire.EventCopy, wire.EventUnsigned,
			wire.EventTAPReveal, wire.EventTAPCopy)
	}
	devsig, err := deviceSignature(r.who.tech, authority.TechEventOf(r.tenant.GUID, r.who.id, req), req.Signature, req.SignedAt)
	if err != nil {
		return nil, err
	}
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		c.bump = false
		c.concerns() // an earlier rotation concerns the agent; the tech's list changes when it stages
		acc, err := c.tx.Account(r.tenant.ID, req.AccountID)
		if err != nil || acc.TechID != r.who.id {
			return wire.Invalid("accountId", "no such account of yours")
		}
		if tap {
			return tapEvent(c, r.who.id, acc, req, devsig) // techevent.go
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
		if err := c.audit("credential."+req.Kind, fmt.Sprintf("account %d", acc.ID), fmt.Sprintf("version=%d name=%q", req.Version, acc.Name)+devsig); err != nil {
			return err
		}
		if req.Kind == wire.EventUnsigned {
			return nil // the device opened nothing
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

// ---- an admin's techs ----

func techWire(t *store.Tech) wire.Tech {
	return wire.Tech{ID: t.ID, Username: t.Username, DisplayName: t.DisplayName, Email: t.Email, Organization: t.Organization,
		CoManaged: t.CoManaged, Status: t.Status, PublicKey: t.PublicKey, Fingerprint: t.Fingerprint, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
		ShortName: t.ShortName, LastSeen: t.LastSeen, DeletedAt: t.DeletedAt, DeleteAccounts: t.DeleteAccounts}
}

func (h *Hub) adminTechs(r *request) (any, error) {
	status := wire.TechStatus(r.URL.Query().Get("status"))
	deleted := status == wire.TechsDeleted // the tombstones instead (techlife.go)
	if deleted {
		status = wire.TechDisabled
	}
	switch status {
	case "", wire.TechPending, wire.TechActive, wire.TechDisabled, wire.TechRejected:
	default:
		return nil, wire.Invalid("status", "must be pending, active, disabled, rejected or deleted")
	}
	var scope *problemScope
	out, err := read(h, r, func(tx store.Tx) (*wire.TechsResponse, error) {
		ts, err := tx.Techs(r.tenant.ID, status)
		ts = tombstones(ts, deleted)
		ts = r.visibleTechs(ts) // a Co-managed Manager sees its organization's techs only
		out := &wire.TechsResponse{Techs: []wire.Tech{}}
		for i := range ts {
			out.Techs = append(out.Techs, techWire(&ts[i]))
		}
		if err == nil { // a reserved username's registration: what the device typed, and the groups it will join
			err = pendingReservations(tx, r.tenant.ID, out.Techs)
		}
		if err == nil { // the registration queue, whose limit refuses devices when it is full (flood.go)
			out.Registrations, err = h.registrations(tx, r.tenant.ID)
		}
		if err == nil {
			scope, err = problemScopeOf(r, tx) // and its problems name its organization's domains and techs only
		}
		return out, err
	})
	if err != nil {
		return nil, err
	}
	// The entitlements each active tech holds that cannot become an account (accounts.go).
	var active []int64
	for _, t := range out.Techs {
		if t.Status == wire.TechActive {
			active = append(active, t.ID)
		}
	}
	if len(active) > 0 {
		v, err := h.view(r.Context(), r.tenant)
		if err != nil {
			return nil, err
		}
		probs := techProblems(v, r.tenant, active, scope)
		for i := range out.Techs {
			out.Techs[i].Problems = probs[out.Techs[i].ID]
		}
	}
	return out, nil
}

// techTransitions lists, per action, the states it applies to and the state it leads to.
var techTransitions = map[string]struct {
	from []wire.TechStatus
	to   wire.TechStatus
}{
	wire.ActionApprove: {[]wire.TechStatus{wire.TechPending, wire.TechRejected}, wire.TechActive},
	wire.ActionReject:  {[]wire.TechStatus{wire.TechPending}, wire.TechRejected},
	wire.ActionDisable: {[]wire.TechStatus{wire.TechActive, wire.TechPending}, wire.TechDisabled},
	wire.ActionEnable:  {[]wire.TechStatus{wire.TechDisabled}, wire.TechActive},
}

func (h *Hub) adminTechAction(r *request) (any, error) {
	id, err := r.pathID()
	if err != nil {
		return nil, err
	}
	action := r.PathValue("action")
	tr, ok := techTransitions[action]
	if !ok {
		return nil, wire.Invalid("action", "must be approve, reject, disable or enable")
	}
	var place wire.ApproveRequest // where an approved tech belongs (placeTech); the other actions read no body
	if action == wire.ActionApprove {
		if err := r.decodeOptional(&place); err != nil {
			return nil, err
		}
	}
	var t *store.Tech
	err = h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		var err error
		if t, err = c.tx.Tech(r.tenant.ID, id); err != nil {
			return err
		}
		if !t.DeletedAt.IsZero() {
			return &wire.Error{Code: wire.CodeConflict, Message: fmt.Sprintf("tech %d was deleted", t.ID)}
		}
		if action == wire.ActionApprove {
			if err := placeTech(c, r, t, place); err != nil {
				return err
			}
		}
		if err := techScope(c, r, t, action); err != nil { // roles and the co-management switch (roles.go)
			return err
		}
		if !slices.Contains(tr.from, t.Status) {
			return &wire.Error{Code: wire.CodeConflict, Message: fmt.Sprintf("cannot %s a tech who is %s", action, t.Status)}
		}
		from := t.Status
		t.Status, t.UpdatedAt = tr.to, c.at
		if err := c.tx.UpdateTech(t); err != nil {
			return err
		}
		if action == wire.ActionApprove {
			if err := applyReservation(c, t); err != nil { // its groups, joined only now (csvimport.go)
				return err
			}
			if err := joinGroups(c, r, t, place.Groups); err != nil { // the groups the admin named (approve.go)
				return err
			}
			if err := checkCoManagedApproval(c, r, t, place.OverrideTriplets, "approval"); err != nil { // approve.go
				return err
			}
		}
		c.graph = true
		return c.audit("tech."+action, fmt.Sprintf("tech %d", t.ID),
			fmt.Sprintf("username=%q from=%s to=%s fingerprint=%q organization=%q", t.Username, from, t.Status, t.Fingerprint, t.Organization))
	})
	if err != nil {
		return nil, err
	}
	// Said at once, and audited: an approved tech whose entitlements cannot all become accounts (accounts.go).
	out, err := h.techWithProblems(r, t)
	if err != nil {
		return nil, err
	}
	if len(out.Problems) > 0 { // only an active tech has any
		err := h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
			c.bump = false
			return c.audit("account.problem", fmt.Sprintf("tech %d", t.ID),
				fmt.Sprintf("username=%q on=%s problems=%q", t.Username, action, strings.Join(out.Problems, "; ")))
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ---- where an approved tech belongs ----
//
// Being co-managed decides whether a tech must use two-factor authentication (totp.go), so it is the approving
// admin's decision, not the registrant's: anyone with the invite could leave the organization blank to escape the
// requirement. The organization typed on the form, or named by a CSV reservation, is a suggestion shown in the
// pending list; the approval may carry the decision (wire.ApproveRequest), an organization (co-managed) or MSP
// staff. An approval without one places the tech as the pending list showed it, so existing callers keep working
// and an admin who saw "MSP staff" or an organization there gets just that.

// decodeOptional decodes the body into v like decode, and leaves v alone when the body is empty.
func (r *request) decodeOptional(v any) error {
	br := bufio.NewReader(r.Body)
	if _, err := br.Peek(1); errors.Is(err, io.EOF) {
		return nil
	}
	r.Body = io.NopCloser(br)
	return r.decode(v)
}

// placeTech applies an approval's decision to t before techScope checks the result (the co-management switch of
// the organization it lands in, and recording an organization the tech typed). A Co-managed Manager decides only
// for the techs it may see, and only its own organization.
func placeTech(c *change, r *request, t *store.Tech, req wire.ApproveRequest) error {
	if req.MSPStaff && strings.TrimSpace(req.Organization) != "" {
		return wire.Invalid("mspStaff", "choose an organization or MSP staff, not both")
	}
	if !req.MSPStaff && req.Organization == "" {
		return nil // as the pending list shows it
	}
	cm, scoped := r.coManager()
	if scoped && !mayManage(r, t) {
		return &wire.Error{Code: wire.CodeNotFound, Message: fmt.Sprintf("tech %d: not found in organization %q", t.ID, cm)}
	}
	if req.MSPStaff {
		if scoped {
			return wire.Invalid("mspStaff", "a Co-managed Manager approves techs into its own organization %q only", cm)
		}
		t.Organization, t.CoManaged = "", false
		return nil
	}
	name, err := text("organization", req.Organization, true, 100)
	if err != nil {
		return err
	}
	if scoped && !strings.EqualFold(name, cm) {
		return wire.Invalid("organization", "a Co-managed Manager approves techs into its own organization %q only", cm)
	}
	o, err := c.tx.OrgByName(t.TenantID, name)
	switch {
	case err == nil:
		name = o.Name
	case !errors.Is(err, store.ErrNotFound):
		return err
	case !t.CoManaged || !strings.EqualFold(name, t.Organization):
		// The tech's own typed name may be recorded by this approval (techScope); any other must exist already.
		return wire.Invalid("organization", "no organization %q: choose a recorded organization, the one the tech typed, or MSP staff", name)
	}
	t.Organization, t.CoManaged = name, true
	return nil
}
