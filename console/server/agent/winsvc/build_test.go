package winsvc

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The agent is shipped for Windows, but this suite runs on Linux: vet the agent's packages for Windows and build
// the binary, so a Unix-only call (flock, a syscall constant) fails here and not in `make release`. Seconds
// with a warm build cache.
func TestAgentBuildsForWindows(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-builds the agent")
	}
	root, err := filepath.Abs(filepath.Join("..", "..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	for _, args := range [][]string{
		{"vet", "./console/server/agent/...", "./console/server/cmd/watchword-agent", "./shared/version"},
		{"build", "-o", filepath.Join(t.TempDir(), "watchword-agent.exe"), "./console/server/cmd/watchword-agent"},
	} {
		cmd := exec.Command("go", args...)
		cmd.Dir, cmd.Env = root, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("GOOS=windows go %s: %v\n%s", args[0], err, out)
		}
	}
}
