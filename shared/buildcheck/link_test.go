package buildcheck

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestHeadlessBinariesLinkNoGUI builds the hub and the agent as a user would (plain `go build`, cgo as the
// environment has it) and checks with ldd that no GL or X11 library is linked.
func TestHeadlessBinariesLinkNoGUI(t *testing.T) {
	if _, err := exec.LookPath("ldd"); err != nil {
		t.Skip("no ldd on this machine")
	}
	dir := t.TempDir()
	for _, cmd := range []string{"watchword-hub", "watchword-agent"} {
		out := filepath.Join(dir, cmd)
		b := exec.Command("go", "build", "-o", out, "github.com/watchword/watchword/console/server/cmd/"+cmd)
		if msg, err := b.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", cmd, err, msg)
		}
		libs, _ := exec.Command("ldd", out).CombinedOutput() // "not a dynamic executable" exits 1: fine
		if bad := guiLibs(string(libs)); len(bad) > 0 {
			t.Errorf("%s links %s", cmd, strings.Join(bad, ", "))
		}
	}
}

func guiLibs(ldd string) []string {
	var bad []string
	for _, line := range strings.Split(ldd, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		for _, lib := range []string{"libGL", "libX11", "libXrandr", "libXcursor", "libEGL"} {
			if strings.HasPrefix(f[0], lib) {
				bad = append(bad, f[0])
			}
		}
	}
	return bad
}

func TestGuiLibsSpotsGL(t *testing.T) {
	ldd := "\tlinux-vdso.so.1 (0x0)\n\tlibGL.so.1 => /lib/x86_64-linux-gnu/libGL.so.1 (0x0)\n\tlibc.so.6 => /lib/libc.so.6\n\tlibX11.so.6 => /lib/libX11.so.6\n"
	if got := guiLibs(ldd); strings.Join(got, ",") != "libGL.so.1,libX11.so.6" {
		t.Fatalf("guiLibs = %v", got)
	}
}
