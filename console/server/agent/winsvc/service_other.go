//go:build !windows

package winsvc

import (
	"context"
	"log/slog"
	"os"
)

// MakeStateDir creates dir readable by its owner only (Windows: SYSTEM and Administrators only).
func MakeStateDir(dir string) error { return os.MkdirAll(dir, 0o700) }

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
