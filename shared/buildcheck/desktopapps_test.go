package buildcheck

import (
	"context"
	"image"
	_ "image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDesktopAppsOpenWindows starts the real TechClient and Console binaries on the X display (Xvfb under
// `make test`), waits for each window by its title, and checks a screenshot of it shows a rendered screen.
// WATCHWORD_SCREENSHOTS=DIR keeps the screenshots.
func TestDesktopAppsOpenWindows(t *testing.T) {
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
	dir := t.TempDir()
	apps := []struct{ pkg, title string }{
		{"techclient", "Watchword TechClient"},
		{"console", "Watchword Console"},
	}
	for _, app := range apps {
		t.Run(app.pkg, func(t *testing.T) {
			exe := filepath.Join(dir, app.pkg)
			b := exec.Command("go", "build", "-o", exe, "github.com/watchword/watchword/"+app.pkg)
			if msg, err := b.CombinedOutput(); err != nil {
				t.Fatalf("build %s: %v\n%s", app.pkg, err, msg)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, exe)
			cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "XDG_DATA_HOME="+filepath.Join(dir, "data"))
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

			id := waitWindow(t, ctx, app.title)
			time.Sleep(time.Second) // the first frames
			png := filepath.Join(dir, app.pkg+".png")
			if out, err := exec.CommandContext(ctx, "import", "-window", id, png).CombinedOutput(); err != nil {
				t.Fatalf("screenshot: %v\n%s", err, out)
			}
			w, h, colours := inspect(t, png)
			if w < 300 || h < 300 || colours < 16 {
				t.Fatalf("%s window looks empty: %dx%d, %d colours\nstderr: %s", app.title, w, h, colours, stderr.String())
			}
			if keep := os.Getenv("WATCHWORD_SCREENSHOTS"); keep != "" {
				data, _ := os.ReadFile(png)
				_ = os.WriteFile(filepath.Join(keep, app.pkg+".png"), data, 0o644)
			}
		})
	}
}

// waitWindow returns the X window ID of the visible window titled title.
func waitWindow(t *testing.T, ctx context.Context, title string) string {
	t.Helper()
	out, err := exec.CommandContext(ctx, "xdotool", "search", "--sync", "--onlyvisible", "--name", "^"+title+"$").Output()
	if err != nil {
		t.Fatalf("window %q did not open: %v", title, err)
	}
	return strings.Fields(string(out))[0]
}

// inspect returns a PNG's size and how many distinct colours it has (a blank window has one or two).
func inspect(t *testing.T, path string) (w, h, colours int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
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
