package view

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/view/uitest"
	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/seal"
)

// recoveryDialog shows the recovery identity dialog over a window of its own (closed by the test, once) with a
// clear delay of delay; closed is set when closing the window runs what the Console closes with it.
func recoveryDialog(t *testing.T, delay time.Duration) (fyne.App, fyne.Window, *vm.App, *seal.Identity, *bool) {
	t.Helper()
	app := uitest.NewApp(t)
	a := vm.New()
	w := test.NewWindow(widget.NewLabel("Console"))
	w.Resize(fyne.NewSize(1180, 760))
	id, err := seal.GenerateIdentity()
	if err != nil {
		t.Fatal(err)
	}
	closed := new(bool)
	fyne.DoAndWait(func() {
		clip := newRecoveryClip(w, func() { *closed = true })
		clip.delay = delay
		showRecovery(env{a: a, win: w}, "Northwind IT", id, clip)
	})
	return app, w, a, id, closed
}

// TestRecoveryIdentityCopyCleared: the recovery identity copied from its dialog (Copy, or Ctrl+C in the text)
// leaves the clipboard after the delay, and at once when the Console's window closes (quitting), if the clipboard
// still holds it; what the owner copied since is left alone.
func TestRecoveryIdentityCopyCleared(t *testing.T) {
	app, w, _, id, closed := recoveryDialog(t, 300*time.Millisecond)
	cb := app.Clipboard()
	secret := id.AgeIdentity().String()

	copied := time.Now()
	tapButton(t, w, "Copy")
	if got := cb.Content(); got != secret {
		t.Fatalf("clipboard after Copy: %q", got)
	}
	eventually(t, "the copy cleared", func() bool { return cb.Content() == "" })
	if d := time.Since(copied); d < 300*time.Millisecond {
		t.Fatalf("cleared after %v, before the delay", d)
	}

	// Ctrl+C in the text (its menu's Copy goes the same way) with nothing selected copies the whole identity,
	// through the same clip; then the owner copies something else, which the delay leaves alone.
	var text *recoveryText
	find(topOverlay(w), func(o fyne.CanvasObject) {
		if r, ok := o.(*recoveryText); ok {
			text = r
		}
	})
	if text == nil {
		t.Fatal("no recovery text in the dialog")
	}
	fyne.DoAndWait(func() { text.TypedShortcut(&fyne.ShortcutCopy{Clipboard: cb}) })
	if got := cb.Content(); got != secret {
		t.Fatalf("clipboard after Ctrl+C: %q", got)
	}
	cb.SetContent("meeting notes")
	time.Sleep(600 * time.Millisecond)
	if got := cb.Content(); got != "meeting notes" {
		t.Fatalf("the owner's own copy was touched: %q", got)
	}
	// Typing into the text changes nothing that is copied or saved.
	fyne.DoAndWait(func() { test.Type(text, "x") })
	if text.Text != secret {
		t.Fatalf("the text changed to %q", text.Text)
	}

	// Quitting with the identity on the clipboard, its delay far off: cleared when the window closes.
	tapButton(t, w, "Copy")
	fyne.DoAndWait(w.Close)
	if got := cb.Content(); got != "" {
		t.Fatalf("clipboard after the Console closed: %q", got)
	}
	if !*closed {
		t.Fatal("closing the window did not close the session")
	}
}

// TestRecoveryIdentitySavedOwnerOnly: "Save to a file…" leaves the file the save dialog created (world-readable,
// as Fyne creates it) mode 0600, holding the identity, and says where it went.
func TestRecoveryIdentitySavedOwnerOnly(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes are Unix's")
	}
	_, w, a, id, _ := recoveryDialog(t, time.Hour)
	defer fyne.DoAndWait(w.Close)
	path := filepath.Join(t.TempDir(), "recovery.txt")
	wc, err := storage.Writer(storage.NewFileURI(path)) // what the file save dialog hands its callback
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm()&0o044 == 0 {
		t.Fatalf("the dialog's file: %v, %v; the test expects it readable by others, as Fyne creates it", fi.Mode(), err)
	}
	fyne.DoAndWait(func() { saveRecovery(env{a: a, win: w}, wc, "Northwind IT", id) })
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("recovery file mode %v, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	if !strings.HasSuffix(string(b), id.AgeIdentity().String()+"\n") {
		t.Fatalf("recovery file holds:\n%s", b)
	}
	if n, _ := a.Notice.Get(); n != "recovery identity saved to "+path {
		t.Fatalf("notice %q", n)
	}
}
