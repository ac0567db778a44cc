package demo

import (
	"context"
	"fmt"
	"time"

	"filippo.io/age"

	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// Just-in-time access in the data set: the built-in All triplet is just-in-time (windows of up
// to 4 hours, each approved), so only the Helpdesk triplet on the Linux servers stays standing. Three requests
// wait for approval and one window is open: Dmitri Volkov's on northwind.local, enabled by its agent.
var JITRequests = []struct {
	Tech, Agent string
	For         time.Duration
	Reason      string
}{
	{"amoreau", "contoso.local", 2 * time.Hour, "ticket 4711: printer GPO for the new Contoso office"},
	{"bokafor", "fabrikam.local", time.Hour, "Patch Tuesday: reboot the domain controller after the updates"},
	{"chenli", "tailspin.local", 30 * time.Minute, "ticket 4730: unlock the CFO's account"},
}

func jit(ctx context.Context, owner *hubclient.Client, w *World, devices map[string]*hubclient.Client, agents map[string]*hubclient.Client) error {
	trips, err := owner.Triplets(ctx)
	if err != nil {
		return fmt.Errorf("demo triplets: %w", err)
	}
	for _, t := range trips {
		if t.Builtin {
			if _, err := owner.UpdateTriplet(ctx, t.ID, wire.TripletRequest{Mode: wire.TripletJIT, MaxDurationSeconds: 4 * 3600, ApprovalRequired: true}); err != nil {
				return fmt.Errorf("demo jit triplet: %w", err)
			}
		}
	}
	request := func(tech, agent string, d time.Duration, reason string) (*wire.JITGrant, error) {
		accs, err := owner.Accounts(ctx, 0, w.Agents[agent])
		var id int64
		for _, a := range accs {
			if a.TechID == w.Techs[tech] {
				id = a.ID
			}
		}
		if err != nil || id == 0 {
			return nil, fmt.Errorf("demo account of %s on %s: %v", tech, agent, err)
		}
		g, err := devices[tech].RequestJIT(ctx, wire.JITRequest{AccountID: id, DurationSeconds: int64(d / time.Second), Reason: reason})
		if err != nil {
			return nil, fmt.Errorf("demo jit request of %s: %w", tech, err)
		}
		return g, nil
	}
	for _, r := range JITRequests {
		if _, err := request(r.Tech, r.Agent, r.For, r.Reason); err != nil {
			return err
		}
	}
	g, err := request("dvolkov", "northwind.local", 90*time.Minute, "ticket 4702: restore the file server's share permissions")
	if err != nil {
		return err
	}
	if _, err := owner.ApproveJIT(ctx, g.ID, ""); err != nil {
		return fmt.Errorf("demo jit approval: %w", err)
	}
	return enable(ctx, agents["northwind.local"], w.Techs["dvolkov"])
}

// enable does the agent's part of an opened window: a fresh password sealed to the tech, staged and confirmed.
func enable(ctx context.Context, c *hubclient.Client, tech int64) error {
	p, err := c.Plan(ctx, 0)
	if err != nil {
		return fmt.Errorf("demo plan: %w", err)
	}
	for _, a := range p.Accounts {
		if a.TechID != tech || a.JIT == nil || !a.JIT.Enabled {
			continue
		}
		var rcpts []age.Recipient
		for _, s := range append([]string{p.Recovery}, a.Recipients...) {
			r, err := seal.ParseRecipient(s)
			if err != nil {
				return err
			}
			rcpts = append(rcpts, r)
		}
		v := a.CurrentVersion + 1
		env, err := seal.Seal([]byte("demo-jit-password"), hubclient.SealContext(p.ClientGUID, p.AgentID, a.AccountName, v), rcpts...)
		if err != nil {
			return err
		}
		if err := c.Stage(ctx, a.AccountID, v, env); err != nil {
			return fmt.Errorf("demo jit stage: %w", err)
		}
		if err := c.Confirm(ctx, a.AccountID, v); err != nil {
			return fmt.Errorf("demo jit confirm: %w", err)
		}
	}
	return nil
}

// MSPJustInTime makes the triplet of the onboarding's MSP TechGroup (mspGroup × AllDomains) just-in-time, as the
// Console's demo shows it after onboarding Contoso: the MSP's own techs reach client domains only in approved
// windows of up to 4 hours, the client's co-managed techs keep standing access to their own domains.
func MSPJustInTime(ctx context.Context, owner *hubclient.Client, mspGroup string) error {
	groups, err := owner.TechGroups(ctx)
	if err != nil {
		return fmt.Errorf("demo tech groups: %w", err)
	}
	var gid int64
	for _, g := range groups {
		if g.Name == mspGroup {
			gid = g.ID
		}
	}
	trips, err := owner.Triplets(ctx)
	if err != nil {
		return fmt.Errorf("demo triplets: %w", err)
	}
	for _, t := range trips {
		if t.TechGroupID == gid {
			if _, err := owner.UpdateTriplet(ctx, t.ID, wire.TripletRequest{Mode: wire.TripletJIT, MaxDurationSeconds: 4 * 3600, ApprovalRequired: true}); err != nil {
				return fmt.Errorf("demo jit triplet: %w", err)
			}
		}
	}
	return nil
}
