package hub

// API identities: admins a script uses instead of a person at a Console. An owner invites one with a claim token
// that says so (InviteRequest.API), with an optional expiry and the source addresses (CIDRs) it may call from; the
// script's host generates the key and claims the token (the watchword CLI does both), and an owner approves it
// by fingerprint like any invited admin. From then on it is an admin of its role with three differences:
//
//   - the hub refuses it, 403 with a reason naming it, once expired or from an address outside its sources
//     (checkAPI, on every admin route and again when a held request answers);
//   - each of its reads is audited as api.read under its admin ID and name (its changes are audited as anyone's);
//   - it never counts as the tenant's last owner (an API identity cannot stand in for a person).
//
// It cannot sign the tenant's signed authority: its changes of who may read what are unsigned, and pinned agents
// refuse them until an owner's Console signs them (docs/hub.md, API identities).

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/wire"
)

// maxAPISources bounds the source list of one API identity.
const maxAPISources = 32

// apiSources checks an invite's source CIDRs and returns them in their canonical form, space-separated.
func apiSources(cidrs []string) (string, error) {
	if len(cidrs) > maxAPISources {
		return "", wire.Invalid("apiSources", "at most %d", maxAPISources)
	}
	var out []string
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(strings.TrimSpace(c))
		if err != nil {
			// A bare address is a one-address prefix.
			a, aerr := netip.ParseAddr(strings.TrimSpace(c))
			if aerr != nil {
				return "", wire.Invalid("apiSources", "%q is not a CIDR (192.0.2.0/24) or an address", c)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked().String())
	}
	return strings.Join(out, " "), nil
}

// sourceList splits a stored source list.
func sourceList(s string) []string { return strings.Fields(s) }

// checkAPI refuses an API identity past its expiry or calling from outside its sources; any other admin passes.
func checkAPI(a *store.Admin, now time.Time, remote string) error {
	if a == nil || !a.API {
		return nil
	}
	if !a.APIExpiresAt.IsZero() && !now.Before(a.APIExpiresAt) {
		return &wire.Error{Code: wire.CodeForbidden, Message: fmt.Sprintf("API identity %q expired at %s", a.Name, a.APIExpiresAt.UTC().Format(time.RFC3339))}
	}
	srcs := sourceList(a.APISources)
	if len(srcs) == 0 {
		return nil
	}
	addr, err := netip.ParseAddr(remote)
	if err == nil {
		addr = addr.Unmap()
		for _, s := range srcs {
			if p, err := netip.ParsePrefix(s); err == nil && p.Contains(addr) {
				return nil
			}
		}
	}
	return &wire.Error{Code: wire.CodeForbidden, Message: fmt.Sprintf("API identity %q may not call from %s", a.Name, remote)}
}

// auditAPIRead records a read an API identity is about to make, before it is answered (a read that cannot be
// audited is refused): its changes are audited by their handlers, its reads here.
func (h *Hub) auditAPIRead(rt route, r *request) error {
	a := r.who.admin
	if a == nil || !a.API || rt.method != "GET" || r.tenant == nil {
		return nil
	}
	detail := fmt.Sprintf("name=%q route=%q", a.Name, rt.method+" "+rt.path)
	if q := r.URL.RawQuery; q != "" && len(q) <= 500 {
		detail += fmt.Sprintf(" query=%q", q)
	}
	return h.st.Write(r.Context(), func(tx store.Tx) error {
		return tx.Audit(&store.AuditEvent{TenantID: r.tenant.ID, At: h.now().UTC(), ActorKind: "admin", ActorID: a.ID,
			Action: "api.read", Target: fmt.Sprintf("admin %d", a.ID), Detail: detail})
	})
}

// apiDetail is what an audit detail adds for an API identity (nothing for a person's admin).
func apiDetail(api bool, exp time.Time, sources string) string {
	if !api {
		return ""
	}
	e := "never"
	if !exp.IsZero() {
		e = exp.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf(" api=true api-expires=%s api-sources=%q", e, sources)
}
