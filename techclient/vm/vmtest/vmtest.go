// Package vmtest helps tests, benchmarks and screenshot runs of the TechClient: a hub harness that requires
// two-factor sessions, an agent that rotates accounts against the harness, and deterministic sample credentials. The in-memory OS keyring they use is
// internal/testsupport/keyringtest.
package vmtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/hub"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/wire"
)

// TwoFactorHub runs the hub harness with two-factor sessions required (of co-managed techs, and of MSP techs when
// the policy says so). That is the hub's default, spelled out for the tests that depend on it.
func TwoFactorHub(t testing.TB) *hubtest.Harness {
	return hubtest.New(t, hubtest.WithConfig(func(c *hub.Config) { c.DisableTOTP = false }))
}

// Rotate makes agent stage and confirm the next version of every account in its plan, as a real agent does,
// with the password secret(account) returns, each version signed with the agent's key. A just-in-time account
// outside its window gets a password sealed to the recovery recipient only, as the agent seals it then.
func Rotate(t testing.TB, ctx context.Context, agent *hubtest.Agent, secret func(wire.PlanAccount) string) *wire.Plan {
	t.Helper()
	plan, err := agent.PlanWait(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, pa := range plan.Accounts {
		to, stage := pa, agent.StageSigned
		if pa.JIT != nil && !pa.JIT.Enabled {
			to.Recipients, stage = nil, agent.StageRecoveryOnlySigned
		}
		v := pa.CurrentVersion + 1
		env := hubtest.Seal(t, plan, to, v, secret(pa))
		if err := stage(ctx, pa.AccountID, v, env, agent.SignEnvelope(plan, pa, v, env)); err != nil {
			t.Fatal(err)
		}
		if err := agent.Confirm(ctx, pa.AccountID, v); err != nil {
			t.Fatal(err)
		}
	}
	return plan
}

// Hosts are plausible client domains and hosts, with their driver kinds.
var Hosts = []struct{ Name, Driver string }{
	{"contoso.local", wire.DriverAD}, {"fabrikam.corp", wire.DriverAD}, {"northwind.lan", wire.DriverAD},
	{"adatum.internal", wire.DriverAD}, {"web01.fabrikam.com", wire.DriverLinux}, {"db02.contoso.com", wire.DriverLinux},
	{"ldap.tailspin.io", wire.DriverLDAP}, {"litware.local", wire.DriverAD}, {"build03.wingtip.net", wire.DriverLinux},
	{"proseware.ad", wire.DriverAD}, {"dir.woodgrove.bank", wire.DriverLDAP}, {"mail01.lucerne.org", wire.DriverLinux},
}

// HostName returns the i-th sample host name and its driver, numbering repeats.
func HostName(i int) (string, string) {
	h := Hosts[i%len(Hosts)]
	if i < len(Hosts) {
		return h.Name, h.Driver
	}
	return fmt.Sprintf("site%02d.%s", i/len(Hosts), h.Name), h.Driver
}

// Credentials returns n deterministic credentials of username with dummy (unopenable) envelopes, rotated
// over the day before now: for view tests, previews and benchmarks.
func Credentials(n int, username, abbrev string, now time.Time) *wire.CredentialsResponse {
	resp := &wire.CredentialsResponse{ClientGUID: "3f2a9c1e-5b7d-4e2a-9c1b-0d8e7f6a5b4c", Revision: 1}
	rights := [][]string{{"AllRights"}, {"Domain Admins"}, {"Server Operators", "Backup Operators"}, {"sudo"}}
	for i := range n {
		host, driver := HostName(i)
		rotated := now.Add(-time.Duration(i*37%1440) * time.Minute)
		resp.Credentials = append(resp.Credentials, wire.Credential{
			AccountID: int64(i + 1), AgentID: int64(i + 1), AgentName: host, Driver: driver,
			AccountName: username + "-" + abbrev, Rights: rights[i%len(rights)],
			NextRotationAt: rotated.Add(24 * time.Hour),
			Versions: []wire.CredentialVersion{{Version: int64(1 + i%7), State: wire.VersionConfirmed,
				Envelope: []byte("sealed"), StagedAt: rotated.Add(-time.Second), ConfirmedAt: rotated}},
		})
	}
	return resp
}
