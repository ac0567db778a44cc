//go:build !windows

package winsvc

import (
	"context"
	"log/slog"
)

// IsService is false: only Windows has a service control manager.
func IsService() (bool, error) { return false, nil }

// Run returns ErrNotWindows.
func Run(string, func(context.Context) error, *slog.Logger) error { return ErrNotWindows }

// EventLog is an open event log source.
type EventLog interface {
	EventSink
	Close() error
}

// OpenEventLog returns ErrNotWindows.
func OpenEventLog(string) (EventLog, error) { return nil, ErrNotWindows }

func install(Options, string) error { return ErrNotWindows }
func remove(string) error           { return ErrNotWindows }
func start(string) error            { return ErrNotWindows }
func stop(string) error             { return ErrNotWindows }
