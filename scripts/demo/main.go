// Command demo is the admin and first-run glue of `make demo` (scripts/demo.sh), so the demo comes up with no
// typing: everything it does is what a person would do in the apps, through the same code.
//
//	demo recovery --state DIR                                     make the tenant's recovery identity; print its recipient
//	demo owner    --state DIR --invite INV --owner-token-file F   claim the tenant; write a Console claim token and an
//	                                                              agent enrollment token to DIR
//	demo console  --invite INV --token-file F                     connect this Console (its config dir, its keyring)
//	                                                              as an admin, as its first-run "connect" form does
//	demo admins   --state DIR --invite INV                        approve every pending Console admin (the Console's own key)
//	demo register --invite INV --username U [--org O]             register this TechClient, as its first-run form does
//	demo approve  --state DIR --invite INV --username U           approve a pending tech, as the Console's button does
//	demo onboard  --state DIR --invite INV --org O                onboard organization O as the Console's onboarding does
//	                                                              (its co-managed techs, its domains): they go active
//	demo totp     --db HUB.DB --username U                        print U's authenticator codes until U enrols (demo
//	                                                              only: it reads the hub's database and key file)
//
// The owner key of `demo owner` is kept in DIR (mode 0600) for the life of the demo: a throwaway hub's throwaway
// admin. The Console's and the TechClients' keys go to the OS keyring of the session they run in (demo.sh gives
// each app its own Secret Service), exactly as when the apps create them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/watchword/watchword/console/local"
	cvm "github.com/watchword/watchword/console/vm"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/keystore"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
	tvm "github.com/watchword/watchword/techclient/vm"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: demo owner|console|register|approve [flags]")
	}
	fs := flag.NewFlagSet("demo "+args[0], flag.ContinueOnError)
	state := fs.String("state", "", "the demo's state `dir`")
	invite := fs.String("invite", "", "the tenant's `invite`")
	tokenFile := fs.String("token-file", "", "claim token `file`")
	ownerTokenFile := fs.String("owner-token-file", "", "owner claim token `file` printed by watchword-hub init")
	username := fs.String("username", "", "tech `username`")
	org := fs.String("org", "", "client `organization` of a co-managed tech")
	db := fs.String("db", "", "the demo hub's database `file`")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	switch args[0] {
	case "recovery":
		return recovery(*state)
	case "totp":
		ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer cancel()
		return totpCodes(ctx, os.Stdout, *db, *username, time.Now)
	}
	inv, err := wire.ParseInvite(*invite)
	if err != nil {
		return fmt.Errorf("--invite: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	switch args[0] {
	case "owner":
		return owner(ctx, *state, inv, *ownerTokenFile)
	case "console":
		return console(ctx, inv, *tokenFile)
	case "register":
		return register(ctx, inv, *username, *org)
	case "approve":
		return approve(ctx, *state, inv, *username)
	case "admins":
		return admins(ctx, *state, inv)
	case "onboard":
		return onboard(ctx, *state, inv, *org)
	}
	return fmt.Errorf("unknown command %q", args[0])
}

// recovery writes the tenant's recovery identity where the demo's owner would keep it offline (an age identity
// file, for age -d -i) and prints the recipient the hub seals every envelope to.
func recovery(state string) error {
	id, err := seal.GenerateIdentity()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(state, "recovery-identity.txt"), []byte(id.AgeIdentity().String()+"\n"), 0o600); err != nil {
		return err
	}
	fmt.Println(id.Public().Recipient())
	return nil
}

func readToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

func owner(ctx context.Context, state string, inv wire.Invite, tokenFile string) error {
	token, err := readToken(tokenFile)
	if err != nil {
		return err
	}
	id, err := seal.GenerateIdentity()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(state, "owner.key"), []byte(id.String()+"\n"), 0o600); err != nil {
		return err
	}
	c, err := hubclient.New(inv, id)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Claim(ctx, token, "Demo owner"); err != nil {
		return fmt.Errorf("claim the tenant: %w", err)
	}
	ct, err := c.CreateClaimToken(ctx, time.Hour)
	if err != nil {
		return err
	}
	// The demo's agent runs next to this hub on the same machine: approved on use, where a real one waits for an
	// admin to compare its fingerprint.
	et, err := c.CreateEnrollmentTokenWith(ctx, wire.TokenRequest{TTLSeconds: 3600, ApproveOnUse: true})
	if err != nil {
		return err
	}
	return errors.Join(os.WriteFile(filepath.Join(state, "console.token"), []byte(ct.Token+"\n"), 0o600),
		os.WriteFile(filepath.Join(state, "enroll.token"), []byte(et.Token+"\n"), 0o600))
}

func console(ctx context.Context, inv wire.Invite, tokenFile string) error {
	token, err := readToken(tokenFile)
	if err != nil {
		return err
	}
	dir, err := local.Dir()
	if err != nil {
		return err
	}
	ks, err := keystore.New(keystore.Options{Service: "watchword-console", Dir: dir})
	if err != nil {
		return err
	}
	s, err := local.Connect(ctx, dir, inv.String(), token, "Demo admin", ks)
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Printf("demo: Console connected to %s (%s)\n", inv.HubURL, s.Backend.Describe())
	return nil
}

func register(ctx context.Context, inv wire.Invite, username, org string) error {
	test.NewApp() // the view-model's bindings want an app; no window is opened
	cfg, err := os.UserConfigDir()
	if err != nil {
		return err
	}
	// Where the TechClient app keeps its files: fyne's storage root for the app ID of techclient/main.go.
	dir := filepath.Join(cfg, "fyne", "net.watchword.techclient")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	app := tvm.New(tvm.Options{Dir: dir, Do: func(f func()) { f() }})
	defer app.Close()
	if err := app.Register(ctx, tvm.Registration{Invite: inv.String(), Username: username, DisplayName: username,
		Email: username + "@example.com", Organization: org}); err != nil {
		return fmt.Errorf("register %s: %s", username, tvm.Explain(err))
	}
	fp, _ := app.Fingerprint.Get()
	fmt.Printf("demo: TechClient of %s registered, fingerprint %s\n", username, fp)
	return nil
}

// ownerClient is the hub client of the demo's owner.
func ownerClient(state string, inv wire.Invite) (*hubclient.Client, error) {
	b, err := os.ReadFile(filepath.Join(state, "owner.key"))
	if err != nil {
		return nil, err
	}
	id, err := seal.ParseIdentity(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, err
	}
	return hubclient.New(inv, id)
}

// admins approves the Console's admin key, which its claim left pending, as an owner does in "Console admins".
func admins(ctx context.Context, state string, inv wire.Invite) error {
	c, err := ownerClient(state, inv)
	if err != nil {
		return err
	}
	defer c.Close()
	as, err := c.Admins(ctx)
	if err != nil {
		return err
	}
	for _, a := range as {
		if a.Status == wire.AdminPending {
			if _, err := c.ApproveAdmin(ctx, a.ID); err != nil {
				return fmt.Errorf("approve admin %q: %w", a.Name, err)
			}
		}
	}
	return nil
}

func approve(ctx context.Context, state string, inv wire.Invite, username string) error {
	c, err := ownerClient(state, inv)
	if err != nil {
		return err
	}
	defer c.Close()
	m := cvm.New()
	m.Connect(c, inv, "demo")
	if err := m.Refresh(ctx); err != nil {
		return err
	}
	for _, t := range m.Pending() {
		if t.Username == username {
			return m.Approve(ctx, t.ID)
		}
	}
	return fmt.Errorf("%s is not pending", username)
}

// onboard applies the Console's proposed onboarding of org: its co-managed techs in their own TechGroup, granted on
// the domains named after it, the MSP techs on every domain, and the All triplet gone; then it activates them.
func onboard(ctx context.Context, state string, inv wire.Invite, org string) error {
	c, err := ownerClient(state, inv)
	if err != nil {
		return err
	}
	defer c.Close()
	m := cvm.New()
	m.Connect(c, inv, "demo")
	if err := m.Refresh(ctx); err != nil {
		return err
	}
	o := m.NewOnboarding(org)
	if p := m.Preview(o); len(p.Problems) > 0 {
		return fmt.Errorf("onboard %s: %s", org, strings.Join(p.Problems, "; "))
	}
	_, err = m.ApplyOnboarding(ctx, o)
	return err
}
