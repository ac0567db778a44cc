package targets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/watchword/watchword/console/server/agent/driver"
)

// LoginTimeout bounds one Kerberos or SMB login: a DC that stopped answering fails the test, never hangs it.
const LoginTimeout = 20 * time.Second

// KerberosLogin logs user in to the Samba AD DC over Kerberos as a user would: MIT kinit for user@WW_AD_REALM, with
// the private krb5.conf that scripts/targets.sh writes (WW_KRB5_CONF: KDC on loopback, no DNS) and a credential
// cache of its own in a temporary directory that is removed afterwards. The password goes to kinit on stdin, never
// on its command line or in its environment. A refused password is driver.ErrBadPassword; a disabled or locked
// account driver.ErrDisabled; an expired password driver.ErrExpired; an unknown user driver.ErrNoAccount.
func KerberosLogin(ctx context.Context, env Env, user, password string) error {
	realm, conf := env["WW_AD_REALM"], env["WW_KRB5_CONF"]
	if realm == "" {
		return fmt.Errorf("kerberos login %q: targets env: WW_AD_REALM missing", user)
	}
	if conf == "" {
		return fmt.Errorf("kerberos login %q: targets env: WW_KRB5_CONF missing (run scripts/targets.sh start)", user)
	}
	if err := checkLoginInput(user, password); err != nil {
		return fmt.Errorf("kerberos login %q: %w", user, err)
	}
	dir, err := os.MkdirTemp("", "watchword-kinit-")
	if err != nil {
		return fmt.Errorf("kerberos login %q: %w", user, err)
	}
	defer os.RemoveAll(dir)
	out, err := runLogin(ctx, dir, conf, password+"\n", "kinit", user+"@"+realm)
	if err == nil {
		return nil
	}
	return fmt.Errorf("kerberos login %q: %w", user, classify(err, out, password, kerberosErrors))
}

// SMBLogin logs user in to the Samba AD DC over SMB with NTLM as a user would: smbclient to the DC's netlogon
// share (WW_AD_SMB_ADDR, default 127.0.0.1) in domain WW_AD_DOMAIN with Kerberos off, listing the share. The
// credentials are in an authentication file of mode 0600 in a temporary directory that is removed afterwards,
// never on the command line; smbclient reads an empty smb.conf of its own there, not the machine's. Errors map as
// KerberosLogin's; SMB cannot tell an unknown user from a wrong password, both are driver.ErrBadPassword.
func SMBLogin(ctx context.Context, env Env, user, password string) error {
	domain, addr := env["WW_AD_DOMAIN"], env["WW_AD_SMB_ADDR"]
	if domain == "" {
		return fmt.Errorf("smb login %q: targets env: WW_AD_DOMAIN missing", user)
	}
	if addr == "" {
		addr = "127.0.0.1"
	}
	if err := checkLoginInput(user, password); err != nil {
		return fmt.Errorf("smb login %q: %w", user, err)
	}
	dir, err := os.MkdirTemp("", "watchword-smb-")
	if err != nil {
		return fmt.Errorf("smb login %q: %w", user, err)
	}
	defer os.RemoveAll(dir)
	auth := filepath.Join(dir, "auth")
	cred := fmt.Sprintf("username = %s\npassword = %s\ndomain = %s\n", user, password, domain)
	if err := os.WriteFile(auth, []byte(cred), 0o600); err != nil {
		return fmt.Errorf("smb login %q: %w", user, err)
	}
	conf := filepath.Join(dir, "smb.conf")
	if err := os.WriteFile(conf, nil, 0o600); err != nil {
		return fmt.Errorf("smb login %q: %w", user, err)
	}
	out, err := runLogin(ctx, dir, env["WW_KRB5_CONF"], "", "smbclient", "//"+addr+"/netlogon", "-s", conf, "-A", auth,
		"--use-kerberos=off", "-c", "ls")
	if err == nil {
		return nil
	}
	return fmt.Errorf("smb login %q: %w", user, classify(err, out, password, smbErrors))
}

// checkLoginInput refuses what cannot reach kinit's one line of stdin or smbclient's "key = value" file intact.
func checkLoginInput(user, password string) error {
	switch {
	case user == "" || strings.ContainsAny(user, "\r\n@\\/ "):
		return errors.New("user name empty or with a line break, '@', '\\', '/' or space")
	case password == "":
		return errors.New("empty password")
	case strings.ContainsAny(password, "\r\n\x00"):
		return errors.New("password holds a line break or NUL")
	case password[0] == ' ' || password[0] == '\t':
		return errors.New("password starts with white space (an authentication file drops it)")
	}
	return nil
}

// runLogin runs name with args under LoginTimeout, in dir, with stdin, a C locale (the messages classify reads),
// the Kerberos configuration krb5Conf (when set) and a credential cache in dir, whatever the caller's environment
// says. It returns the combined output.
func runLogin(ctx context.Context, dir, krb5Conf, stdin, name string, args ...string) ([]byte, error) {
	path, err := exec.LookPath(name)
	if err != nil {
		return nil, fmt.Errorf("%s not found (scripts/targets.sh installs krb5-user and smbclient): %w", name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, LoginTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 2 * time.Second
	cmd.Env = loginEnv(dir, krb5Conf)
	err = cmd.Run()
	if ctx.Err() != nil {
		return out.Bytes(), fmt.Errorf("%s: no answer within %v: %w", name, LoginTimeout, ctx.Err())
	}
	return out.Bytes(), err
}

func loginEnv(dir, krb5Conf string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "KRB5") || strings.HasPrefix(k, "LC_") || k == "LANG" || k == "LANGUAGE" ||
			k == "USER" || k == "PASSWD" || k == "PASSWD_FD" || k == "PASSWD_FILE" {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "LC_ALL=C", "KRB5CCNAME=FILE:"+filepath.Join(dir, "ccache"))
	if krb5Conf != "" {
		env = append(env, "KRB5_CONFIG="+krb5Conf)
	}
	return env
}

// loginError maps a fragment of a client's output to the driver's error for it.
type loginError struct {
	text string
	err  error
}

var kerberosErrors = []loginError{
	{"Password incorrect", driver.ErrBadPassword},
	{"Preauthentication failed", driver.ErrBadPassword},
	{"credentials have been revoked", driver.ErrDisabled},
	{"Password has expired", driver.ErrExpired},
	{"not found in Kerberos database", driver.ErrNoAccount},
}

var smbErrors = []loginError{
	{"NT_STATUS_LOGON_FAILURE", driver.ErrBadPassword},
	{"NT_STATUS_WRONG_PASSWORD", driver.ErrBadPassword},
	{"NT_STATUS_ACCOUNT_DISABLED", driver.ErrDisabled},
	{"NT_STATUS_ACCOUNT_LOCKED_OUT", driver.ErrLockedOut},
	{"NT_STATUS_PASSWORD_EXPIRED", driver.ErrExpired},
	{"NT_STATUS_PASSWORD_MUST_CHANGE", driver.ErrExpired},
	{"NT_STATUS_ACCOUNT_EXPIRED", driver.ErrExpired},
	{"NT_STATUS_NO_SUCH_USER", driver.ErrNoAccount},
}

// classify turns a failed run into an error that names the client's last line of output and wraps the driver
// error its output means, if any, or else the run's error. The password is cut out of the text, in case a client
// ever echoes it.
func classify(runErr error, out []byte, password string, known []loginError) error {
	text := strings.TrimSpace(strings.ReplaceAll(string(out), password, "[password]"))
	last := text
	if i := strings.LastIndexByte(last, '\n'); i >= 0 {
		last = strings.TrimSpace(last[i+1:])
	}
	for _, k := range known {
		if strings.Contains(text, k.text) {
			return fmt.Errorf("%w: %s", k.err, last)
		}
	}
	if last == "" {
		return runErr
	}
	return fmt.Errorf("%w: %s", runErr, last)
}
