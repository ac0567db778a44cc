package hubserve_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/hub/hubserve"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// haproxy is a real HAProxy of the test's own in TCP passthrough in front of one hub, configured as
// docs/install.md's lb1 (send-proxy-v2, health checks of /healthz over TLS with their own PROXY header), on
// loopback. It is stopped by its PID when the test ends.
type haproxy struct {
	addr    string
	cmd     *exec.Cmd
	out     *hubtest.SyncBuffer
	stopped chan struct{}
}

func startHAProxy(t *testing.T, hubAddr string) *haproxy {
	t.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/haproxy"); serr == nil {
			bin, err = "/usr/sbin/haproxy", nil
		}
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("haproxy is not installed (scripts/deps.sh test installs it)")
		}
		t.Skip("haproxy is not installed: run scripts/deps.sh test")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	conf := fmt.Sprintf(`global
    maxconn 200

defaults
    mode    tcp
    timeout connect 5s
    timeout client  75s
    timeout server  75s

frontend watchword
    bind %s
    default_backend hubs

backend hubs
    balance leastconn
    option  httpchk
    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host hub.test
    http-check expect status 200
    default-server send-proxy-v2 check check-send-proxy check-ssl verify none check-alpn http/1.1 inter 200ms fall 2 rise 1
    server hub1 %s
`, addr, hubAddr)
	cfg := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &haproxy{addr: addr, out: &hubtest.SyncBuffer{}, stopped: make(chan struct{})}
	// -db: in the foreground, so that its PID is the one to stop.
	p.cmd = exec.Command(bin, "-db", "-f", cfg)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start haproxy: %v", err)
	}
	go func() { p.cmd.Wait(); close(p.stopped) }()
	t.Cleanup(p.stop)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return p
		}
		select {
		case <-p.stopped:
			t.Fatalf("haproxy exited at start: %s", p.out.Bytes())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy does not listen on %s: %s", addr, p.out.Bytes())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *haproxy) stop() {
	select {
	case <-p.stopped:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.stopped:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.stopped
	}
}

// from makes a client's connections leave from the loopback address src, as a client on another host would.
func from(src string) hubclient.Option {
	return hubclient.WithTransport(func(rt http.RoundTripper) http.RoundTripper {
		tr := rt.(*http.Transport)
		tr.DialContext = (&net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}).DialContext
		return tr
	})
}

// TestHAProxy: behind a real HAProxy that sends the PROXY protocol (v2), the hub sees the client's own address:
// an API identity allowed only from 127.0.0.2 works through HAProxy from there, one allowed only from HAProxy's
// address (127.0.0.1) is refused, naming 127.0.0.2; a connection from HAProxy's address without a header is
// refused, and HAProxy's health checks pass.
func TestHAProxy(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	srv := listen(t, h, hubserve.Config{ProxyFrom: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	lb := startHAProxy(t, srv.Addr().String())
	viaLB := h.Hub.Invite("https://"+lb.addr, h.GUID)

	apiIdentity := func(name, source string) *seal.Identity {
		t.Helper()
		tok, err := h.Owner.Invite(ctx, wire.InviteRequest{Role: wire.RoleAuditor, API: true, APISources: []string{source}})
		if err != nil {
			t.Fatal(err)
		}
		id := h.NewIdentity()
		resp, err := h.Client(id).Claim(ctx, tok.Token, name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Owner.ApproveAdmin(ctx, resp.Admin.ID); err != nil {
			t.Fatal(err)
		}
		return id
	}
	client := func(id *seal.Identity, src string) *hubclient.Client {
		t.Helper()
		c, err := hubclient.New(viaLB, id, from(src), hubclient.WithTimeout(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}

	// HAProxy may take a check or two to put the hub in rotation.
	probe := client(h.NewIdentity(), "127.0.0.2")
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := probe.Healthz(ctx)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no health answer through haproxy: %v\nhaproxy: %s\nhub: %s", err, lb.out.Bytes(), h.Logs.Bytes())
		}
		time.Sleep(100 * time.Millisecond)
	}

	there := apiIdentity("from-127.0.0.2", "127.0.0.2/32")
	if _, err := client(there, "127.0.0.2").Techs(ctx, ""); err != nil {
		t.Fatalf("an API identity allowed from 127.0.0.2, calling from there through haproxy: %v\nhub: %s", err, h.Logs.Bytes())
	}
	lbOnly := apiIdentity("from-127.0.0.1", "127.0.0.1/32")
	_, err := client(lbOnly, "127.0.0.2").Techs(ctx, "")
	if !errors.Is(err, hubclient.ErrForbidden) || !strings.Contains(err.Error(), "may not call from 127.0.0.2") {
		t.Fatalf("an API identity allowed only from haproxy's address, calling from 127.0.0.2 through it: %v", err)
	}

	// Straight to the hub from haproxy's address: no header, refused, and said so.
	direct, err := hubclient.New(h.Hub.Invite(srv.URL, h.GUID), there, from("127.0.0.1"), hubclient.WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	if err := direct.Healthz(ctx); err == nil {
		t.Fatal("a connection from the load balancer's address without a PROXY header was served")
	}
	if !bytes.Contains(h.Logs.Bytes(), []byte("without a PROXY protocol header")) {
		t.Errorf("no log line of the refused headerless connection:\n%s", h.Logs.Bytes())
	}
	// Several health checks have run by now (every 200 ms), each with its own header: none was refused.
	time.Sleep(500 * time.Millisecond)
	if n := bytes.Count(h.Logs.Bytes(), []byte("connection refused")); n != 1 {
		t.Errorf("%d refused connections, want the one made straight to the hub:\n%s", n, h.Logs.Bytes())
	}
	if bytes.Contains(lb.out.Bytes(), []byte("is DOWN")) {
		t.Errorf("haproxy marked the hub down:\n%s", lb.out.Bytes())
	}
}

// TestHAProxyDocs: docs/install.md's lb1 and replicas are set up as TestHAProxy's: HAProxy sends the header to the
// hub and with its checks, and the replicas name lb1 as its sender.
func TestHAProxyDocs(t *testing.T) {
	doc, err := os.ReadFile("../../../../docs/install.md")
	if err != nil {
		t.Fatal(err)
	}
	var defaults string
	for _, line := range strings.Split(string(doc), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "default-server" {
			defaults = line
		}
	}
	for _, opt := range []string{"send-proxy-v2", "check-send-proxy", "check-ssl"} {
		if !slices.Contains(strings.Fields(defaults), opt) {
			t.Errorf("docs/install.md's haproxy.cfg default-server line lacks %s: %q", opt, defaults)
		}
	}
	if !strings.Contains(string(doc), "Environment=WATCHWORD_HUB_PROXY_FROM=10.0.0.10\n") {
		t.Error("docs/install.md's replica drop-in does not name lb1 (10.0.0.10) in WATCHWORD_HUB_PROXY_FROM")
	}
}
