package e2e_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	cvm "github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/internal/testsupport/summary"
	"github.com/watchword/watchword/internal/testsupport/targets"
	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
	tvm "github.com/watchword/watchword/techclient/vm"
)

// breach is a tenant whose owner signed its authority, served by the real watchword-hub binary, with the real
// watchword-agent pinned to that authority on the Samba AD DC, alice's TechClient, and an attacker who holds the
// hub's host: its SQLite file, its key, and the power to restart it.
type breach struct {
	t        *testing.T
	ctx      context.Context
	bin      binaries
	db, addr string
	hub      *proc
	hubArgs  []string
	agent    *proc
	agentID  int64
	guid     string
	console  *cvm.App
	owner    *hubclient.Client
	alice    *device
	mallory  *device
	env      targets.Env
	account  string // alice's account on the domain
}

// TestHubCompromise: an attacker with full write access to the hub's database and its key, between rotations, tries
// each way of reading a password or widening access that the hub's database once decided alone. For each: no
// envelope staged after the attack opens with any key the attacker holds, the agent refuses and says why (when the
// attack reaches a plan), the Console shows an alert, and once the database is restored the honest flow resumes: a
// forced rotation reaches alice's TechClient and the new password logs in over Kerberos.
func TestHubCompromise(t *testing.T) {
	env := targets.Require(t)
	targets.LockAccounts(t)
	test.NewTempApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	b := newBreach(t, ctx, env)

	thief, err := seal.GenerateIdentity() // the attacker's own device key
	if err != nil {
		t.Fatal(err)
	}
	malloryID, err := b.mallory.identity()
	if err != nil {
		t.Fatal(err)
	}
	keys := []*seal.Identity{thief, malloryID}
	rogue, err := seal.GenerateIdentity() // the key of the owner the attacker adds
	if err != nil {
		t.Fatal(err)
	}

	type attack struct {
		name string
		// do writes the database (the hub is stopped, as an attacker with the host can do).
		do func(db *sql.DB) error
		// agentRefusal is what the agent's refusal (on the Console's agent list and in its log) contains; "" when
		// the attack never reaches a plan.
		agentRefusal string
		// console is what one of the Console's alerts contains.
		console string
		// check, when set, runs after the hub restarts with the attack in place and before the Console looks.
		check func() error
	}
	var tenantID, aliceID, rightID, tier1, tier2, allRights, allDomains int64
	b.read(func(db *sql.DB) error {
		return errors.Join(
			db.QueryRowContext(ctx, `SELECT id FROM tenants WHERE guid = ?`, b.guid).Scan(&tenantID),
			db.QueryRowContext(ctx, `SELECT id FROM techs WHERE username = ?`, b.alice.username).Scan(&aliceID),
			db.QueryRowContext(ctx, `SELECT id FROM rights WHERE name = 'Helpdesk'`).Scan(&rightID),
			db.QueryRowContext(ctx, `SELECT id FROM groups WHERE name = 'Tier 1'`).Scan(&tier1),
			db.QueryRowContext(ctx, `SELECT id FROM groups WHERE name = 'Tier 2'`).Scan(&tier2),
			db.QueryRowContext(ctx, `SELECT id FROM rights WHERE builtin = 1`).Scan(&allRights),
			db.QueryRowContext(ctx, `SELECT id FROM groups WHERE builtin = 1 AND kind = 'agent'`).Scan(&allDomains))
	})
	var forged struct {
		account, version int64
	}
	attacks := []attack{
		{name: "approve the attacker's own device",
			do: func(db *sql.DB) error {
				return execAll(ctx, db, []string{`UPDATE techs SET status = 'active' WHERE id = ?`, `INSERT INTO group_members (group_id, member_id) VALUES (?, ?)`},
					[]any{b.mallory.techID}, []any{tier1, b.mallory.techID})
			},
			agentRefusal: "has no signed approval", console: "refuses"},
		{name: "swap the recovery recipient",
			do: func(db *sql.DB) error {
				return execAll(ctx, db, []string{`UPDATE tenants SET recovery = ? WHERE id = ?`}, []any{thief.Public().Recipient().String(), tenantID})
			},
			agentRefusal: "recovery recipient is not the signed one", console: "refuses"},
		{name: "add themselves as an owner, sign their device in",
			do: func(db *sql.DB) error {
				p := rogue.Public()
				if err := execAll(ctx, db, []string{`INSERT INTO admins (tenant_id, name, role, public_key, key_id, created_at, status) VALUES (?, 'Mallory', 'owner', ?, ?, ?, 'active')`,
					`UPDATE techs SET status = 'active' WHERE id = ?`, `INSERT INTO group_members (group_id, member_id) VALUES (?, ?)`},
					[]any{tenantID, p.String(), p.ID(), time.Now().UnixNano()}, []any{b.mallory.techID}, []any{tier1, b.mallory.techID}); err != nil {
					return err
				}
				// The rogue owner signs the approval of the attacker's device and writes it onto the chain.
				var seq int64
				var head string
				if err := db.QueryRowContext(ctx, `SELECT seq, hash FROM authority_updates WHERE tenant_id = ? ORDER BY seq DESC LIMIT 1`, tenantID).Scan(&seq, &head); err != nil {
					return err
				}
				st := b.console.Chain().State()
				h, _ := authority.ParseHash(head)
				u := authority.New(b.guid, uint64(seq)+1, h, st.Genesis, time.Now(),
					authority.SetAdmin(rogue.Public().AuthKey(), wire.RoleOwner, "Mallory", ""),
					authority.ApproveTech(b.mallory.techID, b.mallory.username, "", malloryID.Public()))
				if err := u.Sign(rogue.Signer()); err != nil {
					return err
				}
				body, err := u.Encode()
				if err != nil {
					return err
				}
				uh, err := u.Hash()
				if err != nil {
					return err
				}
				return execAll(ctx, db, []string{`INSERT INTO authority_updates (tenant_id, seq, hash, body, created_at) VALUES (?, ?, ?, ?, ?)`},
					[]any{tenantID, seq + 1, uh.String(), body, time.Now().UnixNano()})
			},
			agentRefusal: "not an admin", console: "This Console refuses the hub's signed authority"},
		{name: "a triplet granting Domain Admins",
			do: func(db *sql.DB) error {
				return execAll(ctx, db, []string{`INSERT INTO triplets (tenant_id, tech_group_id, agent_group_id, right_id) VALUES (?, ?, ?, ?)`},
					[]any{tenantID, tier1, allDomains, allRights})
			},
			agentRefusal: "Domain Admins", console: "refuses"},
		{name: "alice added to the Domain Admins TechGroup",
			do: func(db *sql.DB) error {
				return execAll(ctx, db, []string{`INSERT INTO group_members (group_id, member_id) VALUES (?, ?)`}, []any{tier2, aliceID})
			},
			agentRefusal: "Domain Admins", console: "refuses"},
		{name: "a right widened to Domain Admins",
			do: func(db *sql.DB) error {
				b, _ := json.Marshal(map[string][]string{wire.DriverAD: {"Domain Admins"}, wire.DriverLinux: {"sudo"}})
				return execAll(ctx, db, []string{`UPDATE rights SET targets = ? WHERE id = ?`}, []any{string(b), rightID})
			},
			agentRefusal: "Domain Admins", console: "refuses"},
		{name: "naming format {username} to hit an account that is not Watchword's",
			do: func(db *sql.DB) error {
				var raw string
				if err := db.QueryRowContext(ctx, `SELECT policy FROM tenants WHERE id = ?`, tenantID).Scan(&raw); err != nil {
					return err
				}
				var p wire.Policy
				if err := json.Unmarshal([]byte(raw), &p); err != nil {
					return err
				}
				p.NamingFormat = "{username}"
				pb, _ := json.Marshal(p)
				return execAll(ctx, db, []string{`UPDATE tenants SET policy = ? WHERE id = ?`, `UPDATE accounts SET name = ? WHERE tech_id = ?`},
					[]any{string(pb), tenantID}, []any{b.alice.username, aliceID})
			},
			agentRefusal: "the signed naming format gives", console: "refuses"},
		{name: "replay an older signed state",
			do: func(db *sql.DB) error {
				// The newest two updates go: the right and triplets setup is undone, the All triplet is back.
				return execAll(ctx, db, []string{`DELETE FROM authority_updates WHERE tenant_id = ? AND seq > (SELECT MAX(seq) - 2 FROM authority_updates WHERE tenant_id = ?)`},
					[]any{tenantID, tenantID})
			},
			agentRefusal: "older than one already verified", console: "older"},
		{name: "delete audit events and recompute the chain",
			do: func(db *sql.DB) error {
				n, err := rewriteAudit(ctx, db, tenantID, "tech.approve")
				if err == nil && n == 0 {
					err = errors.New("no tech.approve event to delete")
				}
				return err
			},
			check: func() error {
				if ok, msg, err := b.console.VerifyAudit(ctx); err != nil || ok {
					return fmt.Errorf("the Console's audit verification after the rewrite: ok=%v %q %v", ok, msg, err)
				}
				out, err := exec.CommandContext(ctx, b.bin.hub, "verify-audit", "--db", b.db).CombinedOutput()
				if err == nil {
					return fmt.Errorf("watchword-hub verify-audit passes the rewritten chain: %s", out)
				}
				return nil
			},
			console: "audit"},
		{name: "stage a forged envelope for alice",
			do: func(db *sql.DB) error {
				var pub, name string
				var account, agent, cur int64
				if err := db.QueryRowContext(ctx, `SELECT t.public_key, a.name, a.id, a.agent_id, a.current_version FROM accounts a JOIN techs t ON t.id = a.tech_id WHERE t.id = ?`,
					aliceID).Scan(&pub, &name, &account, &agent, &cur); err != nil {
					return err
				}
				pk, err := seal.ParsePublicKey(pub)
				if err != nil {
					return err
				}
				v := cur + 1
				env, err := seal.Seal([]byte("chosen-by-the-attacker-1"), hubclient.SealContext(b.guid, agent, name, v), pk.Recipient())
				if err != nil {
					return err
				}
				junk := make([]byte, 64)
				rand.Read(junk)
				forged.account, forged.version = account, v
				now := time.Now().UnixNano()
				return execAll(ctx, db, []string{`UPDATE versions SET state = 'superseded' WHERE account_id = ? AND state = 'confirmed'`,
					`INSERT INTO versions (account_id, version, envelope, state, staged_at, confirmed_at, signature) VALUES (?, ?, ?, 'confirmed', ?, ?, ?)`,
					`UPDATE accounts SET current_version = ?, rotated_at = ? WHERE id = ?`,
					// A new revision, so that the TechClient fetches the list again.
					`UPDATE tenants SET revision = revision + 1 WHERE guid = ?`},
					[]any{account}, []any{account, v, env, now, now, junk}, []any{v, now, account}, []any{b.guid})
			},
			check: func() error {
				var r *tvm.Row
				if _, err := waitFor(30*time.Second, func() bool {
					r = b.alice.row(breachHost)
					return r != nil && r.Version == forged.version
				}); err != nil {
					return fmt.Errorf("alice's TechClient never listed the forged version %d: %v", forged.version, b.alice.rows())
				}
				if r.Alert != tvm.UnsignedAlert {
					return fmt.Errorf("the forged version shows alert %q", r.Alert)
				}
				if pw, err := b.alice.app.Reveal(r.AccountID); err == nil {
					return fmt.Errorf("alice's TechClient revealed the forged password %q", pw)
				}
				return nil
			},
			console: "not signed by an enrolled agent"},
	}

	obtained, detected := 0, 0
	for _, a := range attacks {
		mark := b.maxVersion()
		agentLog := len(b.agent.logs.Bytes())
		b.withHubStopped(func() {
			b.backup()
			b.write(a.do)
		})
		if a.check != nil {
			if err := a.check(); err != nil {
				t.Errorf("%s: %v", a.name, err)
			}
		}
		if a.agentRefusal != "" {
			if _, err := b.console.RotateAgent(ctx, b.agentID, 0); err != nil {
				t.Errorf("%s: rotate now: %v", a.name, err)
			}
		}
		var alerts []string
		_, err := waitFor(45*time.Second, func() bool {
			if err := b.console.Refresh(ctx); err != nil {
				return false
			}
			alerts = b.console.Snapshot().AuthorityAlerts()
			if a.agentRefusal != "" && !strings.Contains(string(b.agent.logs.Bytes()[agentLog:]), a.agentRefusal) {
				return false
			}
			for _, al := range alerts {
				if strings.Contains(al, a.console) && (a.agentRefusal == "" || a.console != "refuses" || strings.Contains(al, a.agentRefusal)) {
					return true
				}
			}
			time.Sleep(200 * time.Millisecond)
			return false
		})
		if err != nil {
			t.Errorf("%s: not detected: Console alerts %q; agent log since the attack:\n%s", a.name, alerts, tail(b.agent.logs.Bytes()[agentLog:]))
		} else {
			detected++
			t.Logf("%s: detected: %q", a.name, alerts)
		}
		if a.agentRefusal != "" && !strings.Contains(string(b.agent.logs.Bytes()[agentLog:]), "plan refused") {
			t.Errorf("%s: the agent's log does not say it refused the plan", a.name)
		}
		// Every envelope staged since the attack began, tried with every key the attacker holds.
		for _, v := range b.versionsAfter(mark) {
			if a.name == "stage a forged envelope for alice" && v.account == forged.account && v.version == forged.version {
				continue // the attacker's own envelope
			}
			t.Errorf("%s: %s version %d staged while the hub was the attacker's", a.name, v.name, v.version)
			for _, k := range keys {
				if _, err := seal.Open(v.envelope, hubclient.SealContext(b.guid, v.agent, v.name, v.version), k); err == nil {
					obtained++
				}
			}
		}
		b.withHubStopped(b.restore)
		if err := b.honestRotation(); err != nil {
			t.Fatalf("%s: after the database was restored: %v", a.name, err)
		}
		if err := b.console.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if a.console == "audit" {
			// The admin restored the database and verifies again: the signed checkpoint holds.
			if ok, msg, err := b.console.VerifyAudit(ctx); err != nil || !ok {
				t.Errorf("%s: the Console's audit verification after the restore: ok=%v %q %v", a.name, ok, msg, err)
			}
		}
		if al := b.console.Snapshot().AuthorityAlerts(); len(al) > 0 {
			t.Errorf("%s: alerts remain after the restore: %q", a.name, al)
		}
	}
	if obtained > 0 {
		t.Errorf("%d password(s) opened with the attacker's keys", obtained)
	}
	summary.Print(fmt.Sprintf("hub compromise: %d attacks, %d passwords obtained, %d detected", len(attacks), obtained, detected))
}

func newBreach(t *testing.T, ctx context.Context, env targets.Env) *breach {
	work := t.TempDir()
	b := &breach{t: t, ctx: ctx, env: env, bin: build(t, work), db: filepath.Join(work, "hub", "hub.db"), addr: freeAddr(t)}
	recovery, err := seal.GenerateIdentity()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(b.bin.hub, "init", "--db", b.db, "--tenant", "Breach MSP", "--abbrev", "bx",
		"--recovery", recovery.Public().Recipient().String(), "--url", "https://"+b.addr).CombinedOutput()
	if err != nil {
		t.Fatalf("watchword-hub init: %v\n%s", err, out)
	}
	inv, err := wire.ParseInvite(field(string(out), "invite:"))
	if err != nil {
		t.Fatalf("watchword-hub init printed %q: %v", out, err)
	}
	b.guid = inv.ClientGUID
	b.hubArgs = []string{"serve", "--db", b.db, "--listen", b.addr, "--log-json", "true", "--log-level", "debug"}
	b.startHub()
	ownerID, err := seal.GenerateIdentity()
	if err != nil {
		t.Fatal(err)
	}
	if b.owner, err = hubclient.New(inv, ownerID, hubclient.WithTimeout(20*time.Second)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.owner.Close() })
	if _, err := b.owner.Claim(ctx, field(string(out), "owner token:"), "Breach owner"); err != nil {
		t.Fatalf("claim the tenant: %v", err)
	}
	b.console = cvm.New()
	b.console.Connect(b.owner, inv, "breach hub "+b.addr)
	b.console.UseAuthority(ownerID.Signer(), nil, nil)
	must(t, b.console.Refresh(ctx))
	g, err := b.console.PrepareAuthority(ctx)
	must(t, err)
	must(t, b.console.TurnOnAuthority(ctx, g))

	// The AD agent, enrolled with the command the Console prints (it pins the genesis), approved in the Console.
	en, err := b.console.NewEnrollment(ctx, breachHost, wire.DriverAD, 10*time.Minute, false)
	must(t, err)
	if !strings.Contains(en.Command, "--authority "+g.Hash.String()) {
		t.Fatalf("the enrolment command does not pin the genesis: %s", en.Command)
	}
	rb := make([]byte, 2)
	rand.Read(rb)
	run := hex.EncodeToString(rb)
	state := filepath.Join(work, "agent")
	agentEnv := []string{"WW_BREACH_AD_BIND=" + env.Get(t, "WW_AD_ADMIN_PASSWORD"), "WW_BREACH_PASSPHRASE=breach-agent-passphrase-" + run}
	c := exec.CommandContext(ctx, b.bin.agent, "enroll", "--state-dir", state, "--hub", inv.String(), "--token-file", "-", "--name", breachHost,
		"--driver", wire.DriverAD, "--passphrase-env", "WW_BREACH_PASSPHRASE", "--kdf-work-factor", "10", "--authority", g.Hash.String(),
		"--ldap-url", env.Get(t, "WW_AD_URL"), "--base-dn", env.Get(t, "WW_AD_BASE_DN"), "--ou", env.Get(t, "WW_AD_OU"),
		"--bind-dn", env.Get(t, "WW_AD_ADMIN_DN"), "--ca-file", env.Get(t, "WW_CA_CERT"), "--bind-password-env", "WW_BREACH_AD_BIND")
	c.Env = append(os.Environ(), agentEnv...)
	c.Stdin = strings.NewReader(en.Token + "\n")
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("watchword-agent enroll: %v\n%s", err, out)
	}
	b.agent = start(t, "watchword-agent", agentEnv, b.bin.agent, "run", "--state-dir", state, "--poll-wait", "10s",
		"--log-format", "json", "--log-level", "debug")
	must(t, b.console.Refresh(ctx))
	for _, a := range b.console.PendingAgents() {
		if a.Name == breachHost {
			b.agentID = a.ID
			must(t, b.console.ApproveAgent(ctx, a.ID))
		}
	}
	if b.agentID == 0 {
		t.Fatal("the agent is not pending in the Console")
	}

	// alice registers with the Console's tech invite (it pins the genesis) and is approved; mallory registers and
	// stays pending: only the database will approve her.
	user := func(n string) string { return "wwt-" + run + "-" + n }
	b.alice = newDevice(filepath.Join(work, "techclient-alice"), user("alice"), "")
	b.mallory = newDevice(filepath.Join(work, "techclient-mallory"), user("mallory"), "")
	b.account = user("alice") + "-bx"
	ad := adDirectory(t, env)
	t.Cleanup(func() { ad.remove(t, []string{b.account, user("mallory") + "-bx"}) })
	t.Cleanup(b.alice.app.Close)
	t.Cleanup(b.mallory.app.Close)
	for _, d := range []*device{b.alice, b.mallory} {
		must(t, d.register(ctx, b.console.TechInvite()))
		must(t, b.console.Refresh(ctx))
		for _, p := range b.console.Pending() {
			if p.Username == d.username {
				d.techID = p.ID
			}
		}
	}
	must(t, b.console.Approve(ctx, b.alice.techID))
	if _, err := b.alice.hosts(60*time.Second, breachHost); err != nil {
		t.Fatal(err)
	}

	// The entitlement the attacks try to widen: alice in Tier 1, whose right names no AD group; Tier 2, empty,
	// holds Domain Admins; the All triplet goes. Each change is one signed update.
	must(t, b.console.SaveRight(ctx, 0, "Helpdesk", "linux: sudo"))
	must(t, b.console.SaveGroup(ctx, false, 0, "Tier 1", []int64{b.alice.techID}))
	must(t, b.console.SaveGroup(ctx, false, 0, "Tier 2", nil))
	snap := b.console.Snapshot()
	id := func(name string, groups []wire.Group) int64 {
		for _, g := range groups {
			if g.Name == name {
				return g.ID
			}
		}
		t.Fatalf("no group %q", name)
		return 0
	}
	var helpdesk, all int64
	for _, r := range snap.Rights {
		switch r.Name {
		case "Helpdesk":
			helpdesk = r.ID
		case wire.AllRights:
			all = r.ID
		}
	}
	must(t, b.console.AddTriplet(ctx, id("Tier 1", snap.TechGroups), id(wire.AllDomains, snap.AgentGroups), helpdesk))
	must(t, b.console.AddTriplet(ctx, id("Tier 2", snap.TechGroups), id(wire.AllDomains, snap.AgentGroups), all))
	for _, tr := range snap.Triplets {
		if tr.TechGroupID == id(wire.AllTechs, snap.TechGroups) {
			must(t, b.console.DeleteTriplet(ctx, tr.ID))
		}
	}
	// The Console verifies the audit log: it signs a checkpoint of its head.
	if ok, msg, err := b.console.VerifyAudit(ctx); err != nil || !ok {
		t.Fatalf("verify audit: %v %q %v", ok, msg, err)
	}
	must(t, b.honestRotation())
	return b
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (b *breach) startHub() {
	b.hub = start(b.t, "watchword-hub", nil, b.bin.hub, b.hubArgs...)
	waitHealthy(b.t, b.hub, b.addr)
}

// withHubStopped stops the hub, runs fn and starts the hub again: the attacker owns the host.
func (b *breach) withHubStopped(fn func()) {
	b.hub.stop()
	fn()
	b.startHub()
}

// breachHost is the AD domain the breach runs on (the agent's name).
const breachHost = "test.lan"

var dbFiles = []string{"", "-wal", "-shm"}

// backup and restore copy the database files aside and back (the hub is stopped).
func (b *breach) backup() {
	for _, s := range dbFiles {
		if err := copyFile(b.db+s, b.db+s+".honest"); err != nil && !errors.Is(err, os.ErrNotExist) {
			b.t.Fatal(err)
		}
	}
}

func (b *breach) restore() {
	for _, s := range dbFiles {
		os.Remove(b.db + s)
		if err := copyFile(b.db+s+".honest", b.db+s); err != nil && !errors.Is(err, os.ErrNotExist) {
			b.t.Fatal(err)
		}
		os.Remove(b.db + s + ".honest")
	}
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func (b *breach) open(mode string) *sql.DB {
	db, err := sql.Open("sqlite", "file:"+b.db+"?mode="+mode+"&_pragma=busy_timeout(5000)")
	if err != nil {
		b.t.Fatal(err)
	}
	return db
}

func (b *breach) read(fn func(*sql.DB) error) {
	db := b.open("ro")
	defer db.Close()
	if err := fn(db); err != nil {
		b.t.Fatal(err)
	}
}

func (b *breach) write(fn func(*sql.DB) error) {
	db := b.open("rw")
	defer db.Close()
	if err := fn(db); err != nil {
		b.t.Fatalf("the attacker's write: %v", err)
	}
}

func execAll(ctx context.Context, db *sql.DB, stmts []string, args ...[]any) error {
	for i, s := range stmts {
		if _, err := db.ExecContext(ctx, s, args[i]...); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

func (b *breach) maxVersion() int64 {
	var id sql.NullInt64
	b.read(func(db *sql.DB) error { return db.QueryRowContext(b.ctx, `SELECT MAX(id) FROM versions`).Scan(&id) })
	return id.Int64
}

type stagedVersion struct {
	account, agent, version int64
	name                    string
	envelope                []byte
}

func (b *breach) versionsAfter(id int64) []stagedVersion {
	var out []stagedVersion
	b.read(func(db *sql.DB) error {
		rows, err := db.QueryContext(b.ctx, `SELECT a.id, a.agent_id, v.version, a.name, v.envelope FROM versions v JOIN accounts a ON a.id = v.account_id WHERE v.id > ?`, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var v stagedVersion
			if err := rows.Scan(&v.account, &v.agent, &v.version, &v.name, &v.envelope); err != nil {
				return err
			}
			out = append(out, v)
		}
		return rows.Err()
	})
	return out
}

// honestRotation forces a rotation of alice's account and waits for her TechClient to show the new version,
// whose password logs in over Kerberos.
func (b *breach) honestRotation() error {
	// The hub's version, not the one the TechClient shows: after a forged version is rolled back, the device may
	// still show its number, which the honest rotation then takes.
	var before int64
	b.read(func(db *sql.DB) error {
		return db.QueryRowContext(b.ctx, `SELECT current_version FROM accounts WHERE name = ?`, b.account).Scan(&before)
	})
	if _, err := b.console.RotateAgent(b.ctx, b.agentID, 0); err != nil {
		return err
	}
	var r *tvm.Row
	if _, err := waitFor(60*time.Second, func() bool {
		r = b.alice.row(breachHost)
		return r != nil && r.Version > before && r.Confirmed && r.Alert == ""
	}); err != nil {
		return fmt.Errorf("alice's TechClient shows %+v, want a confirmed version after %d: %w\nagent log:\n%s", r, before, err, tail(b.agent.logs.Bytes()))
	}
	pw, err := b.alice.app.Reveal(r.AccountID)
	if err != nil {
		return err
	}
	b.alice.app.Hide()
	if err := targets.KerberosLogin(b.ctx, b.env, b.account, pw); err != nil {
		return fmt.Errorf("kerberos login with version %d: %w", r.Version, err)
	}
	return nil
}

// rewriteAudit deletes the tenant's audit events of action and recomputes the chain after them as the hub
// computes it, so that the hub's own walk finds nothing wrong. It returns how many events went.
func rewriteAudit(ctx context.Context, db *sql.DB, tenant int64, action string) (int, error) {
	res, err := db.ExecContext(ctx, `DELETE FROM audit WHERE tenant_id = ? AND action = ?`, tenant, action)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	type ev struct {
		seq, at, actorID                  int64
		actorKind, action, target, detail string
	}
	rows, err := db.QueryContext(ctx, `SELECT seq, at, actor_kind, actor_id, action, target, detail FROM audit WHERE tenant_id = ? ORDER BY seq`, tenant)
	if err != nil {
		return 0, err
	}
	var evs []ev
	for rows.Next() {
		var e ev
		if err := rows.Scan(&e.seq, &e.at, &e.actorKind, &e.actorID, &e.action, &e.target, &e.detail); err != nil {
			rows.Close()
			return 0, err
		}
		evs = append(evs, e)
	}
	rows.Close()
	if _, err := db.ExecContext(ctx, `DELETE FROM audit WHERE tenant_id = ?`, tenant); err != nil {
		return 0, err
	}
	prev := ""
	for i, e := range evs {
		seq := int64(i + 1)
		canon, _ := json.Marshal([]any{seq, tenant, e.at, e.actorKind, e.actorID, e.action, e.target, e.detail})
		sum := sha256.Sum256([]byte(prev + "\n" + string(canon)))
		h := hex.EncodeToString(sum[:])
		if _, err := db.ExecContext(ctx, `INSERT INTO audit (seq, tenant_id, at, actor_kind, actor_id, action, target, detail, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?)`,
			seq, tenant, e.at, e.actorKind, e.actorID, e.action, e.target, e.detail, prev, h); err != nil {
			return 0, err
		}
		prev = h
	}
	_, err = db.ExecContext(ctx, `UPDATE audit_head SET seq = ?, hash = ? WHERE tenant_id = ?`, len(evs), prev, tenant)
	return int(n), err
}
