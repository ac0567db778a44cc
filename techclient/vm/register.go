package vm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/keystore"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// Registration is the first-run form: an invite, or its three fields, and who the technician is.
type Registration struct {
	Invite     string // the pasted invite string; when empty the three fields below are used
	HubURL     string // one address of the hub, or several of the same hub comma separated
	ClientGUID string
	HubPin     string

	Username     string
	DisplayName  string
	Email        string
	Organization string // for co-managed techs: the client company they work for

	// Passphrase and Confirm seal the device key when no OS keyring answers (NeedPassphrase).
	Passphrase string
	Confirm    string
}

// FieldError is a form field a technician must fix.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// ParseInvite reads a pasted invite for the form to fill in its three fields.
func ParseInvite(s string) (wire.Invite, error) { return wire.ParseInvite(s) }

var usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,31}$`)

// invite returns the invite of the form: the pasted string wins over the three fields.
func (r Registration) invite() (wire.Invite, error) {
	if strings.TrimSpace(r.Invite) != "" {
		inv, err := wire.ParseInvite(r.Invite)
		if err != nil {
			return inv, &FieldError{"invite", "this is not a Watchword invite (it starts with " + wire.InvitePrefix + ")"}
		}
		return inv, nil
	}
	// The hub's address field may hold several addresses of the same hub (its replicas), comma separated.
	inv := wire.Invite{ClientGUID: strings.ToLower(strings.TrimSpace(r.ClientGUID)),
		HubPin: strings.ToLower(strings.TrimSpace(r.HubPin))}.WithURLs(wire.SplitURLs(r.HubURL)...)
	var errs []error
	for _, a := range inv.URLs() {
		if u, err := url.Parse(a); err != nil || u.Scheme != "https" || u.Host == "" {
			errs = append(errs, &FieldError{"hubURL", "enter the hub's address, such as https://hub.example.com:8443 (several, comma separated)"})
			break
		}
	}
	if !wire.ValidGUID(inv.ClientGUID) {
		errs = append(errs, &FieldError{"clientGUID", "a client GUID looks like 3f2a…-…: 32 hexadecimal digits in five groups"})
	}
	if err := inv.Validate(); err != nil && len(errs) == 0 {
		errs = append(errs, &FieldError{"hubPin", "the hub fingerprint is 52 letters and digits, as your MSP gave it"})
	}
	return inv, errors.Join(errs...)
}

// check validates the form before anything is created or sent.
func (r Registration) check(needPassphrase bool) (wire.Invite, error) {
	inv, err := r.invite()
	errs := []error{err}
	if !usernameRE.MatchString(r.Username) {
		errs = append(errs, &FieldError{"username", "use 1 to 32 lowercase letters, digits, '.', '_' or '-' (your MSP tells you which)"})
	}
	if a, err := mail.ParseAddress(strings.TrimSpace(r.Email)); err != nil || a.Address != strings.TrimSpace(r.Email) {
		errs = append(errs, &FieldError{"email", "enter a plain address such as name@example.com"})
	}
	if needPassphrase {
		switch {
		case len(r.Passphrase) < 10:
			errs = append(errs, &FieldError{"passphrase", "use at least 10 characters: it is all that protects your device key"})
		case r.Passphrase != r.Confirm:
			errs = append(errs, &FieldError{"confirm", "the two passphrases differ"})
		}
	}
	return inv, errors.Join(errs...)
}

// Register creates this device's identity (kept in the OS keyring, or sealed with the passphrase), registers it
// with the hub and starts waiting for approval. Errors are also shown in Error, in words for the technician.
func (a *App) Register(ctx context.Context, r Registration) error {
	return a.act(func() error { return a.register(ctx, r) })
}

func (a *App) register(ctx context.Context, r Registration) error {
	_ = a.CanReplace.Set(false)
	return a.firstContact(ctx, r, func(ctx context.Context, h Hub, inv wire.Invite) (*Device, error) {
		resp, err := h.Register(ctx, wire.RegisterRequest{Username: r.Username, DisplayName: strings.TrimSpace(r.DisplayName),
			Email: strings.TrimSpace(r.Email), Organization: strings.TrimSpace(r.Organization)})
		if err != nil {
			err = classify(err, inv)
			if errors.Is(err, ErrUsernameTaken) {
				// Perhaps the tech's previous device is lost: the form offers to replace it (Replace).
				_ = a.CanReplace.Set(true)
			}
			return nil, err
		}
		return &Device{TechID: resp.TechID, Username: resp.Username, DisplayName: strings.TrimSpace(r.DisplayName),
			Email: strings.TrimSpace(r.Email), Organization: strings.TrimSpace(r.Organization), Fingerprint: resp.Fingerprint,
			Status: resp.Status, TenantName: resp.TenantName}, nil
	})
}

// firstContact is the start of a device (Register, Replace): it checks the form, loads (or creates) the device key,
// and makes the one request call makes of the hub the form names, within 20 s. The device call answers, which the
// hub has accepted, becomes this one: its file, its key, its screen, and the loop that follows the hub from now on.
func (a *App) firstContact(ctx context.Context, r Registration, call func(context.Context, Hub, wire.Invite) (*Device, error)) error {
	inv, id, backend, err := a.prepare(r)
	if err != nil {
		return err
	}
	h, err := a.o.Dial(inv, id)
	if err != nil {
		return err
	}
	defer h.Close()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	dev, err := call(ctx, h, inv)
	if err != nil {
		return err
	}
	dev.Invite = inv
	if dev.Fingerprint == "" {
		dev.Fingerprint = id.Public().Fingerprint().String()
	}
	if err := saveDevice(a.o.Dir, dev); err != nil {
		return fmt.Errorf("save device file: %w", err)
	}
	a.mu.Lock()
	a.dev, a.id, a.backend, a.trust = dev, id, backend, nil // trust: loaded for this invite's anchor when needed
	a.mu.Unlock()
	_ = a.CanReplace.Set(false)
	_ = a.KeyStorage.Set(backend.Describe())
	a.showDevice(dev)
	a.follow()
	return nil
}

// prepare checks the form and loads (or creates) this device's identity.
func (a *App) prepare(r Registration) (wire.Invite, *seal.Identity, keystore.Backend, error) {
	need, _ := a.NeedPassphrase.Get()
	inv, err := r.check(need)
	if err != nil {
		return inv, nil, "", err
	}
	pass := ""
	if need {
		pass = r.Passphrase
	}
	st, err := a.store(pass)
	if err != nil {
		return inv, nil, "", err
	}
	id, backend, err := keystore.LoadOrCreateIdentity(st, identityName)
	if err != nil {
		if errors.Is(err, keystore.ErrNoPassphrase) {
			_ = a.NeedPassphrase.Set(true)
			a.probeKeystore()
			return inv, nil, "", &FieldError{"passphrase", "no system keyring answers: choose a passphrase to seal your device key"}
		}
		if errors.Is(err, keystore.ErrWrongPassphrase) {
			return inv, nil, "", &FieldError{"passphrase", "this passphrase does not open the device key already on this computer"}
		}
		return inv, nil, "", fmt.Errorf("device key: %w", err)
	}
	return inv, id, backend, nil
}

// classify turns a transport or hub error of the first contact into one of the sentinels, naming the hub.
func classify(err error, inv wire.Invite) error {
	var he *hubclient.Error
	switch {
	case errors.Is(err, seal.ErrUnexpectedPeer):
		return fmt.Errorf("%w: %s answered with another key; check the invite with your MSP", ErrPinMismatch, inv.HubURL)
	case errors.Is(err, hubclient.ErrUnauthenticated):
		return fmt.Errorf("%w: %s (check the GUID with your MSP)", ErrUnknownClient, inv.ClientGUID)
	case errors.As(err, &he) && he.Wire.Code == wire.CodeConflict && he.Wire.Field == "username":
		return ErrUsernameTaken
	case errors.As(err, &he) && he.Wire.Field != "":
		return &FieldError{he.Wire.Field, he.Wire.Message}
	case errors.As(err, &he):
		return err
	}
	return fmt.Errorf("%w: %s: %v", ErrUnreachable, inv.HubURL, rootCause(err))
}

// rootCause drops the method and URL net/http prefixes, keeping what went wrong.
func rootCause(err error) error {
	var op *net.OpError
	if errors.As(err, &op) {
		return op.Err
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

var fieldNames = map[string]string{
	"invite": "Invite", "hubURL": "Hub address", "clientGUID": "Client GUID", "hubPin": "Hub fingerprint",
	"username": "Username", "displayName": "Display name", "email": "Email", "organization": "Organization",
	"passphrase": "Passphrase", "confirm": "Confirm passphrase", "code": "Code",
	"duration": "Duration", "reason": "Reason",
}

// Explain renders an error for the technician: one line per problem, naming the form field when there is one.
func Explain(err error) string {
	if err == nil {
		return ""
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var lines []string
		for _, e := range j.Unwrap() {
			if e != nil {
				lines = append(lines, Explain(e))
			}
		}
		return strings.Join(lines, "\n")
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		name := fieldNames[fe.Field]
		if name == "" {
			name = fe.Field
		}
		return name + ": " + fe.Message
	}
	switch {
	case errors.Is(err, ErrUsernameTaken):
		return "Username: this username is taken on the hub. Ask your MSP which one to use."
	case errors.Is(err, ErrPinMismatch), errors.Is(err, ErrUnknownClient), errors.Is(err, ErrUnreachable):
		s := err.Error()
		return strings.ToUpper(s[:1]) + s[1:] + "."
	case errors.Is(err, ErrLockedOut):
		return "Your account is locked after repeated failed attempts: ask your MSP to unlock it."
	case errors.Is(err, ErrWrongCode):
		s := "Wrong or reused code"
		if _, left, ok := strings.Cut(err.Error(), ": "); ok {
			s += ": " + left
		}
		return s + ". Wait for the next code in your authenticator app and try again."
	case errors.Is(err, ErrWrongPassphrase):
		return "Wrong passphrase."
	case errors.Is(err, authority.ErrEnvelopeSignature):
		return "Not opened: this password was not signed by an agent the admins enrolled. Tell your MSP's admins: " +
			"someone other than the agent may have made it."
	case errors.Is(err, keystore.ErrKeyringUnavailable):
		return "The system keyring did not answer."
	}
	s := err.Error()
	return strings.ToUpper(s[:1]) + s[1:]
}

// Forget removes this device's registration, key and cache so the technician can start over.
func (a *App) Forget() error {
	a.mu.Lock()
	a.stopLocked()
	a.dev, a.id, a.trust = nil, nil, nil
	a.all, a.visible, a.byID, a.events = nil, nil, map[int64]*Row{}, nil
	a.revealGen++
	a.mu.Unlock()
	var errs []error
	for _, f := range []string{deviceFile, cacheFile, authorityFile} {
		if err := os.Remove(filepath.Join(a.o.Dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if st, err := a.store(""); err == nil {
		errs = append(errs, st.Delete(identityName))
	}
	a.bumpRows()
	_ = a.Revealed.Set(0)
	_ = a.Selected.Set(0)
	_ = a.Banner.Set("")
	a.probeKeystore()
	a.SetState(StateUnregistered)
	return errors.Join(errs...)
}
