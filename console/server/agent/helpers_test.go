package agent_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"golang.org/x/crypto/ssh"

	"github.com/watchword/watchword/console/server/agent"
	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/console/server/agent/driver/ad"
	"github.com/watchword/watchword/console/server/agent/driver/linux"
	"github.com/watchword/watchword/console/server/agent/internal/cutproxy"
	"github.com/watchword/watchword/internal/testsupport/agenttest"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/internal/testsupport/targets"
	"github.com/watchword/watchword/shared/wire"
)

// memberOf lists the CNs of the groups an AD account belongs to.
func memberOf(tb testing.TB, cfg ad.Config, name string) []string {
	tb.Helper()
	conn := adAdmin(tb, cfg)
	defer conn.Close()
	res, err := conn.Search(ldap.NewSearchRequest(cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, 10, false,
		fmt.Sprintf("(sAMAccountName=%s)", ldap.EscapeFilter(name)), []string{"memberOf"}, nil))
	if err != nil || len(res.Entries) != 1 {
		tb.Fatalf("look up %s: %v (%d entries)", name, err, len(res.Entries))
	}
	var out []string
	for _, dn := range res.Entries[0].GetAttributeValues("memberOf") {
		p, err := ldap.ParseDN(dn)
		if err == nil && len(p.RDNs) > 0 {
			out = append(out, p.RDNs[0].Attributes[0].Value)
		}
	}
	return out
}

// sshTarget is the OpenSSH target: this very host on a high port.
type sshTarget struct {
	addr    string
	hostKey ssh.PublicKey
	cfg     linux.SSHConfig
}

func newSSHTarget(tb testing.TB, env targets.Env) *sshTarget {
	tb.Helper()
	hk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(env.Get(tb, "WW_SSH_HOST_KEY")))
	if err != nil {
		tb.Fatal(err)
	}
	pem, err := os.ReadFile(env.Get(tb, "WW_SSH_KEY_FILE"))
	if err != nil {
		tb.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		tb.Fatal(err)
	}
	addr := env.Get(tb, "WW_SSH_ADDR")
	return &sshTarget{addr: addr, hostKey: hk,
		cfg: linux.SSHConfig{Addr: addr, HostKey: hk, User: env.Get(tb, "WW_SSH_USER"), Sudo: env["WW_SSH_SUDO"] == "1", Signer: signer, Prefix: agenttest.Prefix}}
}

func deleteLinuxUsers(tb testing.TB, names ...string) {
	for _, n := range names {
		if !strings.HasPrefix(n, agenttest.Prefix) {
			tb.Errorf("cleanup: refusing to delete %q", n)
			continue
		}
		if out, err := exec.Command("userdel", "-r", n).CombinedOutput(); err != nil && !strings.Contains(string(out), "does not exist") {
			tb.Logf("cleanup userdel %s: %v: %s", n, err, out)
		}
	}
}

// recorder keeps every password the agent sets, for the zero-knowledge check.
type recorder struct {
	mu  sync.Mutex
	pws []string
}

func (r *recorder) add(pw string) {
	r.mu.Lock()
	r.pws = append(r.pws, pw)
	r.mu.Unlock()
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.pws...)
}

type recordingDriver struct {
	driver.Driver
	rec *recorder
}

func (d recordingDriver) SetPassword(ctx context.Context, name, pw string) error {
	d.rec.add(pw)
	return d.Driver.SetPassword(ctx, name, pw)
}

// proxyInvite points h's invite at px instead of the hub; the pin is the hub's, since TLS runs end to end.
func proxyInvite(px *cutproxy.Proxy, h *hubtest.Harness) wire.Invite {
	inv := h.Invite
	inv.HubURL = "https://" + px.Addr()
	return inv
}

func hostOf(rawURL string) string {
	u, _ := url.Parse(rawURL)
	return u.Host
}

// eventually polls cond every 50 ms until it holds or timeout passes.
func eventually(tb testing.TB, timeout time.Duration, what string, cond func() bool) time.Duration {
	tb.Helper()
	start := time.Now()
	for {
		if cond() {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			tb.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startRunner runs an agent runner until the test ends.
func startRunner(tb testing.TB, cfg agent.Config, logs io.Writer) *agent.Runner {
	tb.Helper()
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r, err := agent.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("runner: %v", err)
			}
		case <-time.After(30 * time.Second):
			tb.Errorf("runner did not stop within 30 s")
		}
	})
	return r
}

// grepSecrets fails tb for every secret found in blob.
func grepSecrets(tb testing.TB, where string, blob []byte, secrets []string) {
	tb.Helper()
	for _, s := range secrets {
		if bytes.Contains(blob, []byte(s)) {
			tb.Errorf("a generated password is in %s", where)
		}
	}
}
