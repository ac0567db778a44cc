package linux

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/watchword/watchword/console/server/agent/driver"
)

// LocalConfig configures the driver for this host's own accounts.
type LocalConfig struct {
	// Prefix, when set, is required of every managed name (e.g. "ww-"): the agent can then never touch an
	// account it does not own.
	Prefix string
}

// NewLocal returns the driver for the accounts of the host the agent runs on. It needs root.
func NewLocal(cfg LocalConfig) *Driver {
	return &Driver{kind: "linux", run: localRunner{}, prefix: cfg.Prefix, now: time.Now}
}

type localRunner struct{}

func (localRunner) Run(ctx context.Context, stdin string, argv ...string) (string, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return stdout.String(), &ExitError{Argv: argv, Code: ee.ExitCode(), Stderr: stderr.String()}
	}
	if err != nil {
		return "", fmt.Errorf("run %s: %w", argv[0], err)
	}
	return stdout.String(), nil
}

func (localRunner) Close() error { return nil }

// SSHConfig configures the driver for a remote host.
type SSHConfig struct {
	Addr    string        // host:port
	HostKey ssh.PublicKey // pinned: the connection is refused for any other key
	User    string        // an administrator; root, or a user with password-less sudo (set Sudo)
	Signer  ssh.Signer    // the agent's key for User
	Sudo    bool          // prefix commands with sudo -n
	Prefix  string        // see LocalConfig.Prefix
	Timeout time.Duration // dial and handshake; zero means 10 s
}

// NewSSH returns the driver for a remote host's accounts. The connection is made on first use and re-made after
// it breaks.
func NewSSH(cfg SSHConfig) (*Driver, error) {
	if cfg.Addr == "" || cfg.HostKey == nil || cfg.Signer == nil || cfg.User == "" {
		return nil, errors.New("ssh driver: Addr, HostKey, User and Signer are required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	r := &sshRunner{cfg: cfg}
	d := &Driver{kind: "ssh", run: r, prefix: cfg.Prefix, now: time.Now}
	d.login = func(ctx context.Context, name, password string) error {
		err := Login(ctx, cfg.Addr, cfg.HostKey, name, password, cfg.Timeout)
		if err != nil {
			return fmt.Errorf("verify %q: %w", name, err)
		}
		return nil
	}
	return d, nil
}

// Login authenticates to addr as user with password, once, and disconnects: what Verify does over SSH. A
// refused password is driver.ErrBadPassword.
func Login(ctx context.Context, addr string, hostKey ssh.PublicKey, user, password string, timeout time.Duration) error {
	conf := &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.Password(password)},
		HostKeyCallback: ssh.FixedHostKey(hostKey),
		Timeout:         timeout,
	}
	c, err := dial(ctx, addr, conf)
	if err != nil {
		if strings.Contains(err.Error(), "unable to authenticate") {
			return driver.ErrBadPassword
		}
		return err
	}
	return c.Close()
}

func dial(ctx context.Context, addr string, conf *ssh.ClientConfig) (*ssh.Client, error) {
	d := net.Dialer{Timeout: conf.Timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", addr, err)
	}
	// bound the handshake too: a server that accepts and then says nothing must not hang us
	deadline := time.Now().Add(conf.Timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	conn.SetDeadline(deadline)
	cc, chans, reqs, err := ssh.NewClientConn(conn, addr, conf)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("ssh %s as %q: %w", addr, conf.User, err)
	}
	conn.SetDeadline(time.Time{})
	return ssh.NewClient(cc, chans, reqs), nil
}

type sshRunner struct {
	cfg    SSHConfig
	mu     sync.Mutex
	client *ssh.Client
}

func (r *sshRunner) get(ctx context.Context) (*ssh.Client, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.client != nil {
		return r.client, nil
	}
	c, err := dial(ctx, r.cfg.Addr, &ssh.ClientConfig{
		User:            r.cfg.User,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(r.cfg.Signer)},
		HostKeyCallback: ssh.FixedHostKey(r.cfg.HostKey),
		Timeout:         r.cfg.Timeout,
	})
	if err != nil {
		return nil, err
	}
	r.client = c
	return c, nil
}

func (r *sshRunner) drop(c *ssh.Client) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.client == c {
		r.client.Close()
		r.client = nil
	}
}

// quote makes s one word for the remote POSIX shell.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func (r *sshRunner) Run(ctx context.Context, stdin string, argv ...string) (string, error) {
	words := []string{"LC_ALL=C"}
	if r.cfg.Sudo {
		words = []string{"sudo", "-n", "env", "LC_ALL=C"}
	}
	for _, a := range argv {
		words = append(words, quote(a))
	}
	cmdline := strings.Join(words, " ")
	for attempt := 0; ; attempt++ {
		c, err := r.get(ctx)
		if err != nil {
			return "", err
		}
		s, err := c.NewSession()
		if err != nil {
			// a broken connection fails here, before anything ran: safe to re-dial once
			r.drop(c)
			if attempt == 0 {
				continue
			}
			return "", fmt.Errorf("ssh %s: session: %w", r.cfg.Addr, err)
		}
		return r.runSession(ctx, s, stdin, argv, cmdline)
	}
}

func (r *sshRunner) runSession(ctx context.Context, s *ssh.Session, stdin string, argv []string, cmdline string) (string, error) {
	defer s.Close()
	s.Stdin = strings.NewReader(stdin)
	// two buffers: one shared by Stdout and Stderr races
	var stdout, stderr bytes.Buffer
	s.Stdout, s.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	go func() { done <- s.Run(cmdline) }()
	select {
	case err := <-done:
		var ee *ssh.ExitError
		if errors.As(err, &ee) {
			return stdout.String(), &ExitError{Argv: argv, Code: ee.ExitStatus(), Stderr: stderr.String()}
		}
		if err != nil {
			return "", fmt.Errorf("ssh %s: %s: %w", r.cfg.Addr, argv[0], err)
		}
		return stdout.String(), nil
	case <-ctx.Done():
		s.Signal(ssh.SIGKILL)
		s.Close()
		return "", fmt.Errorf("ssh %s: %s: %w", r.cfg.Addr, argv[0], ctx.Err())
	}
}

func (r *sshRunner) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.client != nil {
		err := r.client.Close()
		r.client = nil
		return err
	}
	return nil
}
