package view

// Screens of the two-factor step, the lockout and a device replacement (vm/twofactor.go):
//
//	enrol       the authenticator's QR code and secret, then the first code
//	code        a code from the authenticator, to open a session
//	locked-out  what happened and who can unlock
//	replacing   this device waits to replace the previous one: both fingerprints to compare

import (
	"context"
	"image"
	"image/color"
	"image/draw"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/data/binding"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	"rsc.io/qr"
)

// codeForm is a screen's code entry and button, named for tests.
type codeForm struct {
	entry  *widget.Entry
	submit *widget.Button
}

func newCodeForm(u *ui, label string) *codeForm {
	a := u.a
	f := &codeForm{entry: widget.NewEntry()}
	f.entry.SetPlaceHolder("123456")
	f.submit = widget.NewButtonWithIcon(label, theme.ConfirmIcon(), nil)
	f.submit.Importance = widget.HighImportance
	f.submit.OnTapped = func() {
		c := f.entry.Text
		f.submit.Disable()
		go func() {
			err := a.SubmitCode(context.Background(), c)
			fyne.Do(func() {
				f.submit.Enable()
				f.entry.SetText("")
				if err != nil {
					u.w.Canvas().Focus(f.entry)
				}
			})
		}()
	}
	f.entry.OnSubmitted = func(string) { f.submit.OnTapped() }
	return f
}

func (f *codeForm) row() fyne.CanvasObject {
	return container.NewBorder(nil, nil, widget.NewLabel("Code"), f.submit, f.entry)
}

// enrolScreen shows the authenticator's QR code and secret and asks for the first code. The QR image and the
// secret's text go as soon as the view-model forgets the secret.
func enrolScreen(u *ui) fyne.CanvasObject {
	a := u.a
	img := canvas.NewImageFromImage(nil)
	img.FillMode = canvas.ImageFillContain
	img.ScaleMode = canvas.ImageScalePixels // crisp modules
	img.SetMinSize(fyne.NewSquareSize(200))
	u.enrolQR = img
	secret := widget.NewLabel("")
	secret.TextStyle = fyne.TextStyle{Monospace: true}
	secret.Alignment = fyne.TextAlignCenter
	secret.Wrapping = fyne.TextWrapBreak
	a.TOTPURI.AddListener(binding.NewDataListener(func() {
		uri, _ := a.TOTPURI.Get()
		if uri == "" {
			img.Image = nil
		} else {
			img.Image = qrImage(uri, 8)
		}
		img.Refresh()
	}))
	a.TOTPSecret.AddListener(binding.NewDataListener(func() {
		s, _ := a.TOTPSecret.Get()
		secret.SetText(groups(s, 4))
	}))
	f := newCodeForm(u, "Confirm")
	u.enrolCode = f
	steps := paragraph("Your MSP requires two-factor authentication. Scan this QR code with your authenticator app "+
		"(Microsoft Authenticator, Google Authenticator, 1Password…) or type the key below into it, then enter the "+
		"6-digit code it shows.", fyne.TextAlignCenter)
	note := paragraph("The key is shown only now: Watchword does not keep it.", fyne.TextAlignCenter)
	note.Importance = widget.LowImportance
	return page(520, logo(56), "Set up two-factor authentication", a.Account,
		steps,
		container.NewCenter(img),
		widget.NewCard("", "Key", secret),
		note,
		f.row(),
		errorLabel(a),
		banner(a),
	)
}

// codeScreen asks for a code to open a session.
func codeScreen(u *ui) fyne.CanvasObject {
	a := u.a
	f := newCodeForm(u, "Open")
	u.sessionCode = f
	why := paragraph("Enter the 6-digit code your authenticator app shows for Watchword. "+
		"It opens a session on this device for the hours your MSP allows.", fyne.TextAlignCenter)
	return page(440, logo(72), "Two-factor authentication", a.Account,
		why,
		f.row(),
		errorLabel(a),
		banner(a),
	)
}

// lockedOutScreen says the hub locked the tech out and that only the MSP can lift it; it changes by itself then.
func lockedOutScreen(u *ui) fyne.CanvasObject {
	a := u.a
	icon := widget.NewIcon(theme.ErrorIcon())
	box := container.NewGridWrap(fyne.NewSquareSize(64), icon)
	what := paragraph("Too many wrong codes or passphrases were entered for your account. Until your MSP unlocks it, "+
		"no device of yours receives passwords. Call your MSP: this screen changes by itself once they have.", fyne.TextAlignCenter)
	return page(460, box, "Account locked", a.Headline,
		what,
		boundParagraph(a.Account, fyne.TextAlignCenter),
		banner(a),
	)
}

// replacingScreen shows both fingerprints while the MSP decides on the replacement of the previous device.
func replacingScreen(u *ui) fyne.CanvasObject {
	a := u.a
	fp, old := fingerprintLabel(), fingerprintLabel()
	old.Importance = widget.LowImportance
	a.Fingerprint.AddListener(binding.NewDataListener(func() {
		s, _ := a.Fingerprint.Get()
		fp.SetText(fingerprintLines(s))
		old.SetText(fingerprintLines(a.OldFingerprint()))
	}))
	steps := paragraph("Your MSP sees this device's fingerprint next to your previous one's. Read the new one to them; "+
		"once they approve, your previous device stops working and your passwords are changed.", fyne.TextAlignCenter)
	return page(560, logo(72), "Replacing your previous device", a.Headline,
		boundParagraph(a.Account, fyne.TextAlignCenter),
		steps,
		widget.NewCard("", "This device", fp),
		widget.NewCard("", "Previous device", old),
		spinner(),
		banner(a),
		u.startOver(),
	)
}

// groups splits s into space-separated groups of n characters, for reading and typing.
func groups(s string, n int) string {
	var out []byte
	for i := 0; i < len(s); i++ {
		if i > 0 && i%n == 0 {
			out = append(out, ' ')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// qrImage is the QR code of text at medium error correction with the four-module quiet zone scanners need, each
// module k×k pixels; nil when the text does not fit.
func qrImage(text string, k int) image.Image {
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		return nil
	}
	const quiet = 4
	n := (code.Size + 2*quiet) * k
	img := image.NewGray(image.Rect(0, 0, n, n))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	for y := 0; y < code.Size; y++ {
		for x := 0; x < code.Size; x++ {
			if code.Black(x, y) {
				draw.Draw(img, image.Rect((x+quiet)*k, (y+quiet)*k, (x+quiet+1)*k, (y+quiet+1)*k), image.NewUniform(color.Gray{}), image.Point{}, draw.Src)
			}
		}
	}
	return img
}
