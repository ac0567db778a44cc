// Package linux is the driver for Linux accounts: those of the host the agent runs on ([NewLocal]) and those of
// a remote host over SSH ([NewSSH]). Both run the same shadow-utils commands through a [Runner]:
//
//   - create: useradd -m -s /bin/bash (the new account has no password, "!" in /etc/shadow: it cannot log in)
//   - set:    chpasswd, with "name:password" on STDIN — never on a command line, where ps would show it
//   - groups: usermod -aG to join, gpasswd -d to leave; a group that does not exist is reported, never created
//   - disable: strip the memberships, then usermod -L -e 1 (lock the password AND expire the account: a lock
//     alone does not stop key logins); re-enable: usermod -U -e ”
//   - delete: strip the memberships, then userdel -r (with the home directory useradd -m made)
//
// Verification: over SSH, a password login to the host (the host key pinned); locally, the account's shadow
// entry checked with the system's own crypt(3) (through perl, which Debian always has), the password on stdin.
//
// Names follow `[a-z_][a-z0-9_-]{0,31}`; a driver made with a Prefix refuses any other account, so a
// misconfigured plan can never touch root or a person's own login.
package linux

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/shared/rotation"
)

// Runner runs one command on the managed host. stdin is fed to the command; it may hold a password, so a Runner
// never logs it or puts it in an error. A non-zero exit is an *ExitError.
type Runner interface {
	Run(ctx context.Context, stdin string, argv ...string) (stdout string, err error)
	Close() error
}

// ExitError is a command that ran and failed.
type ExitError struct {
	Argv   []string
	Code   int
	Stderr string
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("%s: exit %d: %s", e.Argv[0], e.Code, strings.TrimSpace(e.Stderr))
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return -1
}

var (
	nameRE  = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
	groupRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,31}$`)
)

// ValidateName applies the portable Linux user name rule.
func ValidateName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("account %q: %w: want [a-z_][a-z0-9_-]{0,31}", name, driver.ErrInvalidName)
	}
	return nil
}

// Driver manages Linux accounts through a Runner.
type Driver struct {
	kind   string
	run    Runner
	prefix string
	login  func(ctx context.Context, name, password string) error // nil: check the shadow entry locally
	now    func() time.Time
}

var _ driver.Driver = (*Driver)(nil)

func (d *Driver) Kind() string                  { return d.kind }
func (d *Driver) PasswordRules() rotation.Rules { return rotation.RulesNone }
func (d *Driver) Close() error                  { return d.run.Close() }

func (d *Driver) ValidateName(name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	if d.prefix != "" && !strings.HasPrefix(name, d.prefix) {
		return fmt.Errorf("account %q: %w: this driver only manages names starting %q", name, driver.ErrInvalidName, d.prefix)
	}
	return nil
}

// shadow is the parts of an account's /etc/passwd and /etc/shadow entries the driver reads.
type shadow struct {
	hash   string
	expire int64 // days since the epoch; -1 none
	uid    int64
	gecos  string
}

// System and reserved uid ranges (Debian's policy: 0-999 system, 60000-64999 reserved, 65534 nobody, and
// everything above for containers and the like): never managed, whatever the plan says.
const (
	firstUserUID = 1000
	lastUserUID  = 59999
)

// marked reads the mark in any comma-separated GECOS field.
func (s shadow) marked() (managed, adopted bool) {
	for f := range strings.SplitSeq(s.gecos, ",") {
		if m, a := driver.Marked(f); m {
			return m, a
		}
	}
	return false, false
}

// markGECOS sets the "other" field (the fifth) of a GECOS value to mark, keeping the others.
func markGECOS(g, mark string) string {
	f := strings.Split(g, ",")
	for len(f) < 5 {
		f = append(f, "")
	}
	f[4] = mark
	return strings.Join(f, ",")
}

func (s shadow) locked() bool { return strings.HasPrefix(s.hash, "!") }

// hasPassword: a real crypt hash behind any lock marks (useradd leaves "!", a locked password is "!$y$...").
func (s shadow) hasPassword() bool { return strings.HasPrefix(strings.TrimLeft(s.hash, "!"), "$") }

func (s shadow) expired(now time.Time) bool {
	return s.expire >= 0 && s.expire <= now.Unix()/86400
}

// readShadow reads the account's passwd and shadow entries in one command; nil when there is none.
func (d *Driver) readShadow(ctx context.Context, name string) (*shadow, error) {
	out, err := d.run.Run(ctx, "", "sh", "-c", `getent passwd "$1" && getent shadow "$1"`, "sh", name)
	if exitCode(err) == 2 {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the entries of %q: %w", name, err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		return nil, fmt.Errorf("read the entries of %q: want a passwd and a shadow line, got %d lines", name, len(lines))
	}
	p := strings.Split(lines[0], ":")
	if len(p) != 7 || p[0] != name {
		return nil, fmt.Errorf("read passwd entry of %q: malformed", name)
	}
	uid, err := strconv.ParseInt(p[2], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("read passwd entry of %q: uid %q", name, p[2])
	}
	f := strings.Split(lines[1], ":")
	if len(f) < 8 || f[0] != name {
		return nil, fmt.Errorf("read shadow entry of %q: malformed", name)
	}
	s := &shadow{hash: f[1], expire: -1, uid: uid, gecos: p[4]}
	if f[7] != "" {
		if s.expire, err = strconv.ParseInt(f[7], 10, 64); err != nil {
			return nil, fmt.Errorf("read shadow entry of %q: expire %q", name, f[7])
		}
	}
	return s, nil
}

// own checks that Watchword may manage the account: never root, a system or reserved uid; a marked account; or,
// with adopt, an unmarked one, which it then marks adopted in its GECOS.
func (d *Driver) own(ctx context.Context, name string, sh *shadow, adopt bool) (adopted bool, err error) {
	if name == "root" || sh.uid < firstUserUID || sh.uid > lastUserUID {
		return false, fmt.Errorf("account %q: %w: uid %d is root, a system or a reserved account, never managed",
			name, driver.ErrProtected, sh.uid)
	}
	if m, _ := sh.marked(); m {
		return false, nil
	}
	if !adopt {
		return false, fmt.Errorf("account %q: %w (no %q in its GECOS): adopt it in the Console or change the naming format",
			name, driver.ErrNotManaged, driver.MarkManaged)
	}
	g := markGECOS(sh.gecos, driver.MarkAdopted)
	if _, err := d.run.Run(ctx, "", "usermod", "-c", g, name); err != nil {
		return false, fmt.Errorf("mark %q adopted: %w", name, err)
	}
	sh.gecos = g
	return true, nil
}

// managedShadow reads the account and checks that Watchword may change it; nil when it does not exist.
func (d *Driver) managedShadow(ctx context.Context, name string) (*shadow, error) {
	sh, err := d.readShadow(ctx, name)
	if err != nil || sh == nil {
		return sh, err
	}
	if _, err := d.own(ctx, name, sh, false); err != nil {
		return nil, err
	}
	return sh, nil
}

// findOrCreate reads a's account, creating it with extra useradd arguments when missing; an existing one must
// be Watchword's, or adopted now (a.Adopt).
func (d *Driver) findOrCreate(ctx context.Context, a driver.Account, rep *driver.Report, extra ...string) (*shadow, error) {
	sh, err := d.readShadow(ctx, a.Name)
	if err != nil {
		return nil, err
	}
	if sh != nil {
		adopted, err := d.own(ctx, a.Name, sh, a.Adopt)
		rep.Adopted = adopted
		if err != nil {
			return nil, err
		}
		return sh, nil
	}
	argv := append([]string{"useradd", "-m", "-s", "/bin/bash", "-c", markGECOS(gecos(a.DisplayName), driver.MarkManaged)}, extra...)
	if _, err := d.run.Run(ctx, "", append(argv, a.Name)...); err != nil {
		return nil, fmt.Errorf("create account %q: %w", a.Name, err)
	}
	rep.Created = true
	if sh, err = d.managedShadow(ctx, a.Name); err != nil || sh == nil {
		return nil, fmt.Errorf("create account %q: no entry afterwards: %w", a.Name, err)
	}
	return sh, nil
}

func (d *Driver) groupExists(ctx context.Context, g string) (bool, error) {
	if !groupRE.MatchString(g) {
		return false, nil // cannot exist under the portable rule; reported missing, never passed to a command
	}
	_, err := d.run.Run(ctx, "", "getent", "group", g)
	switch exitCode(err) {
	case 0:
		return true, nil
	case 2:
		return false, nil
	}
	return false, fmt.Errorf("look up group %q: %w", g, err)
}

// supplementary lists the account's groups other than its primary one.
func (d *Driver) supplementary(ctx context.Context, name string) ([]string, error) {
	all, err := d.run.Run(ctx, "", "id", "-nG", name)
	if err != nil {
		return nil, fmt.Errorf("groups of %q: %w", name, err)
	}
	primary, err := d.run.Run(ctx, "", "id", "-gn", name)
	if err != nil {
		return nil, fmt.Errorf("primary group of %q: %w", name, err)
	}
	var out []string
	for _, g := range strings.Fields(all) {
		if g != strings.TrimSpace(primary) {
			out = append(out, g)
		}
	}
	return out, nil
}

func (d *Driver) syncGroups(ctx context.Context, name string, want []string, rep *driver.Report) error {
	have, err := d.supplementary(ctx, name)
	if err != nil {
		return err
	}
	var add, keep []string
	for _, g := range want {
		ok, err := d.groupExists(ctx, g)
		if err != nil {
			return err
		}
		switch {
		case !ok:
			rep.Missing = append(rep.Missing, g)
		case slices.Contains(have, g):
			keep = append(keep, g)
		default:
			add = append(add, g)
		}
	}
	if len(add) > 0 {
		if _, err := d.run.Run(ctx, "", "usermod", "-aG", strings.Join(add, ","), name); err != nil {
			return fmt.Errorf("add %q to %v: %w", name, add, err)
		}
		rep.Added = append(rep.Added, add...)
	}
	var errs []error
	for _, g := range have {
		if slices.Contains(keep, g) || slices.Contains(add, g) {
			continue
		}
		if _, err := d.run.Run(ctx, "", "gpasswd", "-d", name, g); err != nil {
			errs = append(errs, fmt.Errorf("remove %q from %q: %w", name, g, err))
			continue
		}
		rep.Removed = append(rep.Removed, g)
	}
	return errors.Join(errs...)
}

// Ensure creates the account when missing (no password, so it cannot log in), makes its supplementary groups
// exactly a.Groups, and unlocks it when it already has a password.
func (d *Driver) Ensure(ctx context.Context, a driver.Account) (driver.Report, error) {
	var rep driver.Report
	if err := d.ValidateName(a.Name); err != nil {
		return rep, err
	}
	sh, err := d.findOrCreate(ctx, a, &rep)
	if err != nil {
		return rep, err
	}
	if err := d.syncGroups(ctx, a.Name, a.Groups, &rep); err != nil {
		return rep, err
	}
	if !sh.hasPassword() {
		rep.NeedsPassword = true
		return rep, nil
	}
	disabled := sh.locked() || sh.expired(d.now())
	if disabled && a.HoldDisabled {
		rep.Held = true
		return rep, nil
	}
	if disabled {
		if _, err := d.run.Run(ctx, "", "usermod", "-U", "-e", "", a.Name); err != nil {
			return rep, fmt.Errorf("enable account %q: %w", a.Name, err)
		}
		rep.Enabled = true
	}
	return rep, nil
}

// gecos keeps a display name from breaking /etc/passwd's colon- and comma-separated fields.
func gecos(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ':' || r == ',' || r == '=' || r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// SetPassword sets the password with chpasswd, the password on stdin.
func (d *Driver) SetPassword(ctx context.Context, name, password string) error {
	return d.setPassword(ctx, name, password, "chpasswd")
}

// setPassword feeds name:password to argv (chpasswd, or a command around it) once the name, the password and the
// account are checked.
func (d *Driver) setPassword(ctx context.Context, name, password string, argv ...string) error {
	if err := d.ValidateName(name); err != nil {
		return err
	}
	if strings.ContainsAny(password, "\n\r") || password == "" {
		return fmt.Errorf("set password of %q: %w: empty or multi-line password", name, rotation.ErrNotApplied)
	}
	sh, err := d.managedShadow(ctx, name)
	if err != nil {
		return err
	}
	if sh == nil {
		return fmt.Errorf("set password of %q: %w (%w)", name, driver.ErrNoAccount, rotation.ErrNotApplied)
	}
	if _, err := d.run.Run(ctx, name+":"+password+"\n", argv...); err != nil {
		return fmt.Errorf("set password of %q: %w", name, err)
	}
	return nil
}

// SetDisabledPassword (driver.Driver): chpasswd writes an unlocked hash, so the lock mark is put back in
// the same remote command; the account stays expired throughout, so no login is possible in between either.
func (d *Driver) SetDisabledPassword(ctx context.Context, name, password string) error {
	return d.setPassword(ctx, name, password, "sh", "-c", `chpasswd && usermod -L "$1"`, "sh", name)
}

// Verify: a disabled account is reported without a login attempt; otherwise one login (SSH) or one crypt check
// (local).
func (d *Driver) Verify(ctx context.Context, name, password string) error {
	sh, err := d.toVerify(ctx, name, password)
	switch {
	case err != nil:
		return err
	case sh.locked() || sh.expired(d.now()):
		return fmt.Errorf("verify %q: %w", name, driver.ErrDisabled)
	}
	if d.login != nil {
		return d.login(ctx, name, password)
	}
	return d.checkHash(ctx, name, sh.hash, password)
}

// toVerify checks name and password before a verification and reads the account: a refused name, an empty
// password, an account not Watchword's, or none, are errors.
func (d *Driver) toVerify(ctx context.Context, name, password string) (*shadow, error) {
	if err := d.ValidateName(name); err != nil {
		return nil, err
	}
	if password == "" {
		return nil, fmt.Errorf("verify %q: %w: empty", name, driver.ErrBadPassword)
	}
	sh, err := d.managedShadow(ctx, name)
	if err != nil {
		return nil, err
	}
	if sh == nil {
		return nil, fmt.Errorf("verify %q: %w", name, driver.ErrNoAccount)
	}
	return sh, nil
}

// checkHash checks password against the crypt hash with the system's crypt(3), so every hash scheme it knows
// (yescrypt, sha512crypt) works; hash and password on stdin, never in argv.
func (d *Driver) checkHash(ctx context.Context, name, hash, password string) error {
	const script = `my $h = <STDIN>; chomp $h; my $p = <STDIN>; chomp $p; exit(crypt($p, $h) eq $h ? 0 : 1)`
	_, err := d.run.Run(ctx, hash+"\n"+password+"\n", "perl", "-e", script)
	switch exitCode(err) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("verify %q: %w", name, driver.ErrBadPassword)
	}
	return fmt.Errorf("verify %q: %w", name, err)
}

// EnsureDisabled (driver.Driver): create when missing (useradd leaves it without a password), no
// supplementary groups, password locked and account expired.
func (d *Driver) EnsureDisabled(ctx context.Context, a driver.Account) (driver.Report, error) {
	var rep driver.Report
	if err := d.ValidateName(a.Name); err != nil {
		return rep, err
	}
	sh, err := d.findOrCreate(ctx, a, &rep, "-e", "1") // expired from birth: never enabled here
	if err != nil {
		return rep, err
	}
	if err := d.syncGroups(ctx, a.Name, nil, &rep); err != nil {
		return rep, fmt.Errorf("disable %q: %w", a.Name, err)
	}
	rep.NeedsPassword = !sh.hasPassword()
	return rep, d.lock(ctx, a.Name, sh, &rep)
}

// lock locks the password and expires the account unless both are so already, and says so in rep.
func (d *Driver) lock(ctx context.Context, name string, sh *shadow, rep *driver.Report) error {
	if sh.locked() && sh.expired(d.now()) {
		return nil
	}
	if _, err := d.run.Run(ctx, "", "usermod", "-L", "-e", "1", name); err != nil {
		return fmt.Errorf("disable %q: %w", name, err)
	}
	rep.Disabled = true
	return nil
}

// VerifyDisabled (driver.Driver): one crypt check of the hash behind the lock mark, no login (a locked,
// expired account cannot log in).
func (d *Driver) VerifyDisabled(ctx context.Context, name, password string) error {
	sh, err := d.toVerify(ctx, name, password)
	if err != nil {
		return err
	}
	hash := strings.TrimLeft(sh.hash, "!")
	if !strings.HasPrefix(hash, "$") {
		return fmt.Errorf("verify %q: %w: no password set", name, driver.ErrBadPassword)
	}
	return d.checkHash(ctx, name, hash, password)
}

// Disable strips the supplementary groups, locks the password and expires the account.
func (d *Driver) Disable(ctx context.Context, name string) (driver.Report, error) {
	var rep driver.Report
	if err := d.ValidateName(name); err != nil {
		return rep, err
	}
	sh, err := d.managedShadow(ctx, name)
	if err != nil || sh == nil {
		return rep, err
	}
	if err := d.syncGroups(ctx, name, nil, &rep); err != nil {
		return rep, fmt.Errorf("disable %q: %w", name, err)
	}
	return rep, d.lock(ctx, name, sh, &rep)
}

// Delete (driver.Driver): memberships stripped, then userdel -r, the home directory useradd -m made with it. An
// adopted account was the host's before Watchword took it over and is refused.
func (d *Driver) Delete(ctx context.Context, name string) (driver.Report, error) {
	var rep driver.Report
	if err := d.ValidateName(name); err != nil {
		return rep, err
	}
	sh, err := d.managedShadow(ctx, name)
	if err != nil || sh == nil {
		return rep, err
	}
	if _, adopted := sh.marked(); adopted {
		return rep, fmt.Errorf("delete %q: %w: adopted, it existed before Watchword and is never deleted", name, driver.ErrNotManaged)
	}
	if err := d.syncGroups(ctx, name, nil, &rep); err != nil {
		return rep, fmt.Errorf("delete %q: %w", name, err)
	}
	if _, err := d.run.Run(ctx, "", "userdel", "-r", name); err != nil {
		return rep, fmt.Errorf("delete %q: %w", name, err)
	}
	rep.Deleted = true
	return rep, nil
}

// Enable unlocks and unexpires the account (driver.Driver).
func (d *Driver) Enable(ctx context.Context, name string) error {
	if err := d.ValidateName(name); err != nil {
		return err
	}
	sh, err := d.managedShadow(ctx, name)
	switch {
	case err != nil:
		return fmt.Errorf("enable %q: %w", name, err)
	case sh == nil:
		return fmt.Errorf("enable %q: %w", name, driver.ErrNoAccount)
	case !sh.hasPassword():
		return fmt.Errorf("enable %q: it has no password", name)
	case !sh.locked() && !sh.expired(d.now()):
		return nil
	}
	if _, err := d.run.Run(ctx, "", "usermod", "-U", "-e", "", name); err != nil {
		return fmt.Errorf("enable %q: %w", name, err)
	}
	return nil
}
