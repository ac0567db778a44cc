// Package demo fills a hub with a realistic MSP: three client organizations, twelve techs (MSP staff and
// co-managed client staff, in every state) and nine domains, hosts and Microsoft 365 tenants, one of them
// reporting a missing group.
// The Console's tests, its -demo mode and its screenshots use it, so what the README shows is what the tests check.
package demo

import (
	"context"
	"fmt"

	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// Tech is one technician of the data set.
type Tech struct {
	Username, Name, Org string
	Status              wire.TechStatus
}

// Techs: six of the MSP's own (one pending), and two per client organization.
var Techs = []Tech{
	{"amoreau", "Alice Moreau", "", wire.TechActive},
	{"bokafor", "Ben Okafor", "", wire.TechActive},
	{"chenli", "Chen Li", "", wire.TechActive},
	{"dvolkov", "Dmitri Volkov", "", wire.TechActive},
	{"eschulz", "Emma Schulz", "", wire.TechDisabled},
	{"fnguyen", "Frank Nguyen", "", wire.TechPending},
	{"gkim", "Grace Kim", "Contoso Ltd", wire.TechPending},
	{"hadams", "Henry Adams", "Contoso Ltd", wire.TechPending},
	{"icosta", "Irene Costa", "Fabrikam Inc", wire.TechPending},
	{"jwright", "Jamal Wright", "Fabrikam Inc", wire.TechRejected},
	{"kobrien", "Kate O'Brien", "Tailspin Toys", wire.TechPending},
	{"lpark", "Liam Park", "Tailspin Toys", wire.TechPending},
}

// Agent is one domain or host of the data set.
type Agent struct {
	Name, Driver, Org string
}

// Agents: the client organizations' domains and hosts, and the MSP's own.
var Agents = []Agent{
	{"contoso.local", wire.DriverAD, "Contoso Ltd"},
	{"contoso-files01", wire.DriverLinux, "Contoso Ltd"},
	{"contoso.onmicrosoft.com", wire.DriverEntra, "Contoso Ltd"},
	{"fabrikam.local", wire.DriverAD, "Fabrikam Inc"},
	{"fabrikam-web01", wire.DriverLinux, "Fabrikam Inc"},
	{"tailspin.local", wire.DriverAD, "Tailspin Toys"},
	{"tailspin-ldap", wire.DriverLDAP, "Tailspin Toys"},
	{"northwind.local", wire.DriverAD, ""},
	{"backup01", wire.DriverLinux, ""},
}

// World is what Populate made.
type World struct {
	Techs  map[string]int64 // username → ID
	Agents map[string]int64 // name → ID
}

// Populate registers the techs with devices of their own, enrolls the agents, lets each agent fetch its plan and
// report its accounts, adds a "Helpdesk" right and group, the just-in-time requests of jit.go, and the 2FA,
// lockout, device replacement and CSV import state of security.go. The hub must allow 20 registrations and enrollments
// from one address in a row (hub.Config.RateBurst).
func Populate(ctx context.Context, inv wire.Invite, owner *hubclient.Client) (*World, error) {
	w := &World{Techs: map[string]int64{}, Agents: map[string]int64{}}
	devices := map[string]*hubclient.Client{}
	defer func() {
		for _, c := range devices {
			c.Close()
		}
	}()
	// The organizations first: as on a real hub, an admin records them (a registration only names one).
	orgs := map[string]bool{}
	for _, t := range Techs {
		if t.Org != "" && !orgs[t.Org] {
			orgs[t.Org] = true
			if _, err := owner.CreateOrg(ctx, t.Org); err != nil {
				return nil, fmt.Errorf("demo organization %q: %w", t.Org, err)
			}
		}
	}
	for _, t := range Techs {
		c, id, err := register(ctx, inv, t)
		if err != nil {
			return nil, err
		}
		devices[t.Username] = c
		w.Techs[t.Username] = id
		switch t.Status {
		case wire.TechActive:
			_, err = owner.ApproveTech(ctx, id)
		case wire.TechRejected:
			_, err = owner.RejectTech(ctx, id)
		case wire.TechDisabled:
			if _, err = owner.ApproveTech(ctx, id); err == nil {
				_, err = owner.DisableTech(ctx, id)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("demo tech %q: %w", t.Username, err)
		}
	}
	var clients []*hubclient.Client
	for _, a := range Agents {
		c, id, err := enroll(ctx, inv, owner, a)
		if err != nil {
			return nil, err
		}
		clients = append(clients, c)
		w.Agents[a.Name] = id
	}
	helpdesk, err := owner.CreateRight(ctx, wire.RightRequest{Name: "Helpdesk", Targets: map[string][]string{
		wire.DriverAD: {"Account Operators", "Print Operators"}, wire.DriverLinux: {"adm"},
		wire.DriverEntra: {"Helpdesk Administrator"}}})
	if err != nil {
		return nil, fmt.Errorf("demo right: %w", err)
	}
	if _, err := owner.CreateRight(ctx, wire.RightRequest{Name: "Backup operators", Targets: map[string][]string{
		wire.DriverAD: {"Backup Operators"}, wire.DriverLinux: {"backup"}}}); err != nil {
		return nil, fmt.Errorf("demo right: %w", err)
	}
	hd, err := owner.CreateTechGroup(ctx, wire.GroupRequest{Name: "Helpdesk tier 1", Members: []int64{w.Techs["chenli"], w.Techs["dvolkov"]}})
	if err != nil {
		return nil, fmt.Errorf("demo group: %w", err)
	}
	servers, err := owner.CreateAgentGroup(ctx, wire.GroupRequest{Name: "Linux servers", Members: []int64{w.Agents["contoso-files01"], w.Agents["fabrikam-web01"], w.Agents["backup01"]}})
	if err != nil {
		return nil, fmt.Errorf("demo group: %w", err)
	}
	if _, err := owner.CreateTriplet(ctx, wire.TripletRequest{TechGroupID: hd.ID, AgentGroupID: servers.ID, RightID: helpdesk.ID}); err != nil {
		return nil, fmt.Errorf("demo triplet: %w", err)
	}
	agents := map[string]*hubclient.Client{}
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for i, c := range clients {
		if err := sync(ctx, c, Agents[i]); err != nil {
			return nil, err
		}
		agents[Agents[i].Name] = c
	}
	if err := jit(ctx, owner, w, devices, agents); err != nil {
		return nil, err
	}
	if err := security(ctx, inv, owner, w, devices); err != nil {
		return nil, err
	}
	return w, nil
}

// device is a new identity and its client of the hub of inv.
func device(inv wire.Invite) (*seal.Identity, *hubclient.Client, error) {
	id, err := seal.GenerateIdentity()
	if err != nil {
		return nil, nil, err
	}
	c, err := hubclient.New(inv, id)
	if err != nil {
		return nil, nil, err
	}
	return id, c, nil
}

// register registers t from a new device and returns that device's client (the caller closes it).
func register(ctx context.Context, inv wire.Invite, t Tech) (*hubclient.Client, int64, error) {
	id, c, err := device(inv)
	if err != nil {
		return nil, 0, err
	}
	st, err := c.Register(ctx, wire.RegisterRequest{PublicKey: id.Public().String(), Username: t.Username, DisplayName: t.Name,
		Email: Email(t), Organization: t.Org})
	if err != nil {
		c.Close()
		return nil, 0, fmt.Errorf("demo register %q: %w", t.Username, err)
	}
	return c, st.TechID, nil
}

// Email is the demo tech's registered address.
func Email(t Tech) string { return t.Username + "@" + domainOf(t.Org) }

func domainOf(org string) string {
	switch org {
	case "Contoso Ltd":
		return "contoso.com"
	case "Fabrikam Inc":
		return "fabrikam.com"
	case "Tailspin Toys":
		return "tailspintoys.com"
	}
	return "northwind-it.com"
}

func enroll(ctx context.Context, inv wire.Invite, owner *hubclient.Client, a Agent) (*hubclient.Client, int64, error) {
	// The demo's agents are its own: approved on use, where a real one waits for an admin to compare fingerprints.
	tok, err := owner.CreateEnrollmentTokenWith(ctx, wire.TokenRequest{ApproveOnUse: true})
	if err != nil {
		return nil, 0, fmt.Errorf("demo enrollment token: %w", err)
	}
	id, c, err := device(inv)
	if err != nil {
		return nil, 0, err
	}
	resp, err := c.Enroll(ctx, wire.EnrollRequest{Token: tok.Token, PublicKey: id.Public().String(), Name: a.Name, Driver: a.Driver, Version: "0.9.0"})
	if err != nil {
		return nil, 0, fmt.Errorf("demo enroll %q: %w", a.Name, err)
	}
	return c, resp.AgentID, nil
}

// sync fetches the agent's plan and reports its accounts present, as an agent does after a sync; the LDAP host
// lacks the group behind AllRights, as a real one might.
func sync(ctx context.Context, c *hubclient.Client, a Agent) error {
	p, err := c.Plan(ctx, 0)
	if err != nil {
		return fmt.Errorf("demo plan of %q: %w", a.Name, err)
	}
	var reps []wire.AccountReport
	for _, acc := range p.Accounts {
		rep := wire.AccountReport{AccountID: acc.AccountID, State: wire.AccountPresent}
		if a.Driver == wire.DriverLDAP {
			rep = wire.AccountReport{AccountID: acc.AccountID, State: wire.AccountError, Error: `group "cn=admins" not found on target; right AllRights skipped`}
		}
		reps = append(reps, rep)
	}
	if len(reps) == 0 {
		return nil
	}
	if err := c.ReportAccounts(ctx, reps); err != nil {
		return fmt.Errorf("demo report of %q: %w", a.Name, err)
	}
	return nil
}
