package entra

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/watchword/watchword/console/server/agent/driver"
)

// IssueTemporaryAccess creates a Temporary Access Pass on the account for lifetime (whole minutes, rounded up;
// the tenant's policy bounds it, and Graph refuses a lifetime outside them) and returns the pass, which Graph
// shows only in this answer, and when it expires. A user has one pass: a new one replaces the old. The account
// must be Watchword's and enabled (a just-in-time window opens it first).
func (d *Driver) IssueTemporaryAccess(ctx context.Context, name string, lifetime time.Duration) (code string, expires time.Time, err error) {
	if err := ValidateName(name); err != nil {
		return "", time.Time{}, err
	}
	if lifetime <= 0 {
		return "", time.Time{}, fmt.Errorf("temporary access pass for %q: lifetime %s: want a positive duration", name, lifetime)
	}
	u, found, err := d.managedUser(ctx, name)
	switch {
	case err != nil:
		return "", time.Time{}, fmt.Errorf("temporary access pass for %q: %w", name, err)
	case !found:
		return "", time.Time{}, fmt.Errorf("temporary access pass for %q: %w", name, driver.ErrNoAccount)
	case !u.AccountEnabled:
		return "", time.Time{}, fmt.Errorf("temporary access pass for %q: %w", name, driver.ErrDisabled)
	}
	minutes := int((lifetime + time.Minute - 1) / time.Minute)
	var out struct {
		TemporaryAccessPass string    `json:"temporaryAccessPass"`
		StartDateTime       time.Time `json:"startDateTime"`
		LifetimeInMinutes   int       `json:"lifetimeInMinutes"`
	}
	err = d.g.do(ctx, call{method: http.MethodPost, path: "/users/" + u.ID + "/authentication/temporaryAccessPassMethods",
		body: map[string]any{"lifetimeInMinutes": minutes, "isUsableOnce": false}, out: &out, retry404: d.knownID(name)})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("temporary access pass for %q: %w", name, err)
	}
	if out.TemporaryAccessPass == "" {
		return "", time.Time{}, fmt.Errorf("temporary access pass for %q: Graph created one but returned no pass", name)
	}
	return out.TemporaryAccessPass, out.StartDateTime.Add(time.Duration(out.LifetimeInMinutes) * time.Minute), nil
}

// RevokeTemporaryAccess deletes the account's Temporary Access Passes; an account without one, or without an
// account, has nothing to revoke.
func (d *Driver) RevokeTemporaryAccess(ctx context.Context, name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	u, found, err := d.managedUser(ctx, name)
	if err != nil {
		return fmt.Errorf("revoke the temporary access pass of %q: %w", name, err)
	}
	if !found {
		return nil
	}
	var list struct{ Value []struct{ ID string } }
	path := "/users/" + u.ID + "/authentication/temporaryAccessPassMethods"
	if err := d.g.do(ctx, call{method: http.MethodGet, path: path, out: &list, retry404: d.knownID(name)}); err != nil {
		return fmt.Errorf("revoke the temporary access pass of %q: %w", name, err)
	}
	var errs []error
	for _, m := range list.Value {
		err := d.g.do(ctx, call{method: http.MethodDelete, path: path + "/" + m.ID})
		if err != nil && statusOf(err) != http.StatusNotFound {
			errs = append(errs, fmt.Errorf("revoke the temporary access pass of %q: %w", name, err))
		}
	}
	return errors.Join(errs...)
}
