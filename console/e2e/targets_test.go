package e2e_test

import (
	"crypto/tls"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"golang.org/x/crypto/ssh"

	"github.com/watchword/watchword/internal/testsupport/targets"
)

// directory is an LDAP server as a technician meets it: does this password bind?
type directory struct {
	url, baseDN, adminDN, adminPW string
	tls                           *tls.Config
}

func adDirectory(t testing.TB, env targets.Env) directory {
	return directory{url: env.Get(t, "WW_AD_URL"), baseDN: env.Get(t, "WW_AD_BASE_DN"), adminDN: env.Get(t, "WW_AD_ADMIN_DN"),
		adminPW: env.Get(t, "WW_AD_ADMIN_PASSWORD"), tls: env.TLSConfig(t)}
}

func ldapDirectory(t *testing.T, env targets.Env) directory {
	return directory{url: env.Get(t, "WW_LDAP_URL"), baseDN: env.Get(t, "WW_LDAP_BASE_DN"), adminDN: env.Get(t, "WW_LDAP_ADMIN_DN"),
		adminPW: env.Get(t, "WW_LDAP_ADMIN_PASSWORD"), tls: env.TLSConfig(t)}
}

func (d directory) dial() (*ldap.Conn, error) {
	return ldap.DialURL(d.url, ldap.DialWithTLSConfig(d.tls.Clone()), ldap.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}))
}

// dns finds the entries named name (sAMAccountName in AD, uid in OpenLDAP), as the administrator.
func (d directory) dns(name string) ([]string, error) {
	c, err := d.dial()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := c.Bind(d.adminDN, d.adminPW); err != nil {
		return nil, fmt.Errorf("admin bind: %w", err)
	}
	f := fmt.Sprintf("(|(sAMAccountName=%s)(uid=%s))", ldap.EscapeFilter(name), ldap.EscapeFilter(name))
	res, err := c.Search(ldap.NewSearchRequest(d.baseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, 10, false, f, []string{"dn"}, nil))
	if err != nil {
		return nil, fmt.Errorf("search %q: %w", name, err)
	}
	var out []string
	for _, e := range res.Entries {
		out = append(out, e.DN)
	}
	return out, nil
}

// bind binds as the account name with password, as a technician's tool would. The error carries the server's
// diagnostic (AD: "data 52e" for a wrong password, "data 533" for a disabled account).
func (d directory) bind(name, password string) error {
	dns, err := d.dns(name)
	if err != nil {
		return err
	}
	if len(dns) != 1 {
		return fmt.Errorf("account %q: %d entries", name, len(dns))
	}
	c, err := d.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Bind(dns[0], password)
}

// remove deletes test accounts the run created (the agent only disables); it refuses names without the test prefix.
func (d directory) remove(t testing.TB, names []string) {
	for _, n := range names {
		if !strings.HasPrefix(n, "wwt-") {
			t.Errorf("cleanup: refusing to delete %q", n)
			continue
		}
		dns, err := d.dns(n)
		if err != nil {
			t.Logf("cleanup %s: %v", n, err)
			continue
		}
		c, err := d.dial()
		if err != nil {
			continue
		}
		if err := c.Bind(d.adminDN, d.adminPW); err == nil {
			for _, dn := range dns {
				if err := c.Del(ldap.NewDelRequest(dn, nil)); err != nil {
					t.Logf("cleanup %s: %v", dn, err)
				}
			}
		}
		c.Close()
	}
}

// sshLogin logs in to the SSH target with a password, pinning its host key.
func sshLogin(t *testing.T, env targets.Env, name, password string) error {
	hk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(env.Get(t, "WW_SSH_HOST_KEY")))
	if err != nil {
		t.Fatalf("ssh host key: %v", err)
	}
	c, err := ssh.Dial("tcp", env.Get(t, "WW_SSH_ADDR"), &ssh.ClientConfig{User: name, Auth: []ssh.AuthMethod{ssh.Password(password)},
		HostKeyCallback: ssh.FixedHostKey(hk), Timeout: 5 * time.Second})
	if err != nil {
		return err
	}
	return c.Close()
}

// removeLocalUsers deletes the run's accounts on the SSH target, which is this machine.
func removeLocalUsers(t *testing.T, names []string) {
	for _, n := range names {
		if !strings.HasPrefix(n, "wwt-") {
			t.Errorf("cleanup: refusing to delete %q", n)
			continue
		}
		if out, err := exec.Command("userdel", "-r", n).CombinedOutput(); err != nil && !strings.Contains(string(out), "does not exist") {
			t.Logf("cleanup userdel %s: %v: %s", n, err, out)
		}
	}
}
