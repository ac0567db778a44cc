package entitle

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrBadName is wrapped by every naming error.
var ErrBadName = errors.New("bad account name")

// ErrCollision marks two entitlements that would share one account name on a target.
var ErrCollision = errors.New("account name collision")

// ErrReserved marks a name that is, or renders to, a built-in or privileged principal of the targets.
var ErrReserved = errors.New("reserved account name")

// reserved are the built-in and privileged principals of the targets, lower case: Windows and AD (the built-in
// Administrator, Guest, DefaultAccount, WDAGUtilityAccount and the KDC's krbtgt) and the system users of Linux
// distributions. A Watchword account of such a name would be a takeover of that principal, however the agent
// guards it; the hub refuses them outright.
var reserved = map[string]bool{
	"administrator": true, "admin": true, "guest": true, "krbtgt": true, "defaultaccount": true, "wdagutilityaccount": true,
	"root": true, "daemon": true, "bin": true, "sys": true, "sync": true, "nobody": true, "games": true, "man": true,
	"lp": true, "mail": true, "news": true, "uucp": true, "proxy": true, "www-data": true, "backup": true, "list": true,
	"irc": true, "gnats": true, "sshd": true, "adm": true, "operator": true, "halt": true, "shutdown": true,
	"systemd-network": true, "systemd-resolve": true, "systemd-timesync": true, "messagebus": true, "_apt": true,
}

// Reserved reports, case-insensitively, whether name is a built-in or privileged principal's: one of the
// reserved names, a read-only DC's krbtgt_N, or a name ending in "$" (AD's computer, trust and managed service
// accounts).
func Reserved(name string) bool {
	n := strings.TrimSpace(name)
	if strings.HasSuffix(n, "$") {
		return true
	}
	if len(n) > maxReserved { // the common case of a plan: no reserved name is that long
		return len(n) > len("krbtgt_") && strings.EqualFold(n[:len("krbtgt_")], "krbtgt_")
	}
	n = strings.ToLower(n)
	return reserved[n] || strings.HasPrefix(n, "krbtgt_")
}

// maxReserved is the length of the longest reserved name.
var maxReserved = func() int {
	m := 0
	for n := range reserved {
		m = max(m, len(n))
	}
	return m
}()

// CheckUsername refuses a tech username that is a reserved name (Reserved).
func CheckUsername(username string) error {
	if Reserved(username) {
		return fmt.Errorf("%w: %q is a built-in or privileged account name on the targets", ErrReserved, username)
	}
	return nil
}

// HasFixedPart reports whether every name the format renders carries something of the tenant's own besides the
// username: a literal character or {abbrev}. Without one, a tech's account name is exactly (a prefix of) their
// username, and a username equal to an existing account's name would collide with it.
func HasFixedPart(format string) bool {
	if format == "" {
		format = DefaultFormat
	}
	return strings.Contains(format, "{abbrev}") || placeholder.ReplaceAllString(format, "") != ""
}

// Naming turns a tech's username into an account name under a tenant's format. The format knows three
// placeholders: {username}, {username:N} (the first N characters) and {abbrev}.
type Naming struct {
	Format string
	Abbrev string
}

// maxFormat bounds a naming format; every driver's names are far shorter anyway.
const maxFormat = 100

// DefaultFormat is the naming format a tenant starts with.
const DefaultFormat = "{username}-{abbrev}"

var placeholder = regexp.MustCompile(`\{[^{}]*\}`)

// CheckFormat validates the placeholders of a naming format; the result must still pass ValidName per driver.
func CheckFormat(format string) error {
	if !utf8.ValidString(format) || utf8.RuneCountInString(format) > maxFormat {
		return fmt.Errorf("%w: format must be valid text of at most %d characters", ErrBadName, maxFormat)
	}
	if strings.ContainsFunc(format, unicode.IsControl) {
		return fmt.Errorf("%w: format %q holds a control character", ErrBadName, format)
	}
	if !strings.Contains(format, "{username") {
		return fmt.Errorf("%w: format %q lacks {username}", ErrBadName, format)
	}
	var err error
	placeholder.ReplaceAllStringFunc(format, func(p string) string {
		switch {
		case p == "{username}" || p == "{abbrev}":
		case strings.HasPrefix(p, "{username:"):
			n, e := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(p, "{username:"), "}"))
			if e != nil || n < 1 || n > 32 {
				err = fmt.Errorf("%w: placeholder %q needs a length from 1 to 32", ErrBadName, p)
			}
		default:
			err = fmt.Errorf("%w: unknown placeholder %q", ErrBadName, p)
		}
		return ""
	})
	if strings.ContainsAny(placeholder.ReplaceAllString(format, ""), "{}") {
		return fmt.Errorf("%w: unbalanced braces in format %q", ErrBadName, format)
	}
	return err
}

// maxShortName bounds a short name: a username's bound.
const maxShortName = 32

var shortName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// Base is what a tech's account names are rendered from: the short name an admin set for a tech whose username
// renders too long or collides with another tech's, else the username.
func Base(username, shortName string) string {
	if shortName != "" {
		return shortName
	}
	return username
}

// CheckShortName refuses a short name no target could hold as part of an account name: it has 1 to 32 lowercase
// letters, digits, '.', '_' or '-', starts with a letter or digit, and is not a reserved name (Reserved).
func CheckShortName(name string) error {
	if len(name) == 0 || len(name) > maxShortName || !shortName.MatchString(name) {
		return fmt.Errorf("%w: short name %q: 1 to %d lowercase letters, digits, '.', '_' or '-', starting with a letter or digit", ErrBadName, name, maxShortName)
	}
	if Reserved(name) {
		return fmt.Errorf("%w: short name %q is a built-in or privileged account name on the targets", ErrReserved, name)
	}
	return nil
}

// Name renders the account name of username. The common default format takes a fast path.
func (n Naming) Name(username string) string {
	if n.Format == DefaultFormat || n.Format == "" {
		return username + "-" + n.Abbrev
	}
	return placeholder.ReplaceAllStringFunc(n.Format, func(p string) string {
		switch {
		case p == "{username}":
			return username
		case p == "{abbrev}":
			return n.Abbrev
		case strings.HasPrefix(p, "{username:"):
			k, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(p, "{username:"), "}"))
			if k > 0 && k < len(username) {
				return username[:k]
			}
			return username
		}
		return p
	})
}

var linuxName = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)

// ValidName checks an account name against what a driver kind's targets accept.
func ValidName(driver, name string) error {
	switch driver {
	case "ad":
		// sAMAccountName: at most 20 characters, none of "/\[]:;|=,+*?<> and not only dots and spaces.
		if utf8.ValidString(name) && utf8.RuneCountInString(name) > 20 {
			return fmt.Errorf("%w: %q is %d characters: an AD sAMAccountName has 1 to 20 characters of valid text", ErrBadName, name, utf8.RuneCountInString(name))
		}
		if name == "" || len(name) > 20 || !utf8.ValidString(name) {
			return fmt.Errorf("%w: %q: an AD sAMAccountName has 1 to 20 characters of valid text", ErrBadName, name)
		}
		if i := strings.IndexAny(name, "\"/\\[]:;|=,+*?<>@"); i >= 0 {
			return fmt.Errorf("%w: %q: an AD sAMAccountName cannot contain %q", ErrBadName, name, name[i])
		}
		if strings.Trim(name, ". ") == "" || strings.HasSuffix(name, ".") {
			return fmt.Errorf("%w: %q: an AD sAMAccountName cannot end with a dot or be only dots and spaces", ErrBadName, name)
		}
		for _, c := range name {
			if c < 0x20 || c == 0x7f {
				return fmt.Errorf("%w: %q: control character", ErrBadName, name)
			}
		}
	case "linux":
		if !linuxName.MatchString(name) {
			return fmt.Errorf("%w: %q: a Linux user name matches [a-z_][a-z0-9_-]{0,31}", ErrBadName, name)
		}
	case "ldap":
		if name == "" || len(name) > 64 {
			return fmt.Errorf("%w: %q: an LDAP uid has 1 to 64 characters", ErrBadName, name)
		}
		for _, c := range name {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				return fmt.Errorf("%w: %q: an LDAP uid uses letters, digits, '.', '_' and '-'", ErrBadName, name)
			}
		}
	case "entra":
		// The user principal name's part before @ (the agent appends its verified domain). Entra accepts
		// ' ! # ^ ~ too, but such a name is awkward to type at a sign-in prompt and the agent's driver refuses it:
		// the hub plans only names the agent will take.
		if name == "" || len(name) > 64 {
			return fmt.Errorf("%w: %q: an Entra user name has 1 to 64 characters before the @", ErrBadName, name)
		}
		for _, c := range name {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				return fmt.Errorf("%w: %q: an Entra user name uses letters, digits, '.', '_' and '-'", ErrBadName, name)
			}
		}
		if strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, "..") {
			return fmt.Errorf("%w: %q: an Entra user name cannot start or end with a dot or hold two in a row", ErrBadName, name)
		}
	default:
		return fmt.Errorf("%w: unknown driver kind %q", ErrBadName, driver)
	}
	return nil
}

// Planned is one grant with its account name.
type Planned struct {
	Grant
	AccountName string
}

// Problem is a grant that cannot become an account.
type Problem struct {
	Grant
	AccountName string
	Err         error // wraps ErrBadName, ErrReserved or ErrCollision
}

// CheckName is ValidName and the reserved names: whether name may be a Watchword account on a driver kind's
// targets.
func CheckName(driver, name string) error {
	if err := ValidName(driver, name); err != nil {
		return err
	}
	if Reserved(name) {
		return fmt.Errorf("%w: %q is a built-in or privileged account on the target", ErrReserved, name)
	}
	return nil
}

// Plan names every grant of agent and sorts out invalid, reserved (CheckName) and colliding names. taken maps names already held on
// the agent's target to the tech holding them (accounts of former grants); a name held by another tech collides.
// Colliding grants are all reported, none is planned: two techs never share an account.
func (x *Index) Plan(agent int64, n Naming, taken map[string]int64) ([]Planned, []Problem) {
	grants := x.ForAgent(agent)
	if len(grants) == 0 {
		return nil, nil
	}
	driver := grants[0].Agent.Driver
	planned := make([]Planned, 0, len(grants))
	var problems []Problem
	byName := make(map[string]int, len(grants)) // name → index into planned, -1 once it collided
	for _, g := range grants {
		name := n.Name(Base(g.Tech.Username, g.Tech.ShortName))
		if err := CheckName(driver, name); err != nil {
			problems = append(problems, Problem{Grant: g, AccountName: name, Err: err})
			continue
		}
		if holder, ok := taken[name]; ok && holder != g.Tech.ID {
			problems = append(problems, Problem{Grant: g, AccountName: name,
				Err: fmt.Errorf("%w: %q is held by another tech's account", ErrCollision, name)})
			continue
		}
		if i, ok := byName[name]; ok {
			problems = append(problems, Problem{Grant: g, AccountName: name,
				Err: fmt.Errorf("%w: %q would serve two techs", ErrCollision, name)})
			if i >= 0 {
				problems = append(problems, Problem{Grant: planned[i].Grant, AccountName: name,
					Err: fmt.Errorf("%w: %q would serve two techs", ErrCollision, name)})
				planned[i].AccountName = "" // dropped below
				byName[name] = -1
			}
			continue
		}
		byName[name] = len(planned)
		planned = append(planned, Planned{Grant: g, AccountName: name})
	}
	if len(problems) > 0 {
		kept := planned[:0]
		for _, p := range planned {
			if p.AccountName != "" {
				kept = append(kept, p)
			}
		}
		planned = kept
	}
	return planned, problems
}
