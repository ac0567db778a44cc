package version

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestIsFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"--version"}, true},
		{[]string{"-version"}, true},
		{[]string{"-v"}, true},
		{[]string{"version"}, true},
		{nil, false},
		{[]string{"serve"}, false},
		{[]string{"serve", "--version"}, false}, // a subcommand's own flags are its business
		{[]string{"--version", "extra"}, false},
	} {
		if got := IsFlag(tc.args); got != tc.want {
			t.Errorf("IsFlag(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}

func TestRevision(t *testing.T) {
	oldC, oldR := Commit, readBuildInfo
	t.Cleanup(func() { Commit, readBuildInfo = oldC, oldR })

	Commit = ""
	readBuildInfo = func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}}}, true
	}
	if got := Revision(); got != "0123456789ab-dirty" {
		t.Errorf("from build info: %q", got)
	}
	readBuildInfo = func() (*debug.BuildInfo, bool) { return nil, false }
	if got := Revision(); got != "" {
		t.Errorf("nothing known: %q", got)
	}
	if got := String("x"); strings.Contains(got, "(,") || !strings.HasPrefix(got, "x dev (go") {
		t.Errorf("String without revision: %q", got)
	}
	Commit = "aa61f32"
	if got := Revision(); got != "aa61f32" {
		t.Errorf("stamped commit: %q", got)
	}
}

func TestHandle(t *testing.T) {
	var b bytes.Buffer
	if Handle([]string{"serve"}, &b, "prog") || b.Len() != 0 {
		t.Fatalf("serve handled: %q", b.String())
	}
	if !Handle([]string{"--version"}, &b, "prog") {
		t.Fatal("--version not handled")
	}
	if !strings.HasPrefix(b.String(), "prog "+Version+" (") || !strings.HasSuffix(b.String(), ")\n") {
		t.Fatalf("output %q", b.String())
	}
}

// The stamp must survive the real linker: a tiny program built with -ldflags -X reports what was stamped.
func TestLinkerStamp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	prog := "package main\n\nimport (\n\t\"os\"\n\n\t\"github.com/watchword/watchword/shared/version\"\n)\n\n" +
		"func main() { version.Handle(os.Args[1:], os.Stdout, \"stamped\") }\n"
	if err := os.WriteFile(src, []byte(prog), 0o600); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "stamped")
	const pkg = "github.com/watchword/watchword/shared/version"
	build := exec.Command("go", "build", "-o", exe,
		"-ldflags", "-X "+pkg+".Version=9.8.7-rc.1+gdeadbee -X "+pkg+".Commit=deadbee", src)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	out, err := exec.Command(exe, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), "stamped 9.8.7-rc.1+gdeadbee (deadbee, go") {
		t.Fatalf("--version printed %q", out)
	}
}
