// Package vm is the Console's view-model: the MSP admin's screens as state and actions, without widgets.
//
// The Console's views (package view) are functions of this state; tests and scripts drive the same view-model
// headless. Values the views render are fyne data bindings, safe to set from any goroutine.
package vm

import "fyne.io/fyne/v2/data/binding"

// Section is one entry of the Console's navigation.
type Section struct {
	ID    string
	Title string
	// About says in one sentence what the admin does there.
	About string
}

// Sections lists the Console's navigation in the order an MSP admin works through it.
var Sections = []Section{
	{"pending", "Pending techs", "Approve or reject technicians after comparing their device fingerprint."},
	{"techs", "Techs", "Every technician, their status and their effective access; deactivate to offboard."},
	{"techgroups", "TechGroups", "Named sets of technicians. AllTechs holds every active tech."},
	{"agentgroups", "AgentGroups", "Named sets of managed domains and hosts. AllDomains holds every agent."},
	{"rights", "Rights", "Named privileges, resolved on each target by group name."},
	{"triplets", "Triplets", "TechGroup × AgentGroup × Right: who gets which rights where."},
	{"access", "Effective access", "Every domain and right a tech gets, and through which triplet."},
	{"agents", "Agents", "Enrolled domains and hosts; enrollment tokens."},
	{"policy", "Policy", "Rotation interval, password rules and account naming."},
	{"audit", "Audit log", "Every change, approval, rotation, reveal and copy, hash-chained."},
}

// App is the Console's top-level view-model.
type App struct {
	// Selected is the ID of the section on screen.
	Selected binding.String
	// Hub describes the hub this Console talks to, or that it has none yet.
	Hub binding.String
}

// New returns the view-model of a Console that is not connected to any hub yet.
func New() *App {
	a := &App{Selected: binding.NewString(), Hub: binding.NewString()}
	_ = a.Selected.Set(Sections[0].ID)
	_ = a.Hub.Set("Not connected to a hub")
	return a
}

// Section returns the section with the given ID, and false if there is none.
func (a *App) Section(id string) (Section, bool) {
	for _, s := range Sections {
		if s.ID == id {
			return s, true
		}
	}
	return Section{}, false
}

// Select puts the section id on screen; an unknown id is ignored.
func (a *App) Select(id string) {
	if _, ok := a.Section(id); ok {
		_ = a.Selected.Set(id)
	}
}
