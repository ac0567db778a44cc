package ad_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/console/server/agent/driver/ad"
	"github.com/watchword/watchword/console/server/agent/driver/internal/ldapconn"
	"github.com/watchword/watchword/internal/testsupport/targets"
	"github.com/watchword/watchword/shared/rotation"
)

// delegateScript is the admin's script, run as an admin would run it.
const delegateScript = "../../../../../scripts/ad-delegate-samba.sh"

// sambaTool runs samba-tool (or, with script set, the delegation script) against the test DC as its administrator,
// over signed and sealed LDAP, with the password in a file named by PASSWD_FILE, never on a command line.
type sambaTool struct {
	url, user, passFile string
}

func newSambaTool(t *testing.T, env targets.Env) sambaTool {
	t.Helper()
	if _, err := exec.LookPath("samba-tool"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("samba-tool missing under CI=true (scripts/targets.sh installs it with samba-ad-dc)")
		}
		t.Skip("samba-tool not installed")
	}
	u, err := url.Parse(env.Get(t, "WW_AD_URL"))
	if err != nil {
		t.Fatal(err)
	}
	admin, err := ldap.ParseDN(env.Get(t, "WW_AD_ADMIN_DN"))
	if err != nil || len(admin.RDNs) == 0 {
		t.Fatalf("WW_AD_ADMIN_DN: %v", err)
	}
	pass := filepath.Join(t.TempDir(), "admin-password")
	if err := os.WriteFile(pass, []byte(env.Get(t, "WW_AD_ADMIN_PASSWORD")), 0o600); err != nil {
		t.Fatal(err)
	}
	return sambaTool{url: "ldap://" + u.Hostname(), user: admin.RDNs[0].Attributes[0].Value, passFile: pass}
}

func (s sambaTool) run(ctx context.Context, t *testing.T, script bool, args ...string) (string, error) {
	t.Helper()
	name := "samba-tool"
	if script {
		name, args = "bash", append([]string{delegateScript}, args...)
	}
	args = append(args, "-H", s.url)
	if script {
		args = append(args, "--")
	}
	cmd := exec.CommandContext(ctx, name, append(args, "-U", s.user)...)
	cmd.Env = append(os.Environ(), "PASSWD_FILE="+s.passFile)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (s sambaTool) must(ctx context.Context, t *testing.T, script bool, args ...string) string {
	t.Helper()
	out, err := s.run(ctx, t, script, args...)
	if err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
	return out
}

// TestDelegatedBindAccount proves scripts/ad-delegate-samba.sh against the Samba DC: for a throw-away OU, the
// script creates a bind account and grants it the delegation, and the driver, bound as that account (no admin
// group), runs an account's life: create (marked), password, verify, group add, the target's policy read from a
// fine-grained password settings object and the account's badPwdCount, adopt (writes description), disable. The
// same account is refused every write outside the delegation: a user outside the OU (password, description,
// userAccountControl, creation), a group no right names, a driver pointed at another OU. --revoke takes the rights
// away again and leaves no ACE naming the account on the domain's shared objects.
func TestDelegatedBindAccount(t *testing.T) {
	env := targets.Require(t)
	cfg := config(t)
	st := newSambaTool(t, env)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	b := make([]byte, 3)
	rand.Read(b)
	id := "wwt-" + hex.EncodeToString(b) // unique per run: other tests share the DC
	ou := fmt.Sprintf("OU=%s-ou,%s", id, cfg.BaseDN)
	users := "CN=Users," + cfg.BaseDN
	svc, granted, other := id+"-svc", id+"-ops", id+"-x"
	pso := id + "-pso"

	admin := adminConn(t, cfg)
	defer admin.Close()
	add := func(dn string, attrs map[string][]string) {
		t.Helper()
		req := ldap.NewAddRequest(dn, nil)
		for k, v := range attrs {
			req.Attribute(k, v)
		}
		if err := admin.Add(req); err != nil {
			t.Fatalf("add %s: %v", dn, err)
		}
	}
	// Cleanup runs last-registered first: revoke, then delete what was made.
	t.Cleanup(func() {
		c := adminConn(t, cfg)
		defer c.Close()
		del := ldap.NewDelRequest(ou, []ldap.Control{ldap.NewControlSubtreeDelete()})
		if err := c.Del(del); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			t.Errorf("cleanup: delete %s: %v", ou, err)
		}
		for _, g := range []string{granted, other} {
			if err := c.Del(ldap.NewDelRequest(fmt.Sprintf("CN=%s,%s", g, users), nil)); err != nil &&
				!ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
				t.Errorf("cleanup: delete group %s: %v", g, err)
			}
		}
		deleteUser(t, cfg, svc)
	})
	add(ou, map[string][]string{"objectClass": {"organizationalUnit"}})
	for _, g := range []string{granted, other} {
		add(fmt.Sprintf("CN=%s,%s", g, users), map[string][]string{"objectClass": {"group"}, "sAMAccountName": {g},
			"groupType": {"-2147483646"}})
	}
	// a person's own account outside the OU, and an unmarked one inside it for the adoption
	victim := addForeignUser(t, cfg, users, id+"-v")
	addForeignUser(t, cfg, ou, id+"-a")
	t.Cleanup(func() { deleteUser(t, cfg, id+"-o") }) // only if the refused creation outside the OU happened anyway

	// The PSO applies through the granted group, so it applies to the tech account once the driver made it a member.
	st.must(ctx, t, false, "domain", "passwordsettings", "pso", "create", pso, "10", "--min-pwd-length=12",
		"--complexity=on", "--history-length=5", "--account-lockout-threshold=0", "--min-pwd-age=0")
	t.Cleanup(func() { st.run(context.Background(), t, false, "domain", "passwordsettings", "pso", "delete", pso) })
	st.must(ctx, t, false, "domain", "passwordsettings", "pso", "apply", pso, granted)

	// The admin's part: the script, then a password for the bind account.
	out := st.must(ctx, t, true, "--create-account", "--ou", ou, "--account", svc, "--group", granted)
	revoked := false
	t.Cleanup(func() {
		if revoked {
			return
		}
		if out, err := st.run(context.Background(), t, true, "--revoke", "--ou", ou, "--account", svc, "--group", granted); err != nil {
			t.Errorf("cleanup: revoke: %v\n%s", err, out)
		}
	})
	t.Logf("delegation script:\n%s", out)
	svcDN := fmt.Sprintf("CN=%s,%s", svc, users)
	svcPass, err := rotation.DefaultPolicy(rotation.RulesAD).Generate(svc)
	if err != nil {
		t.Fatal(err)
	}
	pw := ldap.NewModifyRequest(svcDN, nil)
	pw.Replace("unicodePwd", []string{unicodePwd(svcPass)})
	if err := admin.Modify(pw); err != nil {
		t.Fatalf("password of %s: %v", svcDN, err)
	}
	if g := groupsOf(t, cfg, svc); len(g) != 0 {
		t.Fatalf("the bind account is a member of %v, want no group beyond Domain Users", g)
	}

	dcfg := cfg
	dcfg.BindDN, dcfg.Password, dcfg.OU = svcDN, svcPass, ou
	d, err := ad.New(dcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	// An account's life, through the delegation alone.
	name := id
	rep, err := d.Ensure(ctx, driver.Account{Name: name, DisplayName: "Delegated Tech", Groups: []string{granted}})
	if err != nil {
		t.Fatalf("ensure as the delegated account: %v", err)
	}
	if !rep.Created || !rep.NeedsPassword || !slices.Equal(rep.Added, []string{granted}) {
		t.Fatalf("ensure report %+v", rep)
	}
	if s := snap(t, cfg, name); !strings.HasPrefix(s.descrption, driver.MarkManaged) {
		t.Fatalf("created account not marked: %s", s)
	}
	techPass, err := rotation.DefaultPolicy(d.PasswordRules()).Generate(name, "Delegated Tech")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetPassword(ctx, name, techPass); err != nil {
		t.Fatalf("set password as the delegated account: %v", err)
	}
	if err := d.Verify(ctx, name, techPass); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if uac, err := d.UserAccountControl(ctx, name); err != nil || uac != 512 {
		t.Fatalf("after the first password userAccountControl %d (%v), want 512", uac, err)
	}
	p, err := d.TargetPolicy(ctx, name)
	if err != nil {
		t.Fatalf("target policy as the delegated account: %v", err)
	}
	if p.MinLength != 12 || p.History != 5 || !p.Complexity || !strings.Contains(p.Source, pso) {
		t.Fatalf("target policy %+v, want the fine-grained settings %q (12, history 5, complexity)", p, pso)
	}
	if _, err := d.Ensure(ctx, driver.Account{Name: id + "-a", Groups: []string{granted}, Adopt: true}); err != nil {
		t.Fatalf("adopt an account in the OU as the delegated account: %v", err)
	}
	if s := snap(t, cfg, id+"-a"); !strings.HasPrefix(s.descrption, driver.MarkAdopted) {
		t.Fatalf("adopted account not marked: %s", s)
	}

	// Writes outside the delegation are refused by the DC, and change nothing.
	before := snap(t, cfg, id+"-v")
	if _, err := d.Ensure(ctx, driver.Account{Name: name, Groups: []string{granted, other}}); !insufficient(err) {
		t.Errorf("adding to a group no right names: %v, want insufficient access", err)
	}
	if g := groupsOf(t, cfg, name); !slices.Equal(g, []string{granted}) {
		t.Errorf("groups %v after the refused add, want [%s]", g, granted)
	}
	c, err := ldapconn.Dial(ctx, dcfg.Config)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(svcDN, svcPass); err != nil {
		t.Fatal(err)
	}
	for what, req := range map[string]*ldap.ModifyRequest{
		"password":           modify(victim, "unicodePwd", unicodePwd("Zz9!taken-over-"+id)),
		"description":        modify(victim, "description", driver.MarkAdopted),
		"userAccountControl": modify(victim, "userAccountControl", "514"),
		"group member":       addMember("CN="+other+","+users, victim),
	} {
		if err := c.Modify(req); !insufficient(err) {
			t.Errorf("%s outside the delegation: %v, want insufficient access", what, err)
		}
	}
	outside := ad.Config{Config: dcfg.Config, BaseDN: cfg.BaseDN, OU: users}
	od, err := ad.New(outside)
	if err != nil {
		t.Fatal(err)
	}
	defer od.Close()
	if _, err := od.Ensure(ctx, driver.Account{Name: id + "-o"}); !insufficient(err) {
		t.Errorf("create outside the OU: %v, want insufficient access", err)
	}
	if e, _ := ldapconn.SearchOne(admin, cfg.BaseDN, fmt.Sprintf("(sAMAccountName=%s-o)", id)); e != nil {
		t.Errorf("an account was created outside the OU: %s", e.DN)
	}
	if after := snap(t, cfg, id+"-v"); !same(before, after) {
		t.Errorf("the account outside the OU changed:\n before %s\n after  %s", before, after)
	}

	rep, err = d.Disable(ctx, name)
	if err != nil || !rep.Disabled {
		t.Fatalf("disable as the delegated account: %+v %v", rep, err)
	}
	if err := d.Verify(ctx, name, techPass); !errors.Is(err, driver.ErrDisabled) {
		t.Fatalf("bind on the disabled account: %v, want ErrDisabled", err)
	}
	if g := groupsOf(t, cfg, name); len(g) != 0 {
		t.Fatalf("disabled account still in %v", g)
	}

	// --revoke: the rights are gone, and no ACE names the account on the shared objects.
	st.must(ctx, t, true, "--revoke", "--ou", ou, "--account", svc, "--group", granted)
	revoked = true
	next, err := rotation.DefaultPolicy(d.PasswordRules()).Generate(name, "Delegated Tech")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetPassword(ctx, name, next); err == nil {
		t.Error("a password reset worked after --revoke")
	}
	sid := st.must(ctx, t, false, "user", "show", svc, "--attributes=objectSid")
	sid = strings.TrimSpace(sid[strings.Index(sid, "objectSid: ")+len("objectSid: "):])
	for _, dn := range []string{"CN=Password Settings Container,CN=System," + cfg.BaseDN, ou, "CN=" + granted + "," + users} {
		if acl := st.must(ctx, t, false, "dsacl", "get", "--objectdn="+dn); strings.Contains(acl, sid) {
			t.Errorf("after --revoke %s still names %s", dn, sid)
		}
	}
}

func modify(dn, attr, value string) *ldap.ModifyRequest {
	req := ldap.NewModifyRequest(dn, nil)
	req.Replace(attr, []string{value})
	return req
}

func addMember(group, member string) *ldap.ModifyRequest {
	req := ldap.NewModifyRequest(group, nil)
	req.Add("member", []string{member})
	return req
}

// insufficient: the DC refused for want of rights (through the driver's wrapping and joins).
func insufficient(err error) bool {
	var le *ldap.Error
	return errors.As(err, &le) && le.ResultCode == ldap.LDAPResultInsufficientAccessRights
}
