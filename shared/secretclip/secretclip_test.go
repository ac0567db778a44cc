package secretclip

import (
	"runtime"
	"testing"
	"time"

	"github.com/watchword/watchword/internal/testsupport/cliptest"
)

func now(f func()) { f() }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("not %s after 3s", what)
}

func TestGuardDelay(t *testing.T) {
	var g Guard
	b := &cliptest.Memory{}
	g.Copy(b, []byte("Pa55word-1"), 50*time.Millisecond, now)
	if b.Content() != "Pa55word-1" {
		t.Fatalf("copied %q", b.Content())
	}
	waitFor(t, "cleared", func() bool { return b.Content() == "" })

	// Something else copied since: left alone.
	g.Copy(b, []byte("Pa55word-2"), 50*time.Millisecond, now)
	b.SetContent("meeting notes")
	time.Sleep(150 * time.Millisecond)
	if b.Content() != "meeting notes" {
		t.Fatalf("the user's copy was touched: %q", b.Content())
	}

	// A second copy takes over: the first delay clears nothing, the second clears the second secret.
	g.Copy(b, []byte("Pa55word-3"), 100*time.Millisecond, now)
	g.Copy(b, []byte("Pa55word-4"), time.Hour, now)
	time.Sleep(250 * time.Millisecond)
	if b.Content() != "Pa55word-4" {
		t.Fatalf("the first delay cleared the second copy: %q", b.Content())
	}
	g.Stop()
}

// TestGuardClear: Clear (on quit) empties the clipboard at once if it still holds the copied secret, and leaves
// whatever else the user copied since; Stop leaves the clipboard as it is.
func TestGuardClear(t *testing.T) {
	var g Guard
	b := &cliptest.Memory{}
	g.Copy(b, []byte("Pa55word-1"), time.Hour, now)
	g.Clear()
	if b.Content() != "" {
		t.Fatalf("after Clear: %q", b.Content())
	}

	g.Copy(b, []byte("Pa55word-2"), time.Hour, now)
	b.SetContent("meeting notes")
	g.Clear()
	if b.Content() != "meeting notes" {
		t.Fatalf("Clear touched the user's copy: %q", b.Content())
	}

	// Once cleared or given up, a later copy of the same text by the user is not the application's to clear.
	b.SetContent("Pa55word-2")
	g.Clear()
	if b.Content() != "Pa55word-2" {
		t.Fatalf("a second Clear cleared the user's own copy: %q", b.Content())
	}

	// A delay of 0 never clears on its own; Clear still does.
	g.Copy(b, []byte("Pa55word-3"), 0, now)
	time.Sleep(50 * time.Millisecond)
	if b.Content() != "Pa55word-3" {
		t.Fatalf("a delay of 0 cleared: %q", b.Content())
	}
	g.Clear()
	if b.Content() != "" {
		t.Fatalf("Clear after a delay of 0: %q", b.Content())
	}

	// Stop gives up without touching the clipboard, and the delay no longer fires.
	g.Copy(b, []byte("Pa55word-4"), 50*time.Millisecond, now)
	g.Stop()
	time.Sleep(150 * time.Millisecond)
	if b.Content() != "Pa55word-4" {
		t.Fatalf("cleared after Stop: %q", b.Content())
	}
}

func TestSystem(t *testing.T) {
	b := &cliptest.Memory{}
	c := System(b)
	if runtime.GOOS != "windows" {
		if c != Clipboard(b) {
			t.Fatalf("System wraps the clipboard on %s", runtime.GOOS)
		}
		return
	}
	if _, ok := c.(excluding); !ok {
		t.Fatal("System does not mark copies on Windows")
	}
}
