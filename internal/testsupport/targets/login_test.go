package targets

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/console/server/agent/driver"
)

func TestCheckLoginInput(t *testing.T) {
	for _, c := range []struct{ user, pw string }{
		{"", "pw"},
		{"a\nb", "pw"},
		{"a@REALM", "pw"},
		{`TEST\a`, "pw"},
		{"a", ""},
		{"a", "x\npassword = other"},
		{"a", "x\ry"},
		{"a", " leading"},
		{"a", "\tleading"},
	} {
		if err := checkLoginInput(c.user, c.pw); err == nil {
			t.Errorf("checkLoginInput(%q, %q) accepted", c.user, c.pw)
		} else if c.pw != "" && strings.Contains(err.Error(), c.pw) {
			t.Errorf("error %q holds the password", err)
		}
	}
	if err := checkLoginInput("wwt-1", "Ab1#=x!y z"); err != nil {
		t.Fatalf("a valid password refused: %v", err)
	}
}

// A client that echoed the password must not carry it into the error; the known refusals wrap driver errors.
func TestClassify(t *testing.T) {
	const pw = "Secret-Pw-123!"
	run := errors.New("exit status 1")
	err := classify(run, []byte("Password for a@TEST.LAN: "+pw+"\nkinit: Password incorrect while getting initial credentials\n"), pw, kerberosErrors)
	if !errors.Is(err, driver.ErrBadPassword) || strings.Contains(err.Error(), pw) {
		t.Fatalf("kinit refusal: %v", err)
	}
	err = classify(run, []byte("session setup failed: NT_STATUS_ACCOUNT_DISABLED "+pw+"\n"), pw, smbErrors)
	if !errors.Is(err, driver.ErrDisabled) || strings.Contains(err.Error(), pw) {
		t.Fatalf("smb disabled: %v", err)
	}
	err = classify(run, []byte("tree connect failed: NT_STATUS_BAD_NETWORK_NAME\n"), pw, smbErrors)
	if !errors.Is(err, run) || errors.Is(err, driver.ErrBadPassword) || !strings.Contains(err.Error(), "BAD_NETWORK_NAME") {
		t.Fatalf("unknown failure: %v", err)
	}
}

func TestLoginRefusesIncompleteEnv(t *testing.T) {
	ctx := context.Background()
	if err := KerberosLogin(ctx, Env{"WW_AD_REALM": "TEST.LAN"}, "a", "pw"); err == nil || !strings.Contains(err.Error(), "WW_KRB5_CONF") {
		t.Fatalf("kerberos without WW_KRB5_CONF: %v", err)
	}
	if err := SMBLogin(ctx, Env{}, "a", "pw"); err == nil || !strings.Contains(err.Error(), "WW_AD_DOMAIN") {
		t.Fatalf("smb without WW_AD_DOMAIN: %v", err)
	}
}

// TestLoginsAgainstDC logs the DC's administrator in over Kerberos and SMB/NTLM, and an account that does not exist
// is refused over both (no wrong password is tried on a real account here: those count toward lockout; the AD
// driver's tests try them on accounts of their own). Nothing is left in the temporary directory.
func TestLoginsAgainstDC(t *testing.T) {
	env := Require(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	ctx := context.Background()
	admin, pw := "Administrator", env.Get(t, "WW_AD_ADMIN_PASSWORD")
	for _, l := range []struct {
		name   string
		login  func(context.Context, Env, string, string) error
		nouser error
	}{
		{"kerberos", KerberosLogin, driver.ErrNoAccount},
		{"smb", SMBLogin, driver.ErrBadPassword},
	} {
		start := time.Now()
		if err := l.login(ctx, env, admin, pw); err != nil {
			t.Fatalf("%s login as %s: %v", l.name, admin, err)
		}
		t.Logf("%s login: %v", l.name, time.Since(start).Round(time.Millisecond))
		err := l.login(ctx, env, "wwt-nosuch-login", pw)
		if !errors.Is(err, l.nouser) {
			t.Fatalf("%s login as an unknown user: %v, want %v", l.name, err, l.nouser)
		}
		if strings.Contains(err.Error(), pw) {
			t.Fatalf("%s error holds the password: %v", l.name, err)
		}
	}
	left, _ := filepath.Glob(filepath.Join(tmp, "*"))
	if len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}
