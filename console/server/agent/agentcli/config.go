package agentcli

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"golang.org/x/crypto/ssh"

	"github.com/watchword/watchword/console/server/agent/driver"
	"github.com/watchword/watchword/console/server/agent/driver/ad"
	"github.com/watchword/watchword/console/server/agent/driver/entra"
	"github.com/watchword/watchword/console/server/agent/driver/linux"
	"github.com/watchword/watchword/console/server/agent/driver/openldap"
	"github.com/watchword/watchword/shared/atomicfile"
	"github.com/watchword/watchword/shared/authority"
	"github.com/watchword/watchword/shared/wire"
)

// ConfigFile is the name of the agent's configuration in its state directory.
const ConfigFile = "agent.json"

// Driver names on the command line. "ssh" manages a remote Linux host; the hub knows it as a linux agent.
const (
	DriverAD    = "ad"
	DriverLDAP  = "ldap"
	DriverLinux = "linux"
	DriverSSH   = "ssh"
	DriverEntra = "entra"
)

// Secret names where a secret is read at run time: a file (e.g. a systemd credential) or an environment
// variable. The secret itself is never stored in the configuration, and never taken from the command line.
type Secret struct {
	File string `json:"file,omitempty"`
	Env  string `json:"env,omitempty"`
}

// IsSet says whether a source was given.
func (s Secret) IsSet() bool { return s.File != "" || s.Env != "" }

// Read returns the secret without a trailing newline.
func (s Secret) Read(what string) (string, error) {
	switch {
	case s.File != "" && s.Env != "":
		return "", fmt.Errorf("%s: give a file or an environment variable, not both", what)
	case s.File != "":
		b, err := os.ReadFile(s.File)
		if err != nil {
			return "", fmt.Errorf("%s: %w", what, err)
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", fmt.Errorf("%s: file %q is empty", what, s.File)
		}
		return v, nil
	case s.Env != "":
		v := os.Getenv(s.Env)
		if v == "" {
			return "", fmt.Errorf("%s: environment variable %s is unset or empty", what, s.Env)
		}
		return v, nil
	}
	return "", fmt.Errorf("%s: no source given", what)
}

// Config is what `enroll` stores in the state directory: who the agent is at the hub and how to reach its
// target. Nothing in it is secret.
type Config struct {
	Invite     string `json:"invite"`
	AgentID    int64  `json:"agentId"`
	ClientGUID string `json:"clientGuid"`
	Name       string `json:"name"`
	Driver     string `json:"driver"`

	// LDAP-based targets (ad, ldap).
	LDAPURL      string `json:"ldapUrl,omitempty"`
	BaseDN       string `json:"baseDn,omitempty"`
	OU           string `json:"ou,omitempty"`
	PeopleDN     string `json:"peopleDn,omitempty"`
	GroupsDN     string `json:"groupsDn,omitempty"`
	BindDN       string `json:"bindDn,omitempty"`
	CAFile       string `json:"caFile,omitempty"`
	BindPassword Secret `json:"bindPassword,omitzero"`

	// Linux targets (linux, ssh).
	Prefix     string `json:"prefix,omitempty"`
	SSHAddr    string `json:"sshAddr,omitempty"`
	SSHUser    string `json:"sshUser,omitempty"`
	SSHHostKey string `json:"sshHostKey,omitempty"` // authorized_keys form, pinned
	SSHKeyFile string `json:"sshKeyFile,omitempty"`
	SSHSudo    bool   `json:"sshSudo,omitempty"`

	// Microsoft Entra ID (entra): one client tenant. The key file is the app's private key (PEM, 0600); the
	// certificate file its public certificate, as uploaded to the app registration. Verify (default on) verifies
	// each password by a resource-owner password sign-in as VerifyClientID (default ClientID); VerifyAnswers
	// overrides what an AADSTS code says ({"50057": "unknown"}). AuthorityURL and GraphURL replace Microsoft's
	// hosts for tests only, with CAFile as the test CA.
	TenantID       string            `json:"tenantId,omitempty"`
	ClientID       string            `json:"clientId,omitempty"`
	CertFile       string            `json:"certFile,omitempty"`
	KeyFile        string            `json:"keyFile,omitempty"`
	UPNDomain      string            `json:"upnDomain,omitempty"`
	UsageLocation  string            `json:"usageLocation,omitempty"`
	Verify         *bool             `json:"verify,omitempty"`
	VerifyClientID string            `json:"verifyClientId,omitempty"`
	VerifyAnswers  map[string]string `json:"verifyAnswers,omitempty"`
	AuthorityURL   string            `json:"authorityUrl,omitempty"`
	GraphURL       string            `json:"graphUrl,omitempty"`
	// IssueTAP gives each just-in-time window a Temporary Access Pass sealed to the tech's device, revoked when
	// the window closes: for a tenant that requires a second factor at sign-in (agent.Config.TemporaryAccess).
	IssueTAP bool `json:"issueTap,omitempty"`

	// The agent identity's keystore.
	Keyring    bool   `json:"keyring,omitempty"` // try the OS keyring before the passphrase file
	Passphrase Secret `json:"passphrase,omitzero"`

	Parallelism int `json:"parallelism,omitempty"`

	// Authority is the signed authority this agent is pinned to (enroll --authority or pin-authority); without
	// it the agent trusts the hub's plan.
	Authority *Anchor `json:"authority,omitempty"`
}

// Anchor is a pinned signed authority as agent.json keeps it: the tenant's client GUID, from the invite, and the
// genesis hash the Console printed. Neither is secret; both are set on this machine, never by the hub.
type Anchor struct {
	Tenant  string `json:"tenant"`
	Genesis string `json:"genesis"`
}

// Parse checks the anchor and returns it in the form the runner pins.
func (a *Anchor) Parse() (authority.Anchor, error) {
	h, err := authority.ParseHash(a.Genesis)
	if err != nil {
		return authority.Anchor{}, fmt.Errorf("signed authority: %w", err)
	}
	if a.Tenant == "" {
		return authority.Anchor{}, errors.New("signed authority: no tenant")
	}
	return authority.Anchor{Tenant: a.Tenant, Genesis: h}, nil
}

// HubDriver is the driver kind the hub knows the agent by.
func (c *Config) HubDriver() string {
	switch c.Driver {
	case DriverSSH, DriverLinux:
		return wire.DriverLinux
	case DriverLDAP:
		return wire.DriverLDAP
	case DriverEntra:
		return wire.DriverEntra
	}
	return wire.DriverAD
}

// Check validates the target settings (not the secrets, which are read when used).
func (c *Config) Check() error {
	var errs []error
	need := func(flag, v string) {
		if v == "" {
			errs = append(errs, fmt.Errorf("--%s is required for driver %s", flag, c.Driver))
		}
	}
	switch c.Driver {
	case DriverAD:
		need("ldap-url", c.LDAPURL)
		need("base-dn", c.BaseDN)
		need("ou", c.OU)
		need("bind-dn", c.BindDN)
	case DriverLDAP:
		need("ldap-url", c.LDAPURL)
		need("people-dn", c.PeopleDN)
		need("groups-dn", c.GroupsDN)
		need("bind-dn", c.BindDN)
	case DriverLinux:
	case DriverSSH:
		need("ssh-addr", c.SSHAddr)
		need("ssh-user", c.SSHUser)
		need("ssh-host-key", c.SSHHostKey)
		need("ssh-key-file", c.SSHKeyFile)
	case DriverEntra:
		need("tenant-id", c.TenantID)
		need("client-id", c.ClientID)
		need("cert-file", c.CertFile)
		need("key-file", c.KeyFile)
		need("upn-domain", c.UPNDomain)
		if _, err := entra.ParseAnswers(c.VerifyAnswers); err != nil {
			errs = append(errs, err)
		}
	default:
		errs = append(errs, fmt.Errorf("--driver %q: want ad, ldap, linux, ssh or entra", c.Driver))
	}
	if (c.Driver == DriverAD || c.Driver == DriverLDAP) && !c.BindPassword.IsSet() {
		errs = append(errs, errors.New("the bind password: give --bind-password-file or --bind-password-env"))
	}
	if c.Parallelism < 0 || c.Parallelism > 64 {
		errs = append(errs, fmt.Errorf("--parallelism %d: want 1 to 64", c.Parallelism))
	}
	return errors.Join(errs...)
}

// LoadConfig reads the configuration from the state directory.
func LoadConfig(dir string) (*Config, error) {
	path := filepath.Join(dir, ConfigFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("config %q: not enrolled yet (run watchword-agent enroll): %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("config %q: %w", path, err)
	}
	var c Config
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("config %q: %w", path, err)
	}
	if _, err := wire.ParseInvite(c.Invite); err != nil {
		return nil, fmt.Errorf("config %q: %w", path, err)
	}
	if err := c.Check(); err != nil {
		return nil, fmt.Errorf("config %q: %w", path, err)
	}
	if c.Authority != nil {
		if _, err := c.Authority.Parse(); err != nil {
			return nil, fmt.Errorf("config %q: %w", path, err)
		}
	}
	return &c, nil
}

// Save writes the configuration atomically, readable by the agent's user only.
func (c *Config) Save(dir string) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, ConfigFile), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	return nil
}

func (c *Config) tlsConfig() (*tls.Config, error) {
	var pool *x509.CertPool
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %q: no PEM certificate", c.CAFile)
		}
	} else {
		var err error
		if pool, err = x509.SystemCertPool(); err != nil {
			return nil, fmt.Errorf("system CA pool: %w", err)
		}
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// DriverFactory reads the target's secrets once and returns a function that opens one driver per call.
func (c *Config) DriverFactory() (func() (driver.Driver, error), error) {
	switch c.Driver {
	case DriverAD, DriverLDAP:
		pw, err := c.BindPassword.Read("bind password")
		if err != nil {
			return nil, err
		}
		tlsCfg, err := c.tlsConfig()
		if err != nil {
			return nil, err
		}
		if c.Driver == DriverAD {
			var cfg ad.Config
			cfg.URL, cfg.TLS, cfg.BindDN, cfg.Password = c.LDAPURL, tlsCfg, c.BindDN, pw
			cfg.BaseDN, cfg.OU = c.BaseDN, c.OU
			if _, err := ad.New(cfg); err != nil {
				return nil, err
			}
			return func() (driver.Driver, error) { return ad.New(cfg) }, nil
		}
		var cfg openldap.Config
		cfg.URL, cfg.TLS, cfg.BindDN, cfg.Password = c.LDAPURL, tlsCfg, c.BindDN, pw
		cfg.PeopleDN, cfg.GroupsDN = c.PeopleDN, c.GroupsDN
		if _, err := openldap.New(cfg); err != nil {
			return nil, err
		}
		return func() (driver.Driver, error) { return openldap.New(cfg) }, nil
	case DriverEntra:
		cfg, err := c.EntraConfig()
		if err != nil {
			return nil, err
		}
		if _, err := entra.New(cfg); err != nil {
			return nil, err
		}
		return func() (driver.Driver, error) { return entra.New(cfg) }, nil
	case DriverLinux:
		return func() (driver.Driver, error) { return linux.NewLocal(linux.LocalConfig{Prefix: c.Prefix}), nil }, nil
	case DriverSSH:
		hk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(c.SSHHostKey))
		if err != nil {
			return nil, fmt.Errorf("--ssh-host-key: %w", err)
		}
		pem, err := os.ReadFile(c.SSHKeyFile)
		if err != nil {
			return nil, fmt.Errorf("ssh key: %w", err)
		}
		signer, err := ssh.ParsePrivateKey(pem)
		if err != nil {
			return nil, fmt.Errorf("ssh key %q: %w", c.SSHKeyFile, err)
		}
		cfg := linux.SSHConfig{Addr: c.SSHAddr, HostKey: hk, User: c.SSHUser, Signer: signer, Sudo: c.SSHSudo, Prefix: c.Prefix}
		return func() (driver.Driver, error) { return linux.NewSSH(cfg) }, nil
	}
	return nil, fmt.Errorf("driver %q: unknown", c.Driver)
}

// EntraConfig reads the app's certificate and key and returns the entra driver's configuration.
func (c *Config) EntraConfig() (entra.Config, error) {
	var cfg entra.Config
	certPEM, err := os.ReadFile(c.CertFile)
	if err != nil {
		return cfg, fmt.Errorf("the app's certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(c.KeyFile)
	if err != nil {
		return cfg, fmt.Errorf("the app's key: %w", err)
	}
	certs, key, err := confidential.CertFromPEM(append(append(certPEM, '\n'), keyPEM...), "")
	if err != nil {
		return cfg, fmt.Errorf("the app's certificate %q and key %q: %w", c.CertFile, c.KeyFile, err)
	}
	answers, err := entra.ParseAnswers(c.VerifyAnswers)
	if err != nil {
		return cfg, err
	}
	tlsCfg, err := c.tlsConfig()
	if err != nil {
		return cfg, err
	}
	cfg = entra.Config{TenantID: c.TenantID, ClientID: c.ClientID, Certs: certs, Key: key, UPNDomain: c.UPNDomain,
		UsageLocation: c.UsageLocation, Verify: c.Verify == nil || *c.Verify, VerifyClientID: c.VerifyClientID,
		Answers: answers, AuthorityURL: c.AuthorityURL, GraphURL: c.GraphURL,
		HTTPClient: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg, Proxy: http.ProxyFromEnvironment}}}
	return cfg, nil
}
