package view

import (
	"image/color"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/data/binding"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/internal/readable"
	"github.com/watchword/watchword/shared/reltime"
	"github.com/watchword/watchword/shared/wire"
	"github.com/watchword/watchword/techclient/vm"
)

// hidden is what a password looks like until it is revealed.
const hidden = "••••••••••••••••"

// NoPassword is what the password field says while the device has no password of the account.
const NoPassword = "none on this device yet"

// accountList is the active screen's widgets, named for tests and shortcuts.
type accountList struct {
	search   *searchEntry
	list     *widget.List
	count    *widget.Label
	detail   *detail
	rows     []*vm.Row // the rows the list shows, re-read from the view-model when Rows changes
	selected int64
}

// accounts is the main screen: search, the list of accounts, and the selected account's detail.
func accounts(u *ui) fyne.CanvasObject {
	a := u.a
	l := &accountList{}
	l.search = newSearch(u)
	l.count = widget.NewLabel("")
	l.count.Importance = widget.LowImportance

	l.list = widget.NewList(
		func() int { return len(l.rows) },
		newRowTemplate,
		func(i widget.ListItemID, o fyne.CanvasObject) {
			if i < len(l.rows) {
				renderRow(o.(*fyne.Container), l.rows[i], a.Now())
			}
		})
	l.list.OnSelected = func(i widget.ListItemID) {
		if i < len(l.rows) {
			l.selected = l.rows[i].AccountID
			a.Select(l.selected)
		}
	}
	l.list.OnUnselected = func(widget.ListItemID) {}
	l.detail = newDetail(u)

	a.Rows.AddListener(binding.NewDataListener(func() { l.reload(a) }))
	a.Tick.AddListener(binding.NewDataListener(func() {
		l.list.Refresh()
		l.detail.tick()
	}))
	a.Selected.AddListener(binding.NewDataListener(func() {
		l.detail.show(a.SelectedRow())
	}))

	lockBtn := widget.NewButtonWithIcon("", theme.LogoutIcon(), a.Lock)
	prefsBtn := widget.NewButtonWithIcon("", theme.SettingsIcon(), u.showPreferences)
	title := widget.NewLabelWithStyle("Watchword", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	who := widget.NewLabelWithData(a.Account)
	who.Importance = widget.LowImportance
	who.Truncation = fyne.TextTruncateEllipsis
	searchBox := container.New(&fixedWidth{w: 340}, l.search)
	top := container.NewBorder(nil, nil,
		container.NewHBox(logo(28), title),
		container.NewHBox(searchBox, lockBtn, prefsBtn),
		who)

	synced := widget.NewLabelWithData(a.Synced)
	synced.Importance = widget.LowImportance
	keys := widget.NewLabelWithData(a.KeyStorage)
	keys.Importance = widget.LowImportance
	keys.Truncation = fyne.TextTruncateEllipsis
	footer := container.NewBorder(nil, nil, synced, nil, keys)

	left := container.NewBorder(l.count, nil, nil, nil, l.list)
	split := container.NewHSplit(left, l.detail.box)
	split.Offset = 0.46
	l.reload(a)
	u.list = l // last: shortcuts and tests use it once it is complete
	return container.NewBorder(
		container.NewVBox(container.NewPadded(top), widget.NewSeparator(), banner(a)),
		container.NewVBox(widget.NewSeparator(), container.NewPadded(footer)),
		nil, nil, split)
}

// reload re-reads the visible rows and keeps the selection on the same account when it is still shown.
func (l *accountList) reload(a *vm.App) {
	l.rows = a.Visible()
	total := a.Total()
	switch {
	case total == 0:
		l.count.SetText("No accounts yet: your MSP's agents create them within minutes of your approval.")
	case len(l.rows) == total:
		l.count.SetText(vm.Plural(total, "account"))
	default:
		l.count.SetText(vm.Plural(len(l.rows), "match") + " of " + vm.Plural(total, "account"))
	}
	l.count.Wrapping = fyne.TextWrapWord
	l.list.Refresh()
	found := -1
	for i, r := range l.rows {
		if r.AccountID == l.selected {
			found = i
			break
		}
	}
	if found >= 0 {
		l.list.Select(found)
	} else {
		l.list.UnselectAll()
	}
	l.detail.show(a.SelectedRow())
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// newRowTemplate is one list row: kind icon (its tooltip names the kind), host and account (cut ones show whole in
// a tooltip), time to the next rotation.
func newRowTemplate() fyne.CanvasObject {
	icon := readable.WithTip(widget.NewIcon(theme.ComputerIcon()), "")
	host := readable.NewLabel("contoso.local")
	host.Text.TextStyle = fyne.TextStyle{Bold: true}
	acct := readable.NewLabel("alice-tm · Domain Admins")
	acct.Text.SizeName = theme.SizeNameCaptionText
	next := widget.NewLabelWithStyle("in 23 h 59 min", fyne.TextAlignTrailing, fyne.TextStyle{})
	next.SizeName = theme.SizeNameCaptionText
	badge := widget.NewLabelWithStyle("", fyne.TextAlignTrailing, fyne.TextStyle{Italic: true})
	badge.SizeName = theme.SizeNameCaptionText
	badge.Importance = widget.WarningImportance
	text := container.New(&tight{}, host, acct)
	right := container.New(&tight{}, next, badge)
	return container.NewBorder(nil, nil, icon, right, text)
}

// renderRow fills a row template: objects are center, icon, right as NewBorder orders them. A just-in-time row has
// one clock, its badge's: its password changes when a window opens and ends, not on the schedule.
func renderRow(c *fyne.Container, r *vm.Row, t time.Time) {
	text, icon, right := c.Objects[0].(*fyne.Container), c.Objects[1].(*readable.Tipped), c.Objects[2].(*fyne.Container)
	icon.Object.(*widget.Icon).SetResource(driverIcon(r.Driver))
	icon.SetTip(vm.DriverName(r.Driver))
	text.Objects[0].(*readable.Label).SetText(r.Host)
	text.Objects[1].(*readable.Label).SetText(r.Account + " · " + r.AccessText())
	next, badge := right.Objects[0].(*widget.Label), right.Objects[1].(*widget.Label)
	next.SetText(vm.Until(t, r.NextRotation))
	if r.JIT {
		next.SetText("")
	}
	switch {
	case r.Alert != "":
		badge.SetText("not signed by an enrolled agent")
	case r.JIT:
		badge.SetText(jitBadge(r, t))
	case r.Rotating:
		badge.SetText("rotating…")
	case !r.Confirmed:
		badge.SetText("not confirmed yet")
	case !r.RotatesAfterUse.IsZero():
		badge.SetText(vm.AfterUse(t, r.RotatesAfterUse))
	default:
		badge.SetText("")
	}
}

func driverIcon(d string) fyne.Resource {
	switch d {
	case wire.DriverLinux:
		return theme.ComputerIcon()
	case wire.DriverLDAP:
		return theme.AccountIcon()
	}
	return theme.StorageIcon()
}

// tight stacks two labels with less space between them than a VBox leaves.
type tight struct{}

func (t *tight) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var w, h float32
	for _, o := range objs {
		ms := o.MinSize()
		w = max(w, ms.Width)
		h += ms.Height
	}
	return fyne.NewSize(w, h-2*theme.Padding()*float32(len(objs)-1))
}

func (t *tight) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	y := float32(0)
	for _, o := range objs {
		ms := o.MinSize()
		o.Resize(fyne.NewSize(size.Width, ms.Height))
		o.Move(fyne.NewPos(0, y))
		y += ms.Height - 2*theme.Padding()
	}
}

// detail is the selected account: name, password (hidden until revealed), rights and rotation times.
type detail struct {
	u        *ui
	box      fyne.CanvasObject
	empty    fyne.CanvasObject
	card     fyne.CanvasObject
	host     *widget.Label
	kind     *widget.Label
	account  *widget.Label
	password *widget.Label
	rights   *widget.Label
	rotated  *widget.Label
	next     *widget.Label
	afterUse *widget.Label // "rotates at 15:04 after use", hidden when no such rotation is pending
	version  *widget.Label
	reveal   *widget.Button
	copyPass *widget.Button
	copyUser *widget.Button
	history  *widget.Button
	jit      *jitPanel
	hint     *widget.Label
	alert    *widget.Label   // the row's vm.Row.Alert: its password is never opened; hidden when it has none
	form     *fyne.Container // the account's fields; laid out again when the pass's row comes or goes
	// The window's Temporary Access Pass (Entra ID): a row of the account's form under the password, its label
	// and its line (tapBox) hidden together when the row has none, so the form lays out without it.
	tapName, tapText *widget.Label
	tapBox           *fyne.Container
	tapReveal        *widget.Button
	tapCopy          *widget.Button
	tapShown         bool
	row              *vm.Row
}

func newDetail(u *ui) *detail {
	a := u.a
	d := &detail{u: u}
	d.host = heading("")
	d.host.Alignment = fyne.TextAlignLeading
	d.host.Truncation = fyne.TextTruncateEllipsis
	d.kind = widget.NewLabel("")
	d.kind.Importance = widget.LowImportance
	d.account = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	d.account.Selectable = true
	d.password = widget.NewLabelWithStyle(hidden, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	d.rights = widget.NewLabel("")
	d.rights.Wrapping = fyne.TextWrapWord
	d.rotated = widget.NewLabel("")
	d.next = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	d.afterUse = widget.NewLabel("")
	d.afterUse.Importance = widget.WarningImportance
	d.afterUse.Hide()
	d.version = widget.NewLabel("")
	d.version.Importance = widget.LowImportance
	d.reveal = widget.NewButtonWithIcon("Reveal", theme.VisibilityIcon(), d.toggleReveal)
	d.copyPass = widget.NewButtonWithIcon("Copy password", theme.ContentCopyIcon(), d.copyPassword)
	d.copyPass.Importance = widget.HighImportance
	d.copyUser = widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), d.copyUsername)
	d.history = widget.NewButtonWithIcon("Previous passwords…", theme.HistoryIcon(), d.showHistory)
	d.hint = paragraph("", fyne.TextAlignLeading)
	d.hint.Importance = widget.LowImportance
	d.alert = paragraph("", fyne.TextAlignLeading)
	d.alert.Importance = widget.DangerImportance
	d.alert.Hide()
	d.jit = newJITPanel(d)
	d.tapText = widget.NewLabelWithStyle(hidden, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
	d.tapReveal = widget.NewButtonWithIcon("Reveal", theme.VisibilityIcon(), d.toggleTAP)
	d.tapCopy = widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), d.copyTAP)
	d.tapBox = container.NewBorder(nil, nil, nil, container.NewHBox(d.tapReveal, d.tapCopy), d.tapText)

	field := func(name string) *widget.Label {
		l := widget.NewLabelWithStyle(name, fyne.TextAlignTrailing, fyne.TextStyle{})
		l.Importance = widget.LowImportance
		return l
	}
	d.tapName = field("Access pass")
	d.tapName.Hide()
	d.tapBox.Hide()
	// One form for every field of the account, the pass's too: its labels share one column.
	d.form = container.New(layout.NewFormLayout(),
		field("Username"), container.NewBorder(nil, nil, nil, d.copyUser, d.account),
		field("Password"), container.NewBorder(nil, nil, nil, d.reveal, d.password),
		d.tapName, d.tapBox,
		field("Rights"), d.rights,
		field("Last rotated"), d.rotated,
		field("Next rotation"), container.NewVBox(d.next, d.afterUse),
		field("Version"), d.version,
	)
	d.card = container.NewVBox(container.NewBorder(nil, nil, nil, nil, container.NewVBox(d.host, d.kind)), d.alert, widget.NewSeparator(), d.form,
		d.jit.box, container.NewHBox(layout.NewSpacer(), d.history, d.copyPass), d.hint)
	emptyText := paragraph("Select an account to see its password.\n\nCtrl+F search · ↑↓ choose · Ctrl+R reveal · Ctrl+C copy password · Ctrl+U copy username · Ctrl+H previous passwords · Ctrl+E enable access · Ctrl+L lock",
		fyne.TextAlignCenter)
	emptyText.Importance = widget.LowImportance
	d.empty = container.NewCenter(container.New(&fixedWidth{w: 300}, emptyText))
	// The card is inset inside its scroll: the buttons at its right edge are not clipped by it or under its bar.
	d.box = container.NewPadded(container.NewStack(d.empty, container.NewVScroll(container.New(layout.NewCustomPaddedLayout(0, 0, 0, 2*theme.Padding()), d.card))))
	d.show(nil)
	a.Revealed.AddListener(binding.NewDataListener(func() {
		if v, _ := a.Revealed.Get(); d.row == nil || int64(v) != d.row.AccountID {
			d.conceal()
		}
	}))
	return d
}

func (d *detail) show(r *vm.Row) {
	if d.row == nil || r == nil || d.row.AccountID != r.AccountID {
		d.tapShown = false // a revealed pass stays on its own account only
	}
	d.row = r
	scroll := d.box.(*fyne.Container).Objects[0].(*fyne.Container).Objects[1]
	if r == nil {
		d.empty.Show()
		scroll.Hide()
		d.conceal()
		d.jit.show(nil, time.Time{})
		return
	}
	d.empty.Hide()
	scroll.Show()
	d.host.SetText(r.Host)
	d.kind.SetText(vm.DriverName(r.Driver))
	d.account.SetText(r.Account)
	d.rights.SetText(r.AccessText())
	d.version.SetText(versionText(r))
	d.alert.SetText(r.Alert)
	if r.Alert == "" {
		d.alert.Hide()
	} else {
		d.alert.Show()
	}
	if v, _ := d.u.a.Revealed.Get(); int64(v) != r.AccountID {
		d.conceal()
	}
	d.jit.show(r, d.u.a.Now())
	d.tick()
}

func versionText(r *vm.Row) string {
	switch {
	case r.Version == 0:
		return "none on this device"

	case r.Rotating:
		return itoa(int(r.Version)) + " · a new password is being set on the target right now"
	case !r.Confirmed:
		return itoa(int(r.Version)) + " · not yet confirmed by the target"
	}
	return itoa(int(r.Version))
}

// tick re-renders the times of the shown account.
func (d *detail) tick() {
	if d.row == nil {
		return
	}
	now := d.u.a.Now()
	if d.row.RotatedAt.IsZero() {
		d.rotated.SetText("never")
	} else {
		d.rotated.SetText(reltime.Ago(now, d.row.RotatedAt) + " · " + d.row.RotatedAt.Local().Format("Mon 2 Jan 15:04"))
	}
	d.next.SetText(vm.Countdown(now, d.row.NextRotation))
	d.next.TextStyle = fyne.TextStyle{Monospace: true}
	if d.row.JIT {
		// One clock for a just-in-time account, the window's (the panel below): its password changes when a window
		// opens and when it ends.
		d.next.SetText(vm.JITRotationText)
		d.next.TextStyle = fyne.TextStyle{}
	}
	d.next.Refresh()
	d.jit.tick(d.row, now)
	d.tickTAP(now)
	usable := d.row.Usable(now)
	setEnabled(d.reveal, usable)
	setEnabled(d.copyPass, usable)
	if d.password.Text == hidden || d.password.Text == NoPassword {
		d.conceal() // bullets only for a password the device has
	}
	if s := vm.AfterUse(now, d.row.RotatesAfterUse); s != "" && !d.row.JIT {
		d.afterUse.SetText(s + " (" + vm.Countdown(now, d.row.RotatesAfterUse) + ")")
		d.afterUse.Show()
	} else {
		d.afterUse.Hide()
	}
	set := d.u.a.Settings()
	d.hint.SetText("Copied passwords are cleared from the clipboard after " + seconds(set.ClipboardClear) +
		"; revealed ones hide again after " + seconds(set.RevealFor) + ". Every reveal and copy is recorded by your MSP.")
}

func seconds(d time.Duration) string {
	s := int(d.Seconds())
	if s%60 == 0 && s >= 60 {
		return itoa(s/60) + " min"
	}
	return itoa(s) + " s"
}

func (d *detail) conceal() {
	d.password.Importance = widget.MediumImportance
	d.password.TextStyle = fyne.TextStyle{Monospace: true}
	if d.row != nil && d.row.Version == 0 {
		d.password.Importance = widget.LowImportance
		d.password.TextStyle = fyne.TextStyle{}
		d.password.SetText(NoPassword)
	} else {
		d.password.SetText(hidden)
	}
	d.reveal.SetText("Reveal")
	d.reveal.SetIcon(theme.VisibilityIcon())
}

func (d *detail) toggleReveal() {
	if d.row == nil {
		return
	}
	if v, _ := d.u.a.Revealed.Get(); int64(v) == d.row.AccountID {
		d.u.a.Hide()
		return
	}
	pw, err := d.u.a.Reveal(d.row.AccountID)
	if err != nil {
		return
	}
	d.password.SetText(pw)
	d.password.Importance = widget.HighImportance
	d.password.Refresh()
	d.reveal.SetText("Hide")
	d.reveal.SetIcon(theme.VisibilityOffIcon())
}

func (d *detail) copyPassword() {
	if d.row != nil && d.u.a.CopyPassword(d.row.AccountID) == nil {
		d.u.toast("Password of " + d.row.Account + " copied: it leaves the clipboard in " + seconds(d.u.a.Settings().ClipboardClear) + ".")
	}
}

// tickTAP shows the row's Temporary Access Pass line while it has one: "Temporary Access Pass, valid until 15:04"
// until revealed.
func (d *detail) tickTAP(now time.Time) {
	text := d.row.TAPText(now)
	if text == "" {
		d.tapShown = false
		d.tapRow(false)
		return
	}
	d.tapRow(true)
	if !d.tapShown {
		d.tapText.TextStyle = fyne.TextStyle{}
		d.tapText.Importance = widget.MediumImportance
		d.tapText.SetText(text)
		d.tapReveal.SetText("Reveal")
		d.tapReveal.SetIcon(theme.VisibilityIcon())
	}
}

// tapRow shows or hides the pass's row of the form, and lays the form out again when it changes: the form places
// the rows it shows only, and a row shown later has no place until it runs again.
func (d *detail) tapRow(show bool) {
	if d.tapBox.Visible() == show {
		return
	}
	if show {
		d.tapName.Show()
		d.tapBox.Show()
	} else {
		d.tapName.Hide()
		d.tapBox.Hide()
	}
	d.form.Refresh()
}

// toggleTAP reveals the pass, or hides it again; it hides by itself after the RevealFor setting.
func (d *detail) toggleTAP() {
	if d.row == nil {
		return
	}
	if d.tapShown {
		d.tapShown = false
		d.tickTAP(d.u.a.Now())
		return
	}
	code, err := d.u.a.RevealTAP(d.row.AccountID)
	if err != nil {
		return
	}
	d.tapShown = true
	d.tapText.TextStyle = fyne.TextStyle{Monospace: true}
	d.tapText.Importance = widget.HighImportance
	d.tapText.SetText(code)
	d.tapReveal.SetText("Hide")
	d.tapReveal.SetIcon(theme.VisibilityOffIcon())
	row := d.row
	if after := d.u.a.Settings().RevealFor; after > 0 {
		time.AfterFunc(after, func() {
			fyne.Do(func() {
				if d.row == row && d.tapShown {
					d.tapShown = false
					d.tickTAP(d.u.a.Now())
				}
			})
		})
	}
}

func (d *detail) copyTAP() {
	if d.row != nil && d.u.a.CopyTAP(d.row.AccountID) == nil {
		d.u.toast("Temporary Access Pass of " + d.row.Account + " copied: it leaves the clipboard in " + seconds(d.u.a.Settings().ClipboardClear) + ".")
	}
}

func (d *detail) copyUsername() {
	if d.row != nil && d.u.a.CopyUsername(d.row.AccountID) == nil {
		d.u.toast("Username " + d.row.Account + " copied.")
	}
}

// banner is the "offline since…" strip, hidden while the hub answers.
func banner(a *vm.App) fyne.CanvasObject {
	bg := canvas.NewRectangle(theme.Color(theme.ColorNameWarning))
	bg.CornerRadius = theme.InputRadiusSize()
	text := boundParagraph(a.Banner, fyne.TextAlignLeading)
	icon := widget.NewIcon(theme.WarningIcon())
	b := container.NewStack(bg, container.NewPadded(container.NewBorder(nil, nil, icon, nil, text)))
	bg.FillColor = withAlpha(theme.Color(theme.ColorNameWarning), 0x40)
	a.Banner.AddListener(binding.NewDataListener(func() {
		if s, _ := a.Banner.Get(); s == "" {
			b.Hide()
		} else {
			b.Show()
		}
	}))
	return container.NewPadded(b)
}

// activity is an invisible layer under the screens: pointer movement over the window counts as use.
type activity struct {
	widget.BaseWidget
	a *vm.App
}

var _ desktop.Hoverable = (*activity)(nil)

func (w *activity) CreateRenderer() fyne.WidgetRenderer {
	w.ExtendBaseWidget(w)
	return widget.NewSimpleRenderer(canvas.NewRectangle(nil))
}
func (w *activity) MouseIn(*desktop.MouseEvent)    { w.a.Touch() }
func (w *activity) MouseMoved(*desktop.MouseEvent) { w.a.Touch() }
func (w *activity) MouseOut()                      {}

func withAlpha(c color.Color, a uint8) color.Color {
	r, g, b, _ := c.RGBA()
	return color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: a}
}

func setEnabled(w fyne.Disableable, on bool) {
	if on {
		w.Enable()
	} else {
		w.Disable()
	}
}
