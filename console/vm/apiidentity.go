package vm

// API identities on the admins screen: the owner's invite of one (role, expiry, source addresses) and the line that
// tells one from a person's admin. Approval and revocation are the admins' own (ApproveAdmin, RemoveAdmin), so an
// API identity approved here is signed into the signed authority like any admin, and its removal signed too.

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

// InviteAPIIdentity creates a single-use invite for an API identity of role (owner only), valid a week: the
// script's machine claims it with `watchword init`, then the owner approves the fingerprint it printed. expires
// (zero: never) and sources (CIDRs; none: any address) limit it.
func (a *App) InviteAPIIdentity(ctx context.Context, role wire.Role, org string, expires time.Time, sources []string) (*wire.TokenResponse, error) {
	var tok *wire.TokenResponse
	err := a.do(ctx, "invite an API identity ("+RoleTitle(role)+")", func(api *hubclient.Client) (err error) {
		tok, err = api.Invite(ctx, wire.InviteRequest{Role: role, Organization: org, TTLSeconds: int64(7 * 24 * time.Hour / time.Second),
			API: true, APIExpiresAt: expires, APISources: sources})
		return err
	})
	return tok, err
}

// ParseAPILimits reads the admins screen's expiry (a date, empty for none: the identity ends at its start, UTC)
// and source addresses (CIDRs or addresses, separated by commas or spaces).
func ParseAPILimits(expires, sources string) (time.Time, []string, error) {
	var exp time.Time
	if s := strings.TrimSpace(expires); s != "" {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return time.Time{}, nil, fmt.Errorf("expiry %q: want a date such as 2027-03-31", s)
		}
		exp = t
	}
	srcs := strings.FieldsFunc(sources, func(r rune) bool { return r == ',' || r == ' ' || r == ';' })
	return exp, srcs, nil
}

// APIIdentityLine describes an API identity for the admins screen at now ("API identity · expires 2027-03-31 ·
// from 10.0.0.0/8"); it is empty for a person's admin.
func APIIdentityLine(ad wire.Admin, now time.Time) string {
	if !ad.API {
		return ""
	}
	parts := []string{"API identity"}
	switch {
	case ad.ExpiresAt.IsZero():
		parts = append(parts, "never expires")
	case !now.Before(ad.ExpiresAt):
		parts = append(parts, "expired "+ad.ExpiresAt.UTC().Format(time.DateOnly))
	default:
		parts = append(parts, "expires "+ad.ExpiresAt.UTC().Format(time.DateOnly))
	}
	if len(ad.Sources) == 0 {
		parts = append(parts, "from any address")
	} else {
		parts = append(parts, "from "+strings.Join(ad.Sources, ", "))
	}
	return strings.Join(parts, " · ")
}
