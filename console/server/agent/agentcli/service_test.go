package agentcli_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/agent/agentcli"
	"github.com/watchword/watchword/console/server/agent/winsvc"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/wire"
)

func TestServiceCommandLine(t *testing.T) {
	ctx := context.Background()
	var out, errw bytes.Buffer
	if err := agentcli.Main(ctx, []string{"help", "service"}, &out, &errw); err != nil || !strings.Contains(out.String(), "service install|remove|start|stop") {
		t.Fatalf("help service: %v %q", err, out.String())
	}
	if err := agentcli.Main(ctx, []string{"service"}, &out, &errw); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("service without action: %v", err)
	}
	err := agentcli.Main(ctx, []string{"service", "install", "--state-dir", `.\state`}, &out, &errw)
	if err == nil || !strings.Contains(err.Error(), "absolute path") {
		t.Fatalf("relative state dir: %v", err)
	}
	if runtime.GOOS != "windows" {
		err := agentcli.Main(ctx, []string{"service", "install"}, &out, &errw)
		if !errors.Is(err, winsvc.ErrNotWindows) || !strings.Contains(err.Error(), "systemd") {
			t.Fatalf("service install on %s: %v", runtime.GOOS, err)
		}
		err = agentcli.Main(ctx, []string{"run", "--event-log", winsvc.DefaultName}, &out, &errw)
		if !errors.Is(err, winsvc.ErrNotWindows) {
			t.Fatalf("run --event-log on %s: %v", runtime.GOOS, err)
		}
	}
	if err := agentcli.Main(ctx, []string{"run", "--log-file", "x", "--event-log", "y"}, &out, &errw); err == nil {
		t.Fatal("both log destinations accepted")
	}
}

// run --log-file (what the Windows service uses with --log FILE) appends the agent's log to the file
// and leaves standard error alone.
func TestRunLogFile(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h := hubtest.New(t)
	tok, err := h.Owner.CreateEnrollmentTokenWith(ctx, wire.TokenRequest{ApproveOnUse: true})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	t.Setenv("WW_TEST_PASSPHRASE", "passphrase-for-the-log-test")
	t.Setenv("WW_TEST_TOKEN", tok.Token)
	var out, errw bytes.Buffer
	err = agentcli.Main(ctx, []string{"enroll", "--hub", h.Invite.String(), "--token-env", "WW_TEST_TOKEN", "--name", "logtest",
		"--driver", "linux", "--prefix", "ww-logtest-", "--passphrase-env", "WW_TEST_PASSPHRASE", "--state-dir", state,
		"--kdf-work-factor", "10"}, &out, &errw)
	if err != nil {
		t.Fatalf("enroll: %v\n%s", err, errw.String())
	}
	logFile := filepath.Join(dir, "agent.log")
	if err := os.WriteFile(logFile, []byte("earlier line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	errw.Reset()
	rctx, rcancel := context.WithTimeout(ctx, 3*time.Second)
	defer rcancel()
	err = agentcli.Main(rctx, []string{"run", "--state-dir", state, "--log-file", logFile, "--log-format", "json",
		"--poll-wait", "1s"}, &out, &errw)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v\n%s", err, errw.String())
	}
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	if !strings.HasPrefix(got, "earlier line\n") || !strings.Contains(got, `"msg":"agent running"`) || !strings.Contains(got, `"target":"logtest"`) {
		t.Fatalf("log file:\n%s", got)
	}
	if strings.Contains(errw.String(), "agent running") {
		t.Fatalf("logged to stderr too: %q", errw.String())
	}
}
