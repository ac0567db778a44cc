package winsvc

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestDefaultPaths(t *testing.T) {
	for _, tc := range []struct {
		programData string
		want        Paths
	}{
		{"", Paths{`C:\ProgramData\Watchword\agent`, `C:\ProgramData\Watchword\agent\passphrase`,
			`C:\ProgramData\Watchword\agent\bind-password`, `C:\ProgramData\Watchword\agent\agent.log`}},
		{`D:\Data\`, Paths{`D:\Data\Watchword\agent`, `D:\Data\Watchword\agent\passphrase`,
			`D:\Data\Watchword\agent\bind-password`, `D:\Data\Watchword\agent\agent.log`}},
	} {
		if got := DefaultPaths(env("ProgramData", tc.programData)); got != tc.want {
			t.Errorf("ProgramData %q:\n got %+v\nwant %+v", tc.programData, got, tc.want)
		}
	}
}

func TestIsAbsWindows(t *testing.T) {
	for p, want := range map[string]bool{
		`C:\ProgramData\x`: true, `c:/x`: true, `\\server\share\x`: true,
		`C:x`: false, `x\y`: false, `.\state`: false, `/var/lib/x`: false, `\\`: false, ``: false,
	} {
		if got := IsAbsWindows(p); got != want {
			t.Errorf("IsAbsWindows(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestParseInstallDefaults(t *testing.T) {
	var errw bytes.Buffer
	cmd, err := Parse([]string{"install"}, env("ProgramData", `C:\ProgramData`), &errw)
	if err != nil {
		t.Fatal(err)
	}
	want := Command{Action: ActionInstall, Options: Options{Name: DefaultName, StateDir: `C:\ProgramData\Watchword\agent`,
		Log: LogEventLog, LogLevel: "info"}}
	if !reflect.DeepEqual(cmd, want) {
		t.Fatalf("got %+v\nwant %+v", cmd, want)
	}
	// Without overrides the service reads the secrets where enroll recorded them.
	wantArgs := []string{"run", "--state-dir", `C:\ProgramData\Watchword\agent`, "--log-level", "info", "--event-log", DefaultName}
	if got := cmd.RunArgs(); !reflect.DeepEqual(got, wantArgs) {
		t.Fatalf("RunArgs %q, want %q", got, wantArgs)
	}
}

func TestParseInstallFlags(t *testing.T) {
	var errw bytes.Buffer
	cmd, err := Parse([]string{"install", "--name", "WatchwordContoso", "--state-dir", `E:\Watch word\contoso`,
		"--passphrase-file", `E:\Watch word\contoso\pass`, "--bind-password-file", `E:\Watch word\contoso\bind`,
		"--log", `E:\Logs\agent.log`, "--log-level", "debug", "--manual"}, env(), &errw)
	if err != nil {
		t.Fatal(err)
	}
	if !cmd.Manual || cmd.Name != "WatchwordContoso" {
		t.Fatalf("parsed %+v", cmd)
	}
	// A path with a space stays one argument: the SCM quotes each one.
	want := []string{"run", "--state-dir", `E:\Watch word\contoso`, "--log-level", "debug", "--log-file", `E:\Logs\agent.log`,
		"--passphrase-file", `E:\Watch word\contoso\pass`, "--bind-password-file", `E:\Watch word\contoso\bind`}
	if got := cmd.RunArgs(); !reflect.DeepEqual(got, want) {
		t.Fatalf("RunArgs\n got %q\nwant %q", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string // every one of these in the error
	}{
		{[]string{"frobnicate"}, []string{`unknown action "frobnicate"`}},
		{[]string{"install", "--state-dir", `.\state`, "--log", "agent.log", "--passphrase-file", "pass"},
			[]string{`--state-dir ".\\state"`, `--log "agent.log"`, `--passphrase-file "pass"`}},
		{[]string{"install", "--log-level", "loud"}, []string{`--log-level "loud"`}},
		{[]string{"install", "--log", ""}, []string{"--log: want eventlog"}},
		{[]string{"install", "--state-dir", ""}, []string{"--state-dir must not be empty"}},
		{[]string{"start", "--name", `a\b`}, []string{`--name "a\\b"`}},
		{[]string{"stop", "extra"}, []string{`unexpected argument "extra"`}},
		{[]string{"start", "--state-dir", `C:\x`}, []string{"flag provided but not defined: -state-dir"}},
		{[]string{"install", "--passphrase", "hunter2"}, []string{"flag provided but not defined: -passphrase"}},
	} {
		var errw bytes.Buffer
		_, err := Parse(tc.args, env(), &errw)
		if err == nil {
			t.Errorf("%q accepted", tc.args)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q lacks %q", tc.args, err, w)
			}
		}
	}
}

func TestParseHelp(t *testing.T) {
	for _, args := range [][]string{nil, {"help"}, {"install", "-h"}} {
		var errw bytes.Buffer
		if _, err := Parse(args, env(), &errw); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%q: %v", args, err)
		}
		if !strings.Contains(errw.String(), "install|remove|start|stop") {
			t.Errorf("%q: no usage: %q", args, errw.String())
		}
	}
}

func TestExeWarning(t *testing.T) {
	e := env("ProgramFiles", `C:\Program Files`)
	if w := ExeWarning(`c:\program files\Watchword\watchword-agent.exe`, e); w != "" {
		t.Errorf("under Program Files: %q", w)
	}
	if w := ExeWarning(`C:\Users\ann\Downloads\watchword-agent.exe`, e); !strings.Contains(w, "LocalSystem") {
		t.Errorf("in Downloads: %q", w)
	}
	if w := ExeWarning(`C:\Program FilesX\watchword-agent.exe`, e); w == "" {
		t.Error("a sibling of Program Files passed")
	}
}

func TestDoElsewhere(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("would talk to the real SCM")
	}
	cmd, err := Parse([]string{"start"}, env(), new(bytes.Buffer))
	if err != nil {
		t.Fatal(err)
	}
	if err := Do(cmd, "/usr/local/bin/watchword-agent", env(), new(bytes.Buffer)); !errors.Is(err, ErrNotWindows) {
		t.Fatalf("Do on %s: %v", runtime.GOOS, err)
	}
	if ok, err := IsService(); ok || err != nil {
		t.Fatalf("IsService on %s: %v, %v", runtime.GOOS, ok, err)
	}
}

type fakeSink struct {
	mu     sync.Mutex
	events []string
}

func (s *fakeSink) add(kind string, eid uint32, msg string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, fmt.Sprintf("%s/%d: %s", kind, eid, msg))
	return nil
}
func (s *fakeSink) Info(eid uint32, msg string) error    { return s.add("info", eid, msg) }
func (s *fakeSink) Warning(eid uint32, msg string) error { return s.add("warning", eid, msg) }
func (s *fakeSink) Error(eid uint32, msg string) error   { return s.add("error", eid, msg) }

func TestEventLogHandler(t *testing.T) {
	sink := &fakeSink{}
	log := slog.New(NewHandler(sink, &slog.HandlerOptions{Level: slog.LevelInfo}))
	log.Debug("hidden")
	log = log.With("agent", 7)
	log.Info("rotated", "account", "ww-ann")
	log.WithGroup("hub").Warn("slow", "ms", 900)
	log.Error("bind failed", "err", errors.New(`ldap: "invalid credentials"`))
	want := []string{
		`info/1: level=INFO msg=rotated agent=7 account=ww-ann`,
		`warning/2: level=WARN msg=slow agent=7 hub.ms=900`,
		`error/3: level=ERROR msg="bind failed" agent=7 err="ldap: \"invalid credentials\""`,
	}
	if !reflect.DeepEqual(sink.events, want) {
		t.Fatalf("events\n got %q\nwant %q", sink.events, want)
	}
}

// Concurrent loggers share one buffer: each event must still be whole.
func TestEventLogHandlerConcurrent(t *testing.T) {
	sink := &fakeSink{}
	log := slog.New(NewHandler(sink, nil))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := log.With("g", g)
			for i := range 50 {
				l.Info("tick", "i", i)
			}
		}()
	}
	wg.Wait()
	if len(sink.events) != 400 {
		t.Fatalf("%d events", len(sink.events))
	}
	for _, e := range sink.events {
		if strings.Count(e, "msg=tick") != 1 || strings.Contains(e, "\n") {
			t.Fatalf("torn event %q", e)
		}
	}
}

type reports struct {
	mu  sync.Mutex
	got []string
	ch  chan string
}

func newReports() *reports { return &reports{ch: make(chan string, 100)} }

func (r *reports) report(s state, cp uint32) {
	name := map[state]string{stateRunning: "running", stateStopPending: "stop-pending"}[s]
	e := fmt.Sprintf("%s/%d", name, cp)
	r.mu.Lock()
	r.got = append(r.got, e)
	r.mu.Unlock()
	r.ch <- e
}

func (r *reports) await(t *testing.T, want string) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e := <-r.ch:
			if e == want {
				return
			}
		case <-timeout:
			t.Fatalf("no %s report; got %q", want, r.got)
		}
	}
}

func runExecute(fn func(context.Context) error, controls chan control, r *reports, limit time.Duration) chan [2]any {
	res := make(chan [2]any, 1)
	go func() {
		stopped, err := execute(fn, controls, r.report, 20*time.Millisecond, limit)
		res <- [2]any{stopped, err}
	}()
	return res
}

func awaitResult(t *testing.T, res chan [2]any) (bool, error) {
	t.Helper()
	select {
	case v := <-res:
		err, _ := v[1].(error)
		return v[0].(bool), err
	case <-time.After(5 * time.Second):
		t.Fatal("execute did not return")
	}
	return false, nil
}

// A stop cancels the work's context, the SCM hears rising checkpoints while work in flight drains, and a clean
// finish after a stop is a clean stop.
func TestExecuteStopDrains(t *testing.T) {
	controls := make(chan control)
	r := newReports()
	release := make(chan struct{})
	canceled := make(chan struct{})
	fn := func(ctx context.Context) error {
		<-ctx.Done()
		close(canceled)
		<-release // a rotation in flight
		return nil
	}
	res := runExecute(fn, controls, r, time.Minute)
	r.await(t, "running/0")
	controls <- ctlInterrogate
	r.await(t, "running/0")
	controls <- ctlStop
	select {
	case <-canceled:
	case <-time.After(5 * time.Second):
		t.Fatal("stop did not cancel the context")
	}
	r.await(t, "stop-pending/1")
	r.await(t, "stop-pending/3") // ticks while draining
	controls <- ctlStop          // a second stop changes nothing
	controls <- ctlInterrogate
	close(release)
	stopped, err := awaitResult(t, res)
	if !stopped || err != nil {
		t.Fatalf("stopped %v, err %v", stopped, err)
	}
}

func TestExecuteWorkFails(t *testing.T) {
	boom := errors.New("identity: wrong passphrase")
	res := runExecute(func(context.Context) error { return boom }, make(chan control), newReports(), time.Minute)
	stopped, err := awaitResult(t, res)
	if stopped || !errors.Is(err, boom) {
		t.Fatalf("stopped %v, err %v", stopped, err)
	}
}

func TestExecuteStopLimit(t *testing.T) {
	controls := make(chan control)
	r := newReports()
	hang := make(chan struct{})
	defer close(hang)
	res := runExecute(func(context.Context) error { <-hang; return nil }, controls, r, 100*time.Millisecond)
	r.await(t, "running/0")
	controls <- ctlStop
	stopped, err := awaitResult(t, res)
	if !stopped || !errors.Is(err, errStopTimeout) {
		t.Fatalf("stopped %v, err %v", stopped, err)
	}
}
