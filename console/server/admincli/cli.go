// Package admincli is the `watchword` admin command line: the everyday admin operations of a tenant, for scripts
// (an RMM, a CI job) and for admins who prefer a shell, over shared/hubclient as any Console.
//
// It acts as an API identity: `watchword init` generates the key pair on the machine the script runs on, keeps it
// with the invite in a 0600 file of the config directory and claims the owner's API invite; an owner then approves
// the printed fingerprint (hub: apiidentity.go). Every command prints a table, or the hub's answer as JSON with
// --json, and fails with one line naming the reason (the hub's refusal, an unknown tech, a bad flag).
//
// Reading guide:
//   - cli.go: Run, the command table, the common flags, the config file, the table and JSON output
//   - identity.go: init (key, claim), whoami, admins (list, invite an API identity, approve, remove)
//   - tenant.go: techs, groups, rights, triplets, onboarding from a file, agents, JIT
//   - audit.go: audit (query, export, verify) and policy (get, set)
//
// The tests are testscript files in testdata against an in-process hub (script_test.go).
//
// Changes an API identity makes are not signed: a tenant whose admins sign its authority keeps them unsigned
// until an owner's Console signs them, and pinned agents refuse what is unsigned (docs/hub.md, API identities).
package admincli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/watchword/watchword/shared/atomicfile"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// ErrUsage marks a command line that names no known command; the main prints the usage with it.
var ErrUsage = errors.New("usage")

// env is what a command runs with.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	dir    string // the config directory
	json   bool
	client *hubclient.Client // set by connect
}

type command struct {
	name, args, doc string
	run             func(e *env, fs *flag.FlagSet, args []string) error
	flags           func(fs *flag.FlagSet) // extra flags, read back by run through fs.Lookup
}

// commands is the whole command line, "group verb" or a single word.
var commands []command

func init() {
	commands = append(commands, identityCommands...)
	commands = append(commands, tenantCommands...)
	commands = append(commands, auditCommands...)
}

// Run runs the command line args (without the program name).
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return ErrUsage
		}
		return nil
	}
	args = commonFirst(args)
	cmd, rest, ok := find(args)
	if !ok {
		return fmt.Errorf("%w: unknown command %q (`watchword help` lists them)", ErrUsage, strings.Join(args[:min(2, len(args))], " "))
	}
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("watchword "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&e.dir, "config", defaultDir(), "the `directory` of the identity file")
	fs.BoolVar(&e.json, "json", false, "print the hub's answer as JSON")
	if cmd.flags != nil {
		cmd.flags(fs)
	}
	pos, err := parse(fs, rest)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stderr, "watchword %s %s\n\n%s\n\nFlags:\n", cmd.name, cmd.args, cmd.doc)
		fs.SetOutput(stderr)
		fs.PrintDefaults()
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", cmd.name, err)
	}
	if err := cmd.run(e, fs, pos); err != nil {
		return fmt.Errorf("%s: %s", cmd.name, oneLine(err))
	}
	return nil
}

// commonFirst moves the common flags written before the command ("watchword --config DIR techs list") after it.
func commonFirst(args []string) []string {
	var common []string
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		name := strings.TrimLeft(args[0], "-")
		switch {
		case name == "json" || strings.HasPrefix(name, "json=") || strings.HasPrefix(name, "config="):
			common, args = append(common, args[0]), args[1:]
		case name == "config" && len(args) > 1:
			common, args = append(common, args[0], args[1]), args[2:]
		default:
			return append(args, common...)
		}
	}
	return append(args, common...)
}

func find(args []string) (command, []string, bool) {
	for _, c := range commands {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && slicesEqual(args[:len(words)], words) {
			return c, args[len(words):], true
		}
	}
	return command{}, nil, false
}

func slicesEqual(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

// parse parses flags wherever they are among the positional arguments ("techs approve 7 --json").
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: watchword COMMAND [ARGS] [--json] [--config DIR]\n\nCommands:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s %s\t%s\n", c.name, c.args, strings.SplitN(c.doc, "\n", 2)[0])
	}
	tw.Flush()
	fmt.Fprintln(w, "\n`watchword COMMAND --help` describes a command.")
}

// oneLine keeps a refusal on one line, whatever the hub or a parser said.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}

func defaultDir() string {
	if d := os.Getenv("WATCHWORD_CONFIG"); d != "" {
		return d
	}
	if d, err := os.UserConfigDir(); err == nil {
		return filepath.Join(d, "watchword")
	}
	return ".watchword"
}

// identityFile is the API identity of this machine: the invite of its hub and its private key (0600).
type identityFile struct {
	Invite string `json:"invite"`
	Key    string `json:"key"`
	Name   string `json:"name"`
}

const identityName = "identity.json"

func (e *env) identityPath() string { return filepath.Join(e.dir, identityName) }

func (e *env) saveIdentity(f identityFile) error {
	if err := os.MkdirAll(e.dir, 0o700); err != nil {
		return fmt.Errorf("create the config directory: %w", err)
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(e.identityPath(), append(b, '\n'), 0o600)
}

func (e *env) loadIdentity() (*identityFile, *seal.Identity, wire.Invite, error) {
	b, err := os.ReadFile(e.identityPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, wire.Invite{}, fmt.Errorf("no identity in %s: run `watchword init` first", e.dir)
	}
	if err != nil {
		return nil, nil, wire.Invite{}, err
	}
	var f identityFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, nil, wire.Invite{}, fmt.Errorf("identity file %s: %w", e.identityPath(), err)
	}
	id, err := seal.ParseIdentity(f.Key)
	if err != nil {
		return nil, nil, wire.Invite{}, fmt.Errorf("identity file %s: the key: %w", e.identityPath(), err)
	}
	inv, err := wire.ParseInvite(f.Invite)
	if err != nil {
		return nil, nil, wire.Invite{}, fmt.Errorf("identity file %s: the invite: %w", e.identityPath(), err)
	}
	return &f, id, inv, nil
}

// connect opens the hub client of the saved identity.
func (e *env) connect() error {
	_, id, inv, err := e.loadIdentity()
	if err != nil {
		return err
	}
	c, err := hubclient.New(inv, id, hubclient.WithTimeout(60*time.Second))
	if err != nil {
		return err
	}
	e.client = c
	return nil
}

// connected wraps a command that talks to the hub.
func connected(run func(e *env, fs *flag.FlagSet, args []string) error) func(e *env, fs *flag.FlagSet, args []string) error {
	return func(e *env, fs *flag.FlagSet, args []string) error {
		if err := e.connect(); err != nil {
			return err
		}
		defer e.client.Close()
		return run(e, fs, args)
	}
}

// print shows v as JSON with --json, else the table rows gives (a header first).
func (e *env) print(v any, rows func() [][]string) error {
	if e.json {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	for _, r := range rows() {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// nargs checks the count of positional arguments.
func nargs(args []string, n int, what string) error {
	if len(args) != n {
		return fmt.Errorf("want %s", what)
	}
	return nil
}

func str(fs *flag.FlagSet, name string) string { return fs.Lookup(name).Value.String() }
func boolean(fs *flag.FlagSet, name string) bool {
	return fs.Lookup(name).Value.(flag.Getter).Get().(bool)
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
