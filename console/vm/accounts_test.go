package vm_test

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/wire"
)

// failAccount enrolls an agent that plans the demo's accounts and reports the account of tech failed with reason;
// it returns the agent and the account.
func failAccount(t *testing.T, h *hubtest.Harness, agentName string, tech int64, reason string) (*hubtest.Agent, int64) {
	t.Helper()
	ctx := testCtx(t)
	agent := h.NewAgent(agentName, wire.DriverAD)
	plan, err := agent.Plan(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, pa := range plan.Accounts {
		if pa.TechID == tech {
			if err := agent.ReportAccounts(ctx, []wire.AccountReport{{AccountID: pa.AccountID, State: wire.AccountFailed, Error: reason}}); err != nil {
				t.Fatal(err)
			}
			return agent, pa.AccountID
		}
	}
	t.Fatalf("tech %d has no account on %s: %+v", tech, agentName, plan.Accounts)
	return nil, 0
}

// TestFailedAccounts: an account an agent reports failed shows on its tech with its reason, counts in the
// navigation, and is announced once to the failure listeners; a wrong name typed for Adopt changes nothing at the
// hub, the right one adopts; Retry brings a failed account back, and a new failure is announced again.
func TestFailedAccounts(t *testing.T) {
	ctx := testCtx(t)
	a, h, w := world(t)
	var mu sync.Mutex
	var heard []string
	a.OnAccountFailed(func(acc vm.TechAccount) {
		mu.Lock()
		heard = append(heard, a.Snapshot().DescribeFailure(acc))
		mu.Unlock()
	})
	heardNow := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), heard...)
	}
	amoreau := w.Techs["amoreau"]
	reason := "an account named amoreau-tm exists at CN=amoreau-tm,CN=Users,DC=zed,DC=local and Watchword did not create it"
	agent, id := failAccount(t, h, "zed.local", amoreau, reason)
	for range 2 { // one announcement per failure, not per refresh
		if err := a.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := heardNow(); len(got) != 1 || got[0] != "amoreau-tm on zed.local (amoreau): "+reason {
		t.Fatalf("announced %q", got)
	}
	var techs vm.Section
	for _, s := range vm.Sections {
		if s.ID == "techs" {
			techs = s
		}
	}
	if got := a.NavTitle(techs); got != "Techs (1 need attention)" {
		t.Fatalf("navigation %q", got)
	}
	acc := a.Snapshot().Account(id)
	if acc == nil || acc.AgentName != "zed.local" || vm.AccountStateText(acc.Account) != "FAILED, waits for an admin: "+reason ||
		!vm.CanRetry(acc.Account) || !vm.CanAdopt(acc.Account) {
		t.Fatalf("failed account %+v", acc)
	}
	if got := a.TechProblemsText(amoreau); got != "✗ amoreau-tm on zed.local failed: "+reason {
		t.Fatalf("problems of amoreau %q", got)
	}
	if accs := a.Snapshot().AccountsOfTech(amoreau); len(accs) < 2 || accs[len(accs)-1].AgentName != "zed.local" {
		t.Fatalf("accounts of amoreau %+v", accs)
	}
	if !strings.Contains(vm.AdoptWarning(*acc), "amoreau-tm on zed.local") {
		t.Fatalf("adopt warning %q", vm.AdoptWarning(*acc))
	}

	// Adopt: a wrong name is refused before the hub, which keeps the account failed.
	for _, typed := range []string{"", "amoreau", "AMOREAU-TM"} {
		if err := a.AdoptAccount(ctx, id, typed); err == nil || !strings.Contains(err.Error(), `type the account name "amoreau-tm" exactly`) {
			t.Fatalf("adopt typing %q: %v", typed, err)
		}
	}
	if accs, _ := h.Owner.Accounts(ctx, amoreau, 0); !failedAt(accs, id) {
		t.Fatalf("a refused adoption changed the account: %+v", accs)
	}
	if err := a.AdoptAccount(ctx, id, "amoreau-tm"); err != nil {
		t.Fatal(err)
	}
	if acc := a.Snapshot().Account(id); acc.State != wire.AccountPresent || !acc.Adopted || vm.CanAdopt(acc.Account) ||
		vm.AccountStateText(acc.Account) != "present (adopted)" {
		t.Fatalf("after adoption %+v", acc)
	}
	if a.NavTitle(techs) != "Techs" {
		t.Fatalf("navigation after adoption %q", a.NavTitle(techs))
	}

	// It fails again: announced again; Retry brings it back.
	if err := agent.ReportAccounts(ctx, []wire.AccountReport{{AccountID: id, State: wire.AccountFailed, Error: "lockout threshold near"}}); err != nil {
		t.Fatal(err)
	}
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := heardNow(); len(got) != 2 || !strings.HasSuffix(got[1], "lockout threshold near") {
		t.Fatalf("announced %q", got)
	}
	if err := a.RetryAccount(ctx, id); err != nil {
		t.Fatal(err)
	}
	if acc := a.Snapshot().Account(id); acc.State != wire.AccountPresent || acc.LastError != "" || vm.CanRetry(acc.Account) {
		t.Fatalf("after retry %+v", acc)
	}
	if err := a.RetryAccount(ctx, id); err == nil || !strings.Contains(err.Error(), "only a failed account") {
		t.Fatalf("retry a present account: %v", err)
	}
}

func failedAt(accs []wire.Account, id int64) bool {
	for _, acc := range accs {
		if acc.ID == id {
			return acc.State == wire.AccountFailed && !acc.Adopted
		}
	}
	return false
}

// TestApprovalSaysProblems: approving a tech whose account name cannot be valid where they are entitled says so
// at once, and the tech shows it.
func TestApprovalSaysProblems(t *testing.T) {
	ctx := testCtx(t)
	a, h, _ := world(t)
	long := h.NewTech("christopher.vandenb")
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Approve(ctx, long.ID); err != nil {
		t.Fatal(err)
	}
	notice, _ := a.Notice.Get()
	if !strings.HasPrefix(notice, `approve "christopher.vandenb": done, but no account on `) || !strings.Contains(notice, "1 to 20 characters") {
		t.Fatalf("notice %q", notice)
	}
	if got := a.TechProblemsText(long.ID); !strings.Contains(got, "⚠ no account on ") || !strings.Contains(got, "contoso.local") {
		t.Fatalf("problems %q", got)
	}
	if n := len(a.TechsNeedingAttention()); n != 1 {
		t.Fatalf("%d techs need attention", n)
	}
}

// TestNamingFormatConfirmation: a format without a fixed part asks for confirmation, is refused without it and
// saved with it; the naming preview flags a name that is a built-in account.
func TestNamingFormatConfirmation(t *testing.T) {
	ctx := testCtx(t)
	a, h, _ := world(t)
	if w := a.NoFixedPartWarning("{username}-{abbrev}"); w != "" {
		t.Fatalf("warning for the default format %q", w)
	}
	warning := a.NoFixedPartWarning("{username}")
	if !strings.Contains(warning, `"{username}" has no fixed part`) {
		t.Fatalf("warning %q", warning)
	}
	p := a.Snapshot().Tenant.Policy
	p.NamingFormat = "{username}"
	if err := a.SavePolicy(ctx, p); err == nil || !strings.Contains(err.Error(), "no fixed part") {
		t.Fatalf("save without confirmation: %v", err)
	}
	if err := a.SavePolicyConfirmed(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got := a.Snapshot().Tenant.Policy.NamingFormat; got != "{username}" || a.NoFixedPartWarning("{username}") != "" {
		t.Fatalf("format after the confirmed save %q", got)
	}
	h.NewTech("tim")
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	checks, err := a.PreviewNames("roo{username:1}")
	if err != nil {
		t.Fatal(err)
	}
	var flagged bool
	for _, c := range checks {
		if c.Name == "root" && strings.Contains(c.Problem, "built-in or privileged") {
			flagged = true
		}
	}
	if !flagged {
		t.Fatalf("the preview does not flag root: %+v", checks)
	}
}

// holdAccounts wraps a transport so that the first request for accounts waits, before it leaves, until release is
// closed.
type holdAccounts struct {
	next    http.RoundTripper
	held    atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (h *holdAccounts) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == wire.PathAdminAccounts && h.held.CompareAndSwap(false, true) {
		close(h.entered)
		<-h.release
	}
	return h.next.RoundTrip(r)
}

// TestStaleRefreshDropped: a refresh that finishes after a later one has published does not put its older
// snapshot back on screen (nor reset what the failure notifications remember).
func TestStaleRefreshDropped(t *testing.T) {
	ctx := testCtx(t)
	a, h, w := world(t)
	bc := &holdAccounts{entered: make(chan struct{}), release: make(chan struct{})}
	held, err := hubclient.New(h.Invite, h.OwnerID, hubclient.WithTransport(func(next http.RoundTripper) http.RoundTripper {
		bc.next = next
		return bc
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	a.Connect(held, h.Invite, "test hub")
	done := make(chan error, 1)
	go func() { done <- a.Refresh(ctx) }() // reads the techs, then waits in Accounts
	<-bc.entered
	fnguyen := w.Techs["fnguyen"]
	if _, err := h.Owner.ApproveTech(ctx, fnguyen); err != nil {
		t.Fatal(err)
	}
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	close(bc.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := a.Snapshot().Tech(fnguyen).Status; st != wire.TechActive {
		t.Fatalf("the older refresh's snapshot is on screen: fnguyen is %s", st)
	}
}
