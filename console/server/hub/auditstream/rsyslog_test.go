package auditstream

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/shared/auditexport"
	"github.com/watchword/watchword/shared/wire"
)

// rsyslog is a real rsyslogd of the test's own: its config, certificate and work directory in a temporary
// directory, listening with TLS (the gtls stream driver) on a loopback port, writing the MSG of each audit message
// to audit.jsonl and of each head to heads.jsonl.
type rsyslog struct {
	t       *testing.T
	dir     string
	port    int
	caPEM   string
	bin     string
	cmd     *exec.Cmd
	stopped chan struct{}
}

func newRsyslog(t *testing.T) *rsyslog {
	t.Helper()
	bin, err := exec.LookPath("rsyslogd")
	if err != nil {
		for _, p := range []string{"/usr/sbin/rsyslogd", "/sbin/rsyslogd"} {
			if _, serr := os.Stat(p); serr == nil {
				bin, err = p, nil
			}
		}
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("rsyslogd is not installed (scripts/deps.sh test installs rsyslog and rsyslog-gnutls)")
		}
		t.Skip("rsyslogd is not installed: run scripts/deps.sh test")
	}
	dir := t.TempDir()
	caPEM, certPEM, keyPEM := testCerts(t)
	for name, body := range map[string]string{"ca.pem": caPEM, "cert.pem": certPEM, "key.pem": keyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`global(workDirectory=%q maxMessageSize="64k"
	defaultNetstreamDriver="gtls"
	defaultNetstreamDriverCAFile=%q
	defaultNetstreamDriverCertFile=%q
	defaultNetstreamDriverKeyFile=%q)
module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
input(type="imtcp" address="127.0.0.1" port="%d")
template(name="msgOnly" type="string" string="%%msg%%\n")
if $app-name == "watchword-hub" and $msgid == "audit" then {
	action(type="omfile" file=%q template="msgOnly")
	stop
}
if $app-name == "watchword-hub" and $msgid == "head" then {
	action(type="omfile" file=%q template="msgOnly")
	stop
}
`, work, filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), port,
		filepath.Join(dir, "audit.jsonl"), filepath.Join(dir, "heads.jsonl"))
	if err := os.WriteFile(filepath.Join(dir, "rsyslog.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	r := &rsyslog{t: t, dir: dir, port: port, caPEM: caPEM}
	r.bin = bin
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *rsyslog) addr() string { return fmt.Sprintf("127.0.0.1:%d", r.port) }

func (r *rsyslog) start() {
	r.t.Helper()
	r.cmd = exec.Command(r.bin, "-n", "-f", filepath.Join(r.dir, "rsyslog.conf"), "-i", filepath.Join(r.dir, "rsyslogd.pid"))
	var out bytes.Buffer
	r.cmd.Stdout, r.cmd.Stderr = &out, &out
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start rsyslogd: %v", err)
	}
	r.stopped = make(chan struct{})
	go func() { r.cmd.Wait(); close(r.stopped) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", r.addr(), time.Second); err == nil {
			c.Close()
			return
		}
		select {
		case <-r.stopped:
			r.t.Fatalf("rsyslogd exited at start: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("rsyslogd does not listen on %s: %s", r.addr(), out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends rsyslogd with SIGTERM, as a service manager does, and waits until it has exited.
func (r *rsyslog) stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	select {
	case <-r.stopped:
		return
	default:
	}
	t0 := time.Now()
	defer func() { r.t.Logf("rsyslogd stopped in %v", time.Since(t0)) }()
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.stopped:
	case <-time.After(20 * time.Second):
		r.cmd.Process.Kill()
		<-r.stopped
	}
}

// lines reads a file rsyslog writes (none yet: no line).
func (r *rsyslog) lines(name string) []string {
	b, err := os.ReadFile(filepath.Join(r.dir, name))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		r.t.Fatal(err)
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) != "" {
			out = append(out, strings.TrimSpace(sc.Text()))
		}
	}
	return out
}

// testCerts makes a CA and a certificate for 127.0.0.1 it signed.
func testCerts(t *testing.T) (caPEM, certPEM, keyPEM string) {
	t.Helper()
	from := time.Now().Add(-time.Hour)
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "watchword test syslog CA"},
		NotBefore: from, NotAfter: from.Add(48 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: from, NotAfter: from.Add(48 * time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	caCert, _ := x509.ParseCertificate(caDER)
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	enc := func(typ string, b []byte) string { return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b})) }
	return enc("CERTIFICATE", caDER), enc("CERTIFICATE", der), enc("EC PRIVATE KEY", kb)
}

// TestRsyslog streams two tenants' audit logs to a real rsyslog over TLS, stops rsyslog while more events are
// committed, starts it again, and checks that every event arrived at least once, in order per tenant, that the
// file's chain hashes verify, and that the signed heads verify against the hub's key.
func TestRsyslog(t *testing.T) {
	rs := newRsyslog(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var tenants [2]*store.Tenant
	var collectors [2]*store.Collector
	if err := st.Write(ctx, func(tx store.Tx) error {
		for i := range tenants {
			tenants[i] = &store.Tenant{GUID: fmt.Sprintf("guid-%d", i), Name: fmt.Sprintf("MSP %d", i), Abbrev: fmt.Sprintf("M%d", i), CreatedAt: at}
			if err := tx.CreateTenant(tenants[i]); err != nil {
				return err
			}
			collectors[i] = &store.Collector{TenantID: tenants[i].ID, Name: "siem", Address: rs.addr(), CAPEM: rs.caPEM, Format: wire.CollectorJSON, CreatedAt: at}
			if err := tx.CreateCollector(collectors[i]); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	n := 0
	produce := func(count int) {
		t.Helper()
		for range count {
			n++
			i := n % 2
			if err := st.Write(ctx, func(tx store.Tx) error {
				return tx.Audit(&store.AuditEvent{TenantID: tenants[i].ID, At: at.Add(time.Duration(n) * time.Second), ActorKind: "admin", ActorID: 1,
					Action: "tech.approve", Target: fmt.Sprintf("tech %d", n), Detail: fmt.Sprintf("event %d, \"quoted\" ] with = and | é", n)})
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	hubPub, hubKey, _ := ed25519.GenerateKey(rand.Reader)
	s := New(st, Config{Host: "hub.test", Poll: 100 * time.Millisecond, Settle: 700 * time.Millisecond, Retry: 100 * time.Millisecond,
		Batch: 7, Now: func() time.Time { return at },
		Head: func(ctx context.Context, tenant int64) (*Head, error) {
			var h *Head
			err := st.Read(ctx, func(tx store.Tx) error {
				evs, err := tx.AuditEvents(tenant, wire.AuditQuery{Newest: true, Limit: 1})
				if err != nil || len(evs) == 0 {
					return err
				}
				h = &Head{Tenant: tenant, Seq: evs[0].Seq, Hash: evs[0].Hash, At: at, HubKeyID: "hub", HubKey: hubPub}
				h.Signature = ed25519.Sign(hubKey, HeadStatement(tenant, h.Seq, h.Hash, h.At))
				return nil
			})
			return h, err
		}})
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			s.Wake()
			time.Sleep(50 * time.Millisecond)
		}
	}
	// arrived reads the file back as auditexport does, one list per tenant with repeats left out.
	arrived := func() map[int64][]wire.AuditEvent {
		lines := rs.lines("audit.jsonl")
		if len(lines) == 0 {
			return nil
		}
		evs, err := auditexport.Read(strings.NewReader(strings.Join(lines, "\n") + "\n"))
		if err != nil {
			t.Fatalf("the collector's file does not read as an audit export: %v", err)
		}
		out := map[int64][]wire.AuditEvent{}
		for _, e := range evs {
			got := out[e.Tenant]
			if len(got) > 0 && e.Seq <= got[len(got)-1].Seq {
				// Sent again after a reconnection: at least once, never out of order once repeats are dropped.
				if e.Seq < got[len(got)-1].Seq && e.Seq > 0 && e.Hash != got[e.Seq-got[0].Seq].Hash {
					t.Fatalf("tenant %d: event %d arrived again with another hash", e.Tenant, e.Seq)
				}
				continue
			}
			out[e.Tenant] = append(got, e)
		}
		return out
	}
	count := func() (c int) {
		for _, evs := range arrived() {
			c += len(evs)
		}
		return c
	}
	produce(20)
	waitFor("the first 20 events at rsyslog", func() bool { return count() == 20 })
	waitFor("both collectors connected", func() bool { return s.State(collectors[0].ID).Connected && s.State(collectors[1].ID).Connected })

	rs.stop()
	produce(20)
	waitFor("the stream to see rsyslog gone", func() bool {
		return !s.State(collectors[0].ID).Connected && !s.State(collectors[1].ID).Connected && s.State(collectors[0].ID).Error != ""
	})
	time.Sleep(500 * time.Millisecond) // a few failed connections
	rs.start()
	waitFor("all 40 events at rsyslog after its restart", func() bool { return count() == 40 })

	got := arrived()
	for i, tn := range tenants {
		evs := got[tn.ID]
		if len(evs) != 20 {
			t.Fatalf("tenant %d: %d events arrived, want 20", i, len(evs))
		}
		for j, e := range evs {
			if e.Seq != int64(j+1) {
				t.Fatalf("tenant %d: event %d arrived as the %dth (in order, each at least once)", i, e.Seq, j+1)
			}
		}
		rep := auditexport.Verify(evs)
		if len(rep.Problems) != 0 || rep.Links != 19 || rep.Gaps != 0 {
			t.Fatalf("tenant %d: the collector's copy does not verify: %s", i, rep)
		}
		if !strings.Contains(evs[3].Detail, `"quoted" ] with = and | é`) {
			t.Fatalf("tenant %d: detail arrived as %q", i, evs[3].Detail)
		}
	}
	// The cursors moved past everything the restarted rsyslog took.
	waitFor("the cursors at the newest events", func() bool {
		ok := true
		st.Read(ctx, func(tx store.Tx) error {
			for i := range collectors {
				c, err := tx.Collector(tenants[i].ID, collectors[i].ID)
				ok = ok && err == nil && c.SentSeq == 20 && c.SentAt.Equal(at) && c.HeadAt.Equal(at)
			}
			return nil
		})
		return ok
	})

	// The heads: at least one per tenant and connection, each signed by the hub's key over a head of the chain.
	// rsyslog writes its files on its own schedule: the second connection's heads may land after the events.
	var heads []string
	waitFor("a head of each tenant on each connection", func() bool {
		heads = rs.lines("heads.jsonl")
		n := map[int64]int{}
		for _, line := range heads {
			var h Head
			if json.Unmarshal([]byte(line), &h) == nil {
				n[h.Tenant]++
			}
		}
		return n[tenants[0].ID] >= 2 && n[tenants[1].ID] >= 2
	})
	seen := map[int64]int{}
	for _, line := range heads {
		var h Head
		if err := json.Unmarshal([]byte(line), &h); err != nil {
			t.Fatalf("head %q: %v", line, err)
		}
		if !ed25519.Verify(h.HubKey, HeadStatement(h.Tenant, h.Seq, h.Hash, h.At), h.Signature) {
			t.Fatalf("head %+v: the hub's signature does not verify", h)
		}
		evs := got[h.Tenant]
		if h.Seq < 1 || h.Seq > int64(len(evs)) || evs[h.Seq-1].Hash != h.Hash {
			t.Fatalf("head %+v names no event of the tenant's copy", h)
		}
		seen[h.Tenant]++
	}
	if seen[tenants[0].ID] < 2 || seen[tenants[1].ID] < 2 {
		t.Fatalf("heads per tenant %v: want one at each of the two connections at least", seen)
	}
}
