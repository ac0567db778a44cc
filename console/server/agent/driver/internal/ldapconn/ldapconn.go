// Package ldapconn is what the AD and OpenLDAP drivers share. ldapconn.go is the LDAPS plumbing: a verified TLS
// dial, an administrative connection that re-dials after a network failure, and single-shot user binds.
// accounts.go is the account life both run the same way (Accounts: ensure, ensure disabled, disable, enable,
// adoption, the checks before a password is set or verified) over each driver's Directory, which holds what
// differs (how an entry is found, created, protected, grouped and disabled).
package ldapconn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Config says where the directory is and who administers it.
type Config struct {
	URL      string      // ldaps://host:port
	TLS      *tls.Config // must trust the directory's CA; InsecureSkipVerify is refused
	BindDN   string
	Password string
	Timeout  time.Duration // per operation; zero means 10 s
}

func (c Config) timeout() time.Duration {
	if c.Timeout <= 0 {
		return 10 * time.Second
	}
	return c.Timeout
}

// Check refuses a configuration that would not verify the server.
func (c Config) Check() error {
	if !strings.HasPrefix(strings.ToLower(c.URL), "ldaps://") {
		return fmt.Errorf("ldap url %q: only ldaps:// is accepted (passwords cross this connection)", c.URL)
	}
	if c.TLS == nil || c.TLS.RootCAs == nil {
		return fmt.Errorf("ldap url %q: no CA to verify the server with", c.URL)
	}
	if c.TLS.InsecureSkipVerify {
		return fmt.Errorf("ldap url %q: InsecureSkipVerify is refused", c.URL)
	}
	return nil
}

// Dial opens a verified LDAPS connection, not yet bound.
func Dial(ctx context.Context, c Config) (*ldap.Conn, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: c.timeout()}
	if dl, ok := ctx.Deadline(); ok {
		d.Deadline = dl
	}
	conn, err := ldap.DialURL(c.URL, ldap.DialWithDialer(d), ldap.DialWithTLSConfig(c.TLS.Clone()))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", c.URL, err)
	}
	conn.SetTimeout(c.timeout())
	return conn, nil
}

// Admin is the administrative connection, dialled and bound lazily and again after a network failure.
type Admin struct {
	cfg  Config
	mu   sync.Mutex
	conn *ldap.Conn
}

// NewAdmin checks cfg; the first Do dials.
func NewAdmin(cfg Config) (*Admin, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	return &Admin{cfg: cfg}, nil
}

// Do runs f on the bound admin connection. A network error drops the connection and f runs once more on a fresh
// one; f must therefore be safe to repeat (reads, or writes that converge).
func (a *Admin) Do(ctx context.Context, f func(*ldap.Conn) error) error {
	for attempt := 0; ; attempt++ {
		conn, err := a.get(ctx)
		if err != nil {
			return err
		}
		err = f(conn)
		if err == nil || !isNetwork(err) || attempt > 0 {
			return err
		}
		a.drop(conn)
	}
}

// DoOnce runs f once: for a write that must not be sent twice without the caller knowing (a password reset).
func (a *Admin) DoOnce(ctx context.Context, f func(*ldap.Conn) error) error {
	conn, err := a.get(ctx)
	if err != nil {
		return err
	}
	err = f(conn)
	if err != nil && isNetwork(err) {
		a.drop(conn)
	}
	return err
}

func isNetwork(err error) bool {
	return ldap.IsErrorWithCode(err, ldap.ErrorNetwork) || errors.Is(err, net.ErrClosed)
}

func (a *Admin) get(ctx context.Context) (*ldap.Conn, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.conn != nil && !a.conn.IsClosing() {
		return a.conn, nil
	}
	conn, err := Dial(ctx, a.cfg)
	if err != nil {
		return nil, err
	}
	if err := conn.Bind(a.cfg.BindDN, a.cfg.Password); err != nil {
		conn.Close()
		return nil, fmt.Errorf("bind as %q: %w", a.cfg.BindDN, err)
	}
	a.conn = conn
	return conn, nil
}

func (a *Admin) drop(c *ldap.Conn) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.conn == c {
		a.conn.Close()
		a.conn = nil
	}
}

// Close closes the admin connection.
func (a *Admin) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.conn != nil {
		err := a.conn.Close()
		a.conn = nil
		return err
	}
	return nil
}

// BindOnce binds as dn with password on a new connection, exactly once, and closes it. The error is the bind's
// own (an *ldap.Error for a refusal), never retried: on AD a failed bind counts toward lockout.
func BindOnce(ctx context.Context, c Config, dn, password string) error {
	conn, err := Dial(ctx, c)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Bind(dn, password)
}

// SearchOne returns the single entry matching filter under base, or nil when none does.
func SearchOne(conn *ldap.Conn, base, filter string, attrs ...string) (*ldap.Entry, error) {
	res, err := conn.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, 0, false,
		filter, attrs, nil))
	if err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return nil, nil
		}
		return nil, err
	}
	switch len(res.Entries) {
	case 0:
		return nil, nil
	case 1:
		return res.Entries[0], nil
	}
	return nil, fmt.Errorf("search %s under %q: %d entries, want one", filter, base, len(res.Entries))
}

// SameDN compares two DNs as LDAP does (case- and spacing-insensitive), falling back to a case-insensitive
// string comparison for DNs that do not parse.
func SameDN(a, b string) bool {
	da, err1 := ldap.ParseDN(a)
	db, err2 := ldap.ParseDN(b)
	if err1 != nil || err2 != nil {
		return strings.EqualFold(a, b)
	}
	return da.EqualFold(db)
}

// Mark writes mark as the entry's description: the LDAP drivers' way of telling the accounts Watchword may manage
// (driver.MarkManaged, driver.MarkAdopted).
func (a *Admin) Mark(ctx context.Context, dn, mark string) error {
	req := ldap.NewModifyRequest(dn, nil)
	req.Replace("description", []string{mark})
	return a.Do(ctx, func(c *ldap.Conn) error { return c.Modify(req) })
}
