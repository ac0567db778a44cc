package view

import "github.com/watchword/watchword/console/vm"

// section is one entry of the Console's table of sections, as Fyne's demo keeps its tutorials: the title and the
// intro shown above the screen, and the function that builds the screen (once, the first time it is shown).
type section struct {
	Title, Intro string
	View         func(e env) screen
}

// sections is the table, by section ID. The titles and intros are the view-model's (vm.Sections), which with
// vm.App.VisibleSections also decides the order of the navigation and which sections a role sees; each View is in
// the file named after its section.
var sections = table(map[string]func(env) screen{
	"pending":     pendingScreen,
	"jit":         jitScreen,
	"techs":       techsScreen,
	"import":      importScreen,
	"techgroups":  func(e env) screen { return groupsScreen(e, false) },
	"agentgroups": func(e env) screen { return groupsScreen(e, true) },
	"rights":      rightsScreen,
	"triplets":    tripletsScreen,
	"access":      accessScreen,
	"agents":      agentsScreen,
	"onboarding":  onboardingScreen,
	"orgs":        orgsScreen,
	"admins":      adminsScreen,
	"seats":       seatsScreen,
	"policy":      policyScreen,
	"authority":   authorityScreen,
	"audit":       auditScreen,
	"auditstream": auditStreamScreen,
	"invite":      inviteScreen,
})

// table joins every vm.Section with its view; a section without one stops the Console at start (and every test).
func table(views map[string]func(env) screen) map[string]section {
	out := make(map[string]section, len(vm.Sections))
	for _, s := range vm.Sections {
		if views[s.ID] == nil {
			panic("view: no screen for section " + s.ID)
		}
		out[s.ID] = section{Title: s.Title, Intro: s.About, View: views[s.ID]}
	}
	return out
}
