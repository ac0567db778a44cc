package admincli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/watchword/watchword/shared/wire"
)

var tenantCommands = []command{
	{name: "techs list", args: "[--status S]", doc: "Lists the techs (pending, active, disabled, rejected; all without --status).", run: connected(techsList),
		flags: func(fs *flag.FlagSet) { fs.String("status", "", "only the techs of this `status`") }},
	{name: "techs approve", args: "TECH", doc: "Approves a pending tech (by ID or username).", run: connected(techAction(wire.ActionApprove))},
	{name: "techs reject", args: "TECH", doc: "Rejects a pending tech.", run: connected(techAction(wire.ActionReject))},
	{name: "techs disable", args: "TECH", doc: "Deactivates a tech: its accounts are disabled.", run: connected(techAction(wire.ActionDisable))},
	{name: "techs enable", args: "TECH", doc: "Reactivates a deactivated tech.", run: connected(techAction(wire.ActionEnable))},
	{name: "techs edit", args: "TECH [--display-name N] [--email E]", doc: "Changes a tech's display name or email.", run: connected(techEdit),
		flags: func(fs *flag.FlagSet) {
			fs.String("display-name", "", "the new display `name`")
			fs.String("email", "", "the new `email`")
		}},
	{name: "techs import", args: "FILE.csv [--per-row]", run: connected(techsImport),
		doc: `Onboards techs from a CSV file: one row a tech, each reserving a username.
The columns are ` + wire.ImportTemplateHeader + `; the device that registers under a reserved username is a pending
tech already in its groups. Without --per-row one bad row refuses the whole file.`,
		flags: func(fs *flag.FlagSet) { fs.Bool("per-row", false, "import the good rows of a file with bad ones") }},
	{name: "groups list", args: "[--agents]", doc: "Lists the TechGroups (AgentGroups with --agents).", run: connected(groupsList),
		flags: func(fs *flag.FlagSet) { fs.Bool("agents", false, "the AgentGroups") }},
	{name: "groups create", args: "NAME [--agents]", doc: "Creates a group.", run: connected(groupsCreate),
		flags: func(fs *flag.FlagSet) { fs.Bool("agents", false, "an AgentGroup") }},
	{name: "groups add", args: "GROUP MEMBER… [--agents]", doc: "Adds techs (agents) to a group, by ID or name.", run: connected(groupsEdit(true)),
		flags: func(fs *flag.FlagSet) { fs.Bool("agents", false, "an AgentGroup") }},
	{name: "groups remove", args: "GROUP MEMBER… [--agents]", doc: "Removes techs (agents) from a group.", run: connected(groupsEdit(false)),
		flags: func(fs *flag.FlagSet) { fs.Bool("agents", false, "an AgentGroup") }},
	{name: "groups delete", args: "GROUP [--agents]", doc: "Deletes a group.", run: connected(groupsDelete),
		flags: func(fs *flag.FlagSet) { fs.Bool("agents", false, "an AgentGroup") }},
	{name: "rights list", doc: "Lists the rights and their target groups.", run: connected(rightsList)},
	{name: "triplets list", doc: "Lists the triplets (TechGroup, AgentGroup, right).", run: connected(tripletsList)},
	{name: "triplets create", args: "TECHGROUP AGENTGROUP RIGHT", doc: "Grants a right to a TechGroup on an AgentGroup (names or IDs).", run: connected(tripletsCreate)},
	{name: "triplets delete", args: "ID", doc: "Deletes a triplet.", run: connected(tripletsDelete)},
	{name: "onboard", args: "FILE.json", doc: "Onboards a client organization from a JSON file (wire.OnboardRequest).", run: connected(onboard)},
	{name: "agents list", doc: "Lists the agents.", run: connected(agentsList)},
	{name: "agents token", args: "[--ttl D] [--approve-on-use]", doc: "Creates a single-use enrollment token for a new agent.", run: connected(agentsToken),
		flags: func(fs *flag.FlagSet) {
			fs.Duration("ttl", 24*time.Hour, "how long the token is valid")
			fs.Bool("approve-on-use", false, "the agent that uses it is active at once")
		}},
	{name: "agents retire", args: "AGENT", doc: "Retires (disables) an agent, by ID or name.", run: connected(agentsRetire)},
	{name: "jit list", args: "[--status S]", doc: "Lists just-in-time requests (pending by default; open, all…).", run: connected(jitList),
		flags: func(fs *flag.FlagSet) {
			fs.String("status", string(wire.JITPending), "pending, open, approved, active, ended, refused, expired or all")
		}},
	{name: "jit approve", args: "ID [--note N]", doc: "Approves a pending JIT request.", run: connected(jitDecide(true)),
		flags: func(fs *flag.FlagSet) { fs.String("note", "", "a `note` for the tech and the audit log") }},
	{name: "jit refuse", args: "ID --note N", doc: "Refuses a pending JIT request.", run: connected(jitDecide(false)),
		flags: func(fs *flag.FlagSet) { fs.String("note", "", "why (required)") }},
}

func id64(s, what string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s %q is not an ID", what, s)
	}
	return n, nil
}

// resolve finds the ID of ref, a number or a name, among items.
func resolve[T any](what, ref string, items []T, idOf func(T) int64, names func(T) []string) (int64, error) {
	if n, err := strconv.ParseInt(ref, 10, 64); err == nil {
		for _, it := range items {
			if idOf(it) == n {
				return n, nil
			}
		}
		return 0, fmt.Errorf("no %s %d", what, n)
	}
	for _, it := range items {
		for _, nm := range names(it) {
			if strings.EqualFold(nm, ref) {
				return idOf(it), nil
			}
		}
	}
	return 0, fmt.Errorf("no %s %q", what, ref)
}

func (e *env) techID(ref string) (int64, error) {
	ts, err := e.client.Techs(e.ctx, "")
	if err != nil {
		return 0, err
	}
	return resolve("tech", ref, ts, func(t wire.Tech) int64 { return t.ID }, func(t wire.Tech) []string { return []string{t.Username} })
}

func techRows(ts ...wire.Tech) [][]string {
	rows := [][]string{{"ID", "USERNAME", "NAME", "EMAIL", "ORGANIZATION", "STATUS", "FINGERPRINT"}}
	for _, t := range ts {
		rows = append(rows, []string{strconv.FormatInt(t.ID, 10), t.Username, t.DisplayName, t.Email, orDash(t.Organization), string(t.Status), orDash(t.Fingerprint)})
	}
	return rows
}

func techsList(e *env, fs *flag.FlagSet, args []string) error {
	ts, err := e.client.Techs(e.ctx, wire.TechStatus(str(fs, "status")))
	if err != nil {
		return err
	}
	return e.print(ts, func() [][]string { return techRows(ts...) })
}

func techAction(action string) func(e *env, fs *flag.FlagSet, args []string) error {
	return func(e *env, fs *flag.FlagSet, args []string) error {
		if err := nargs(args, 1, "one tech (ID or username)"); err != nil {
			return err
		}
		id, err := e.techID(args[0])
		if err != nil {
			return err
		}
		var t *wire.Tech
		switch action {
		case wire.ActionApprove:
			t, err = e.client.ApproveTech(e.ctx, id)
		case wire.ActionReject:
			t, err = e.client.RejectTech(e.ctx, id)
		case wire.ActionDisable:
			t, err = e.client.DisableTech(e.ctx, id)
		default:
			t, err = e.client.EnableTech(e.ctx, id)
		}
		if err != nil {
			return err
		}
		return e.print(t, func() [][]string { return techRows(*t) })
	}
}

func techEdit(e *env, fs *flag.FlagSet, args []string) error {
	if err := nargs(args, 1, "one tech (ID or username)"); err != nil {
		return err
	}
	ts, err := e.client.Techs(e.ctx, "")
	if err != nil {
		return err
	}
	id, err := resolve("tech", args[0], ts, func(t wire.Tech) int64 { return t.ID }, func(t wire.Tech) []string { return []string{t.Username} })
	if err != nil {
		return err
	}
	var cur wire.Tech
	for _, t := range ts {
		if t.ID == id {
			cur = t
		}
	}
	req := wire.TechEditRequest{DisplayName: cur.DisplayName, Email: cur.Email}
	if v := str(fs, "display-name"); v != "" {
		req.DisplayName = v
	}
	if v := str(fs, "email"); v != "" {
		req.Email = v
	}
	t, err := e.client.EditTech(e.ctx, id, req)
	if err != nil {
		return err
	}
	return e.print(t, func() [][]string { return techRows(*t) })
}

func techsImport(e *env, fs *flag.FlagSet, args []string) error {
	if err := nargs(args, 1, "one CSV file"); err != nil {
		return err
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	mode := wire.ImportAtomic
	if boolean(fs, "per-row") {
		mode = wire.ImportPerRow
	}
	imp, err := e.client.ImportTechs(e.ctx, string(b), mode)
	if err != nil {
		return err
	}
	if err := e.print(imp, func() [][]string {
		rows := [][]string{{"IMPORT", "ROWS", "CREATED", "EXCEPTIONS"}, {strconv.FormatInt(imp.ID, 10), strconv.Itoa(imp.Rows), strconv.Itoa(imp.Created), strconv.Itoa(len(imp.Exceptions))}}
		for _, x := range imp.Exceptions {
			rows = append(rows, []string{"row " + strconv.Itoa(x.Row), x.Username, orDash(x.Field), x.Reason})
		}
		return rows
	}); err != nil {
		return err
	}
	if len(imp.Exceptions) > 0 && imp.Created == 0 {
		return fmt.Errorf("nothing imported: row %d: %s", imp.Exceptions[0].Row, imp.Exceptions[0].Reason)
	}
	return nil
}

func (e *env) groupID(agents bool, ref string) (int64, error) {
	gs, err := e.groups(agents)
	if err != nil {
		return 0, err
	}
	what := "TechGroup"
	if agents {
		what = "AgentGroup"
	}
	return resolve(what, ref, gs, func(g wire.Group) int64 { return g.ID }, func(g wire.Group) []string { return []string{g.Name} })
}

func (e *env) groups(agents bool) ([]wire.Group, error) {
	if agents {
		return e.client.AgentGroups(e.ctx)
	}
	return e.client.TechGroups(e.ctx)
}

func groupRows(gs ...wire.Group) [][]string {
	rows := [][]string{{"ID", "NAME", "BUILT-IN", "MEMBERS"}}
	for _, g := range gs {
		var m []string
		for _, id := range g.Members {
			m = append(m, strconv.FormatInt(id, 10))
		}
		rows = append(rows, []string{strconv.FormatInt(g.ID, 10), g.Name, strconv.FormatBool(g.Builtin), orDash(strings.Join(m, ","))})
	}
	return rows
}

func groupsList(e *env, fs *flag.FlagSet, args []string) error {
	gs, err := e.groups(boolean(fs, "agents"))
	if err != nil {
		return err
	}
	return e.print(gs, func() [][]string { return groupRows(gs...) })
}

func groupsCreate(e *env, fs *flag.FlagSet, args []string) error {
	if err := nargs(args, 1, "the group's name"); err != nil {
		return err
	}
	req := wire.GroupRequest{Name: args[0]}
	create := e.client.CreateTechGroup
	if boolean(fs, "agents") {
		create = e.client.CreateAgentGroup
	}
	g, err := create(e.ctx, req)
	if err != nil {
		return err
	}
	return e.print(g, func() [][]string { return groupRows(*g) })
}

func groupsEdit(add bool) func(e *env, fs *flag.FlagSet, args []string) error {
	return func(e *env, fs *flag.FlagSet, args []string) error {
		if len(args) < 2 {
			return errors.New("want a group and at least one member")
		}
		agents := boolean(fs, "agents")
		gid, err := e.groupID(agents, args[0])
		if err != nil {
			return err
		}
		var ids []int64
		for _, ref := range args[1:] {
			var id int64
			if agents {
				id, err = e.agentID(ref)
			} else {
				id, err = e.techID(ref)
			}
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		var g *wire.Group
		if add {
			g, err = e.client.EditMembers(e.ctx, agents, gid, ids, nil)
		} else {
			g, err = e.client.EditMembers(e.ctx, agents, gid, nil, ids)
		}
		if err != nil {
			return err
		}
		return e.print(g, func() [][]string { return groupRows(*g) })
	}
}

func groupsDelete(e *env, fs *flag.FlagSet, args []string) error {
	if err := nargs(args, 1, "one group"); err != nil {
		return err
	}
	agents := boolean(fs, "agents")
	gid, err := e.groupID(agents, args[0])
	if err != nil {
		return err
	}
	if err := e.client.DeleteGroup(e.ctx, agents, gid); err != nil {
		return err
	}
	out := map[string]any{"deleted": gid}
	return e.print(out, func() [][]string { return [][]string{{"DELETED"}, {strconv.FormatInt(gid, 10)}} })
}

func rightsList(e *env, fs *flag.FlagSet, args []string) error {
	rs, err := e.client.Rights(e.ctx)
	if err != nil {
		return err
	}
	return e.print(rs, func() [][]string {
		rows := [][]string{{"ID", "NAME", "BUILT-IN", "TARGET GROUPS"}}
		for _, r := range rs {
			var t []string
			for _, k := range sortedKeys(r.Targets) {
				t = append(t, k+": "+strings.Join(r.Targets[k], ", "))
			}
			rows = append(rows, []string{strconv.FormatInt(r.ID, 10), r.Name, strconv.FormatBool(r.Builtin), orDash(strings.Join(t, "; "))})
		}
		return rows
	})
}

func tripletsList(e *env, fs *flag.FlagSet, args []string) error {
	ts, err := e.client.Triplets(e.ctx)
	if err != nil {
		return err
	}
	names := map[string]string{}
	if tg, err := e.client.TechGroups(e.ctx); err == nil {
		for _, g := range tg {
			names["t"+strconv.FormatInt(g.ID, 10)] = g.Name
		}
	}
	if ag, err := e.client.AgentGroups(e.ctx); err == nil {
		for _, g := range ag {
			names["a"+strconv.FormatInt(g.ID, 10)] = g.Name
		}
	}
	if rs, err := e.client.Rights(e.ctx); err == nil {
		for _, r := range rs {
			names["r"+strconv.FormatInt(r.ID, 10)] = r.Name
		}
	}
	name := func(k string, id int64) string {
		if n, ok := names[k+strconv.FormatInt(id, 10)]; ok {
			return n
		}
		return strconv.FormatInt(id, 10)
	}
	return e.print(ts, func() [][]string {
		rows := [][]string{{"ID", "TECHGROUP", "AGENTGROUP", "RIGHT", "MODE"}}
		for _, t := range ts {
			rows = append(rows, []string{strconv.FormatInt(t.ID, 10), name("t", t.TechGroupID), name("a", t.AgentGroupID), name("r", t.RightID), orDash(t.Mode)})
		}
		return rows
	})
}

func tripletsCreate(e *env, fs *flag.FlagSet, args []string) error {
	if err := nargs(args, 3, "a TechGroup, an AgentGroup and a right"); err != nil {
		return err
	}
	tg, err := e.groupID(false, args[0])
	if err != nil {
		return err
	}
	ag, err := e.groupID(true, args[1])
	if err != nil {
		return err
	}
	rs, err := e.client.Rights(e.ctx)
	if err != nil {
		return err
	}
	rid, err := resolve("right", args[2], rs, func(r wire.Right) int64 { return r.ID }, func(r wire.Right) []string { return []string{r.Name} })
	if err != nil {
		return err
	}
	t, err := e.client.CreateTriplet(e.ctx, wire.TripletRequest{TechGroupID: tg, AgentGroupID: ag, RightID: rid})
	if err != nil {
		return err
	}
	return e.print(t, func() [][]string {
		return [][]string{{"ID", "TECHGROUP", "AGENTGROUP", "RIGHT"}, {strconv.FormatInt(t.ID, 10), args[0], args[1], args[2]}}
	})
}

func tripletsDelete(e *env, fs *flag.FlagSet, args []string) error {
	if err := nargs(args, 1, "one triplet ID"); err != nil {
		return err
	}
	id, err := id64(args[0], "triplet")
	if err != nil {
		return err
	}
	if err := e.client.DeleteTriplet(e.ctx, id); err != nil {
		return err
	}
	return e.print(map[string]any{"deleted": id}, func() [][]string { return [][]string{{"DELETED"}, {args[0]}} })
}

func onboard(e *env, fs *flag.FlagSet, args []string) error {
	if err := nargs(args, 1, "one JSON file"); err != nil {
		return err
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	var req wire.OnboardRequest
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	resp, err := e.client.Onboard(e.ctx, req)
	if err != nil {
		return err
	}
	return e.print(resp, func() [][]string {
		return [][]string{{"ORGANIZATION", "ONBOARDED"}, {req.Organization, "yes"}}
	})
}

func (e *env) agentID(ref string) (int64, error) {
	as, err := e.client.Agents(e.ctx)
	if err != nil {
		return 0, err
	}
	return resolve("agent", ref, as, func(a wire.Agent) int64 { return a.ID }, func(a wire.Agent) []string { return []string{a.Name} })
}

func agentRows(as ...wire.Agent) [][]string {
	rows := [][]string{{"ID", "NAME", "DRIVER", "STATUS", "VERSION", "LAST SEEN"}}
	for _, a := range as {
		rows = append(rows, []string{strconv.FormatInt(a.ID, 10), a.Name, a.Driver, string(a.Status), orDash(a.Version), when(a.LastSeen)})
	}
	return rows
}

func agentsList(e *env, fs *flag.FlagSet, args []string) error {
	as, err := e.client.Agents(e.ctx)
	if err != nil {
		return err
	}
	return e.print(as, func() [][]string { return agentRows(as...) })
}

func agentsToken(e *env, fs *flag.FlagSet, args []string) error {
	ttl := fs.Lookup("ttl").Value.(flag.Getter).Get().(time.Duration)
	tok, err := e.client.CreateEnrollmentTokenWith(e.ctx, wire.TokenRequest{TTLSeconds: int64(ttl / time.Second), ApproveOnUse: boolean(fs, "approve-on-use")})
	if err != nil {
		return err
	}
	return e.print(tok, func() [][]string { return [][]string{{"TOKEN", "EXPIRES"}, {tok.Token, when(tok.ExpiresAt)}} })
}

func agentsRetire(e *env, fs *flag.FlagSet, args []string) error {
	if err := nargs(args, 1, "one agent (ID or name)"); err != nil {
		return err
	}
	id, err := e.agentID(args[0])
	if err != nil {
		return err
	}
	a, err := e.client.DisableAgent(e.ctx, id)
	if err != nil {
		return err
	}
	return e.print(a, func() [][]string { return agentRows(*a) })
}

func jitRows(gs ...wire.JITGrant) [][]string {
	rows := [][]string{{"ID", "TECH", "ACCOUNT", "AGENT", "STATUS", "MINUTES", "REASON"}}
	for _, g := range gs {
		rows = append(rows, []string{strconv.FormatInt(g.ID, 10), g.Username, g.AccountName, g.AgentName, string(g.Status), strconv.FormatInt(g.DurationSeconds/60, 10), g.Reason})
	}
	return rows
}

func jitList(e *env, fs *flag.FlagSet, args []string) error {
	st := wire.JITStatus(str(fs, "status"))
	if st == "all" {
		st = ""
	}
	gs, err := e.client.ListJITRequests(e.ctx, st)
	if err != nil {
		return err
	}
	return e.print(gs, func() [][]string { return jitRows(gs...) })
}

func jitDecide(approve bool) func(e *env, fs *flag.FlagSet, args []string) error {
	return func(e *env, fs *flag.FlagSet, args []string) error {
		if err := nargs(args, 1, "one request ID"); err != nil {
			return err
		}
		id, err := id64(args[0], "JIT request")
		if err != nil {
			return err
		}
		note := str(fs, "note")
		var g *wire.JITGrant
		if approve {
			g, err = e.client.ApproveJIT(e.ctx, id, note)
		} else {
			if strings.TrimSpace(note) == "" {
				return errors.New("--note is required: say why the request is refused")
			}
			g, err = e.client.RefuseJIT(e.ctx, id, note)
		}
		if err != nil {
			return err
		}
		return e.print(g, func() [][]string { return jitRows(*g) })
	}
}
