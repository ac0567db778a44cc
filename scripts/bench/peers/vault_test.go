package peers_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	openldap "github.com/hashicorp/vault-plugin-secrets-openldap"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/hashicorp/vault/sdk/rotation"

	"github.com/watchword/watchword/internal/testsupport/targets"
)

// Vault's LDAP secrets engine runs in-process, as its own tests run it: the plugin's backend with in-memory
// storage, no Vault core, no lease manager and no rotation ticker (Initialize is not called, so a failed rotation
// is never retried in the background during the samples).

// sysView is the test system view with the two rotation-manager calls a config write makes answered: without a
// rotation period or schedule the backend only deregisters, which has nothing to do here.
type sysView struct{ *logical.StaticSystemView }

func (sysView) DeregisterRotationJob(context.Context, *rotation.RotationJobDeregisterRequest) error {
	return nil
}
func (sysView) RegisterRotationJob(context.Context, *rotation.RotationJobConfigureRequest) (string, error) {
	return "", errors.New("no rotation manager in this benchmark")
}

// vault is one backend pointed at the Samba DC.
type vault struct {
	b logical.Backend
	s logical.Storage
}

// newVault starts the backend with gen as its password policy "ww" (the generator Watchword uses, so both sides
// set comparable passwords) and writes its config for the DC: schema ad, LDAPS with the targets' CA,
// sAMAccountName as the user attribute.
func newVault(ctx context.Context, tb testing.TB, env targets.Env, gen func() (string, error)) *vault {
	tb.Helper()
	sys := logical.TestSystemView()
	sys.SetPasswordPolicy("ww", gen)
	conf := logical.TestBackendConfig()
	conf.Logger = hclog.NewNullLogger()
	conf.System = sysView{sys}
	conf.StorageView = &logical.InmemStorage{}
	b, err := openldap.Factory(ctx, conf)
	if err != nil {
		tb.Fatalf("vault backend: %v", err)
	}
	tb.Cleanup(func() { b.Cleanup(ctx) })
	v := &vault{b: b, s: conf.StorageView}
	ca, err := os.ReadFile(env.Get(tb, "WW_CA_CERT"))
	if err != nil {
		tb.Fatal(err)
	}
	v.must(ctx, tb, logical.CreateOperation, "config", map[string]any{
		"schema": "ad", "url": env.Get(tb, "WW_AD_URL"), "certificate": string(ca),
		"binddn": env.Get(tb, "WW_AD_ADMIN_DN"), "bindpass": env.Get(tb, "WW_AD_ADMIN_PASSWORD"),
		"userdn": env.Get(tb, "WW_AD_OU"), "userattr": "sAMAccountName", "password_policy": "ww",
		"request_timeout": "10s", "connection_timeout": "5s",
	})
	return v
}

// do sends one request; a refusal in the response is an error too.
func (v *vault) do(ctx context.Context, op logical.Operation, path string, data map[string]any, token string) (*logical.Response, error) {
	resp, err := v.b.HandleRequest(ctx, &logical.Request{Operation: op, Path: path, Data: data, Storage: v.s, ClientToken: token})
	if err != nil {
		return nil, fmt.Errorf("vault %s %s: %w", op, path, err)
	}
	if resp != nil && resp.IsError() {
		return nil, fmt.Errorf("vault %s %s: %w", op, path, resp.Error())
	}
	return resp, nil
}

func (v *vault) must(ctx context.Context, tb testing.TB, op logical.Operation, path string, data map[string]any) *logical.Response {
	tb.Helper()
	resp, err := v.do(ctx, op, path, data, "")
	if err != nil {
		tb.Fatal(err)
	}
	return resp
}

// staticRole manages the account at dn as static role name, with a rotation period long enough never to fall
// due during the run; skip_import_rotation leaves its password alone until the first rotate-role.
func (v *vault) staticRole(ctx context.Context, tb testing.TB, name, username, dn string) {
	tb.Helper()
	v.must(ctx, tb, logical.CreateOperation, "static-role/"+name, map[string]any{
		"username": username, "dn": dn, "rotation_period": "24h", "skip_import_rotation": true,
	})
}

// rotate is `vault write -f ldap/rotate-role/NAME`: a new password from the policy, set on the DC.
func (v *vault) rotate(ctx context.Context, name string) error {
	_, err := v.do(ctx, logical.UpdateOperation, "rotate-role/"+name, nil, "")
	return err
}

// password is the static role's current password (`vault read ldap/static-cred/NAME`).
func (v *vault) password(ctx context.Context, tb testing.TB, name string) string {
	tb.Helper()
	resp := v.must(ctx, tb, logical.ReadOperation, "static-cred/"+name, nil)
	pw, _ := resp.Data["password"].(string)
	if pw == "" {
		tb.Fatalf("vault static-cred/%s: no password", name)
	}
	return pw
}

// library creates a check-out set of accounts (Vault rotates each once on creation).
func (v *vault) library(ctx context.Context, tb testing.TB, set string, accounts []string) {
	tb.Helper()
	v.must(ctx, tb, logical.CreateOperation, "library/"+set, map[string]any{
		"service_account_names": accounts, "ttl": "1h", "max_ttl": "2h",
	})
}

// checkOut is `vault write ldap/library/SET/check-out` by token: an available account and its password.
func (v *vault) checkOut(ctx context.Context, set, token string) (string, string, error) {
	resp, err := v.do(ctx, logical.UpdateOperation, "library/"+set+"/check-out", map[string]any{"ttl": "1h"}, token)
	if err != nil {
		return "", "", err
	}
	if resp == nil {
		return "", "", fmt.Errorf("vault check-out %s: empty response", set)
	}
	name, _ := resp.Data["service_account_name"].(string)
	pw, _ := resp.Data["password"].(string)
	if name == "" || pw == "" {
		return "", "", fmt.Errorf("vault check-out %s: no account or password in %v", set, keys(resp.Data))
	}
	return name, pw, nil
}

// checkIn returns token's account to the set; Vault rotates its password. A check-in that returns nothing (a
// wrong token does so silently) is an error.
func (v *vault) checkIn(ctx context.Context, set, token string) error {
	resp, err := v.do(ctx, logical.UpdateOperation, "library/"+set+"/check-in", nil, token)
	if err != nil {
		return err
	}
	if resp == nil {
		return fmt.Errorf("vault check-in %s: empty response", set)
	}
	if in, ok := resp.Data["check_ins"].([]string); !ok || len(in) == 0 {
		return fmt.Errorf("vault check-in %s: nothing checked in (%v)", set, resp.Data["check_ins"])
	}
	return nil
}

func keys(m map[string]any) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}

// timed runs f and returns how long it took.
func timed(f func() error) (time.Duration, error) {
	t0 := time.Now()
	err := f()
	return time.Since(t0), err
}
