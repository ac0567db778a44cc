package entra

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/shared/rotation"
)

// CheckRole is the role the smoke test assigns and removes by default: it reads the message center only.
const CheckRole = "Message Center Reader"

// Check is the smoke test an MSP runs against a real tenant before enrolling (watchword-agent check): sign in
// and show the token's application permissions, create a marked test user (disabled), wait until Graph shows it,
// set and verify a password, assign and remove role, and delete the user. It writes one line per step to w and
// stops at the first failure, deleting the test user if it created one. name is the test user's account name.
func (d *Driver) Check(ctx context.Context, w io.Writer, name, role string) (err error) {
	if role == "" {
		role = CheckRole
	}
	step := func(what string, f func() (string, error)) error {
		start := time.Now()
		note, err := f()
		if err != nil {
			fmt.Fprintf(w, "FAIL %s: %v\n", what, err)
			return fmt.Errorf("%s: %w", what, err)
		}
		if note != "" {
			note = ": " + note
		}
		fmt.Fprintf(w, "ok   %s (%s)%s\n", what, time.Since(start).Round(time.Millisecond), note)
		return nil
	}
	if err := step("sign in as the app "+d.cfg.ClientID, func() (string, error) {
		tok, err := d.g.token(ctx, true)
		if err != nil {
			return "", err
		}
		perms := tokenRoles(tok)
		var missing []string
		for _, p := range Permissions {
			if !slices.Contains(perms, p) {
				missing = append(missing, p)
			}
		}
		note := "application permissions " + strings.Join(perms, ", ")
		if len(missing) > 0 {
			note += "; not consented: " + strings.Join(missing, ", ") + " (see docs/agent.md)"
		}
		return note, nil
	}); err != nil {
		return err
	}
	if err := step(fmt.Sprintf("find the role %q", role), func() (string, error) {
		defs, err := d.roleDefs(ctx)
		if err != nil {
			return "", err
		}
		if _, ok := defs[strings.ToLower(role)]; !ok {
			return "", fmt.Errorf("the tenant has no directory role %q", role)
		}
		return "", nil
	}); err != nil {
		return err
	}
	created := false
	defer func() {
		if !created {
			return
		}
		if derr := step("delete the test user "+d.UPN(name), func() (string, error) {
			_, err := d.Delete(ctx, name)
			return "", err
		}); derr != nil && err == nil {
			err = derr
		}
	}()
	if err := step("create the marked test user "+d.UPN(name)+" (disabled)", func() (string, error) {
		rep, err := d.EnsureDisabled(ctx, driver.Account{Name: name, DisplayName: "Watchword check"})
		if err == nil && !rep.Created {
			return "", fmt.Errorf("%s already exists: choose another --name", d.UPN(name))
		}
		created = err == nil
		return "", err
	}); err != nil {
		return err
	}
	if err := step("read the new user back by its name", func() (string, error) {
		start := d.cfg.Now()
		for wait := 500 * time.Millisecond; ; wait *= 2 {
			if u, found, err := d.find(ctx, name); err != nil || found {
				if u != nil {
					return fmt.Sprintf("visible after %s", d.cfg.Now().Sub(start).Round(time.Millisecond)), nil
				}
				return "", err
			}
			if d.cfg.Now().Sub(start) > d.cfg.Retry.Visible || !d.cfg.Sleep(ctx, wait) {
				return "", errors.New("not visible yet: Graph replication is slower than usual")
			}
		}
	}); err != nil {
		return err
	}
	var pw string
	if err := step("set a password (enables the user)", func() (string, error) {
		var err error
		if pw, err = rotation.DefaultPolicy(d.PasswordRules()).Generate(name, "Watchword check"); err != nil {
			return "", err
		}
		return "", d.SetPassword(ctx, name, pw)
	}); err != nil {
		return err
	}
	if err := step("verify the password", func() (string, error) {
		if !d.cfg.Verify {
			return "verification is off for this agent: only the account's state was read", d.Verify(ctx, name, pw)
		}
		return "by a password sign-in as " + d.cfg.VerifyClientID, d.Verify(ctx, name, pw)
	}); err != nil {
		return err
	}
	if err := step(fmt.Sprintf("assign the role %q", role), func() (string, error) {
		rep, err := d.Ensure(ctx, driver.Account{Name: name, Groups: []string{role}})
		if err == nil && len(rep.Added) != 1 {
			err = fmt.Errorf("not assigned: %+v", rep)
		}
		return "", err
	}); err != nil {
		return err
	}
	return step(fmt.Sprintf("remove the role %q", role), func() (string, error) {
		rep, err := d.Ensure(ctx, driver.Account{Name: name})
		if err == nil && len(rep.Removed) != 1 {
			err = fmt.Errorf("not removed: %+v", rep)
		}
		return "", err
	})
}

// Permissions are the application permissions the driver needs (docs/agent.md says why each).
var Permissions = []string{"User.ReadWrite.All", "User-PasswordProfile.ReadWrite.All", "User.EnableDisableAccount.All",
	"RoleManagement.ReadWrite.Directory", "GroupMember.ReadWrite.All", "UserAuthenticationMethod.ReadWrite.All"}

// tokenRoles reads the roles claim of an access token (a JWT whose payload Entra does not encrypt for Graph).
func tokenRoles(tok string) []string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var c struct{ Roles []string }
	if json.Unmarshal(b, &c) != nil {
		return nil
	}
	slices.Sort(c.Roles)
	return c.Roles
}
