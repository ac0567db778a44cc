package admincli

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

var identityCommands = []command{
	{name: "init", args: "--hub INVITE --token-file FILE --name NAME", run: initIdentity,
		doc: `Creates this machine's API identity and claims an owner's API invite with it.
The key pair is generated here and kept with the invite in IDENTITY.json (0600) of the config directory; only the
public key goes to the hub. The identity then waits until an owner approves it after comparing the fingerprint
printed here. The invite token is read from a file or standard input (-), never from the command line.`,
		flags: func(fs *flag.FlagSet) {
			fs.String("hub", "", "the hub's `invite` (watchword-invite:…)")
			fs.String("token-file", "", "read the single-use invite token from this `file` (- for standard input)")
			fs.String("name", "", "the identity's `name` as the audit log shows it (rmm-sync)")
			fs.Bool("force", false, "replace an identity already in the config directory")
		}},
	{name: "whoami", doc: "Shows this machine's identity and whether the hub accepts it.", run: whoami},
	{name: "admins list", doc: "Lists the tenant's admins and API identities.", run: connected(adminsList)},
	{name: "admins invite", args: "--role ROLE [--api] [--expires WHEN] [--source CIDR]…", run: connected(adminsInvite),
		doc: `Creates a single-use admin invite (owner only) and prints its token.
With --api the invite is for an API identity: --expires (a date, an RFC 3339 time or a duration such as 2160h)
ends it, --source (repeatable, or comma-separated) limits the addresses it may call from.`,
		flags: func(fs *flag.FlagSet) {
			fs.String("role", "", "owner, admin, auditor or comanager")
			fs.String("org", "", "the Co-managed Manager's `organization`")
			fs.Bool("api", false, "invite an API identity")
			fs.String("expires", "", "the API identity's expiry")
			fs.Var(&listFlag{}, "source", "a `CIDR` the API identity may call from")
			fs.Duration("ttl", 24*time.Hour, "how long the invite token is valid")
		}},
	{name: "admins approve", args: "ID --fingerprint FP", run: connected(adminsApprove),
		doc: `Approves a pending admin or API identity (owner only) whose key has the fingerprint given.`,
		flags: func(fs *flag.FlagSet) {
			fs.String("fingerprint", "", "the `fingerprint` the new identity printed")
		}},
	{name: "admins remove", args: "ID", doc: "Removes an admin or revokes an API identity (owner only).", run: connected(adminsRemove)},
}

// listFlag is a repeatable flag whose values may also be comma-separated.
type listFlag struct{ v []string }

func (l *listFlag) String() string { return strings.Join(l.v, ",") }
func (l *listFlag) Set(s string) error {
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			l.v = append(l.v, p)
		}
	}
	return nil
}
func (l *listFlag) Get() any { return l.v }

func initIdentity(e *env, fs *flag.FlagSet, args []string) error {
	if err := nargs(args, 0, "no arguments"); err != nil {
		return err
	}
	hub, tokenFile, name := str(fs, "hub"), str(fs, "token-file"), strings.TrimSpace(str(fs, "name"))
	if hub == "" || tokenFile == "" || name == "" {
		return errors.New("--hub, --token-file and --name are required")
	}
	inv, err := wire.ParseInvite(hub)
	if err != nil {
		return fmt.Errorf("--hub: %w", err)
	}
	if _, err := os.Stat(e.identityPath()); err == nil && !boolean(fs, "force") {
		return fmt.Errorf("%s already holds an identity: remove it or pass --force", e.identityPath())
	}
	token, err := readToken(e, tokenFile)
	if err != nil {
		return err
	}
	id, err := seal.GenerateIdentity()
	if err != nil {
		return err
	}
	// Saved before the claim: a claim whose answer is lost still left a key the owner can approve.
	if err := e.saveIdentity(identityFile{Invite: inv.String(), Key: id.String(), Name: name}); err != nil {
		return err
	}
	c, err := hubclient.New(inv, id, hubclient.WithTimeout(60*time.Second))
	if err != nil {
		return err
	}
	defer c.Close()
	resp, err := c.Claim(e.ctx, token, name)
	var refused *hubclient.Error
	if errors.As(err, &refused) {
		// The hub answered no: the key was never claimed, so a second try with another token starts afresh.
		os.Remove(e.identityPath())
	}
	if err != nil {
		return err
	}
	if e.json {
		return e.print(resp, nil)
	}
	a := resp.Admin
	kind := "admin"
	if a.API {
		kind = "API identity"
	}
	fmt.Fprintf(e.stdout, "%s %q is admin %d, role %s, status %s\nkey fingerprint: %s\nidentity file: %s\n", kind, a.Name, a.ID, a.Role.Title(), a.Status, a.Fingerprint, e.identityPath())
	if a.Status == wire.AdminPending {
		fmt.Fprintln(e.stdout, "an owner approves it after comparing this fingerprint (Console: Admins, or `watchword admins approve`)")
	}
	return nil
}

func readToken(e *env, file string) (string, error) {
	var b []byte
	var err error
	if file == "-" {
		b = make([]byte, 512)
		var n int
		n, err = e.stdin.Read(b)
		b = b[:max(n, 0)]
		if n > 0 {
			err = nil
		}
	} else {
		b, err = os.ReadFile(file)
	}
	if err != nil {
		return "", fmt.Errorf("read the invite token: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", errors.New("the invite token is empty")
	}
	return t, nil
}

func whoami(e *env, fs *flag.FlagSet, args []string) error {
	f, id, inv, err := e.loadIdentity()
	if err != nil {
		return err
	}
	if err := e.connect(); err != nil {
		return err
	}
	defer e.client.Close()
	t, err := e.client.Tenant(e.ctx)
	if err != nil {
		return err
	}
	out := map[string]string{"name": f.Name, "fingerprint": id.Public().Fingerprint().String(), "hub": inv.HubURL, "tenant": t.Name}
	return e.print(out, func() [][]string {
		return [][]string{{"NAME", "FINGERPRINT", "HUB", "TENANT"}, {f.Name, out["fingerprint"], inv.HubURL, t.Name}}
	})
}

func adminsList(e *env, fs *flag.FlagSet, args []string) error {
	as, err := e.client.Admins(e.ctx)
	if err != nil {
		return err
	}
	return e.print(as, func() [][]string {
		rows := [][]string{{"ID", "NAME", "ROLE", "STATUS", "API", "EXPIRES", "SOURCES", "FINGERPRINT"}}
		for _, a := range as {
			api := "no"
			if a.API {
				api = "yes"
			}
			rows = append(rows, []string{strconv.FormatInt(a.ID, 10), a.Name, a.Role.Title(), string(a.Status), api, when(a.ExpiresAt),
				orDash(strings.Join(a.Sources, ",")), a.Fingerprint})
		}
		return rows
	})
}

// parseWhen reads an expiry: a date, an RFC 3339 time, or a duration from now.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(d), nil
	}
	return time.Time{}, fmt.Errorf("--expires %q: want a date (2027-03-31), an RFC 3339 time or a duration (2160h)", s)
}

func adminsInvite(e *env, fs *flag.FlagSet, args []string) error {
	req := wire.InviteRequest{Role: wire.Role(str(fs, "role")), Organization: str(fs, "org"), API: boolean(fs, "api"),
		TTLSeconds: int64(fs.Lookup("ttl").Value.(flag.Getter).Get().(time.Duration) / time.Second)}
	req.APISources = fs.Lookup("source").Value.(flag.Getter).Get().([]string)
	if s := str(fs, "expires"); s != "" {
		t, err := parseWhen(s, time.Now())
		if err != nil {
			return err
		}
		req.APIExpiresAt = t
	}
	tok, err := e.client.Invite(e.ctx, req)
	if err != nil {
		return err
	}
	return e.print(tok, func() [][]string {
		return [][]string{{"TOKEN", "EXPIRES"}, {tok.Token, when(tok.ExpiresAt)}}
	})
}

func normFingerprint(s string) string {
	return strings.ToLower(strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '-' || r == ':' }), ""))
}

func adminsApprove(e *env, fs *flag.FlagSet, args []string) error {
	if err := nargs(args, 1, "the admin's ID"); err != nil {
		return err
	}
	id, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil {
		return fmt.Errorf("admin ID %q is not a number", args[0])
	}
	fp := str(fs, "fingerprint")
	if fp == "" {
		return errors.New("--fingerprint is required: compare it with the one the new identity printed")
	}
	as, err := e.client.Admins(e.ctx)
	if err != nil {
		return err
	}
	for _, a := range as {
		if a.ID != id {
			continue
		}
		if normFingerprint(a.Fingerprint) != normFingerprint(fp) {
			return fmt.Errorf("admin %d %q has another fingerprint than the one given: not approved", a.ID, a.Name)
		}
		got, err := e.client.ApproveAdmin(e.ctx, id)
		if err != nil {
			return err
		}
		return e.print(got, func() [][]string {
			return [][]string{{"ID", "NAME", "STATUS"}, {args[0], got.Name, string(got.Status)}}
		})
	}
	return fmt.Errorf("no admin %d", id)
}

func adminsRemove(e *env, fs *flag.FlagSet, args []string) error {
	if err := nargs(args, 1, "the admin's ID"); err != nil {
		return err
	}
	id, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil {
		return fmt.Errorf("admin ID %q is not a number", args[0])
	}
	got, err := e.client.RemoveAdmin(e.ctx, id)
	if err != nil {
		return err
	}
	return e.print(got, func() [][]string { return [][]string{{"ID", "NAME", "REMOVED"}, {args[0], got.Name, "yes"}} })
}
