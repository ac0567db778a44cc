// Package local starts the hub a Console runs for itself, or connects the Console to a hub elsewhere, and
// remembers which in the Console's config directory.
//
// A single MSP admin needs nothing but the Console: on first start it creates a local hub in-process (SQLite and
// the hub's key in os.UserConfigDir()/watchword, listening for TechClients and agents), makes the admin its owner
// with an identity kept in the OS keyring (or a passphrase-sealed file), and generates the tenant's recovery
// identity once, for the owner to save offline: it is never written here. A larger MSP runs watchword-hub as a
// service and the Console connects to it with the invite and the owner claim token `watchword-hub init` printed.
//
// local.go holds the config, the sessions (CreateLocal, Open, Connect, Demo) and the recovery file's writing;
// service.go keeps a Console's hub running beyond its window (the systemd unit of the same hub, which Open then
// connects to, and the start at login); recoveryfile.go the recovery identity's file.
package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/watchword/watchword/console/server/hub"
	"github.com/watchword/watchword/console/server/hub/hubserve"
	"github.com/watchword/watchword/console/server/hub/store"
	"github.com/watchword/watchword/console/vm/demo"
	"github.com/watchword/watchword/shared/atomicfile"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/keystore"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// Modes of a Console.
const (
	ModeLocal  = "local"  // the Console runs the hub
	ModeRemote = "remote" // the Console connects to a hub elsewhere
)

// ErrNotConfigured means the Console has not been set up yet.
var ErrNotConfigured = errors.New("console not set up")

// KeyName is the keystore name of the Console admin's identity.
const KeyName = "console-admin"

// Config is what the Console remembers between starts (no secret in it).
type Config struct {
	Mode   string `json:"mode"`
	Invite string `json:"invite"` // the tenant's invite as TechClients get it
	Listen string `json:"listen,omitempty"`
	// Authority is the genesis hash of the tenant's signed authority this Console verifies from: set when this
	// Console signed the genesis or its admin pasted the hash, never taken from the hub.
	Authority string `json:"authority,omitempty"`
}

// PinAuthority records genesis (64 hex digits) as the anchor of the tenant's signed authority in dir/console.json.
func PinAuthority(dir, genesis string) error {
	c, err := LoadConfig(dir)
	if err != nil {
		return err
	}
	c.Authority = genesis
	return c.save(dir)
}

// Dir is the Console's config directory.
func Dir() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("config directory: %w", err)
	}
	return filepath.Join(d, "watchword"), nil
}

// LoadConfig reads dir/console.json, or fails with ErrNotConfigured.
func LoadConfig(dir string) (*Config, error) {
	b, err := os.ReadFile(filepath.Join(dir, "console.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotConfigured
	}
	if err != nil {
		return nil, fmt.Errorf("read console config: %w", err)
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("console config %s: %w", filepath.Join(dir, "console.json"), err)
	}
	return &c, nil
}

func (c *Config) save(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(c, "", "  ")
	return atomicfile.Write(filepath.Join(dir, "console.json"), b, 0o600)
}

// Session is a Console connected to a hub: the owner's client, the invite to hand out, and the local hub if the
// Console runs one.
type Session struct {
	Client   *hubclient.Client
	Invite   wire.Invite
	Describe string
	Backend  keystore.Backend
	// Identity is the admin's identity: its Signer signs the tenant's authority, inside this process.
	Identity *seal.Identity
	// RunsHub: the hub runs in this process and stops when the session closes (service.go says how to keep it).
	RunsHub bool
	close   []func()
}

// Close stops the local hub, if any.
func (s *Session) Close() {
	for i := len(s.close) - 1; i >= 0; i-- {
		s.close[i]()
	}
}

// LocalSpec describes a new local hub.
type LocalSpec struct {
	Tenant    string // the MSP's name
	Abbrev    string // used in account names
	Listen    string // e.g. 0.0.0.0:8443
	PublicURL string // how TechClients and agents reach it, e.g. https://console.msp.example:8443
}

// serve opens the store and key in dir and starts listening.
func serve(ctx context.Context, dir, listen string, cfg hub.Config) (*hub.Hub, *hubserve.Server, func(), error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, nil, err
	}
	id, err := hubserve.LoadOrCreateIdentity(filepath.Join(dir, "hub.key"))
	if err != nil {
		return nil, nil, nil, err
	}
	st, err := store.Open(ctx, filepath.Join(dir, "hub.db"))
	if err != nil {
		return nil, nil, nil, err
	}
	h := hub.New(st, id, cfg)
	srv, err := hubserve.Listen(h, listen, hubserve.Config{})
	if err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = st.Close()
	}
	return h, srv, stop, nil
}

// loopback is the URL the Console itself uses to reach its hub, whatever interface it listens on.
func loopback(srv *hubserve.Server) string {
	_, port, _ := net.SplitHostPort(srv.Addr().String())
	return "https://127.0.0.1:" + port
}

// CreateLocal creates the local hub, its tenant and the owner, and returns the session and the recovery identity
// the owner must save offline (the hub keeps only its public recipient).
func CreateLocal(ctx context.Context, dir string, spec LocalSpec, ks *keystore.Store) (*Session, *seal.Identity, error) {
	recovery, err := seal.GenerateIdentity()
	if err != nil {
		return nil, nil, err
	}
	h, srv, stop, err := serve(ctx, dir, spec.Listen, hub.Config{})
	if err != nil {
		return nil, nil, err
	}
	s, err := func() (*Session, error) {
		nt, err := h.CreateTenant(ctx, hub.TenantSpec{Name: spec.Tenant, Abbrev: spec.Abbrev, Recovery: recovery.Public().Recipient().String()})
		if err != nil {
			return nil, err
		}
		owner, backend, err := keystore.LoadOrCreateIdentity(ks, KeyName)
		if err != nil {
			return nil, fmt.Errorf("owner identity: %w", err)
		}
		if _, err := h.AddAdmin(ctx, nt.GUID, owner.Public(), "Owner", wire.RoleOwner); err != nil {
			return nil, err
		}
		public := h.Invite(strings.TrimRight(spec.PublicURL, "/"), nt.GUID)
		if err := public.Validate(); err != nil {
			return nil, fmt.Errorf("public URL %q: %w", spec.PublicURL, err)
		}
		c, err := hubclient.New(h.Invite(loopback(srv), nt.GUID), owner)
		if err != nil {
			return nil, err
		}
		cfg := &Config{Mode: ModeLocal, Invite: public.String(), Listen: spec.Listen}
		if err := cfg.save(dir); err != nil {
			return nil, err
		}
		return &Session{Client: c, Invite: public, Backend: backend, Identity: owner, Describe: "Local hub on " + srv.Addr().String() + " · " + backend.Describe(),
			RunsHub: true}, nil
	}()
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("create local hub: %w", err)
	}
	s.close = append(s.close, stop, s.Client.Close)
	return s, recovery, nil
}

// Open starts the session a set-up Console remembers.
func Open(ctx context.Context, dir string, ks *keystore.Store) (*Session, error) {
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	inv, err := wire.ParseInvite(cfg.Invite)
	if err != nil {
		return nil, fmt.Errorf("console config: %w", err)
	}
	owner, backend, err := keystore.LoadOrCreateIdentity(ks, KeyName)
	if err != nil {
		return nil, fmt.Errorf("admin identity: %w", err)
	}
	if cfg.Mode == ModeRemote {
		c, err := hubclient.New(inv, owner)
		if err != nil {
			return nil, err
		}
		return &Session{Client: c, Invite: inv, Backend: backend, Identity: owner, Describe: "Hub " + inv.HubURL + " · " + backend.Describe(), close: []func(){c.Close}}, nil
	}
	// The same hub run as a service (service.go) answers already: use it rather than a second one on its database.
	if c := runningService(ctx, cfg.Listen, inv, owner); c != nil {
		return &Session{Client: c, Invite: inv, Backend: backend, Identity: owner, Describe: "Local hub service on " + cfg.Listen + " · " + backend.Describe(), close: []func(){c.Close}}, nil
	}
	h, srv, stop, err := serve(ctx, dir, cfg.Listen, hub.Config{})
	if err != nil {
		return nil, fmt.Errorf("start local hub: %w", err)
	}
	c, err := hubclient.New(h.Invite(loopback(srv), inv.ClientGUID), owner)
	if err != nil {
		stop()
		return nil, err
	}
	return &Session{Client: c, Invite: inv, Backend: backend, Identity: owner, Describe: "Local hub on " + srv.Addr().String() + " · " + backend.Describe(),
		RunsHub: true, close: []func(){stop, c.Close}}, nil
}

// Connect makes this Console an admin of a hub elsewhere with a claim token.
func Connect(ctx context.Context, dir, invite, token, name string, ks *keystore.Store) (*Session, error) {
	inv, err := wire.ParseInvite(strings.TrimSpace(invite))
	if err != nil {
		return nil, fmt.Errorf("invite: %w", err)
	}
	owner, backend, err := keystore.LoadOrCreateIdentity(ks, KeyName)
	if err != nil {
		return nil, fmt.Errorf("admin identity: %w", err)
	}
	c, err := hubclient.New(inv, owner)
	if err != nil {
		return nil, err
	}
	if _, err := c.Claim(ctx, strings.TrimSpace(token), name); err != nil {
		c.Close()
		return nil, fmt.Errorf("claim admin on %s: %w", inv.HubURL, err)
	}
	if err := (&Config{Mode: ModeRemote, Invite: inv.String()}).save(dir); err != nil {
		c.Close()
		return nil, err
	}
	return &Session{Client: c, Invite: inv, Backend: backend, Identity: owner, Describe: "Hub " + inv.HubURL + " · " + backend.Describe(), close: []func(){c.Close}}, nil
}

// Demo runs a throwaway hub in dir filled with the demo data set (three client organizations, twelve techs, eight
// domains), with Contoso Ltd already onboarded as co-managed, for trying the Console and for its screenshots.
func Demo(ctx context.Context, dir string) (*Session, error) {
	h, srv, stop, err := serve(ctx, dir, "127.0.0.1:0", hub.Config{RateBurst: 100, RateEvery: time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	s, err := func() (*Session, error) {
		recovery, _ := seal.GenerateIdentity()
		nt, err := h.CreateTenant(ctx, hub.TenantSpec{Name: "Northwind IT", Abbrev: "nw", Recovery: recovery.Public().Recipient().String()})
		if err != nil {
			return nil, err
		}
		owner, _ := seal.GenerateIdentity()
		if _, err := h.AddAdmin(ctx, nt.GUID, owner.Public(), "Owner", wire.RoleOwner); err != nil {
			return nil, err
		}
		inv := h.Invite(loopback(srv), nt.GUID)
		c, err := hubclient.New(inv, owner)
		if err != nil {
			return nil, err
		}
		w, err := demo.Populate(ctx, inv, c)
		if err != nil {
			return nil, err
		}
		if _, err := c.Onboard(ctx, wire.OnboardRequest{Organization: "Contoso Ltd", CoManagedGroup: "Contoso Ltd co-managed techs",
			CoManagedTechs: []int64{w.Techs["gkim"], w.Techs["hadams"]}, MSPGroup: "MSP techs",
			MSPTechs:    []int64{w.Techs["amoreau"], w.Techs["bokafor"], w.Techs["chenli"], w.Techs["dvolkov"]},
			DomainGroup: "Contoso Ltd domains", Domains: []int64{w.Agents["contoso.local"], w.Agents["contoso-files01"]}}); err != nil {
			return nil, err
		}
		if err := demo.MSPJustInTime(ctx, c, "MSP techs"); err != nil {
			return nil, err
		}
		return &Session{Client: c, Invite: inv, Identity: owner, Describe: "Demo hub on " + srv.Addr().String() + " (throwaway data)", close: []func(){stop, c.Close}}, nil
	}()
	if err != nil {
		stop()
		return nil, fmt.Errorf("demo hub: %w", err)
	}
	return s, nil
}

// SaveRecovery writes the recovery identity in age's identity file format, for `age -d -i FILE`.
func SaveRecovery(w interface{ Write([]byte) (int, error) }, tenant string, id *seal.Identity) error {
	_, err := fmt.Fprintf(w, "# Watchword recovery identity of %s, created %s\n# recipient: %s\n# Break glass: age -d -i THIS-FILE envelope.age\n%s\n",
		tenant, time.Now().UTC().Format(time.RFC3339), id.Public().Recipient(), id.AgeIdentity())
	return err
}
