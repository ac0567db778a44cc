package view

import (
	"fmt"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/wire"
)

// allTripletSections are the screens that warn while the built-in All triplet exists: the one a new Console opens
// on (approving a tech is what hands the access out), the triplets, and the co-managed onboarding that replaces it.
var allTripletSections = []string{"pending", "triplets", "onboarding"}

// allTripletWarning is a banner for the top of a section; update shows it on allTripletSections while the
// snapshot holds the All triplet, naming the groups AllRights gives on each kind of target, and hides it otherwise.
func allTripletWarning(a *vm.App) (obj fyne.CanvasObject, update func(section string)) {
	label := notice(widget.WarningImportance)
	box := container.NewBorder(nil, nil, widget.NewIcon(theme.WarningIcon()), nil, label)
	box.Hide()
	return box, func(section string) {
		text := allTripletText(a.Snapshot())
		if text == "" || !slices.Contains(allTripletSections, section) {
			box.Hide()
			return
		}
		label.SetText(text)
		box.Show()
	}
}

// allTripletText is the warning for s, or "" when s has no All triplet.
func allTripletText(s *vm.Snapshot) string {
	if !slices.ContainsFunc(s.Triplets, func(t wire.Triplet) bool { return t.Builtin }) {
		return ""
	}
	groups := "its groups"
	if i := slices.IndexFunc(s.Rights, func(r wire.Right) bool { return r.Builtin && r.Name == wire.AllRights }); i >= 0 {
		var parts []string
		kinds := make([]string, 0, len(s.Rights[i].Targets))
		for k := range s.Rights[i].Targets {
			kinds = append(kinds, k)
		}
		slices.Sort(kinds)
		for _, k := range kinds {
			if g := s.Rights[i].Targets[k]; len(g) > 0 {
				parts = append(parts, fmt.Sprintf("%s on %s", strings.Join(g, ", "), kindName(k)))
			}
		}
		if len(parts) > 0 {
			groups = strings.Join(parts, "; ")
		}
	}
	return "The built-in All triplet (" + wire.AllTechs + " × " + wire.AllDomains + " × " + wire.AllRights + ") is in force: " +
		"every tech you approve gets " + wire.AllRights + " (" + groups + ") on every domain and host. Before approving " +
		"techs, run the co-managed onboarding or add narrower triplets, then delete the All triplet under Triplets."
}

// kindName is how a driver kind reads in a sentence.
func kindName(kind string) string {
	switch kind {
	case "ad":
		return "AD"
	case "ldap":
		return "LDAP"
	case "linux":
		return "Linux"
	}
	return kind
}
