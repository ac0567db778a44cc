package buildcheck

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/watchword/watchword/internal/testsupport/xwindow"
)

// TestDesktopAppsOpenWindows starts the real TechClient and Console binaries on the X display (Xvfb under
// `make test`), waits for each window by its title, and checks a screenshot of it shows a rendered screen.
// WATCHWORD_SCREENSHOTS=DIR keeps the screenshots.
func TestDesktopAppsOpenWindows(t *testing.T) {
	xwindow.Require(t)
	dir := t.TempDir()
	apps := []struct{ pkg, title string }{
		{"techclient", "Watchword TechClient"},
		{"console", "Watchword Console"},
	}
	for _, app := range apps {
		t.Run(app.pkg, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			run := xwindow.Start(t, ctx, "github.com/watchword/watchword/"+app.pkg, dir)
			id := xwindow.Find(t, ctx, app.title)
			time.Sleep(time.Second) // the first frames
			png := filepath.Join(dir, app.pkg+".png")
			xwindow.Screenshot(t, ctx, id, png)
			w, h, colours := xwindow.Inspect(t, png)
			if w < 300 || h < 300 || colours < 16 {
				t.Fatalf("%s window looks empty: %dx%d, %d colours\nstderr: %s", app.title, w, h, colours, run.Stderr.String())
			}
			xwindow.Keep(t, os.Getenv("WATCHWORD_SCREENSHOTS"), png, app.pkg+".png")
		})
	}
}
