// Package secretclip puts a secret on the system clipboard for a while: a [Guard] empties the clipboard after a
// delay, or at once when the application quits, but only if it still holds that secret, so whatever the user
// copied since is left alone. It remembers a keyed hash of the secret (the key is random per process), never the
// secret. [System] marks what an application copies as excluded from the clipboard history and cloud sync where
// the system has them (Windows), which a timer cannot reach.
//
// The package imports no GUI toolkit: fyne.Clipboard satisfies [Clipboard], and the Windows part calls user32
// directly, so the package cross-builds without cgo.
package secretclip

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"
)

// DefaultDelay is how long a copied secret stays on the clipboard unless the application lets the user choose.
const DefaultDelay = 30 * time.Second

// Clipboard is the system clipboard; fyne.Clipboard implements it. Content and SetContent are called on the UI
// goroutine.
type Clipboard interface {
	Content() string
	SetContent(string)
}

// Guard clears what it copied. The zero value is ready to use; a Guard must not be copied after first use.
type Guard struct {
	mu    sync.Mutex
	key   []byte
	clip  Clipboard
	mark  []byte // keyed hash of the secret last copied; nil when nothing is to be cleared
	timer *time.Timer
}

func (g *Guard) sum(b []byte) []byte {
	if g.key == nil {
		g.key = make([]byte, 32)
		_, _ = rand.Read(g.key)
	}
	m := hmac.New(sha256.New, g.key)
	m.Write(b)
	return m.Sum(nil)
}

// Copy puts secret on clip and empties clip after the delay (none when after <= 0: only [Guard.Clear] does) if it
// still holds secret then. A later Copy takes over: the earlier delay no longer clears anything. do runs a
// function on the UI goroutine (fyne.Do). The caller may wipe secret when Copy returns. Call it on the UI
// goroutine.
func (g *Guard) Copy(clip Clipboard, secret []byte, after time.Duration, do func(func())) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.timer != nil {
		g.timer.Stop()
		g.timer = nil
	}
	clip.SetContent(string(secret))
	mark := g.sum(secret)
	g.clip, g.mark = clip, mark
	if after <= 0 {
		return
	}
	g.timer = time.AfterFunc(after, func() {
		do(func() {
			g.mu.Lock()
			defer g.mu.Unlock()
			if !hmac.Equal(g.mark, mark) {
				return // a later copy owns the clipboard now, or it was cleared already
			}
			g.clearLocked()
		})
	})
}

// Clear empties the clipboard now if it still holds the secret last copied, and cancels the pending delay. An
// application calls it while it quits, before its toolkit lets go of the clipboard: a pending delay dies with the
// process and would leave the secret behind. Call it on the UI goroutine.
func (g *Guard) Clear() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.timer != nil {
		g.timer.Stop()
		g.timer = nil
	}
	if g.mark != nil {
		g.clearLocked()
	}
}

// clearLocked empties the clipboard if it holds the marked secret, and forgets the mark; g.mu is held.
func (g *Guard) clearLocked() {
	content := []byte(g.clip.Content())
	defer wipe(content)
	if hmac.Equal(g.sum(content), g.mark) {
		g.clip.SetContent("")
	}
	g.mark = nil
}

// Stop cancels the pending delay and leaves the clipboard as it is: for when the clipboard can no longer be
// reached (the toolkit has stopped).
func (g *Guard) Stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.timer != nil {
		g.timer.Stop()
		g.timer = nil
	}
}

func wipe(b []byte) {
	for i := range b {
		b[i] = 0
	}
}

// System returns the clipboard an application copies secrets through: clip, except on Windows, where what is set
// also carries the formats that keep it out of the clipboard history (Win+V) and cloud clipboard sync and tell
// clipboard monitors to ignore it (ExcludeClipboardContentFromMonitorProcessing, CanIncludeInClipboardHistory = 0,
// CanUploadToCloudClipboard = 0), all in one clipboard transaction with the text so that no listener sees the text
// without them. Reading goes through clip.
func System(clip Clipboard) Clipboard {
	if !excludes {
		return clip
	}
	return excluding{clip}
}

// excluding sets the clipboard through the system's own calls, with the exclusion formats.
type excluding struct{ Clipboard }

func (e excluding) SetContent(s string) {
	if err := setExcluded(s); err != nil {
		// The system refused (another program holds the clipboard open): set it as the toolkit would rather than
		// lose the user's copy. The Guard still clears it.
		e.Clipboard.SetContent(s)
	}
}
