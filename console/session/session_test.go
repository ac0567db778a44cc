package session_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/watchword/watchword/console/local"
	"github.com/watchword/watchword/console/session"
	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/keystore"
)

// TestCloseEndsTheLoops: a session on a demo hub refreshes the view-model on its own and holds the long poll on
// just-in-time requests; Close returns long before that poll would (its context ended it), no refresh comes after
// Close, and the goroutines the session started — the loops, the demo hub and its client — are gone.
func TestCloseEndsTheLoops(t *testing.T) {
	test.NewTempApp(t) // the view-model's bindings deliver through fyne.Do
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	before := runtime.NumGoroutine()

	a := vm.New()
	var refreshes atomic.Int64
	a.OnChange(func() { refreshes.Add(1) })
	const every, jitWait = 20 * time.Millisecond, 25 * time.Second
	s := session.New(a, session.Options{Demo: true, Every: every, JITWait: jitWait,
		OnError: func(err error) { t.Errorf("first refresh: %v", err) }})
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "three refreshes", func() bool { return refreshes.Load() >= 3 })
	if len(a.Snapshot().Techs) == 0 || !a.Connected() {
		t.Fatal("the session did not connect the view-model to the demo hub")
	}

	closed := make(chan time.Duration)
	go func() {
		start := time.Now()
		s.Close()
		closed <- time.Since(start)
	}()
	select {
	case d := <-closed:
		if d >= jitWait/2 {
			t.Fatalf("Close took %v: the long poll ran its course instead of ending with the session", d)
		}
	case <-time.After(jitWait):
		t.Fatal("Close did not return: a loop outlived the session's context")
	}
	n := refreshes.Load()
	time.Sleep(20 * every)
	if got := refreshes.Load(); got != n {
		t.Fatalf("%d refreshes after Close: the ticker was not stopped", got-n)
	}
	waitFor(t, "the session's goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
	s.Close() // a second Close does nothing
}

// TestFirstStart: a Console with nothing in its config directory is not set up; Open says so and starts nothing.
func TestFirstStart(t *testing.T) {
	test.NewTempApp(t)
	a := vm.New()
	s := session.New(a, session.Options{Dir: t.TempDir(), Keyring: keystore.NoKeyring})
	defer s.Close()
	if err := s.Open(context.Background()); !errors.Is(err, local.ErrNotConfigured) {
		t.Fatalf("first start: %v, want local.ErrNotConfigured", err)
	}
	if a.Connected() {
		t.Fatal("a Console not set up is connected")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAuthorityKeptAcrossStarts: the owner's Console turns the signed authority on; the genesis hash lands in
// console.json and the verified chain beside it, and the next start verifies from that anchor (and a chain file
// that does not verify is replaced by one verified again from the anchor).
func TestAuthorityKeptAcrossStarts(t *testing.T) {
	test.NewTempApp(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	o := session.Options{Dir: dir, Keyring: keystore.NoKeyring, Passphrase: func(bool) (string, error) { return "correct horse battery", nil },
		Every: time.Hour}
	a := vm.New()
	s := session.New(a, o)
	if _, err := s.CreateLocal(ctx, local.LocalSpec{Tenant: "Test MSP", Abbrev: "tm", Listen: "127.0.0.1:0",
		PublicURL: "https://127.0.0.1:8443"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	g, err := a.PrepareAuthority(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.TurnOnAuthority(ctx, g); err != nil {
		t.Fatal(err)
	}
	s.Close()
	cfg, err := local.LoadConfig(dir)
	if err != nil || cfg.Authority != g.Hash.String() {
		t.Fatalf("console.json pins %q (%v), want %s", cfg.Authority, err, g.Hash)
	}
	reopen := func() *vm.App {
		b := vm.New()
		s := session.New(b, o)
		t.Cleanup(s.Close)
		if err := s.Open(ctx); err != nil {
			t.Fatal(err)
		}
		if err := b.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		return b
	}
	if st := reopen().Snapshot().Authority; !st.On() || st.Genesis != g.Hash || st.Head != g.Head || st.Alert != "" {
		t.Fatalf("after a restart: %+v", st)
	}
	if err := os.WriteFile(filepath.Join(dir, session.ChainFile), []byte("not a chain"), 0o600); err != nil {
		t.Fatal(err)
	}
	if st := reopen().Snapshot().Authority; !st.On() || st.Genesis != g.Hash || st.Head != g.Head {
		t.Fatalf("after a restart with a broken chain file: %+v", st)
	}
}
