package agent

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// compromise is a tenant on the real in-process hub whose owner signed its authority, an agent pinned to it on the
// fake target, and the hub's database opened as an attacker who can write it.
type compromise struct {
	t      *testing.T
	ctx    context.Context
	h      *hubtest.Harness
	alice  *hubtest.Tech
	agent  *hubtest.Agent
	runner *Runner
	d      *fakeDriver
	db     *sql.DB
	auth   *hubtest.Authority
	pokes  int
}

func newCompromise(t *testing.T, ctx context.Context) *compromise {
	h := hubtest.New(t)
	c := &compromise{t: t, ctx: ctx, h: h, alice: h.ActiveTech("alice"), agent: h.NewAgent("contoso.local", wire.DriverAD)}
	// The owner signs what the hub holds, then alice's device and the agent.
	c.auth = h.SignAuthority(ctx)
	c.publish(authority.ApproveTech(c.alice.ID, "alice", "", c.alice.Identity.Public()),
		authority.EnrollAgent(c.agent.ID, "contoso.local", wire.DriverAD, c.agent.Identity.Public().AuthKey()))

	var err error
	if c.db, err = sql.Open("sqlite", "file:"+h.DBPath+"?_pragma=busy_timeout(10000)"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.db.Close() })

	c.d = newFakeDriver()
	c.d.known = []string{"Domain Admins", "Enterprise Admins"}
	r, err := New(Config{Hub: c.agent.Client, NewDriver: func() (driver.Driver, error) { return c.d, nil },
		PollWait: 2 * time.Second, Pace: 100 * time.Millisecond, Retry: 200 * time.Millisecond,
		Backoff: Backoff{Min: 10 * time.Millisecond, Max: 200 * time.Millisecond},
		Authority: &AuthorityPin{Anchor: authority.Anchor{Tenant: h.GUID, Genesis: c.auth.State.Genesis},
			File: filepath.Join(t.TempDir(), "authority.cbor"), Hub: c.agent.Client},
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	c.runner = r
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("runner: %v", err)
		}
	})
	return c
}

// testWriter logs the runner's lines through t, so a failure shows them.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// publish signs an update of ops with the owner's key and publishes it.
func (c *compromise) publish(ops ...authority.Op) { c.t.Helper(); c.auth.Publish(ops...) }

// exec writes the hub's database as the attacker does, behind the hub's back.
func (c *compromise) exec(query string, args ...any) {
	c.t.Helper()
	if _, err := c.db.ExecContext(c.ctx, query, args...); err != nil {
		c.t.Fatalf("%s: %v", query, err)
	}
}

// poke makes the hub notice the database changed, as a restart would (another agent's enrolment rebuilds its
// cached view of techs and agents, and wakes the agent's poll), and asks for alice's rotation, so that a plan
// acted on would stage a password.
func (c *compromise) poke() {
	c.t.Helper()
	c.pokes++
	c.h.NewAgent(fmt.Sprintf("poke-%d", c.pokes), wire.DriverLinux)
	if _, err := c.h.Owner.RotateNow(c.ctx, wire.RotateRequest{TechID: c.alice.ID}); err != nil {
		c.t.Fatal(err)
	}
}

// agentRecord is the admins' view of the agent.
func (c *compromise) agentRecord() wire.Agent {
	c.t.Helper()
	agents, err := c.h.Owner.Agents(c.ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	for _, a := range agents {
		if a.ID == c.agent.ID {
			return a
		}
	}
	c.t.Fatalf("no agent %d", c.agent.ID)
	return wire.Agent{}
}

// staged is one version the hub stored.
type staged struct {
	row      int64
	account  string
	version  int64
	envelope []byte
	state    string
}

// versionsAfter lists the versions stored after row.
func (c *compromise) versionsAfter(row int64) []staged {
	c.t.Helper()
	rows, err := c.db.QueryContext(c.ctx, `SELECT v.id, a.name, v.version, v.envelope, v.state FROM versions v
		JOIN accounts a ON a.id = v.account_id WHERE v.id > ? ORDER BY v.id`, row)
	if err != nil {
		c.t.Fatal(err)
	}
	defer rows.Close()
	var out []staged
	for rows.Next() {
		var s staged
		if err := rows.Scan(&s.row, &s.account, &s.version, &s.envelope, &s.state); err != nil {
			c.t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		c.t.Fatal(err)
	}
	return out
}

func (c *compromise) lastRow() int64 {
	var n sql.NullInt64
	if err := c.db.QueryRowContext(c.ctx, `SELECT MAX(id) FROM versions`).Scan(&n); err != nil {
		c.t.Fatal(err)
	}
	return n.Int64
}

func (c *compromise) open(s staged, id *seal.Identity) ([]byte, error) {
	return seal.Open(s.envelope, hubclient.SealContext(c.h.GUID, c.agent.ID, s.account, s.version), id)
}

// waitFor polls cond every 50 ms for up to 30 s.
func (c *compromise) waitFor(what string, cond func() bool) {
	c.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// confirmedAfter waits for a version of alice's account confirmed after row that alice opens to the password on
// the target, and returns its row.
func (c *compromise) confirmedAfter(row int64) int64 {
	c.t.Helper()
	var got int64
	c.waitFor("alice's password confirmed", func() bool {
		var last *staged
		for _, s := range c.versionsAfter(row) {
			if s.account == "alice-tm" && s.state == string(wire.VersionConfirmed) {
				last = &s
			}
		}
		if last == nil {
			return false
		}
		pw, err := c.open(*last, c.alice.Identity)
		if err != nil {
			c.t.Fatalf("alice cannot open version %d: %v", last.version, err)
		}
		c.d.mu.Lock()
		onTarget := c.d.pw["alice-tm"]
		c.d.mu.Unlock()
		got = last.row
		return string(pw) == onTarget
	})
	return got
}

// TestPinnedAgentRefusesACompromisedHub: against the real hub, an agent pinned to the tenant's signed authority
// rotates alice's account while the database says what the owner signed. Then an attacker writes the database
// directly, one change at a time — the recovery recipient, alice's device key, an approved tech of their own, a
// right's groups, the naming format, an older signed head — and asks for a rotation: each time the agent acts on
// nothing, stages nothing the attacker can open, and its refusal shows on the admins' agent list; restoring the
// database clears the refusal and alice's rotation goes through.
func TestPinnedAgentRefusesACompromisedHub(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := newCompromise(t, ctx)
	row := c.confirmedAfter(0)
	c.waitFor("the agent's receipt of head 1", func() bool {
		a := c.agentRecord()
		return a.AuthorityHead != nil && a.AuthorityHead.Seq == 1 && a.AuthorityRefusal == ""
	})
	// A third update, so that an older head can be replayed.
	c.publish(authority.SetNaming(wire.DefaultPolicy().NamingFormat, "tm"))
	c.waitFor("the agent's receipt of head 2", func() bool {
		a := c.agentRecord()
		return a.AuthorityHead != nil && a.AuthorityHead.Seq == 2
	})

	var tenantID int64
	var recovery, policy string
	if err := c.db.QueryRowContext(ctx, `SELECT id, recovery, policy FROM tenants WHERE guid = ?`, c.h.GUID).Scan(&tenantID, &recovery, &policy); err != nil {
		t.Fatal(err)
	}
	var aliceKey, aliceKeyID, aliceFP string
	if err := c.db.QueryRowContext(ctx, `SELECT public_key, key_id, fingerprint FROM techs WHERE id = ?`, c.alice.ID).Scan(&aliceKey, &aliceKeyID, &aliceFP); err != nil {
		t.Fatal(err)
	}
	var rightID int64
	var targets string
	if err := c.db.QueryRowContext(ctx, `SELECT id, targets FROM rights WHERE tenant_id = ? AND builtin = 1`, tenantID).Scan(&rightID, &targets); err != nil {
		t.Fatal(err)
	}
	var head struct {
		seq       int64
		hash      string
		body      []byte
		createdAt int64
	}
	if err := c.db.QueryRowContext(ctx, `SELECT seq, hash, body, created_at FROM authority_updates WHERE tenant_id = ? ORDER BY seq DESC LIMIT 1`,
		tenantID).Scan(&head.seq, &head.hash, &head.body, &head.createdAt); err != nil {
		t.Fatal(err)
	}
	mallory := c.h.NewTech("mallory") // registers, as anyone may; only the database approves it

	type attack struct {
		name    string
		thief   *seal.Identity
		refusal string
		do      func(thief *seal.Identity)
		undo    func()
	}
	attacks := []attack{
		{name: "recovery recipient swapped", thief: c.h.NewIdentity(), refusal: "recovery recipient is not the signed one",
			do: func(thief *seal.Identity) {
				c.exec(`UPDATE tenants SET recovery = ? WHERE id = ?`, thief.Public().Recipient().String(), tenantID)
			},
			undo: func() { c.exec(`UPDATE tenants SET recovery = ? WHERE id = ?`, recovery, tenantID) }},
		{name: "attacker's device as alice's key", thief: c.h.NewIdentity(), refusal: "approved device",
			do: func(thief *seal.Identity) {
				p := thief.Public()
				c.exec(`UPDATE techs SET public_key = ?, key_id = ?, fingerprint = ? WHERE id = ?`, p.String(), p.ID(), p.Fingerprint().String(), c.alice.ID)
			},
			undo: func() {
				c.exec(`UPDATE techs SET public_key = ?, key_id = ?, fingerprint = ? WHERE id = ?`, aliceKey, aliceKeyID, aliceFP, c.alice.ID)
			}},
		{name: "attacker's tech approved", thief: mallory.Identity, refusal: "has no signed approval",
			do:   func(*seal.Identity) { c.exec(`UPDATE techs SET status = 'active' WHERE id = ?`, mallory.ID) },
			undo: func() { c.exec(`UPDATE techs SET status = 'disabled' WHERE id = ?`, mallory.ID) }},
		{name: "Enterprise Admins added to the right", thief: c.h.NewIdentity(), refusal: `names group "Enterprise Admins"`,
			do: func(*seal.Identity) {
				var m map[string][]string
				if err := json.Unmarshal([]byte(targets), &m); err != nil {
					t.Fatal(err)
				}
				m[wire.DriverAD] = append(m[wire.DriverAD], "Enterprise Admins")
				b, _ := json.Marshal(m)
				c.exec(`UPDATE rights SET targets = ? WHERE id = ?`, string(b), rightID)
			},
			undo: func() { c.exec(`UPDATE rights SET targets = ? WHERE id = ?`, targets, rightID) }},
		{name: "naming format changed to hit an existing account", thief: c.h.NewIdentity(), refusal: "the signed naming format gives",
			do: func(*seal.Identity) {
				var p wire.Policy
				if err := json.Unmarshal([]byte(policy), &p); err != nil {
					t.Fatal(err)
				}
				p.NamingFormat = "{username}"
				b, _ := json.Marshal(p)
				c.exec(`UPDATE tenants SET policy = ? WHERE id = ?`, string(b), tenantID)
				c.exec(`UPDATE accounts SET name = 'alice' WHERE tech_id = ? AND agent_id = ?`, c.alice.ID, c.agent.ID)
			},
			undo: func() {
				c.exec(`UPDATE tenants SET policy = ? WHERE id = ?`, policy, tenantID)
				c.exec(`UPDATE accounts SET name = 'alice-tm' WHERE tech_id = ? AND agent_id = ?`, c.alice.ID, c.agent.ID)
			}},
		{name: "older signed head replayed", thief: c.h.NewIdentity(), refusal: "older than one already verified",
			do: func(*seal.Identity) {
				c.exec(`DELETE FROM authority_updates WHERE tenant_id = ? AND seq = ?`, tenantID, head.seq)
			},
			undo: func() {
				c.exec(`INSERT INTO authority_updates (tenant_id, seq, hash, body, created_at) VALUES (?, ?, ?, ?, ?)`,
					tenantID, head.seq, head.hash, head.body, head.createdAt)
			}},
	}
	detected := 0
	for _, a := range attacks {
		before, refusedBefore := c.lastRow(), c.runner.Stats().Refused
		a.do(a.thief)
		c.poke()
		var rec wire.Agent
		c.waitFor(a.name+": the refusal on the admins' agent list", func() bool {
			rec = c.agentRecord()
			return strings.Contains(rec.AuthorityRefusal, a.refusal)
		})
		// Several more plans, each refused, while the rotation the attacker asked for stays due.
		c.waitFor(a.name+": more refused plans", func() bool { return c.runner.Stats().Refused >= refusedBefore+3 })
		for _, s := range c.versionsAfter(before) {
			if _, err := c.open(s, a.thief); err == nil {
				t.Errorf("%s: the attacker opens %s version %d", a.name, s.account, s.version)
			}
			t.Errorf("%s: %s version %d staged while the agent refused the hub's plans", a.name, s.account, s.version)
		}
		if strings.Contains(rec.AuthorityRefusal, a.thief.Public().Recipient().String()) {
			t.Errorf("%s: the refusal repeats a whole recipient", a.name)
		}
		detected++
		a.undo()
		c.poke()
		c.waitFor(a.name+": the refusal cleared", func() bool { return c.agentRecord().AuthorityRefusal == "" })
		after := c.confirmedAfter(row)
		for _, s := range c.versionsAfter(before) {
			if _, err := c.open(s, a.thief); err == nil {
				t.Errorf("%s: the attacker opens %s version %d staged after the database was restored", a.name, s.account, s.version)
			}
		}
		row = after
		t.Logf("%s: refused (%q), resumed", a.name, rec.AuthorityRefusal)
	}
	if seq, h := c.runner.pin.chain.Head(); seq != c.auth.State.Seq || h != c.auth.State.Head {
		t.Errorf("the agent's head is %d, the owner signed %d", seq, c.auth.State.Seq)
	}
	t.Logf("pinned agent: %d attacks on the hub's database, %d refused, 0 passwords sealed to an attacker", len(attacks), detected)
}
