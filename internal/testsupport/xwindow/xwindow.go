// Package xwindow is what the real-window tests share: they build a desktop app, start it on the X display
// (Xvfb under `make test`), find its window by title with xdotool, screenshot it with ImageMagick's import, and
// count the screenshot's colours to tell a rendered screen from a blank one.
//
//	xwindow.Require(t)
//	app := xwindow.Start(t, ctx, "github.com/watchword/watchword/techclient", dir)
//	win := xwindow.Find(t, ctx, "Watchword TechClient")
//	xwindow.Screenshot(t, ctx, win, png)
//	w, h, colours := xwindow.Inspect(t, png)
//	xwindow.Keep(t, os.Getenv("WATCHWORD_SCREENSHOTS"), png, "techclient.png")
package xwindow

import (
	"context"
	"image"
	_ "image/png" // the screenshots are PNG
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// Require skips the test when there is no X display, except under CI (`make test` runs the tests under
// xvfb-run, so a missing display there is a broken setup), and fails it when the X tools are missing.
func Require(t testing.TB) {
	t.Helper()
	if os.Getenv("DISPLAY") == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no DISPLAY: `make test` runs the tests under xvfb-run")
		}
		t.Skip("no DISPLAY")
	}
	for _, tool := range []string{"xdotool", "import"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: scripts/deps.sh test installs it", tool)
		}
	}
}

// App is a desktop app running for a test.
type App struct {
	Cmd    *exec.Cmd
	Stderr *strings.Builder // what the app wrote to stderr, for a failure's message
}

// Start builds the package pkg into dir and starts it with its configuration and data under dir, so that it
// never reads the user's, and with env added to its environment. The app is killed when the test ends.
func Start(t testing.TB, ctx context.Context, pkg, dir string, env ...string) *App {
	t.Helper()
	exe := filepath.Join(dir, path.Base(pkg))
	// Not under ctx: a cold build of a Fyne app takes longer than a window needs to open.
	if out, err := exec.Command("go", "build", "-o", exe, pkg).CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, out)
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "XDG_DATA_HOME="+filepath.Join(dir, "data"))
	cmd.Env = append(cmd.Env, env...)
	app := &App{Cmd: cmd, Stderr: &strings.Builder{}}
	cmd.Stderr = app.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", pkg, err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return app
}

// Find waits for the visible window titled title and returns its X window ID.
func Find(t testing.TB, ctx context.Context, title string) string {
	t.Helper()
	out, err := exec.CommandContext(ctx, "xdotool", "search", "--sync", "--onlyvisible", "--name", "^"+title+"$").Output()
	if err != nil {
		t.Fatalf("window %q did not open: %v", title, err)
	}
	return strings.Fields(string(out))[0]
}

// Screenshot writes what window win shows to the PNG file at path.
func Screenshot(t testing.TB, ctx context.Context, win, path string) {
	t.Helper()
	if out, err := exec.CommandContext(ctx, "import", "-window", win, path).CombinedOutput(); err != nil {
		t.Fatalf("screenshot %s: %v\n%s", filepath.Base(path), err, out)
	}
}

// Inspect returns a PNG's size and how many distinct colours it has, sampling every other pixel: a blank
// window has one or two, a rendered screen dozens.
func Inspect(t testing.TB, path string) (w, h, colours int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := image.Decode(f)
	f.Close()
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	b := img.Bounds()
	seen := map[[4]uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
		}
	}
	return b.Dx(), b.Dy(), len(seen)
}

// Keep copies the screenshot at path into dir as name, when dir is set (the tests take it from an environment
// variable, so that a run can keep its screenshots).
func Keep(t testing.TB, dir, path, name string) {
	t.Helper()
	if dir == "" {
		return
	}
	data, err := os.ReadFile(path)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, name), data, 0o644)
	}
	if err != nil {
		t.Fatalf("keep screenshot %s: %v", name, err)
	}
}
