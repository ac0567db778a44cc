package agentcli_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/agent/agentcli"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/wire"
)

// TestEnrollTokenNotOnCommandLine: --token is refused with the ways that work named, before anything is created or
// the token used; --token-file - reads the token from standard input; the agent an ordinary token enrolls is told
// it is pending with its key fingerprint (the one the admins' list shows), and run keeps asking for a plan, logging
// the hub's refusal as an error, until an admin approves it.
func TestEnrollTokenNotOnCommandLine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h := hubtest.New(t)
	tok, err := h.Owner.CreateEnrollmentToken(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	t.Setenv("WW_TEST_PASSPHRASE", "passphrase-for-the-token-test")
	args := func(token ...string) []string {
		return append(append([]string{"enroll", "--hub", h.Invite.String()}, token...), "--name", "tokentest", "--driver", "linux",
			"--prefix", "ww-tokentest-", "--passphrase-env", "WW_TEST_PASSPHRASE", "--state-dir", state, "--kdf-work-factor", "10")
	}
	var out, errw bytes.Buffer
	err = agentcli.Main(ctx, args("--token", tok.Token), &out, &errw)
	if err == nil || !strings.Contains(err.Error(), "--token-file -") || strings.Contains(err.Error(), tok.Token) {
		t.Fatalf("--token on the command line: %v", err)
	}
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the refused enroll created the state directory (%v)", err)
	}
	if agents, err := h.Owner.Agents(ctx); err != nil || len(agents) != 0 {
		t.Fatalf("agents after the refused enroll: %+v, %v", agents, err)
	}

	defer agentcli.SetStdin(strings.NewReader(tok.Token + "\n"))()
	out.Reset()
	if err := agentcli.Main(ctx, args("--token-file", "-"), &out, &errw); err != nil {
		t.Fatalf("enroll with the token on standard input: %v\n%s", err, errw.String())
	}
	agents, err := h.Owner.Agents(ctx)
	if err != nil || len(agents) != 1 || agents[0].Status != wire.AgentPending || agents[0].Fingerprint == "" {
		t.Fatalf("hub agents: %+v, %v", agents, err)
	}
	if !strings.Contains(out.String(), "key fingerprint: "+agents[0].Fingerprint) || !strings.Contains(out.String(), "status: pending") {
		t.Fatalf("enroll output does not say pending with the fingerprint the admin sees (%s):\n%s", agents[0].Fingerprint, out.String())
	}

	logFile := filepath.Join(dir, "agent.log")
	rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
	defer rcancel()
	err = agentcli.Main(rctx, []string{"run", "--state-dir", state, "--log-file", logFile, "--log-format", "json", "--poll-wait", "1s"}, &out, &errw)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		t.Fatalf("run while pending: %v\n%s", err, errw.String())
	}
	b, err := os.ReadFile(logFile)
	if err != nil || !strings.Contains(string(b), `"level":"ERROR"`) || !strings.Contains(string(b), "agent is pending: an admin must approve it") {
		t.Fatalf("run's log while pending (%v):\n%s", err, b)
	}
}
