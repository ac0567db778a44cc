package hub

// A tenant: its creation with the built-ins every tenant starts with (CreateTenant, which the command line's init
// calls), what its admins read of it, and its rotation policy, whose every change is an entitlement change.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/entitle"
	"github.com/watchword/watchword/shared/rotation"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// TenantSpec describes a new tenant.
type TenantSpec struct {
	Name     string
	Abbrev   string
	Recovery string // age1pq1… recovery recipient
}

// NewTenant is a created tenant and the single-use token whose first presenter becomes its owner.
type NewTenant struct {
	GUID       string
	OwnerToken string
	ExpiresAt  time.Time
}

var abbrevRE = regexp.MustCompile(`^[a-z0-9]{1,8}$`)

func (s TenantSpec) validate() error {
	var errs []error
	if n := strings.TrimSpace(s.Name); n == "" || len(n) > 100 {
		errs = append(errs, wire.Invalid("name", "tenant name needs 1 to 100 characters"))
	}
	if !abbrevRE.MatchString(s.Abbrev) {
		errs = append(errs, wire.Invalid("abbrev", "abbreviation %q needs 1 to 8 lowercase letters or digits", s.Abbrev))
	}
	if _, err := seal.ParseRecipient(s.Recovery); err != nil {
		errs = append(errs, wire.Invalid("recovery", "recovery recipient must be an age1pq1… hybrid recipient"))
	}
	return errors.Join(errs...)
}

// OwnerTokenTTL is how long an owner claim token printed by init stays valid.
const OwnerTokenTTL = 7 * 24 * time.Hour

// CreateTenant creates a tenant with its built-ins (AllTechs, AllDomains, AllRights and the All triplet) and an
// owner claim token.
func (h *Hub) CreateTenant(ctx context.Context, spec TenantSpec) (*NewTenant, error) {
	if err := spec.validate(); err != nil {
		return nil, fmt.Errorf("create tenant %q: %w", spec.Name, err)
	}
	now := h.now().UTC()
	t := &store.Tenant{GUID: uuid.NewString(), Name: strings.TrimSpace(spec.Name), Abbrev: spec.Abbrev, Recovery: spec.Recovery,
		Policy: wire.DefaultPolicy(), CreatedAt: now}
	token := newToken()
	err := h.st.Write(ctx, func(tx store.Tx) error {
		if err := tx.CreateTenant(t); err != nil {
			return err
		}
		if err := createBuiltins(tx, t.ID); err != nil {
			return err
		}
		if err := tx.CreateToken(&store.Token{TenantID: t.ID, Kind: store.TokenClaim, Role: wire.RoleOwner, Hash: hashToken(token),
			ExpiresAt: now.Add(OwnerTokenTTL), CreatedAt: now}); err != nil {
			return err
		}
		return tx.Audit(&store.AuditEvent{TenantID: t.ID, At: now, ActorKind: "system", Action: "tenant.create",
			Target: "tenant " + t.GUID, Detail: fmt.Sprintf("name=%q abbrev=%q", t.Name, t.Abbrev)})
	})
	if err != nil {
		return nil, fmt.Errorf("create tenant %q: %w", spec.Name, err)
	}
	h.log.Info("tenant created", "tenant", t.GUID)
	return &NewTenant{GUID: t.GUID, OwnerToken: token, ExpiresAt: now.Add(OwnerTokenTTL)}, nil
}

func createBuiltins(tx store.Tx, tenant int64) error {
	tg := &store.Group{TenantID: tenant, Kind: store.KindTech, Name: wire.AllTechs, Builtin: true}
	ag := &store.Group{TenantID: tenant, Kind: store.KindAgent, Name: wire.AllDomains, Builtin: true}
	r := &store.Right{TenantID: tenant, Name: wire.AllRights, Builtin: true,
		Targets: map[string][]string{wire.DriverAD: {"Domain Admins"}, wire.DriverLinux: {"sudo"}}}
	for _, err := range []error{tx.CreateGroup(tg), tx.CreateGroup(ag), tx.CreateRight(r)} {
		if err != nil {
			return err
		}
	}
	return tx.CreateTriplet(&store.Triplet{TenantID: tenant, TechGroupID: tg.ID, AgentGroupID: ag.ID, RightID: r.ID, Builtin: true})
}

func tenantWire(t *store.Tenant) *wire.Tenant {
	return &wire.Tenant{ClientGUID: t.GUID, Name: t.Name, Abbrev: t.Abbrev, Recovery: t.Recovery, Policy: t.Policy,
		Revision: t.Revision, CreatedAt: t.CreatedAt}
}

func (h *Hub) adminTenant(r *request) (any, error) { return tenantWire(r.tenant), nil }

func checkPolicy(p wire.Policy) error {
	var errs []error
	if p.IntervalSeconds < 60 || p.IntervalSeconds > 366*24*3600 {
		errs = append(errs, wire.Invalid("intervalSeconds", "must be from 60 seconds to a year"))
	}
	if p.Length < rotation.MinLength || p.Length > rotation.MaxLength {
		errs = append(errs, wire.Invalid("length", "must be from %d to %d", rotation.MinLength, rotation.MaxLength))
	}
	if p.Digits < 0 || p.Symbols < 0 || p.Digits+p.Symbols > p.Length {
		errs = append(errs, wire.Invalid("digits", "digits and symbols must be non-negative and fit in the length"))
	} else if p.Length >= rotation.MinLength && p.Length <= rotation.MaxLength {
		// The agents generate with the default symbol set, which a wire policy cannot change.
		gen := rotation.Policy{Length: p.Length, Digits: p.Digits, Symbols: p.Symbols, NoUpper: p.NoUpper, NoAmbiguous: p.NoAmbiguous}
		if err := gen.CheckEntropy(); err != nil {
			errs = append(errs, wire.Invalid("length", "%v", err))
		}
	}
	if p.RotateAfterUseSeconds < 0 || p.RotateAfterUseSeconds > int64(wire.MaxRotateAfterUse/time.Second) {
		errs = append(errs, wire.Invalid("rotateAfterUseSeconds", "must be from 0 (off) to 30 days"))
	}
	if p.HistoryDepth < 1 || p.HistoryDepth > wire.MaxHistoryDepth {
		errs = append(errs, wire.Invalid("historyDepth", "must be from 1 to %d", wire.MaxHistoryDepth))
	}
	if err := entitle.CheckFormat(p.NamingFormat); err != nil {
		errs = append(errs, wire.Invalid("namingFormat", "%v", err))
	}
	return errors.Join(errs...)
}

func (h *Hub) adminPolicy(r *request) (any, error) {
	// Fields the body leaves out keep their current values: a Console that predates a policy field must not reset it.
	req := wire.PolicyRequest{Policy: r.tenant.Policy}
	req.HistoryDepth = req.History()
	if err := r.decode(&req); err != nil {
		return nil, err
	}
	p := req.Policy
	if err := checkPolicy(p); err != nil {
		return nil, err
	}
	// A new format without a fixed part makes account names equal the usernames: a tech named like an existing
	// account of a target would meet it. It needs the admin's explicit confirmation.
	noFixedPart := p.NamingFormat != r.tenant.Policy.NamingFormat && !entitle.HasFixedPart(p.NamingFormat)
	if noFixedPart && !req.ConfirmNoFixedPart {
		return nil, wire.Invalid("namingFormat", "format %q has no fixed part (no literal character and no {abbrev}): account names would be the bare usernames "+
			"and could meet existing accounts of the targets; add a prefix, a suffix or {abbrev}, or confirm with confirmNoFixedPart", p.NamingFormat)
	}
	t := *r.tenant
	t.Policy = p
	err := h.mutate(r.Context(), r.tenant, r.who, func(c *change) error {
		if err := c.tx.UpdateTenant(&t); err != nil {
			return err
		}
		c.graph = true
		c.groupsOnly = true
		if noFixedPart {
			if err := c.audit("policy.confirm-no-fixed-part", "tenant "+t.GUID, fmt.Sprintf("namingFormat=%q was=%q", p.NamingFormat, r.tenant.Policy.NamingFormat)); err != nil {
				return err
			}
		}
		detail, _ := json.Marshal(p)
		return c.audit("policy.update", "tenant "+t.GUID, string(detail))
	})
	if err != nil {
		return nil, err
	}
	return tenantWire(&t), nil
}
