package hubcli_test

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/watchword/watchword/console/server/hub/hubcli"
	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/targets"
	"github.com/watchword/watchword/shared/auditexport"
	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// TestMain registers watchword-hub as a command the scripts exec: the test binary runs hubcli.Main as the real
// main does, signals and exit code included, in a process of its own.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"watchword-hub": func() {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			err := hubcli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
			stop()
			if err != nil && !errors.Is(err, flag.ErrHelp) {
				fmt.Fprintln(os.Stderr, "watchword-hub:", err)
				os.Exit(1)
			}
		},
	})
}

// TestScripts runs testdata/*.txtar. Each script gets $ADDR, a free loopback address to serve on, and $RECOVERY,
// a tenant recovery recipient whose age identity is recovery.txt in the work directory; the commands below act as the hub's clients and as the operator's eyes.
//
// $PGDSN is a fresh schema of the test PostgreSQL server when there is one (WATCHWORD_TEST_PG, or PG_DSN of the
// targets env), and the condition [pg] says so; a script's PostgreSQL part skips without.
func TestScripts(t *testing.T) {
	pg := ""
	if os.Getenv(targets.PostgresEnvVar) != "" || os.Getenv(targets.EnvVar) != "" || os.Getenv("CI") == "true" {
		pg = targets.PostgresSchema(t, targets.PostgresDSN(t))
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata",
		Condition: func(cond string) (bool, error) {
			if cond == "pg" {
				return pg != "", nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Setup: func(env *testscript.Env) error {
			env.Setenv("PGDSN", pg)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			env.Setenv("ADDR", ln.Addr().String())
			ln.Close()
			rec, err := seal.GenerateIdentity()
			if err != nil {
				return err
			}
			env.Setenv("RECOVERY", rec.Public().Recipient().String())
			return os.WriteFile(filepath.Join(env.WorkDir, "recovery.txt"), []byte(rec.AgeIdentity().String()+"\n"), 0o600)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"mode":         cmdMode,
			"invitevars":   cmdInviteVars,
			"client":       cmdClient,
			"rewriteaudit": cmdRewriteAudit,
			"stage":        cmdStage,
			"ageopen":      cmdAgeOpen,
			"replace":      cmdReplace,
		},
	})
}

// mode PERM FILE... checks the files' permission bits.
func cmdMode(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: mode PERM FILE...")
	}
	for _, f := range args[1:] {
		fi, err := os.Stat(ts.MkAbs(f))
		ts.Check(err)
		if got := fmt.Sprintf("%04o", fi.Mode().Perm()); (got == args[0]) == neg {
			ts.Fatalf("%s: mode %s, want %s%s", f, got, map[bool]string{true: "not "}[neg], args[0])
		}
	}
}

// rewriteaudit DB GUID SEQ... is the attacker who writes the stopped hub's database: it deletes the tenant's audit
// events SEQ and computes the rest of the chain again, as the hub would (hubtest.RewriteAudit).
func cmdRewriteAudit(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 3 || neg {
		ts.Fatalf("usage: rewriteaudit DB GUID SEQ...")
	}
	var drop []int64
	for _, a := range args[2:] {
		n, err := strconv.ParseInt(a, 10, 64)
		ts.Check(err)
		drop = append(drop, n)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, ts.MkAbs(args[0]))
	ts.Check(err)
	defer st.Close()
	ts.Check(hubtest.RewriteAudit(ctx, st, ts.MkAbs(args[0]), args[1], drop...))
}

// stage DB GUID USERNAME HOST ACCOUNT N [staged] gives the tech USERNAME an account named ACCOUNT on the agent
// HOST (enrolled here if new) with N versions sealed to $RECOVERY, as an agent would stage them; each is confirmed
// unless "staged" is given, which leaves the last one staged. Version v's password is "password-v".
func cmdStage(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 6 || neg {
		ts.Fatalf("usage: stage DB GUID USERNAME HOST ACCOUNT N [staged]")
	}
	n, err := strconv.ParseInt(args[5], 10, 64)
	ts.Check(err)
	rcpt, err := seal.ParseRecipient(ts.Getenv("RECOVERY"))
	ts.Check(err)
	ctx := context.Background()
	st, err := store.Open(ctx, ts.MkAbs(args[0]))
	ts.Check(err)
	defer st.Close()
	now := time.Unix(1.9e9, 0)
	ts.Check(st.Write(ctx, func(tx store.Tx) error {
		t, err := tx.Tenant(args[1])
		if err != nil {
			return err
		}
		tech, err := tx.TechByUsername(t.ID, args[2])
		if err != nil {
			return err
		}
		ag, err := tx.AgentByKey(t.ID, "key-"+args[3])
		if errors.Is(err, store.ErrNotFound) {
			ag = &store.Agent{TenantID: t.ID, Name: args[3], Driver: "ad", Status: wire.AgentActive, PublicKey: "p",
				KeyID: "key-" + args[3], CreatedAt: now}
			err = tx.CreateAgent(ag)
		}
		if err != nil {
			return err
		}
		acc, err := tx.EnsureAccount(t.ID, tech.ID, ag.ID, args[4], now)
		if err != nil {
			return err
		}
		for v := acc.CurrentVersion + 1; v <= n; v++ {
			env, err := seal.Seal([]byte(fmt.Sprintf("password-%d", v)),
				seal.Context{Tenant: t.GUID, Agent: strconv.FormatInt(ag.ID, 10), Account: acc.Name, Version: v}, rcpt)
			if err != nil {
				return err
			}
			if err := tx.StageVersion(t.ID, &store.Version{AccountID: acc.ID, Version: v, Envelope: env, StagedAt: now}); err != nil {
				return err
			}
			if v < n || len(args) < 7 || args[6] != "staged" {
				if err := tx.ConfirmVersion(t.ID, acc.ID, v, now); err != nil {
					return err
				}
			}
		}
		return nil
	}))
}

// replace FILE OLD NEW replaces the first OLD in FILE by NEW (an edit of an exported file).
func cmdReplace(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 || neg {
		ts.Fatalf("usage: replace FILE OLD NEW")
	}
	b := ts.ReadFile(args[0])
	if !strings.Contains(b, args[1]) {
		ts.Fatalf("%s holds no %q", args[0], args[1])
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(strings.Replace(b, args[1], args[2], 1)), 0o600))
}

// ageopen IDENTITY FILE decrypts the age file FILE with the identity in IDENTITY and prints the plaintext.
func cmdAgeOpen(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: ageopen IDENTITY FILE")
	}
	ids, err := age.ParseIdentities(strings.NewReader(ts.ReadFile(args[0])))
	ts.Check(err)
	f, err := os.Open(ts.MkAbs(args[1]))
	ts.Check(err)
	defer f.Close()
	r, err := age.Decrypt(f, ids...)
	if err == nil {
		var b []byte
		if b, err = io.ReadAll(r); err == nil {
			ts.Stdout().Write(b)
		}
	}
	if neg != (err != nil) {
		ts.Fatalf("ageopen %s: %v", args[1], err)
	}
}

// invitevars reads the output of init (the last command's stdout) and sets $GUID, $INVITE and $OWNER_TOKEN from it.
func cmdInviteVars(ts *testscript.TestScript, neg bool, args []string) {
	out := ts.ReadFile("stdout")
	guid := regexp.MustCompile(`(?m)^client GUID:\s+(\S+)$`).FindStringSubmatch(out)
	inv := regexp.MustCompile(`(?m)^invite:\s+(\S+)$`).FindStringSubmatch(out)
	tok := regexp.MustCompile(`(?m)^owner token:\s+(\S+)`).FindStringSubmatch(out)
	if guid == nil || inv == nil || tok == nil {
		ts.Fatalf("no invite and owner token in %q", out)
	}
	ts.Setenv("GUID", guid[1])
	ts.Setenv("INVITE", inv[1])
	ts.Setenv("OWNER_TOKEN", tok[1])
}

// client INVITE ACTION [ARGS] acts as a client of the tenant of INVITE. Identities are kept in the script's work
// directory as NAME.id, created at first use.
//
//	register NAME     register a tech device as NAME (retrying while the hub starts); prints its status
//	claim TOKEN       claim the tenant as its owner ("owner") with an owner claim token
//	pending           as the owner, print each pending tech as "USERNAME FINGERPRINT"
//	fingerprint NAME  print "NAME FINGERPRINT" of the identity NAME.id, as pending would
//	checkpoint        as the owner, publish a signed genesis with a checkpoint of the newest audit event
//	wrongpin NAME     ask for NAME's status with the invite's hub pin replaced by another key's
//	export FILE csv|jsonl  as the owner, write every audit event to FILE as the Console exports it
//	urls              print the invite's hub addresses, one a line, in the order clients try them
//	health            print the hub's health answer: "urls: URL..." and "db: ENGINE ROLE [STANDBY...]"
func cmdClient(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: client INVITE ACTION [ARGS]")
	}
	inv, err := wire.ParseInvite(args[0])
	ts.Check(err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	identity := func(name string) *seal.Identity {
		path := ts.MkAbs(name + ".id")
		if b, err := os.ReadFile(path); err == nil {
			id, err := seal.ParseIdentity(strings.TrimSpace(string(b)))
			ts.Check(err)
			return id
		}
		id, err := seal.GenerateIdentity()
		ts.Check(err)
		ts.Check(os.WriteFile(path, []byte(id.String()+"\n"), 0o600))
		return id
	}
	client := func(inv wire.Invite, name string) *hubclient.Client {
		c, err := hubclient.New(inv, identity(name))
		ts.Check(err)
		ts.Defer(c.Close)
		return c
	}
	arg := func(i int) string {
		if len(args) <= i {
			ts.Fatalf("client %s: missing argument", args[1])
		}
		return args[i]
	}
	var out string
	switch args[1] {
	case "register":
		name := arg(2)
		c := client(inv, name)
		var st *wire.TechStatusResponse
		for i := 0; ; i++ { // the listener may need a moment
			st, err = c.Register(ctx, wire.RegisterRequest{Username: name, DisplayName: name, Email: name + "@acme.example"})
			if err == nil || i > 50 || errors.Is(err, hubclient.ErrInvalid) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err == nil {
			out = fmt.Sprintf("status: %s\n", st.Status)
		}
	case "claim":
		_, err = client(inv, "owner").Claim(ctx, arg(2), "Owner")
		if err == nil {
			out = "claimed\n"
		} else if errors.Is(err, hubclient.ErrForbidden) {
			err = fmt.Errorf("forbidden: %w", err)
		}
	case "urls":
		out = strings.Join(inv.URLs(), "\n") + "\n"
	case "health":
		var h *wire.Health
		if h, err = client(inv, "anyone").Health(ctx); err == nil && h.DB != nil {
			out = fmt.Sprintf("urls: %s\ndb: %s\n", strings.Join(h.URLs, " "),
				strings.Join(append([]string{h.DB.Engine, h.DB.Role}, h.DB.Synchronous...), " "))
		}
	case "pending":
		var techs []wire.Tech
		techs, err = client(inv, "owner").Techs(ctx, wire.TechPending)
		for _, t := range techs {
			out += t.Username + " " + t.Fingerprint + "\n"
		}
	case "export":
		var evs []wire.AuditEvent
		if evs, err = client(inv, "owner").Audit(ctx, wire.AuditQuery{}); err != nil {
			break
		}
		var buf strings.Builder
		w, werr := auditexport.NewWriter(&buf, auditexport.Format(arg(3)))
		ts.Check(werr)
		for _, e := range evs {
			ts.Check(w.Write(auditexport.Row{AuditEvent: e, Actor: "=cmd|' /C calc'!A0", Summary: "@SUM(1)"}))
		}
		ts.Check(w.Flush())
		ts.Check(os.WriteFile(ts.MkAbs(arg(2)), []byte(buf.String()), 0o600))
		out = fmt.Sprintf("exported %d events\n", len(evs))
	case "fingerprint":
		out = arg(2) + " " + identity(arg(2)).Public().Fingerprint().String() + "\n"
	case "checkpoint":
		// The owner turns the signed authority on with a checkpoint of the newest audit event in its genesis.
		c := client(inv, "owner")
		var evs []wire.AuditEvent
		if evs, err = c.Audit(ctx, wire.AuditQuery{}); err == nil && len(evs) == 0 {
			err = errors.New("no audit event")
		}
		if err != nil {
			break
		}
		last := evs[len(evs)-1]
		hash, herr := hex.DecodeString(last.Hash)
		ts.Check(herr)
		owner := identity("owner")
		u := authority.New(inv.ClientGUID, 0, authority.Hash{}, authority.Hash{}, time.Unix(1e9, 0),
			authority.SetAdmin(owner.Public().AuthKey(), wire.RoleOwner, "Owner", ""),
			authority.SetRecovery(ts.Getenv("RECOVERY")),
			authority.SetNaming(wire.DefaultPolicy().NamingFormat, "acme"),
			authority.AuditCheckpoint(last.Seq, hash))
		ts.Check(u.Sign(owner.Signer()))
		b, eerr := u.Encode()
		ts.Check(eerr)
		if _, err = c.PublishAuthority(ctx, b); err == nil {
			out = fmt.Sprintf("checkpoint: event %d\n", last.Seq)
		}
	case "wrongpin":
		bad := inv
		other, gerr := seal.GenerateIdentity()
		ts.Check(gerr)
		bad.HubPin = other.Public().ID()
		_, err = client(bad, arg(2)).Status(ctx)
	default:
		ts.Fatalf("client: unknown action %q", args[1])
	}
	fmt.Fprint(ts.Stdout(), out)
	if err != nil {
		fmt.Fprintln(ts.Stderr(), err)
	}
	if (err != nil) != neg {
		ts.Fatalf("client %s: %v (want failure: %t)", args[1], err, neg)
	}
}
