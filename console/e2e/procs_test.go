package e2e_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/watchword/watchword/shared/wire"
)

// moduleRoot is the repository root (where go.mod is).
func moduleRoot(t testing.TB) string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// binaries are the production programs the story runs, built once into dir.
type binaries struct{ hub, agent, age string }

// build builds watchword-hub and watchword-agent from this tree (pure Go, as released) and the age command
// v1.3.2 (outside this module, as an MSP owner would install it), in parallel.
func build(t testing.TB, dir string) binaries {
	root := moduleRoot(t)
	b := binaries{hub: filepath.Join(dir, "watchword-hub"), agent: filepath.Join(dir, "watchword-agent"), age: filepath.Join(dir, "age")}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ageDir := t.TempDir()
	cmds := []*exec.Cmd{
		exec.CommandContext(ctx, "go", "build", "-o", b.hub, "./console/server/cmd/watchword-hub"),
		exec.CommandContext(ctx, "go", "build", "-o", b.agent, "./console/server/cmd/watchword-agent"),
		exec.CommandContext(ctx, "go", "install", "filippo.io/age/cmd/age@v1.3.2"),
	}
	cmds[0].Dir, cmds[1].Dir, cmds[2].Dir = root, root, ageDir
	for _, c := range cmds[:2] {
		c.Env = append(os.Environ(), "CGO_ENABLED=0")
	}
	cmds[2].Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
	errs := make([]error, len(cmds))
	var wg sync.WaitGroup
	for i, c := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if out, err := c.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("%s: %v\n%s", strings.Join(c.Args, " "), err, out)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// syncBuffer collects a process's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

func tail(b []byte) string {
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// proc is a running hub or agent.
type proc struct {
	name string
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan error
}

func start(t testing.TB, name string, env []string, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(bin, args...), logs: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	p.cmd.Env = append(os.Environ(), env...)
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(p.stop)
	return p
}

// stop asks for a clean exit (SIGTERM: an agent finishes the rotations in flight) and kills after 10 s. It may be
// called again (a restarted hub's cleanup): the exit status goes back into done for the next caller.
func (p *proc) stop() {
	var err error
	select {
	case err = <-p.done:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err = <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			err = <-p.done
		}
	}
	p.done <- err
}

// alive fails when the process has exited.
func (p *proc) alive() error {
	select {
	case err := <-p.done:
		p.done <- err
		return fmt.Errorf("%s exited: %v\n%s", p.name, err, tail(p.logs.Bytes()))
	default:
		return nil
	}
}

func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitHealthy waits for the hub's /healthz (the pin is checked later by every typed client).
func waitHealthy(t testing.TB, p *proc, addr string) {
	t.Helper()
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	defer c.CloseIdleConnections()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := c.Get("https://" + addr + wire.PathHealthz); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if err := p.alive(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("hub not healthy within 20 s\n%s", tail(p.logs.Bytes()))
}
