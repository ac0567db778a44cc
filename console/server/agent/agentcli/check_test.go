package agentcli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/internal/testsupport/graphtest"
)

// checkArgs are the flags an MSP gives check, pointed at a Graph test server.
func checkArgs(t *testing.T, srv *graphtest.Server, clientID string, cert *graphtest.AppCert) []string {
	dir := t.TempDir()
	certFile, keyFile := cert.WriteFiles(t, dir)
	return []string{"check", "--driver", "entra", "--tenant-id", srv.TenantID, "--client-id", clientID,
		"--cert-file", certFile, "--key-file", keyFile, "--upn-domain", srv.Domain, "--usage-location", "GB",
		"--ca-file", srv.CAFile(t, dir), "--authority-url", srv.LoginURL, "--graph-url", srv.GraphURL}
}

func TestCheckEntra(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv := graphtest.New(t)
	clientID, cert := srv.NewApp(t)
	var out, errOut bytes.Buffer
	if err := Main(ctx, checkArgs(t, srv, clientID, cert), &out, &errOut); err != nil {
		t.Fatalf("check: %v\n%s%s", err, out.String(), errOut.String())
	}
	t.Log("\n" + out.String())
	for _, want := range []string{"ok   sign in as the app", "User-PasswordProfile.ReadWrite.All", "ok   create the marked test user watchword-check@",
		"ok   verify the password", `ok   assign the role "Message Center Reader"`, `ok   remove the role "Message Center Reader"`,
		"ok   delete the test user", "check passed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if _, ok := srv.LookupUser("watchword-check@" + srv.Domain); ok {
		t.Fatal("the test user is still there")
	}
	if strings.Contains(out.String(), "not consented") {
		t.Fatal("the documented permissions were consented, yet check says some are not")
	}
}

// A missing permission fails the step that needs it, says so, and the test user is deleted all the same.
func TestCheckEntraFailsLoudly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv := graphtest.New(t)
	clientID, cert := srv.NewApp(t)
	srv.SetPermissions(clientID, "User.ReadWrite.All", "RoleManagement.Read.Directory", "GroupMember.ReadWrite.All")
	var out, errOut bytes.Buffer
	err := Main(ctx, checkArgs(t, srv, clientID, cert), &out, &errOut)
	if err == nil {
		t.Fatalf("check passed without RoleManagement.ReadWrite.Directory:\n%s", out.String())
	}
	for _, want := range []string{"not consented: User-PasswordProfile.ReadWrite.All", `FAIL assign the role "Message Center Reader"`,
		"Authorization_RequestDenied", "ok   delete the test user"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if _, ok := srv.LookupUser("watchword-check@" + srv.Domain); ok {
		t.Fatal("the test user was left behind")
	}
}
