package view

import (
	"context"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/data/binding"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/techclient/vm"
)

// setupForm is the first-run form's entries, named for tests.
type setupForm struct {
	invite, hubURL, guid, pin                 *widget.Entry
	username, display, email, org, pass, conf *widget.Entry
	register, replace                         *widget.Button
}

func entry(placeholder string) *widget.Entry {
	e := widget.NewEntry()
	e.SetPlaceHolder(placeholder)
	return e
}

// firstRun is the registration form: paste the MSP's invite (or type its three fields), say who you are.
func firstRun(u *ui) fyne.CanvasObject {
	a := u.a
	f := &setupForm{
		invite:   entry("watchword-invite:…"),
		hubURL:   entry("https://hub.example.com:8443"),
		guid:     entry("Client GUID from your MSP"),
		pin:      entry("Hub fingerprint from your MSP"),
		username: entry("e.g. alice (your MSP tells you)"),
		display:  entry("Alice Martin"),
		email:    entry("alice@example.com"),
		org:      entry("Only for co-managed techs: your company"),
		pass:     widget.NewPasswordEntry(),
		conf:     widget.NewPasswordEntry(),
	}
	// A pasted invite fills the three fields, so the technician sees what it points at.
	f.invite.OnChanged = func(s string) {
		if inv, err := vm.ParseInvite(s); err == nil {
			f.hubURL.SetText(strings.Join(inv.URLs(), ", "))
			f.guid.SetText(inv.ClientGUID)
			f.pin.SetText(inv.HubPin)
		}
	}
	// A deployment tool may have handed us the invite and the username (vm.ParseArgs).
	if p := a.Prefill(); p.Invite != "" || p.Username != "" {
		f.invite.SetText(p.Invite)
		f.username.SetText(p.Username)
	}
	form := func() vm.Registration {
		r := vm.Registration{HubURL: f.hubURL.Text, ClientGUID: f.guid.Text, HubPin: f.pin.Text,
			Username: strings.TrimSpace(f.username.Text), DisplayName: f.display.Text, Email: f.email.Text,
			Organization: f.org.Text, Passphrase: f.pass.Text, Confirm: f.conf.Text}
		if inv := strings.TrimSpace(f.invite.Text); inv != "" {
			parsed, err := vm.ParseInvite(inv)
			if err != nil || f.hubURL.Text == "" {
				r.Invite = inv // let the view-model explain what is wrong with it
			} else if f.hubURL.Text == strings.Join(parsed.URLs(), ", ") && f.guid.Text == parsed.ClientGUID && f.pin.Text == parsed.HubPin {
				r.Invite = inv // as pasted: with all it carries beyond the three fields (more addresses, the authority)
			}
		}
		return r
	}
	submit := func() {
		r := form()
		f.register.Disable()
		go func() {
			err := a.Register(context.Background(), r)
			fyne.Do(func() {
				f.register.Enable()
				if err == nil {
					f.pass.SetText("")
					f.conf.SetText("")
				}
			})
		}()
	}
	for _, e := range []*widget.Entry{f.invite, f.hubURL, f.guid, f.pin, f.username, f.display, f.email, f.org, f.pass, f.conf} {
		e.OnSubmitted = func(string) { submit() }
	}
	f.register = widget.NewButtonWithIcon("Register this device", theme.ConfirmIcon(), submit)
	f.register.Importance = widget.HighImportance

	hub := widget.NewForm(
		widget.NewFormItem("Invite", f.invite),
		widget.NewFormItem("Hub address", f.hubURL),
		widget.NewFormItem("Client GUID", f.guid),
		widget.NewFormItem("Hub fingerprint", f.pin),
	)
	who := widget.NewForm(
		widget.NewFormItem("Username", f.username),
		widget.NewFormItem("Display name", f.display),
		widget.NewFormItem("Email", f.email),
		widget.NewFormItem("Organization", f.org),
	)
	keyNote := boundParagraph(a.KeyStorage, fyne.TextAlignLeading)
	keyNote.Importance = widget.LowImportance
	passForm := widget.NewForm(widget.NewFormItem("Passphrase", f.pass), widget.NewFormItem("Confirm", f.conf))
	passWhy := paragraph("There is no system keyring on this computer, so your device key will be sealed in a file with a passphrase "+
		"you choose. You will type it when Watchword starts or unlocks. Nobody can recover it for you.", fyne.TextAlignLeading)
	passBox := container.NewVBox(widget.NewSeparator(), passWhy, passForm)
	a.NeedPassphrase.AddListener(binding.NewDataListener(func() {
		if need, _ := a.NeedPassphrase.Get(); need {
			passBox.Show()
		} else {
			passBox.Hide()
		}
	}))
	busy := widget.NewActivity()
	a.Busy.AddListener(binding.NewDataListener(func() {
		if b, _ := a.Busy.Get(); b {
			busy.Show()
			busy.Start()
		} else {
			busy.Stop()
			busy.Hide()
		}
	}))

	// The username is taken: perhaps this replaces the tech's lost device (vm.App.Replace).
	f.replace = widget.NewButtonWithIcon("Replace my previous device", theme.ViewRefreshIcon(), nil)
	f.replace.OnTapped = func() {
		r := form()
		f.replace.Disable()
		go func() {
			err := a.Replace(context.Background(), r)
			fyne.Do(func() {
				f.replace.Enable()
				if err == nil {
					f.pass.SetText("")
					f.conf.SetText("")
				}
			})
		}()
	}
	replaceWhy := paragraph("If this username is yours and your previous device is lost or replaced: this replaces your previous device; "+
		"your MSP compares both fingerprints before approving.", fyne.TextAlignLeading)
	replaceBox := container.NewVBox(widget.NewSeparator(), replaceWhy, container.NewHBox(layout.NewSpacer(), f.replace))
	replaceBox.Hide()
	a.CanReplace.AddListener(binding.NewDataListener(func() {
		if can, _ := a.CanReplace.Get(); can {
			f.replace.Show()
			replaceBox.Show()
		} else {
			f.replace.Hide()
			replaceBox.Hide()
		}
	}))

	u.form = f // last: tests wait for it to drive a complete form
	intro := paragraph("Paste the invite your MSP sent you, or type its three fields. Then tell your MSP who you are: "+
		"they approve this device by comparing its fingerprint.", fyne.TextAlignCenter)
	return centred(560,
		container.NewCenter(logo(72)),
		heading("Set up Watchword"),
		intro,
		widget.NewCard("", "Your MSP", hub),
		widget.NewCard("", "You", who),
		keyNote,
		passBox,
		errorLabel(a),
		container.NewHBox(layout.NewSpacer(), busy, f.register),
		replaceBox,
	)
}

// pending shows the fingerprint to read to the admin; the view-model's long poll moves on by itself.
func pending(u *ui) fyne.CanvasObject {
	a := u.a
	fp := fingerprintLabel()
	fp.SizeName = theme.SizeNameSubHeadingText
	a.Fingerprint.AddListener(binding.NewDataListener(func() {
		s, _ := a.Fingerprint.Get()
		fp.SetText(fingerprintLines(s))
	}))
	steps := paragraph("Read this fingerprint to the admin who approves you. They see the same numbers in the Watchword Console "+
		"next to your name; if even one group differs, they must not approve.", fyne.TextAlignCenter)
	auto := paragraph("This screen changes by itself once you are approved: there is nothing to refresh.", fyne.TextAlignCenter)
	auto.Importance = widget.LowImportance
	return page(560, logo(72), "Waiting for approval", a.Account,
		steps,
		widget.NewCard("", "Device fingerprint", fp),
		spinner(),
		auto,
		banner(a),
		u.startOver(),
	)
}

// fingerprintLines breaks the 16 groups of a fingerprint into four lines of four for reading aloud.
func fingerprintLines(s string) string {
	groups := strings.Fields(s)
	var lines []string
	for i := 0; i < len(groups); i += 4 {
		lines = append(lines, strings.Join(groups[i:min(i+4, len(groups))], "  "))
	}
	return strings.Join(lines, "\n")
}

// locked asks for the passphrase (or just a click, when the key is in the OS keyring).
func locked(u *ui) fyne.CanvasObject {
	a := u.a
	pass := widget.NewPasswordEntry()
	pass.SetPlaceHolder("Passphrase")
	u.unlockPass = pass
	btn := widget.NewButtonWithIcon("Unlock", theme.LoginIcon(), nil)
	btn.Importance = widget.HighImportance
	btn.OnTapped = func() {
		p := pass.Text
		btn.Disable()
		go func() {
			err := a.Unlock(p)
			fyne.Do(func() {
				btn.Enable()
				pass.SetText("")
				if err != nil && pass.Visible() {
					u.w.Canvas().Focus(pass)
				}
			})
		}()
	}
	pass.OnSubmitted = func(string) { btn.OnTapped() }
	a.NeedPassphrase.AddListener(binding.NewDataListener(func() {
		if need, _ := a.NeedPassphrase.Get(); need {
			pass.Show()
		} else {
			pass.Hide()
		}
	}))
	note := boundParagraph(a.KeyStorage, fyne.TextAlignCenter)
	note.Importance = widget.LowImportance
	return page(400, logo(96), "Watchword is locked", a.Account, pass, errorLabel(a), container.NewCenter(btn), note)
}

func (u *ui) confirmForget() {
	dialog.ShowConfirm("Start over?", "This removes this device's registration and key. You will register again with your MSP's invite.",
		func(ok bool) {
			if ok {
				_ = u.a.Forget()
			}
		}, u.w)
}
