package winsvc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"
	"golang.org/x/sys/windows/svc/mgr"
)

// IsService says whether the SCM started this process as a service.
func IsService() (bool, error) { return svc.IsWindowsService() }

// Run serves the SCM until fn returns: Stop and Shutdown cancel fn's context, and the SCM hears "stop
// pending" with a rising checkpoint while fn finishes its work in flight (at most StopTimeout). fn's error is
// logged, returned, and reported to the SCM as a service-specific exit code, so the recovery actions that
// install registers restart the agent.
func Run(name string, fn func(context.Context) error, log *slog.Logger) error {
	h := &handler{fn: fn, log: log}
	if err := svc.Run(name, h); err != nil {
		return fmt.Errorf("service %q: %w", name, err)
	}
	return h.err
}

// pendingTick is how often a stopping service reports progress: the SCM declares a service hung when its
// checkpoint does not rise within the wait hint.
const pendingTick = 2 * time.Second

type handler struct {
	fn  func(context.Context) error
	log *slog.Logger
	err error
}

var _ svc.Handler = (*handler)(nil)

func (h *handler) Execute(_ []string, requests <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	controls := make(chan control)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			var c control
			select {
			case r := <-requests:
				switch r.Cmd {
				case svc.Interrogate:
					c = ctlInterrogate
				case svc.Stop, svc.Shutdown:
					c = ctlStop
				default:
					continue
				}
			case <-done:
				return
			}
			select {
			case controls <- c:
			case <-done:
				return
			}
		}
	}()
	report := func(s state, checkpoint uint32) {
		switch s {
		case stateRunning:
			status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
		case stateStopPending:
			status <- svc.Status{State: svc.StopPending, CheckPoint: checkpoint, WaitHint: uint32(3 * pendingTick / time.Millisecond)}
		}
	}
	stopped, err := execute(h.fn, controls, report, pendingTick, StopTimeout)
	if err == nil && !stopped {
		err = errors.New("the agent stopped without being asked to")
	}
	status <- svc.Status{State: svc.StopPending}
	if err != nil {
		h.err = err
		h.log.Error("agent stopped", "err", err)
		return true, 1
	}
	h.log.Info("agent stopped by the service manager")
	return false, 0
}

// EventLog is an open event log source.
type EventLog interface {
	EventSink
	Close() error
}

// OpenEventLog opens the Application event log under source, which install registered.
func OpenEventLog(source string) (EventLog, error) {
	l, err := eventlog.Open(source)
	if err != nil {
		return nil, fmt.Errorf("event log %q: %w", source, err)
	}
	return l, nil
}

func connect() (*mgr.Mgr, error) {
	m, err := mgr.Connect()
	if err != nil {
		return nil, fmt.Errorf("service manager (run as an Administrator): %w", err)
	}
	return m, nil
}

func open(m *mgr.Mgr, name string) (*mgr.Service, error) {
	s, err := m.OpenService(name)
	if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		return nil, ErrNotInstalled
	}
	return s, err
}

func install(o Options, exe string) error {
	m, err := connect()
	if err != nil {
		return err
	}
	defer m.Disconnect()
	if s, err := open(m, o.Name); err == nil {
		s.Close()
		return ErrExists
	}
	if err := MakeStateDir(o.StateDir); err != nil {
		return err
	}
	cfg := mgr.Config{DisplayName: DisplayName, Description: Description, StartType: mgr.StartAutomatic,
		DelayedAutoStart: true, ErrorControl: mgr.ErrorNormal}
	if o.Manual {
		cfg.StartType, cfg.DelayedAutoStart = mgr.StartManual, false
	}
	s, err := m.CreateService(o.Name, exe, cfg, o.RunArgs()...)
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	defer s.Close()
	undo := func(err error) error { return errors.Join(err, s.Delete()) }
	restart := []mgr.RecoveryAction{
		{Type: mgr.ServiceRestart, Delay: 5 * time.Second},
		{Type: mgr.ServiceRestart, Delay: 30 * time.Second},
		{Type: mgr.ServiceRestart, Delay: 2 * time.Minute},
	}
	if err := s.SetRecoveryActions(restart, 24*60*60); err != nil {
		return undo(fmt.Errorf("recovery actions: %w", err))
	}
	if err := s.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
		return undo(fmt.Errorf("recovery actions: %w", err))
	}
	if o.Log == LogEventLog {
		err := eventlog.InstallAsEventCreate(o.Name, eventlog.Error|eventlog.Warning|eventlog.Info)
		if err != nil && !strings.Contains(err.Error(), "already exists") {
			return undo(fmt.Errorf("event log source: %w", err))
		}
	}
	return nil
}

// MakeStateDir creates dir and replaces its inherited permissions with StateDirSDDL, which the files inside
// (the passphrase, the bind password, the sealed identity) inherit: a directory made under %ProgramData% would
// otherwise be readable by every user.
func MakeStateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	sd, err := windows.SecurityDescriptorFromString(StateDirSDDL)
	if err != nil {
		return fmt.Errorf("state dir %q: %w", dir, err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return fmt.Errorf("state dir %q: %w", dir, err)
	}
	err = windows.SetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil)
	if err != nil {
		return fmt.Errorf("state dir %q: permissions: %w", dir, err)
	}
	return nil
}

func remove(name string) error {
	return withService(name, func(s *mgr.Service) error {
		if err := stopService(s); err != nil {
			return err
		}
		if err := s.Delete(); err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		eventlog.Remove(name) // absent when the service logged to a file
		return nil
	})
}

func start(name string) error {
	return withService(name, func(s *mgr.Service) error {
		if err := s.Start(); err != nil && !errors.Is(err, windows.ERROR_SERVICE_ALREADY_RUNNING) {
			return fmt.Errorf("start: %w", err)
		}
		st, err := waitFor(s, svc.Running, 30*time.Second)
		if err != nil {
			return err
		}
		if st.State != svc.Running {
			return fmt.Errorf("start: the service stopped (exit code %d); see its log", st.ServiceSpecificExitCode)
		}
		return nil
	})
}

func stop(name string) error { return withService(name, stopService) }

// withService runs f on the installed service name, connected to the service manager for the length of the call.
func withService(name string, f func(*mgr.Service) error) error {
	m, err := connect()
	if err != nil {
		return err
	}
	defer m.Disconnect()
	s, err := open(m, name)
	if err != nil {
		return err
	}
	defer s.Close()
	return f(s)
}

func stopService(s *mgr.Service) error {
	st, err := s.Query()
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	if st.State == svc.Stopped {
		return nil
	}
	if _, err := s.Control(svc.Stop); err != nil && !errors.Is(err, windows.ERROR_SERVICE_NOT_ACTIVE) {
		return fmt.Errorf("stop: %w", err)
	}
	_, err = waitFor(s, svc.Stopped, StopTimeout+10*time.Second)
	return err
}

// waitFor polls until the service is in want or has stopped, at most limit.
func waitFor(s *mgr.Service, want svc.State, limit time.Duration) (svc.Status, error) {
	deadline := time.Now().Add(limit)
	for {
		st, err := s.Query()
		if err != nil {
			return st, fmt.Errorf("query: %w", err)
		}
		if st.State == want || st.State == svc.Stopped {
			return st, nil
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("still in state %d after %s", st.State, limit)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
