package view

// CSV import of techs: save the template, pick a file, preview it, import it atomically or per
// row, read the exceptions with their reasons; every import is in the history below.

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/wire"
)

// maxImportFile bounds what the Console reads from a picked file; the hub takes at most wire.MaxImportRows rows.
const maxImportFile = 4 << 20

// previewRows parses a CSV file for the preview: its data rows, each padded to the header's width.
func previewRows(text string) (header []string, rows [][]string, err error) {
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = -1
	all, err := r.ReadAll()
	if err != nil {
		return nil, nil, fmt.Errorf("read the CSV file: %w", err)
	}
	if len(all) == 0 {
		return nil, nil, fmt.Errorf("the CSV file is empty")
	}
	header = all[0]
	for _, rec := range all[1:] {
		for len(rec) < len(header) {
			rec = append(rec, "")
		}
		rows = append(rows, rec)
	}
	return header, rows, nil
}

func importScreen(e env) screen {
	var (
		state    vm.Imports
		selHist  = -1
		shown    []wire.ImportException
		fileText string
		preview  [][]string
	)
	help := paragraph("Save the template, fill one row per tech (groups separated by ;), pick the file and import it. " +
		"Each good row reserves the username: the tech is pending-match until their TechClient registers under it, then waits for approval " +
		"already in their organization and groups. Atomic imports nothing if any row has an exception; per row imports the good rows.")

	file := widget.NewLabel("No file chosen.")
	mode := widget.NewRadioGroup([]string{vm.ModeTitle(wire.ImportAtomic), vm.ModeTitle(wire.ImportPerRow)}, nil)
	mode.Horizontal = true
	mode.SetSelected(vm.ModeTitle(wire.ImportAtomic))
	mode.Required = true
	outcome := heading("")
	outcome.Wrapping = fyne.TextWrapWord

	previewTable := newTable([]column{{"Row", 50}, {"username", 110}, {"display_name", 150}, {"email", 200}, {"organization", 140}, {"groups", 200}},
		func() int { return len(preview) },
		func(r, c int) string {
			if c == 0 {
				return strconv.Itoa(r + 2) // the header is row 1, as in the hub's exceptions
			}
			if c-1 < len(preview[r]) {
				return preview[r][c-1]
			}
			return ""
		}, nil)
	excTable := newTable([]column{{"Row", 50}, {"Username", 110}, {"Field", 100}, {"Reason", 330}},
		func() int { return len(shown) },
		func(r, c int) string {
			x := shown[r]
			return [...]string{strconv.Itoa(x.Row), orDash(x.Username), orDash(x.Field), x.Reason}[c]
		}, nil)
	histTable := newTable([]column{{"When", 140}, {"Mode", 80}, {"Rows", 45}, {"Reserved", 65}, {"Exceptions", 75}},
		func() int { return len(state.History) },
		func(r, c int) string {
			im := state.History[r]
			return [...]string{when(im.CreatedAt), im.Mode, strconv.Itoa(im.Rows), strconv.Itoa(im.Created), strconv.Itoa(len(im.Exceptions))}[c]
		}, nil)
	excTitle := heading("Exceptions")
	excTitle.Wrapping = fyne.TextWrapWord
	showHist := func() {
		shown = nil
		if selHist >= 0 && selHist < len(state.History) {
			im := state.History[selHist]
			shown = im.Exceptions
			excTitle.SetText(fmt.Sprintf("Exceptions of the import of %s (%s): %s", when(im.CreatedAt), im.Mode, vm.ImportOutcome(im)))
		} else {
			excTitle.SetText("Exceptions")
		}
		excTable.Refresh()
	}
	histTable.OnSelected = func(id widget.TableCellID) { selHist = id.Row; showHist() }

	saveTemplate := widget.NewButtonWithIcon("Save template…", theme.DownloadIcon(), func() {
		var tpl *wire.ImportTemplate
		e.run(func(ctx context.Context) (err error) { tpl, err = e.a.ImportTemplate(ctx); return err }, func() {
			d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
				if err != nil || w == nil {
					return
				}
				defer w.Close()
				if _, err := io.WriteString(w, tpl.CSV); err != nil {
					dialog.ShowError(fmt.Errorf("save the template: %w", err), e.win)
					return
				}
				_ = e.a.Notice.Set("template saved to " + w.URI().Path())
			}, e.win)
			d.SetFileName(tpl.Filename)
			d.Show()
		})
	})
	setFile := func(name, text string) {
		header, rows, err := previewRows(text)
		if err != nil {
			dialog.ShowError(err, e.win)
			return
		}
		fileText, preview = text, rows
		file.SetText(fmt.Sprintf("%s: %d row(s), columns %s", name, len(rows), strings.Join(header, ", ")))
		outcome.SetText("Preview below. Nothing is imported until you press Import.")
		previewTable.Refresh()
	}
	choose := widget.NewButtonWithIcon("Choose CSV file…", theme.FolderOpenIcon(), func() {
		dialog.ShowFileOpen(func(r fyne.URIReadCloser, err error) {
			if err != nil || r == nil {
				return
			}
			defer r.Close()
			b, err := io.ReadAll(io.LimitReader(r, maxImportFile+1))
			if err != nil {
				dialog.ShowError(fmt.Errorf("read %s: %w", r.URI().Name(), err), e.win)
				return
			}
			if len(b) > maxImportFile {
				dialog.ShowError(fmt.Errorf("%s is larger than %d MiB", r.URI().Name(), maxImportFile>>20), e.win)
				return
			}
			setFile(r.URI().Name(), string(b))
		}, e.win)
	})
	var reload func()
	doImport := widget.NewButtonWithIcon("Import", theme.UploadIcon(), func() {
		if fileText == "" {
			dialog.ShowInformation("CSV import", "Choose a CSV file first.", e.win)
			return
		}
		m := wire.ImportPerRow
		if mode.Selected == vm.ModeTitle(wire.ImportAtomic) {
			m = wire.ImportAtomic
		}
		text := fileText
		var im *wire.Import
		e.run(func(ctx context.Context) (err error) { im, err = e.a.ImportTechs(ctx, text, m); return err }, func() {
			outcome.SetText(vm.ImportOutcome(*im))
			selHist = 0 // the newest import is first in the history
			reload()
		})
	})
	doImport.Importance = widget.HighImportance
	e.only(vm.Me.CanChange, choose, doImport, mode)

	reload = func() {
		if !e.a.Connected() || !e.a.Snapshot().Me.CanReadAll() {
			return
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), Timeout)
			defer cancel()
			im, err := e.a.LoadImports(ctx)
			if err != nil {
				return // the status line says the hub is unreachable; the screen keeps what it had
			}
			fyne.Do(func() {
				state = *im
				if (selHist < 0 || selHist >= len(state.History)) && len(state.History) > 0 {
					selHist = 0
				}
				histTable.Refresh()
				showHist()
			})
		}()
	}
	controls := container.NewVBox(help, container.NewHBox(saveTemplate, choose, file), container.NewHBox(widget.NewLabel("Mode"), mode, doImport), outcome)
	history := container.NewBorder(heading("Import history (newest first)"), nil, nil, nil, histTable)
	exceptions := container.NewBorder(excTitle, nil, nil, nil, excTable)
	lower := container.NewHSplit(history, exceptions)
	lower.Offset = 0.5 // the history's columns whole: its date and mode are short, the exceptions' reasons have tooltips
	split := container.NewVSplit(container.NewBorder(heading("Preview"), nil, nil, nil, previewTable), lower)
	split.Offset = 0.35
	return screen{obj: container.NewBorder(controls, nil, nil, nil, split), refresh: reload}
}
