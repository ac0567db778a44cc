package winsvc

import (
	"context"
	"errors"
	"time"
)

// The stop protocol, apart from the SCM's types so it can be tested anywhere: the Windows handler translates
// svc.ChangeRequest into controls and states back into svc.Status.

type control int

const (
	ctlInterrogate control = iota // report the current state again
	ctlStop                       // Stop or Shutdown
)

type state int

const (
	stateRunning state = iota
	stateStopPending
)

// errStopTimeout says the agent did not finish its work in flight within the stop limit.
var errStopTimeout = errors.New("stop: work in flight did not finish in time; exiting anyway")

// execute runs fn until it returns. A stop control cancels fn's context, then execute reports stateStopPending
// with a rising checkpoint every tick until fn has finished its work in flight, or gives up after limit (the
// process then exits, and the hub's plan is idempotent, so the next start picks up where this one stopped). It
// returns fn's error and whether a stop was asked for (an error after a stop is still an error; nil without a
// stop means fn quit on its own, which a service should not do).
func execute(fn func(context.Context) error, controls <-chan control, report func(s state, checkpoint uint32), tick, limit time.Duration) (stopped bool, err error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	report(stateRunning, 0)
	var ticker, deadline <-chan time.Time
	var checkpoint uint32
	cur := stateRunning
	for {
		select {
		case err := <-done:
			return stopped, err
		case c := <-controls:
			switch c {
			case ctlInterrogate:
				report(cur, checkpoint)
			case ctlStop:
				if !stopped {
					stopped, cur = true, stateStopPending
					cancel()
					t := time.NewTicker(tick)
					defer t.Stop()
					ticker = t.C
					d := time.NewTimer(limit)
					defer d.Stop()
					deadline = d.C
					checkpoint++
					report(cur, checkpoint)
				}
			}
		case <-deadline:
			return stopped, errStopTimeout
		case <-ticker:
			checkpoint++
			report(cur, checkpoint)
		}
	}
}
