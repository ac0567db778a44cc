// Package session is the Console's connection to its hub for as long as its window is open: the admin key in the
// keystore, the hub (the one this Console remembers, a throwaway demo hub, or one created or joined at first
// start), and the two loops that keep the view-model fresh — a refresh every few seconds and the hub's long poll on
// just-in-time requests. Everything a Session starts ends when Close returns: the loops' context is cancelled,
// Close waits for them, then stops the local hub and closes the hub client.
//
// # Reading guide
//
//   - session.go: Session (New, Open, CreateLocal, Join, Close), whether it runs its hub and how to run that hub as
//     a service instead (RunsHub, ServiceSetup), and the loops (keepFresh).
//   - authority.go: the signed authority's anchor (console.json) and verified chain (authority.cbor) across starts.
//   - session_test.go: closing a session ends its loops and the hub it runs; the first start reports
//     local.ErrNotConfigured.
//
// The view (package view) only asks: it creates a Session when the window opens, shows the setup dialog when Open
// reports a Console not set up yet, and calls Close when the window closes. What the admin sees is the view-model's
// (package vm); a Session only points it at a hub (vm.App.Connect) and refreshes it.
package session

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/watchword/watchword/console/local"
	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/keystore"
	"github.com/watchword/watchword/shared/seal"
)

// Options say how a Session starts and how often it refreshes.
type Options struct {
	Demo bool   // a throwaway hub in a temporary directory, filled with the demo data set
	Dir  string // the config directory; empty: local.Dir()
	// Keyring holds the admin key; nil is the OS keyring (tests give their own).
	Keyring keystore.Keyring
	// Passphrase asks for the passphrase of the admin key file where there is no OS keyring (keystore.Options).
	Passphrase func(create bool) (string, error)
	// OnError hears, off the UI goroutine, what the admin must see at once: the first refresh after connecting
	// failing. Later refreshes that fail set the status line (vm.App.Notice) instead. Nil drops them.
	OnError func(error)
	// Every is the time between two refreshes (default 15 s); JITWait how long the hub holds a long poll on
	// just-in-time requests (default 25 s); Timeout bounds one refresh (default 30 s).
	Every, JITWait, Timeout time.Duration
}

// ErrClosed is returned by a start that finishes after Close.
var ErrClosed = errors.New("console session closed")

// Session is one window's connection to its hub. Its methods are safe for concurrent use.
type Session struct {
	app    *vm.App
	o      Options
	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the loops

	mu   sync.Mutex
	ks   *keystore.Store
	hubs []*local.Session // closed, newest first, after the loops have ended
	tmp  string           // the demo hub's directory, removed at Close
}

// New returns the session of the view-model app; nothing starts before Open, CreateLocal or Join.
func New(app *vm.App, o Options) *Session {
	if o.Every <= 0 {
		o.Every = 15 * time.Second
	}
	if o.JITWait <= 0 {
		o.JITWait = 25 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.OnError == nil {
		o.OnError = func(error) {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Session{app: app, o: o, ctx: ctx, cancel: cancel}
}

// Dir is the config directory the Console's hub and settings live in.
func (s *Session) Dir() (string, error) {
	if s.o.Dir != "" {
		return s.o.Dir, nil
	}
	return local.Dir()
}

// keys is the admin key's store, created on first use.
func (s *Session) keys() (*keystore.Store, string, error) {
	dir, err := s.Dir()
	if err != nil {
		return nil, "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ks == nil {
		ks, err := keystore.New(keystore.Options{Service: "watchword-console", Dir: dir, Keyring: s.o.Keyring, Passphrase: s.o.Passphrase})
		if err != nil {
			return nil, "", err
		}
		s.ks = ks
	}
	return s.ks, dir, nil
}

// during is ctx ended also by Close.
func (s *Session) during(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

// Open connects to the hub this Console remembers or, with Options.Demo, to a new demo hub, and starts keeping
// the view-model fresh. A Console not set up yet gets local.ErrNotConfigured: the caller offers CreateLocal or
// Join.
func (s *Session) Open(ctx context.Context) error {
	ctx, cancel := s.during(ctx)
	defer cancel()
	if s.o.Demo {
		tmp, err := os.MkdirTemp("", "watchword-console-demo-")
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.tmp = tmp
		s.mu.Unlock()
		ls, err := local.Demo(ctx, tmp)
		if err != nil {
			return err
		}
		return s.follow(ls)
	}
	ks, dir, err := s.keys()
	if err != nil {
		return err
	}
	ls, err := local.Open(ctx, dir, ks)
	if errors.Is(err, local.ErrNotConfigured) {
		return err
	}
	if err != nil {
		return fmt.Errorf("open the Console's hub: %w", err)
	}
	return s.follow(ls)
}

// CreateLocal is a first start for a single admin: it creates a hub run by this Console, makes this Console its
// owner and follows it. It returns the tenant's recovery identity, which the owner must save: it is kept nowhere.
func (s *Session) CreateLocal(ctx context.Context, spec local.LocalSpec) (*seal.Identity, error) {
	ctx, cancel := s.during(ctx)
	defer cancel()
	ks, dir, err := s.keys()
	if err != nil {
		return nil, err
	}
	ls, rec, err := local.CreateLocal(ctx, dir, spec, ks)
	if err != nil {
		return nil, err
	}
	return rec, s.follow(ls)
}

// Join is a first start with a hub run elsewhere: it claims the admin invite token on the hub of invite as name
// and follows that hub.
func (s *Session) Join(ctx context.Context, invite, token, name string) error {
	ctx, cancel := s.during(ctx)
	defer cancel()
	ks, dir, err := s.keys()
	if err != nil {
		return err
	}
	ls, err := local.Connect(ctx, dir, invite, token, name, ks)
	if err != nil {
		return err
	}
	return s.follow(ls)
}

// follow points the view-model at ls's hub and starts the loops; ls is closed at Close.
func (s *Session) follow(ls *local.Session) error {
	s.mu.Lock()
	if s.ctx.Err() != nil {
		s.mu.Unlock()
		ls.Close()
		return ErrClosed
	}
	s.hubs = append(s.hubs, ls)
	s.wg.Add(1)
	s.mu.Unlock()
	if ls.Identity != nil {
		s.useAuthority(ls)
	}
	s.app.Connect(ls.Client, ls.Invite, ls.Describe)
	go func() {
		defer s.wg.Done()
		s.keepFresh()
	}()
	return nil
}

// keepFresh refreshes at once, then holds the long poll on just-in-time requests (a new request shows and
// notifies at once) and refreshes every Options.Every (pending techs arrive on their own), until Close.
func (s *Session) keepFresh() {
	if err := s.refresh(); err != nil && s.ctx.Err() == nil {
		s.o.OnError(err)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.app.WatchJIT(s.ctx, s.o.JITWait)
	}()
	t := time.NewTicker(s.o.Every)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			if err := s.refresh(); err != nil && s.ctx.Err() == nil {
				_ = s.app.Notice.Set("refresh: " + err.Error())
			}
		}
	}
}

func (s *Session) refresh() error {
	ctx, cancel := context.WithTimeout(s.ctx, s.o.Timeout)
	defer cancel()
	return s.app.Refresh(ctx)
}

// RunsHub reports whether this Console runs its hub in its own process, which then stops at Close: what the
// window's close asks about (keep running in the tray) and the first start explains.
func (s *Session) RunsHub() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ls := range s.hubs {
		if ls.RunsHub {
			return true
		}
	}
	return false
}

// ServiceSetup is the systemd unit and commands that run this Console's hub as a service (local.ServiceSetup),
// with watchword-hub looked up beside the Console's executable, else on PATH.
func (s *Session) ServiceSetup() (unit, commands string, err error) {
	dir, err := s.Dir()
	if err != nil {
		return "", "", err
	}
	bin := "/usr/local/bin/watchword-hub"
	if p, err := exec.LookPath("watchword-hub"); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			bin = abs
		}
	}
	if exe, err := os.Executable(); err == nil {
		if p := filepath.Join(filepath.Dir(exe), "watchword-hub"); fileExists(p) {
			bin = p // the one released with this Console
		}
	}
	return local.ServiceSetup(dir, bin)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Close ends the loops, waits for them, then stops the hub this Console runs (if any), closes the hub client and
// removes a demo hub's directory. Calling it again does nothing.
func (s *Session) Close() {
	s.mu.Lock()
	s.cancel()
	hubs, tmp := s.hubs, s.tmp
	s.hubs, s.tmp = nil, ""
	s.mu.Unlock()
	s.wg.Wait()
	for i := len(hubs) - 1; i >= 0; i-- {
		hubs[i].Close()
	}
	if tmp != "" {
		_ = os.RemoveAll(tmp)
	}
}
