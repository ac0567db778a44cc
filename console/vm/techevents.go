package vm

// Tech events signed by the device: a TechClient signs each reveal, copy and JIT request with its device key
// (a window's Temporary Access Pass's reveal and copy too, which name the grant where a password's name the version)
// (authority.SignTechEvent) and the hub keeps the signature in the audit event's detail (devkey, signedat, devsig;
// console/server/hub/techevent.go). This file checks them: an event about a tech counts as the device's only when
// the signature verifies over what the detail says, with the device key the event names, and that key is the one
// the signed authority approved for the tech (without a signed authority: the key the hub holds for the tech). Whoever writes the hub's database can still drop events or write unsigned
// ones (older TechClients sign nothing), but cannot make a forged one look device-signed.

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// What a tech event's check says (TechEventCheck.Status).
const (
	TechEventSigned    = "device-signed"
	TechEventUnsigned  = "unsigned (older TechClient)"
	TechEventForged    = "FORGED: signature does not verify"
	TechEventByHub     = "recorded by the hub (password history read)"
	TechEventUnchecked = "not checked"
)

// techEventKinds maps the audit actions a tech's device signs to the kind its statement names.
var techEventKinds = map[string]string{
	"credential." + wire.EventReveal:    wire.EventReveal,
	"credential." + wire.EventCopy:      wire.EventCopy,
	"credential." + wire.EventTAPReveal: wire.EventTAPReveal,
	"credential." + wire.EventTAPCopy:   wire.EventTAPCopy,
	refusedAction:                       wire.EventUnsigned,
	"jit.request":                       authority.TechEventJIT,
}

// TechEventCheck is the verdict on one audit event by a tech.
type TechEventCheck struct {
	Event  wire.AuditEvent
	Status string // one of the TechEvent constants
	Why    string // what was checked, or why it failed or could not be checked
}

// Forged reports whether the event claims a device signature that does not hold.
func (c TechEventCheck) Forged() bool { return c.Status == TechEventForged }

// String is the verdict in a sentence, for the audit screen and the alerts.
func (c TechEventCheck) String() string {
	s := fmt.Sprintf("audit event %d (%s, %s): %s", c.Event.Seq, c.Event.Action, c.Event.Target, c.Status)
	if c.Why != "" {
		s += " — " + c.Why
	}
	return s
}

// CheckTechEvents checks the events by techs among evs that a device signs (reveals, copies, JIT requests), in the
// order given; other events are left out. It uses the techs of the last Refresh and the signed authority this
// Console verified.
func (a *App) CheckTechEvents(evs []wire.AuditEvent) []TechEventCheck {
	return a.checkTechEvents(a.Snapshot(), evs)
}

// checkTechEvents is CheckTechEvents with the techs of s.
func (a *App) checkTechEvents(s *Snapshot, evs []wire.AuditEvent) []TechEventCheck {
	var state *authority.State
	if c := a.Chain(); c != nil {
		state = c.State()
	}
	tenant := a.Invite().ClientGUID
	var out []TechEventCheck
	for _, e := range evs {
		if _, ok := techEventKinds[e.Action]; ok && e.ActorKind == "tech" {
			out = append(out, checkTechEvent(state, tenant, s.Tech(e.ActorID), e))
		}
	}
	return out
}

// TechEventAlerts reads the audit log's newest events by techs (up to 1000) and lists the forged ones in words,
// newest first: events the hub's database holds that claim a device signature which does not verify.
func (a *App) TechEventAlerts(ctx context.Context) ([]string, error) {
	evs, err := a.Audit(ctx, AuditFilter{ActorKind: "tech"})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range a.CheckTechEvents(evs) {
		if c.Forged() {
			out = append(out, c.String())
		}
	}
	return out, nil
}

// forgedTechEvents reads the tech events of the last refusedWindow (up to 1000, newest first) and lists the forged
// ones in words, checked against the techs of s, the snapshot Refresh is filling.
func (a *App) forgedTechEvents(ctx context.Context, api *hubclient.Client, s *Snapshot) ([]string, error) {
	q := wire.AuditQuery{ActorKind: "tech", Since: a.clock()().Add(-refusedWindow), Limit: 1000, Newest: true}
	evs, err := api.Audit(ctx, q)
	if err != nil {
		return nil, err
	}
	if !api.Supports(wire.CapAuditQuery) { // an older hub answers its oldest events first
		slices.Reverse(evs)
	}
	var out []string
	for _, c := range a.checkTechEvents(s, evs) {
		if c.Forged() {
			out = append(out, c.String())
		}
	}
	return out, nil
}

// checkTechEvent is the verdict on e, an event by tech (nil when the Console does not know the tech) of a kind
// its device signs. state is the verified signed authority, nil when this Console verifies none.
func checkTechEvent(state *authority.State, tenant string, tech *wire.Tech, e wire.AuditEvent) TechEventCheck {
	c := TechEventCheck{Event: e}
	f, err := detailFields(e.Detail)
	if err != nil {
		c.Status, c.Why = TechEventForged, err.Error()
		return c
	}
	sig, signed := f["devsig"]
	switch {
	case f["via"] == "history" && !signed:
		c.Status, c.Why = TechEventByHub, "the hub handed out the current version; no device reports it"
		return c
	case !signed || sig == "none":
		c.Status = TechEventUnsigned
		return c
	}
	st, raw, err := techEventStatement(tenant, e, f)
	if err != nil {
		c.Status, c.Why = TechEventForged, err.Error()
		return c
	}
	dev, err := base64.StdEncoding.DecodeString(f["devkey"])
	if err != nil || len(dev) != ed25519.PublicKeySize {
		c.Status, c.Why = TechEventForged, fmt.Sprintf("audit event %d names no device key", e.Seq)
		return c
	}
	devID := seal.KeyID(dev)
	// The key the hub holds for the tech now: the event's own key when the device is still the tech's, another
	// after a replacement.
	current := ""
	if tech != nil {
		if k, err := seal.ParsePublicKey(tech.PublicKey); err == nil {
			current = k.ID()
		}
	}
	verify, checked := authority.VerifyTechEvent, "checked with the device key the hub holds; no signed authority pins it"
	var approved authority.Tech
	ok := false
	if state != nil {
		approved, ok = state.Techs[e.ActorID]
	}
	switch {
	case state == nil && devID != current:
		// Nothing pins the tech's key but the hub's word: an event of an earlier device cannot be told from one
		// the hub made up, and is not counted as the device's.
		c.Status, c.Why = TechEventUnchecked, fmt.Sprintf("signed by device %s, not the tech's current device", devID)
		return c
	case state == nil:
	case !ok:
		c.Status, c.Why = TechEventUnchecked, fmt.Sprintf("tech %d is not approved in the signed authority (deactivated or removed)", e.ActorID)
		return c
	case devID != approved.KeyID && devID != current:
		// A device replaced since (its approval is gone from the state): the signature cannot be tied to the tech.
		c.Status, c.Why = TechEventUnchecked, fmt.Sprintf("signed by device %s, which the signed authority does not approve now", devID)
		return c
	default:
		// The key is the approved one (the state checks it), or one the hub names as the tech's device that the
		// admins never approved: the key swap a writer of the hub's database would make, refused as forged.
		verify, checked = state.VerifyTechEvent, "checked with the device key the signed authority approved"
	}
	if err := verify(dev, st, raw); err != nil {
		c.Status, c.Why = TechEventForged, err.Error()
		return c
	}
	c.Status, c.Why = TechEventSigned, checked
	return c
}

// techEventStatement rebuilds what the device signed from the event as the hub recorded it: the tenant, the tech
// who acted, and the account, version (a pass's grant), duration and reason the detail shows. Whatever the hub
// changed after the device signed makes the signature fail.
func techEventStatement(tenant string, e wire.AuditEvent, f map[string]string) (authority.TechEventStatement, []byte, error) {
	var st authority.TechEventStatement
	sig, err := base64.StdEncoding.DecodeString(f["devsig"])
	if err != nil {
		return st, nil, fmt.Errorf("audit event %d: the device signature is not base64", e.Seq)
	}
	at, err := time.Parse(time.RFC3339, f["signedat"])
	if err != nil {
		return st, nil, fmt.Errorf("audit event %d: the device's time %q is not RFC 3339", e.Seq, f["signedat"])
	}
	num := func(name, s string) (int64, error) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("audit event %d: %s %q is not a number", e.Seq, name, s)
		}
		return n, nil
	}
	kind := techEventKinds[e.Action]
	if kind == authority.TechEventJIT {
		account, err := num("account", f["account"])
		if err != nil {
			return st, nil, err
		}
		d, err := num("duration", f["duration"])
		if err != nil {
			return st, nil, err
		}
		return authority.JITRequestOf(tenant, e.ActorID, wire.JITRequest{AccountID: account, DurationSeconds: d,
			Reason: f["reason"], SignedAt: at}), sig, nil
	}
	account, err := num("account", strings.TrimPrefix(e.Target, "account "))
	if err != nil {
		return st, nil, err
	}
	// A Temporary Access Pass's reveal or copy names its window's grant where a password's names the version.
	field := "version"
	if wire.IsTAPEvent(kind) {
		field = "grant"
	}
	version, err := num(field, f[field])
	if err != nil {
		return st, nil, err
	}
	return authority.TechEventOf(tenant, e.ActorID, wire.EventRequest{Kind: kind, AccountID: account, Version: version,
		SignedAt: at}), sig, nil
}

// errDetail: an audit event's detail that does not read as key=value fields. The hub never writes one.
var errDetail = errors.New("detail is not key=value fields")

// detailFields reads an audit detail as the hub writes it: key=value fields separated by spaces, a value either
// a bare word or a Go-quoted string. A key twice is refused, so a detail cannot show one value to a person and
// another to the check.
func detailFields(s string) (map[string]string, error) {
	out := map[string]string{}
	for s = strings.TrimLeft(s, " "); s != ""; s = strings.TrimLeft(s, " ") {
		k, rest, ok := strings.Cut(s, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \"") {
			return nil, fmt.Errorf("%w: %q", errDetail, s)
		}
		var v string
		if strings.HasPrefix(rest, `"`) {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %v", errDetail, k, err)
			}
			v, _ = strconv.Unquote(q)
			rest = rest[len(q):]
			if rest != "" && rest[0] != ' ' {
				return nil, fmt.Errorf("%w: %s: text after the quoted value", errDetail, k)
			}
		} else {
			v, rest, _ = strings.Cut(rest, " ")
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("%w: %s twice", errDetail, k)
		}
		out[k] = v
		s = rest
	}
	return out, nil
}
