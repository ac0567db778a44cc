package view

import (
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/local"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/secretclip"
)

// recoveryClip copies the recovery identity the way the TechClient copies a password: the clipboard is emptied
// after delay, and when the Console quits (Clear), if it still holds the identity.
type recoveryClip struct {
	guard secretclip.Guard
	clip  secretclip.Clipboard
	delay time.Duration
}

// newRecoveryClip returns the clip of the recovery dialog shown over win, and makes closing win (quitting the
// Console) empty the clipboard first, while it can still be reached, then run also.
func newRecoveryClip(win fyne.Window, also func()) *recoveryClip {
	c := &recoveryClip{clip: secretclip.System(fyne.CurrentApp().Clipboard()), delay: secretclip.DefaultDelay}
	closeAlso(win, func() {
		c.guard.Clear()
		also()
	})
	return c
}

func (c *recoveryClip) copy(s string) { c.guard.Copy(c.clip, []byte(s), c.delay, fyne.Do) }

// recoveryText shows the identity for reading, selecting and copying; a copy (Ctrl+C, or Copy in its menu) goes
// through the clip, so it leaves the clipboard as a copied password does. With nothing selected it copies the
// whole identity. It cannot be cut or edited.
type recoveryText struct {
	widget.Entry
	clip *recoveryClip
}

func newRecoveryText(s string, clip *recoveryClip) *recoveryText {
	t := &recoveryText{clip: clip}
	t.MultiLine = true
	t.Wrapping = fyne.TextWrapBreak
	t.TextStyle = fyne.TextStyle{Monospace: true}
	t.ExtendBaseWidget(t)
	t.SetText(s)
	text := t.Text
	// Typing, pasting or cutting would only confuse what is saved: the text always goes back to the identity.
	t.OnChanged = func(string) {
		if t.Text != text {
			t.SetText(text)
		}
	}
	return t
}

func (t *recoveryText) TypedShortcut(s fyne.Shortcut) {
	switch s.(type) {
	case *fyne.ShortcutCopy, *fyne.ShortcutCut:
		sel := t.SelectedText()
		if sel == "" {
			sel = t.Text
		}
		t.clip.copy(sel)
		return
	case *fyne.ShortcutPaste:
		return
	}
	t.Entry.TypedShortcut(s)
}

// showRecovery shows the recovery identity once and offers to save it to a file of the owner's choosing (mode
// 0600) or to copy it: it must not stay only on this machine, and this Console does not keep it.
func showRecovery(e env, tenant string, id *seal.Identity, clip *recoveryClip) dialog.Dialog {
	text := newRecoveryText(id.AgeIdentity().String(), clip)
	explain := paragraph("This is the recovery identity of " + tenant + ". Every password envelope is also sealed to it, so with it you can " +
		"break glass — open any stored password with the plain age tool, version 1.3.0 or later (age -d -i recovery.txt envelope.age) — even if every device is lost.\n\n" +
		"The Console does not keep it. Save it now to a USB stick or print it, and store it offline, like a safe's combination.")
	save := widget.NewButton("Save to a file…", func() {
		dialog.ShowFileSave(func(w fyne.URIWriteCloser, err error) {
			if err != nil || w == nil {
				return
			}
			saveRecovery(e, w, tenant, id)
		}, e.win)
	})
	save.Importance = widget.HighImportance
	cp := widget.NewButton("Copy", func() { clip.copy(id.AgeIdentity().String()) })
	// Like a copied password: cleared after the delay, or when the Console quits, if the clipboard still holds it.
	note := widget.NewLabel(fmt.Sprintf("A copy is cleared from the clipboard after %d s.", int(clip.delay/time.Second)))
	d := dialog.NewCustom("Save the recovery identity", "I have saved it",
		container.NewVBox(explain, text, container.NewHBox(save, cp, note)), e.win)
	d.Resize(fyne.NewSize(640, 380))
	d.Show()
	return d
}

// saveRecovery writes the identity to the file the save dialog chose, readable by its owner only: the dialog has
// created the file with the default mode, so the file is replaced rather than written through w.
func saveRecovery(e env, w fyne.URIWriteCloser, tenant string, id *seal.Identity) {
	u := w.URI()
	if err := w.Close(); err != nil {
		dialog.ShowError(err, e.win)
		return
	}
	if u.Scheme() != "file" {
		dialog.ShowError(fmt.Errorf("save the recovery identity: %s is not a local file", u), e.win)
		return
	}
	if err := local.WriteRecovery(u.Path(), tenant, id); err != nil {
		dialog.ShowError(err, e.win)
		return
	}
	_ = e.a.Notice.Set("recovery identity saved to " + u.Path())
}

// closeAlso runs fn when the window closes.
func closeAlso(win fyne.Window, fn func()) {
	fyne.Do(func() {
		win.SetOnClosed(fn)
	})
}
