// Package vm is the TechClient's view-model: the state a technician's screens show and the actions they take.
//
// It never imports fyne's widget package, so that the same state can be driven by tests, by the views in
// package view, and by end-to-end scripts without a window. Values that views render are fyne data bindings,
// which are safe to set from any goroutine.
package vm

import "fyne.io/fyne/v2/data/binding"

// Registration states of this device, in the order a technician meets them.
const (
	StateUnregistered = "unregistered"
	StatePending      = "pending"
	StateActive       = "active"
	StateRejected     = "rejected"
	StateDisabled     = "disabled"
)

// App is the TechClient's top-level view-model.
type App struct {
	// State is one of the State constants.
	State binding.String
	// Headline is the one sentence the current screen leads with.
	Headline binding.String
}

// New returns the view-model of a device that has not registered with any hub yet.
func New() *App {
	a := &App{State: binding.NewString(), Headline: binding.NewString()}
	a.SetState(StateUnregistered)
	return a
}

// SetState moves the device to state s and updates the headline a technician reads.
func (a *App) SetState(s string) {
	_ = a.State.Set(s)
	_ = a.Headline.Set(headlines[s])
}

var headlines = map[string]string{
	StateUnregistered: "This device is not registered with your MSP yet.",
	StatePending:      "Waiting for approval by your MSP.",
	StateActive:       "Your accounts",
	StateRejected:     "Your registration was rejected by your MSP.",
	StateDisabled:     "Your access has been deactivated.",
}
