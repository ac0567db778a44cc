package view

import (
	"context"
	"strconv"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/wire"
)

// policyScreen edits the rotation, rotate-after-use, history and naming policy with a live preview of account
// names per driver.
func policyScreen(e env) screen {
	interval := widget.NewEntry()
	length, digits, symbols := widget.NewEntry(), widget.NewEntry(), widget.NewEntry()
	noUpper := widget.NewCheck("No upper-case letters", nil)
	noAmb := widget.NewCheck("Avoid look-alike characters (l 1 O 0)", nil)
	format := widget.NewEntry()
	afterUse := widget.NewEntry()
	history := widget.NewEntry()
	var checks []vm.NameCheck
	formatErr := widget.NewLabel("")
	table := newTable([]column{{"Target", 130}, {"Username", 110}, {"Account name", 200}, {"Check", 380}},
		func() int { return len(checks) },
		func(r, c int) string {
			k := checks[r]
			ok := "ok"
			if k.Problem != "" {
				ok = "✗ " + k.Problem
			}
			return [...]string{k.Driver, k.Username, k.Name, ok}[c]
		}, nil)
	summary := paragraph("")
	preview := func() {
		var err error
		checks, err = e.a.PreviewNames(format.Text)
		if err != nil {
			formatErr.SetText("✗ " + err.Error())
		} else {
			formatErr.SetText("Placeholders: {username}, {username:N} (first N characters), {abbrev} = " + e.a.Snapshot().Tenant.Abbrev)
		}
		table.Refresh()
	}
	format.OnChanged = func(string) { preview() }
	save := widget.NewButtonWithIcon("Save policy", theme.DocumentSaveIcon(), func() {
		f := vm.PolicyForm{IntervalHours: interval.Text, Length: length.Text, Digits: digits.Text, Symbols: symbols.Text,
			AfterUseHours: afterUse.Text, HistoryDepth: history.Text, NoUpper: noUpper.Checked, NoAmbiguous: noAmb.Checked,
			NamingFormat: format.Text}
		p, err := f.Policy()
		if err != nil {
			dialog.ShowError(err, e.win)
			return
		}
		if warning := e.a.NoFixedPartWarning(p.NamingFormat); warning != "" {
			msg := paragraph(warning)
			d := dialog.NewCustomConfirm("Naming format without a fixed part", "Save anyway", "Cancel", msg, func(ok bool) {
				if ok {
					e.run(func(ctx context.Context) error { return e.a.SavePolicyConfirmed(ctx, p) }, nil)
				}
			}, e.win)
			d.Resize(fyne.NewSize(640, 320))
			d.Show()
			return
		}
		e.run(func(ctx context.Context) error { return e.a.SavePolicy(ctx, p) }, nil)
	})
	e.only(vm.Me.CanChange, save)
	save.Importance = widget.HighImportance
	form := widget.NewForm(
		widget.NewFormItem("Rotate every (hours)", interval),
		widget.NewFormItem("Password length", length),
		widget.NewFormItem("At least digits", digits),
		widget.NewFormItem("At least symbols", symbols),
		widget.NewFormItem("", container.NewHBox(noUpper, noAmb)),
		widget.NewFormItem("Rotate after use (hours, 0 off)", afterUse),
		widget.NewFormItem("Password history (versions kept)", history),
		widget.NewFormItem("Account naming format", format),
	)
	form.Items[5].HintText = "A revealed or copied password rotates this long after use; an AgentGroup may override it."
	form.Items[6].HintText = "Techs can read back this many passwords of each account (1 to " + strconv.Itoa(wire.MaxHistoryDepth) + ", the current one included)."
	top := container.NewVBox(summary, form, formatErr)
	return screen{
		obj: container.NewBorder(top, save, nil, nil, table),
		refresh: func() {
			p := e.a.Snapshot().Tenant.Policy
			summary.SetText(vm.DescribePolicy(p))
			f := vm.FormOf(p)
			interval.SetText(f.IntervalHours)
			length.SetText(f.Length)
			digits.SetText(f.Digits)
			symbols.SetText(f.Symbols)
			afterUse.SetText(f.AfterUseHours)
			history.SetText(f.HistoryDepth)
			noUpper.SetChecked(f.NoUpper)
			noAmb.SetChecked(f.NoAmbiguous)
			format.SetText(f.NamingFormat)
			preview()
		},
	}
}
