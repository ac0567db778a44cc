// Package agentcli is the command line of watchword-agent: `enroll` once, then `run` as a service.
//
//	watchword-agent enroll --hub INVITE --token-file - --name contoso.local --driver ad \
//	    --ldap-url ldaps://dc1.contoso.local:636 --base-dn DC=contoso,DC=local \
//	    --ou OU=Watchword,DC=contoso,DC=local --bind-dn CN=watchword-svc,... --ca-file /etc/ssl/contoso-ca.pem \
//	    --bind-password-file /etc/watchword-agent/bind.pass --passphrase-file /etc/watchword-agent/passphrase
//	watchword-agent run
//	watchword-agent pin-authority [--replace] GENESIS-HASH
//	watchword-agent check --driver entra --tenant-id … --client-id … --cert-file … --key-file … --upn-domain …
//	watchword-agent service install|remove|start|stop   (Windows; Linux uses the systemd unit)
//
// enroll creates the agent's identity on this machine (keys never leave it) and keeps it in the state directory,
// sealed with a passphrase read from a file or an environment variable (a service has no desktop keyring;
// --keyring tries the OS keyring first). It enrolls the identity at the hub with the single-use token (read from a
// file, standard input or an environment variable) and writes the target's settings — never a secret, only where
// to read each one — to agent.json in the state directory. Secrets, the token included, are never accepted on the
// command line, where ps and shell histories would show them. Unless the token was created "approve on use", the
// agent is pending until an admin approves it in the Console, comparing the key fingerprint enroll prints.
//
// enroll --authority (the genesis hash of the tenant's signed authority, printed by the Console in the enrolment
// command) pins the agent to what the tenant's admins sign: run then checks every plan against it and refuses one
// the hub changed on its own (package agent, authority.go). pin-authority pins an agent enrolled before its hub
// signed anything; changing a pin takes --replace, since a new genesis is a deliberate act on this machine, never
// the hub's.
//
// check is the smoke test an MSP runs against a real Entra ID tenant, before or after enrolling: with --driver it
// takes the target flags of enroll, without it the enrolled agent.json. It signs in, creates a marked test user,
// sets and verifies a password, assigns and removes a harmless role and deletes the user, one line a step.
//
// run holds the state directory's lock (two agents never work one target), then polls the hub and keeps the
// target in line until SIGTERM or SIGINT, finishing the rotations in flight before it exits. On Windows the
// service commands (package winsvc) register run with the service control manager, whose Stop means the same.
//
// # Reading guide
//
//   - cli.go: Main and the commands (enroll, run, check, service, help), the secrets' sources and the logger;
//   - config.go: agent.json (what enroll and pin-authority write and run reads), the pinned anchor, and the
//     driver each target kind opens;
//   - fault_on.go, fault_off.go: the crash hook that only fault-injection builds (-tags faultinject) compile in;
//   - testdata/*.txtar with script_test.go: the command line's tests, testscript files that run watchword-agent
//     as its own process against an in-process hub; fault_test.go and jit_kill_test.go build the real binary
//     and kill it mid-rotation or mid-window.
package agentcli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/watchword/watchword/console/server/agent"
	"github.com/watchword/watchword/console/server/agent/driver/entra"
	"github.com/watchword/watchword/console/server/agent/winsvc"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/keystore"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/version"
	"github.com/watchword/watchword/shared/wire"
)

// Version is reported to the hub at enrollment: the release's, stamped by make release.
var Version = version.Version

// IdentityName is the keystore name of the agent's identity.
const IdentityName = "agent"

// JITStateName is the file in the state directory that keeps the open just-in-time windows, so that a restarted
// agent still disables each account at its expiry without the hub (console/server/agent/jit.go).
const JITStateName = "jit.json"

// AuthorityStateName is the file in the state directory that keeps the signed authority a pinned agent verified,
// so that a restarted agent still refuses an older head (console/server/agent/authority.go).
const AuthorityStateName = "authority.cbor"

// DefaultStateDir is used when neither --state-dir nor $STATE_DIRECTORY (set by systemd's StateDirectory=) is;
// on Windows the default is %ProgramData%\Watchword\agent (winsvc.DefaultPaths).
const DefaultStateDir = "/var/lib/watchword-agent"

const usage = `watchword-agent keeps each entitled technician's own admin account on one target (an AD domain, an
LDAP directory, this Linux host or one over SSH): it creates it, rotates its password and disables it, as the
Watchword hub plans.

Usage:
  watchword-agent enroll [flags]   enroll this machine's agent at the hub, once
  watchword-agent run [flags]      run until SIGTERM or SIGINT (the service)
  watchword-agent pin-authority [--replace] HASH
                                   pin an enrolled agent to its tenant's signed authority
  watchword-agent check [flags]    smoke-test the target with a throwaway account (entra)
  watchword-agent service ACTION   Windows: install, remove, start or stop the service that runs "run"
  watchword-agent help [command]   show the flags of a command
  watchword-agent --version        print the version

Secrets (the enrollment token, the bind password, the keystore passphrase) are read from a file or an
environment variable named by a flag (the token also from standard input: --token-file -), never from the command
line.
`

// Main runs the command line with args (without the program name).
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "enroll":
		return enroll(ctx, args[1:], stdout, stderr)
	case "run":
		return run(ctx, args[1:], stderr)
	case "pin-authority":
		return pinAuthority(args[1:], stdout, stderr)
	case "check":
		return check(ctx, args[1:], stdout, stderr)
	case "service":
		return service(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && args[1] == "service" {
			fmt.Fprint(stdout, winsvc.Usage)
			return nil
		}
		if len(args) > 1 && (args[1] == "enroll" || args[1] == "run" || args[1] == "pin-authority" || args[1] == "check") {
			if err := Main(ctx, []string{args[1], "-help"}, stdout, stdout); !errors.Is(err, flag.ErrHelp) {
				return err
			}
			return nil
		}
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

func defaultStateDir() string {
	if runtime.GOOS == "windows" {
		return winsvc.DefaultPaths(os.Getenv).StateDir
	}
	if d := os.Getenv("STATE_DIRECTORY"); d != "" {
		// systemd may list several, colon-separated; ours is the first.
		return strings.Split(d, ":")[0]
	}
	return DefaultStateDir
}

// service registers, starts, stops or removes the Windows service that runs `watchword-agent run`.
func service(args []string, stdout, stderr io.Writer) error {
	cmd, err := winsvc.Parse(args, os.Getenv, stderr)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("service: %w", err)
	}
	return winsvc.Do(cmd, exe, os.Getenv, stdout)
}

func newFlagSet(name, doc string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("watchword-agent "+name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: watchword-agent %s [flags]\n\n%s\nFlags:\n", name, doc)
		fs.PrintDefaults()
	}
	return fs
}

// secretFlags registers --NAME-file and --NAME-env.
func secretFlags(fs *flag.FlagSet, s *Secret, name, what string) {
	fs.StringVar(&s.File, name+"-file", "", "read "+what+" from this `file` (e.g. a systemd credential)")
	fs.StringVar(&s.Env, name+"-env", "", "read "+what+" from this environment `variable`")
}

func keyStore(dir string, cfg *Config, workFactor int) (*keystore.Store, error) {
	o := keystore.Options{
		Service:          "watchword-agent",
		Dir:              filepath.Join(dir, "keys"),
		ScryptWorkFactor: workFactor,
		Passphrase: func(bool) (string, error) {
			if !cfg.Passphrase.IsSet() {
				return "", keystore.ErrNoPassphrase
			}
			return cfg.Passphrase.Read("keystore passphrase")
		},
	}
	if !cfg.Keyring {
		o.Keyring = keystore.NoKeyring
	}
	return keystore.New(o)
}

const enrollDoc = `Enrolls this machine's agent at the hub with a single-use enrollment token from the Console, creating the
agent's identity here and writing the target's settings to the state directory. The token is read from a file, from
standard input (--token-file -: paste it when asked) or from an environment variable, never from the command line.
Unless the token was created "approve on use", the agent then waits as pending until an admin approves it in the
Console after comparing the key fingerprint printed here. Example (AD):

  watchword-agent enroll --hub 'watchword-invite:…' --token-file - --name contoso.local --driver ad \
    --ldap-url ldaps://dc1.contoso.local:636 --base-dn DC=contoso,DC=local --ou OU=Watchword,DC=contoso,DC=local \
    --bind-dn 'CN=watchword-svc,CN=Users,DC=contoso,DC=local' --ca-file /etc/ssl/contoso-ca.pem \
    --bind-password-file /etc/watchword-agent/bind.pass --passphrase-file /etc/watchword-agent/passphrase

When the tenant's admins sign its authority, the Console's command also carries --authority with the genesis hash
(not a secret): the agent then acts only on plans that agree with what the admins signed.
`

func enroll(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("enroll", enrollDoc, stderr)
	var cfg Config
	var stateDir, hub, tokenArg, genesis string
	var tokenSrc Secret
	var workFactor int
	fs.StringVar(&stateDir, "state-dir", defaultStateDir(), "state `directory` (identity, settings, lock); default $STATE_DIRECTORY or "+DefaultStateDir)
	fs.StringVar(&hub, "hub", "", "the hub's `invite` (watchword-invite:…) from the Console")
	fs.StringVar(&tokenArg, "token", "", "refused: a token on the command line shows in ps and shell histories; use --token-file or --token-env")
	secretFlags(fs, &tokenSrc, "token", "the enrollment token (--token-file -: standard input)")
	fs.StringVar(&cfg.Name, "name", "", "the target's `name` as admins see it, e.g. contoso.local")
	verify := targetFlags(fs, &cfg)
	fs.BoolVar(&cfg.Keyring, "keyring", false, "keep the identity in the OS keyring when one answers (default: the passphrase file only)")
	secretFlags(fs, &cfg.Passphrase, "passphrase", "the keystore passphrase")
	fs.IntVar(&cfg.Parallelism, "parallelism", 4, "accounts worked on at once")
	fs.StringVar(&genesis, "authority", "", "pin the tenant's signed authority: its genesis `hash` (64 hex digits) from the Console's enrolment command")
	fs.IntVar(&workFactor, "kdf-work-factor", 0, "scrypt `log2 cost` of the identity file (0: the keystore's default, 18); lower only in tests")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("enroll: unexpected argument %q", fs.Arg(0))
	}
	verify()
	var errs []error
	inv, err := wire.ParseInvite(hub)
	if err != nil {
		errs = append(errs, fmt.Errorf("--hub: %w", err))
	}
	var token string
	switch {
	case tokenArg != "":
		errs = append(errs, errTokenArg)
	case tokenSrc.File == "-" && tokenSrc.Env == "":
		if token, err = readTokenStdin(stderr); err != nil {
			errs = append(errs, err)
		}
	default:
		if token, err = tokenSrc.Read("enrollment token"); err != nil {
			errs = append(errs, fmt.Errorf("%w (give --token-file FILE, --token-file - for standard input, or --token-env NAME)", err))
		}
	}
	if cfg.Name == "" {
		errs = append(errs, errors.New("--name is required"))
	}
	if genesis != "" {
		cfg.Authority = &Anchor{Tenant: inv.ClientGUID, Genesis: strings.ToLower(strings.TrimSpace(genesis))}
		if _, err := cfg.Authority.Parse(); err != nil {
			errs = append(errs, fmt.Errorf("--authority: %w", err))
		}
	}
	if !cfg.Keyring && !cfg.Passphrase.IsSet() {
		errs = append(errs, errors.New("the keystore passphrase: give --passphrase-file or --passphrase-env"))
	}
	errs = append(errs, cfg.Check())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("enroll: %w", err)
	}
	if _, err := cfg.DriverFactory(); err != nil { // reads the target secrets now, so a typo fails here, not in the service
		return fmt.Errorf("enroll: target: %w", err)
	}
	if err := winsvc.MakeStateDir(stateDir); err != nil { // on Windows also an access list: SYSTEM, Administrators
		return fmt.Errorf("enroll: state dir: %w", err)
	}
	lock, err := agent.AcquireLock(stateDir)
	if err != nil {
		return fmt.Errorf("enroll: %w", err)
	}
	defer lock.Release()
	if old, err := LoadConfig(stateDir); err == nil {
		return fmt.Errorf("enroll: %q already holds agent %d of tenant %s; use another --state-dir", stateDir, old.AgentID, old.ClientGUID)
	}
	st, err := keyStore(stateDir, &cfg, workFactor)
	if err != nil {
		return fmt.Errorf("enroll: %w", err)
	}
	id, backend, err := keystore.LoadOrCreateIdentity(st, IdentityName)
	if err != nil {
		return fmt.Errorf("enroll: identity: %w", err)
	}
	c, err := hubclient.New(inv, id)
	if err != nil {
		return fmt.Errorf("enroll: %w", err)
	}
	defer c.Close()
	resp, err := c.Enroll(ctx, wire.EnrollRequest{Token: token, Name: cfg.Name, Driver: cfg.HubDriver(), Version: Version})
	if err != nil {
		return fmt.Errorf("enroll at %s: %w", inv.HubURL, err)
	}
	cfg.Invite, cfg.AgentID, cfg.ClientGUID = inv.String(), resp.AgentID, resp.ClientGUID
	if cfg.Authority != nil && resp.ClientGUID != inv.ClientGUID {
		return fmt.Errorf("enroll at %s: the hub enrolled this agent in tenant %s, but the invite and the pinned "+
			"signed authority are tenant %s's", inv.HubURL, resp.ClientGUID, inv.ClientGUID)
	}
	if err := cfg.Save(stateDir); err != nil {
		return fmt.Errorf("enroll: %w", err)
	}
	fmt.Fprintf(stdout, "enrolled agent %d (%s, driver %s) at %s\nkey fingerprint: %s\n%s\nstate: %s\n",
		resp.AgentID, cfg.Name, cfg.Driver, inv.HubURL, id.Public().Fingerprint(), backend.Describe(), stateDir)
	if cfg.Authority != nil {
		fmt.Fprintf(stdout, "signed authority: pinned to genesis %s\n", cfg.Authority.Genesis)
	}
	if resp.Status == wire.AgentPending {
		fmt.Fprintf(stdout, "status: pending — an admin must approve agent %d in the Console (Agents) after comparing the key "+
			"fingerprint above; until then run gets no plan and keeps asking\n", resp.AgentID)
	}
	return nil
}

// targetFlags defines the flags that say how to reach the target (enroll and check share them); the function it
// returns stores what only a parse knows, to be called after fs.Parse.
func targetFlags(fs *flag.FlagSet, cfg *Config) (afterParse func()) {
	fs.StringVar(&cfg.Driver, "driver", "", "target `kind`: ad, ldap, linux (this host), ssh (a Linux host over SSH) or entra (a Microsoft Entra ID tenant)")
	fs.StringVar(&cfg.LDAPURL, "ldap-url", "", "ad, ldap: directory `URL`, ldaps:// only")
	fs.StringVar(&cfg.BaseDN, "base-dn", "", "ad: the domain's base `DN`, e.g. DC=contoso,DC=local")
	fs.StringVar(&cfg.OU, "ou", "", "ad: the `DN` of the OU where accounts are created")
	fs.StringVar(&cfg.PeopleDN, "people-dn", "", "ldap: the `DN` where accounts are created")
	fs.StringVar(&cfg.GroupsDN, "groups-dn", "", "ldap: the `DN` where groups are looked up")
	fs.StringVar(&cfg.BindDN, "bind-dn", "", "ad, ldap: the `DN` the agent binds as to manage accounts")
	fs.StringVar(&cfg.CAFile, "ca-file", "", "ad, ldap: PEM `file` of the CA that signed the directory's certificate (default: system CAs); entra: tests only")
	secretFlags(fs, &cfg.BindPassword, "bind-password", "the bind password")
	fs.StringVar(&cfg.Prefix, "prefix", "", "linux, ssh: only manage account names starting with this `prefix`")
	fs.StringVar(&cfg.SSHAddr, "ssh-addr", "", "ssh: `host:port` of the Linux host")
	fs.StringVar(&cfg.SSHUser, "ssh-user", "root", "ssh: administrator `user` (root, or password-less sudo with --ssh-sudo)")
	fs.StringVar(&cfg.SSHHostKey, "ssh-host-key", "", "ssh: the host's public `key` (authorized_keys form), pinned")
	fs.StringVar(&cfg.SSHKeyFile, "ssh-key-file", "", "ssh: the agent's private key `file` for --ssh-user")
	fs.BoolVar(&cfg.SSHSudo, "ssh-sudo", false, "ssh: run account commands through sudo -n")
	fs.StringVar(&cfg.TenantID, "tenant-id", "", "entra: the directory (tenant) `ID`")
	fs.StringVar(&cfg.ClientID, "client-id", "", "entra: the app registration's application (client) `ID`")
	fs.StringVar(&cfg.CertFile, "cert-file", "", "entra: PEM `file` of the app's certificate, as uploaded to the app registration")
	fs.StringVar(&cfg.KeyFile, "key-file", "", "entra: PEM `file` of the certificate's private key (keep it 0600)")
	fs.StringVar(&cfg.UPNDomain, "upn-domain", "", "entra: the verified `domain` accounts are created in, e.g. contoso.com")
	fs.StringVar(&cfg.UsageLocation, "usage-location", "", "entra: two-letter `country` code set on new users, e.g. GB")
	verify := fs.Bool("verify", true, "entra: verify each password by a password sign-in (off where the tenant blocks that flow)")
	fs.StringVar(&cfg.VerifyClientID, "verify-client-id", "", "entra: the public client `ID` that signs in to verify (default --client-id)")
	fs.Func("verify-answer", "entra: `CODE=ANSWER`: what an AADSTS code says about the password (right, wrong, locked, disabled, no-account, unknown); repeatable", func(v string) error {
		code, answer, ok := strings.Cut(v, "=")
		if !ok {
			return fmt.Errorf("%q: want CODE=ANSWER, e.g. 50057=unknown", v)
		}
		if cfg.VerifyAnswers == nil {
			cfg.VerifyAnswers = map[string]string{}
		}
		cfg.VerifyAnswers[strings.TrimSpace(code)] = strings.TrimSpace(answer)
		return nil
	})
	fs.StringVar(&cfg.AuthorityURL, "authority-url", "", "entra: tests only: the login host instead of Microsoft's")
	fs.StringVar(&cfg.GraphURL, "graph-url", "", "entra: tests only: the Graph base URL instead of Microsoft's")
	fs.BoolVar(&cfg.IssueTAP, "issue-tap", false, "entra: give each just-in-time window a Temporary Access Pass sealed to the tech (for a tenant that requires MFA)")
	return func() {
		if cfg.Driver == DriverEntra {
			cfg.Verify = verify
		}
	}
}

var errTokenArg = errors.New("--token: a token on the command line shows in ps and shell histories; give --token-file FILE, --token-file - (standard input) or --token-env NAME")

// stdin is where --token-file - reads the token.
var stdin io.Reader = os.Stdin

// readTokenStdin reads the enrollment token, one line, from standard input, asking for it on a terminal.
func readTokenStdin(prompt io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprint(prompt, "enrollment token (from the Console): ")
		}
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("enrollment token: standard input: %w", err)
	}
	line = strings.TrimSpace(line)
	if line == "" {
		return "", errors.New("enrollment token: standard input is empty")
	}
	return line, nil
}

const runDoc = `Runs the agent until SIGTERM or SIGINT: holds the state directory's lock, long-polls the hub for the plan,
creates, rotates and disables accounts on the target, and finishes rotations in flight before it exits.
`

func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlagSet("run", runDoc, stderr)
	var o runOptions
	var level, format, logFile, eventLog string
	fs.StringVar(&o.stateDir, "state-dir", defaultStateDir(), "state `directory` written by enroll; default $STATE_DIRECTORY or "+DefaultStateDir)
	fs.StringVar(&level, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&format, "log-format", "text", "text or json")
	fs.StringVar(&logFile, "log-file", "", "append the log to this `file` instead of standard error")
	fs.StringVar(&eventLog, "event-log", "", "Windows: log to the Application event log under this `source` (service install registers it)")
	fs.IntVar(&o.parallelism, "parallelism", 0, "accounts worked on at once (default: as enrolled)")
	fs.DurationVar(&o.pollWait, "poll-wait", hubclient.DefaultPlanWait, "how long each plan long poll is held open")
	secretFlags(fs, &o.passphrase, "passphrase", "the keystore passphrase (default: as enrolled)")
	secretFlags(fs, &o.bindPassword, "bind-password", "the bind password (default: as enrolled)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("run: unexpected argument %q", fs.Arg(0))
	}
	// From here on SIGTERM means "stop cleanly", however early it comes.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	underSCM, err := winsvc.IsService()
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	log, closeLog, err := openLogger(stderr, level, format, logFile, eventLog)
	if err != nil {
		if underSCM { // still answer the SCM, which then records the failure instead of a start timeout
			return winsvc.Run(winsvc.DefaultName, func(context.Context) error { return err }, slog.New(slog.DiscardHandler))
		}
		return err
	}
	defer closeLog()
	if underSCM {
		// The service control manager's Stop and Shutdown play SIGTERM's part; errors go to the log, since a
		// service has no standard error anyone reads. (The SCM ignores the name of a service that has its
		// process to itself, so DefaultName serves whatever --name install used.)
		return winsvc.Run(winsvc.DefaultName, func(ctx context.Context) error { return runAgent(ctx, log, o) }, log)
	}
	return runAgent(ctx, log, o)
}

type runOptions struct {
	stateDir                 string
	parallelism              int
	pollWait                 time.Duration
	passphrase, bindPassword Secret
}

func runAgent(ctx context.Context, log *slog.Logger, o runOptions) error {
	lock, err := agent.AcquireLock(o.stateDir)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	defer lock.Release()
	cfg, err := LoadConfig(o.stateDir)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	if o.passphrase.IsSet() {
		cfg.Passphrase = o.passphrase
	}
	if o.bindPassword.IsSet() {
		cfg.BindPassword = o.bindPassword
	}
	if o.parallelism > 0 {
		cfg.Parallelism = o.parallelism
	}
	inv, _ := wire.ParseInvite(cfg.Invite) // checked by LoadConfig
	st, err := keyStore(o.stateDir, cfg, 0)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	secret, _, err := st.Load(IdentityName)
	if err != nil {
		return fmt.Errorf("run: identity: %w", err)
	}
	id, err := seal.ParseIdentity(secret)
	if err != nil {
		return fmt.Errorf("run: identity: %w", err)
	}
	newDriver, err := cfg.DriverFactory()
	if err != nil {
		return fmt.Errorf("run: target: %w", err)
	}
	hook, err := faultHook(log)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	c, err := hubclient.New(inv, id)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	defer c.Close()
	var pin *agent.AuthorityPin
	if cfg.Authority != nil {
		anchor, _ := cfg.Authority.Parse() // checked by LoadConfig
		pin = &agent.AuthorityPin{Anchor: anchor, File: filepath.Join(o.stateDir, AuthorityStateName), Hub: c}
	}
	r, err := agent.New(agent.Config{Hub: c, NewDriver: newDriver, Parallelism: cfg.Parallelism, PollWait: o.pollWait,
		JITStateFile: filepath.Join(o.stateDir, JITStateName), Authority: pin, Key: id.Signer(), TemporaryAccess: cfg.IssueTAP,
		Hook: hook, Logger: log.With("agent", cfg.AgentID, "target", cfg.Name, "driver", cfg.Driver)})
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	return r.Run(ctx)
}

const pinDoc = `Pins an enrolled agent to its tenant's signed authority: HASH is the genesis hash (64 hex digits) the Console
shows once the tenant's admins sign its authority. From its next start the agent acts only on plans that agree with
what the admins signed. Stop the agent first (the command takes the state directory's lock). A pin is changed only
with --replace, which also forgets the authority verified under the old one: a new genesis is a deliberate act on
this machine, never the hub's.
`

func pinAuthority(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("pin-authority", pinDoc, stderr)
	var stateDir string
	var replace bool
	fs.StringVar(&stateDir, "state-dir", defaultStateDir(), "state `directory` written by enroll; default $STATE_DIRECTORY or "+DefaultStateDir)
	fs.BoolVar(&replace, "replace", false, "replace an existing pin with another genesis")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// Flags may follow the hash too.
	var hashes []string
	for fs.NArg() > 0 {
		hashes = append(hashes, fs.Arg(0))
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return err
		}
	}
	if len(hashes) != 1 {
		fs.Usage()
		return errors.New("pin-authority: give the genesis hash, once")
	}
	if _, err := LoadConfig(stateDir); err != nil { // a clear "not enrolled" before the lock's own error
		return fmt.Errorf("pin-authority: %w", err)
	}
	lock, err := agent.AcquireLock(stateDir)
	if err != nil {
		return fmt.Errorf("pin-authority: %w", err)
	}
	defer lock.Release()
	cfg, err := LoadConfig(stateDir)
	if err != nil {
		return fmt.Errorf("pin-authority: %w", err)
	}
	inv, _ := wire.ParseInvite(cfg.Invite) // checked by LoadConfig
	next := &Anchor{Tenant: inv.ClientGUID, Genesis: strings.ToLower(strings.TrimSpace(hashes[0]))}
	if _, err := next.Parse(); err != nil {
		return fmt.Errorf("pin-authority: %w", err)
	}
	if old := cfg.Authority; old != nil {
		if *old == *next {
			fmt.Fprintf(stdout, "agent %d is already pinned to genesis %s\n", cfg.AgentID, next.Genesis)
			return nil
		}
		if !replace {
			return fmt.Errorf("pin-authority: agent %d is pinned to genesis %s; a hub cannot move a pin, so replacing it "+
				"takes --replace (only when the tenant's admins started a new signed authority)", cfg.AgentID, old.Genesis)
		}
	}
	// What was verified under another anchor is no evidence under this one.
	if err := os.Remove(filepath.Join(stateDir, AuthorityStateName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("pin-authority: %w", err)
	}
	cfg.Authority = next
	if err := cfg.Save(stateDir); err != nil {
		return fmt.Errorf("pin-authority: %w", err)
	}
	fmt.Fprintf(stdout, "agent %d (tenant %s) pinned to genesis %s; start the agent again to verify it\n", cfg.AgentID,
		next.Tenant, next.Genesis)
	return nil
}

// openLogger logs to stderr, a file (appended, readable by the agent's user only) or the Windows event log.
func openLogger(stderr io.Writer, level, format, file, eventLog string) (*slog.Logger, func(), error) {
	nop := func() {}
	if file != "" && eventLog != "" {
		return nil, nop, errors.New("run: give --log-file or --event-log, not both")
	}
	if eventLog != "" {
		var lv slog.Level
		if err := lv.UnmarshalText([]byte(level)); err != nil {
			return nil, nop, fmt.Errorf("--log-level %q: %w", level, err)
		}
		el, err := winsvc.OpenEventLog(eventLog)
		if err != nil {
			return nil, nop, fmt.Errorf("--event-log: %w", err)
		}
		return slog.New(winsvc.NewHandler(el, &slog.HandlerOptions{Level: lv})), func() { el.Close() }, nil
	}
	w, closeFn := stderr, nop
	if file != "" {
		f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, nop, fmt.Errorf("--log-file: %w", err)
		}
		w, closeFn = f, func() { f.Close() }
	}
	log, err := newLogger(w, level, format)
	if err != nil {
		closeFn()
		return nil, nop, err
	}
	return log, closeFn, nil
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", level, err)
	}
	o := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

const checkDoc = `check runs the target's smoke test with a throwaway account (Microsoft Entra ID only for now): sign in as
the app and list its application permissions, create a marked, disabled test user, read it back, set and verify a
password, assign and remove a harmless directory role, and delete the user. Give the target flags of enroll, or
none to check the agent enrolled in --state-dir.

  watchword-agent check --driver entra --tenant-id TENANT --client-id APP --cert-file app.pem --key-file app.key \
    --upn-domain contoso.com --usage-location GB
`

func check(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("check", checkDoc, stderr)
	var cfg Config
	var stateDir, name, role string
	fs.StringVar(&stateDir, "state-dir", defaultStateDir(), "state `directory` of an enrolled agent (when --driver is not given)")
	fs.StringVar(&name, "name", "watchword-check", "account `name` of the test user (created and deleted)")
	fs.StringVar(&role, "role", entra.CheckRole, "a harmless directory `role` to assign and remove")
	verify := targetFlags(fs, &cfg)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("check: unexpected argument %q", fs.Arg(0))
	}
	verify()
	c := &cfg
	if cfg.Driver == "" {
		var err error
		if c, err = LoadConfig(stateDir); err != nil {
			return fmt.Errorf("check: %w", err)
		}
	} else if err := cfg.Check(); err != nil {
		return fmt.Errorf("check: %w", err)
	}
	if c.Driver != DriverEntra {
		return fmt.Errorf("check: driver %q has no smoke test yet (entra has)", c.Driver)
	}
	ec, err := c.EntraConfig()
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	d, err := entra.New(ec)
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	defer d.Close()
	if err := d.Check(ctx, stdout, name, role); err != nil {
		return fmt.Errorf("check: %w", err)
	}
	fmt.Fprintln(stdout, "check passed")
	return nil
}
