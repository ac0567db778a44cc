package vm

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/watchword/watchword/shared/wire"
)

// Row is one account of the technician as the list shows it. Its envelope stays sealed.
type Row struct {
	AccountID    int64
	AgentID      int64
	Host         string // the domain or host: the agent's name
	Driver       string // ad, linux, ldap
	Account      string // the account name on the target
	Rights       []string
	Groups       []string  // the target groups the account is a member of (Domain Admins, sudo)
	Version      int64     // the version shown: the confirmed one, or the newest staged when none is confirmed
	Confirmed    bool      // false while the first password is staged but not yet confirmed by the target
	Rotating     bool      // a newer version is staged: the target is being rotated right now
	RotatedAt    time.Time // when the shown version was confirmed (or staged)
	NextRotation time.Time // zero when the hub has no schedule for it
	// RotatesAfterUse is when the hub rotates the account because its password was revealed or copied (the
	// policy's rotate-after-use grace); zero when no such rotation is pending.
	RotatesAfterUse time.Time
	// JIT accounts (jit.go): disabled until the technician enables a window of at most JITMax, approved first when
	// JITApproval; Grant is the latest request (nil when none was made). A JIT row has no version to open outside
	// a window.
	JIT         bool
	JITMax      time.Duration
	JITApproval bool
	Grant       *wire.JITGrant
	// Alert is set when the device pins the tenant's signed authority and no agent the admins enrolled signed the
	// shown version (UnsignedAlert): the row shows it, and the password is never opened.
	Alert string
	// TAPExpires is when the window's Temporary Access Pass stops working (Entra ID, where the tenant requires a
	// second factor): zero when the agent issued none. The pass is shown and copied like the password (tap.go).
	TAPExpires time.Time

	tap       *wire.JITTAP // the window's sealed pass, bound to the grant's ID
	tapGrant  int64
	guid      string
	envelope  []byte
	signature []byte // the staging agent's signature over the version's envelope statement
	key       string // lower-case text the filter searches
}

// String names the row without its (sealed, but bulky) envelope.
func (r *Row) String() string {
	return fmt.Sprintf("account %d %q on %q v%d confirmed=%v rotating=%v", r.AccountID, r.Account, r.Host, r.Version, r.Confirmed, r.Rotating)
}

// AccessText is what the account is on its target, as a tech reads it: its target groups ("Domain Admins"), not
// the right's name an admin chose; the right names from a hub that does not send the groups.
func (r *Row) AccessText() string {
	if len(r.Groups) > 0 {
		return strings.Join(r.Groups, ", ")
	}
	return strings.Join(r.Rights, ", ")
}

// DriverName names a driver kind for people.
func DriverName(d string) string {
	switch d {
	case wire.DriverAD:
		return "Active Directory"
	case wire.DriverLinux:
		return "Linux host"
	case wire.DriverLDAP:
		return "LDAP directory"
	case wire.DriverEntra:
		return "Microsoft Entra ID"
	}
	return d
}

// newRow picks the version a technician should use: the confirmed one when there is one (the target holds it),
// else the newest staged one. A credential without any version yet has no row.
func newRow(guid string, c *wire.Credential) *Row {
	if len(c.Versions) == 0 && !c.JIT {
		return nil
	}
	r := &Row{AccountID: c.AccountID, AgentID: c.AgentID, Host: c.AgentName, Driver: c.Driver, Account: c.AccountName,
		Rights: slices.Clone(c.Rights), Groups: slices.Clone(c.Groups), NextRotation: c.NextRotationAt, RotatesAfterUse: c.RotatesAfterUseAt, guid: guid,
		JIT: c.JIT, JITMax: time.Duration(c.JITMaxSeconds) * time.Second, JITApproval: c.JITApproval}
	if c.JITGrant != nil {
		g := *c.JITGrant
		if g.TAP != nil && len(g.TAP.Envelope) > 0 {
			r.tap, r.tapGrant, r.TAPExpires = g.TAP, g.ID, g.TAP.ExpiresAt
		}
		g.TAP = nil // the row's own copy above; Grant is for the window's state
		r.Grant = &g
	}
	r.key = strings.ToLower(r.Host + "\x00" + r.Account + "\x00" + strings.Join(r.Rights, "\x00") + "\x00" + strings.Join(r.Groups, "\x00") +
		"\x00" + DriverName(r.Driver))
	if r.JIT {
		r.key += "\x00just-in-time jit"
	}
	if len(c.Versions) == 0 {
		return r // a JIT account outside its window: nothing this device can open
	}
	pick := &c.Versions[0]
	for i := range c.Versions {
		if c.Versions[i].State == wire.VersionConfirmed {
			pick = &c.Versions[i]
			r.Confirmed = true
			r.Rotating = i > 0
			break
		}
	}
	r.Version, r.envelope, r.signature = pick.Version, pick.Envelope, pick.Signature
	r.RotatedAt = pick.ConfirmedAt
	if r.RotatedAt.IsZero() {
		r.RotatedAt = pick.StagedAt
	}
	return r
}

func sortRows(rows []*Row) {
	slices.SortFunc(rows, func(x, y *Row) int {
		if c := strings.Compare(strings.ToLower(x.Host), strings.ToLower(y.Host)); c != 0 {
			return c
		}
		return strings.Compare(x.Account, y.Account)
	})
}

// filterRows keeps the rows whose host, account, rights or kind contain every word of the filter.
func filterRows(rows []*Row, filter string) []*Row {
	words := strings.Fields(strings.ToLower(filter))
	if len(words) == 0 {
		return rows
	}
	out := make([]*Row, 0, len(rows))
next:
	for _, r := range rows {
		for _, w := range words {
			if !strings.Contains(r.key, w) {
				continue next
			}
		}
		out = append(out, r)
	}
	return out
}

// SetFilter narrows the visible rows as the technician types.
func (a *App) SetFilter(s string) {
	a.mu.Lock()
	a.lastActive = a.o.Now()
	if s == a.filter {
		a.mu.Unlock()
		return
	}
	a.filter = s
	a.visible = filterRows(a.all, s)
	a.mu.Unlock()
	a.bumpRows()
}

// Filter returns the current filter text.
func (a *App) Filter() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.filter
}

// Visible returns the rows the filter lets through, sorted by host and account. The slice is shared: read only.
func (a *App) Visible() []*Row {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.visible
}

// Total is how many accounts the technician holds.
func (a *App) Total() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.all)
}

// Row returns the row of an account, or nil.
func (a *App) Row(accountID int64) *Row {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.byID[accountID]
}

// Select marks a row as the selected one (0 clears the selection).
func (a *App) Select(accountID int64) {
	a.Touch()
	if cur, _ := a.Selected.Get(); int64(cur) == accountID {
		return
	}
	a.Hide()
	_ = a.Selected.Set(int(accountID))
}

// SelectedRow returns the selected row, or nil.
func (a *App) SelectedRow() *Row {
	id, _ := a.Selected.Get()
	if id == 0 {
		return nil
	}
	return a.Row(int64(id))
}

func (a *App) bumpRows() {
	n, _ := a.Rows.Get()
	_ = a.Rows.Set(n + 1)
}

// Now is the view-model's clock.
func (a *App) Now() time.Time { return a.o.Now() }

// Until renders the time to t for a list row: "in 3 d 4 h", "in 5 h 12 min", "in 4:59", "due now".
func Until(now, t time.Time) string {
	if t.IsZero() {
		return "no schedule"
	}
	d := t.Sub(now)
	if d <= 0 {
		return "due now"
	}
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("in %d d %d h", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
	case d >= time.Hour:
		return fmt.Sprintf("in %d h %02d min", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	s := int(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("in %d:%02d", s/60, s%60)
}

// Countdown renders the time to t to the second: "23:59:07", "2 d 03:10:00".
func Countdown(now, t time.Time) string {
	if t.IsZero() {
		return "no schedule"
	}
	d := t.Sub(now).Round(time.Second)
	if d <= 0 {
		return "due now"
	}
	s := int(d / time.Second)
	days, h, m, sec := s/86400, s%86400/3600, s%3600/60, s%60
	if days > 0 {
		return fmt.Sprintf("%d d %02d:%02d:%02d", days, h, m, sec)
	}
	return fmt.Sprintf("%02d:%02d:%02d", h, m, sec)
}

// AfterUse renders a pending rotate-after-use for people: "rotates at 15:04 after use" (local time, with the
// day when it is not today); empty when none is pending.
func AfterUse(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	lt := t.Local()
	layout := "15:04"
	if lt.Format("2006-01-02") != now.Local().Format("2006-01-02") {
		layout = "Mon 2 Jan 15:04"
	}
	return "rotates at " + lt.Format(layout) + " after use"
}

// Plural renders a count with its noun: "1 account", "2 accounts", "3 matches".
func Plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	switch {
	case strings.HasSuffix(noun, "ch"), strings.HasSuffix(noun, "sh"), strings.HasSuffix(noun, "s"), strings.HasSuffix(noun, "x"):
		return fmt.Sprintf("%d %ses", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
