// Package winsvc runs watchword-agent as a Windows service, the way domain controllers run it.
//
// An administrator enrolls the agent once, then registers it with the service control manager (SCM):
//
//	watchword-agent service install     creates the state directory locked to SYSTEM and Administrators,
//	                                    registers WatchwordAgent (automatic, delayed start, restarted on
//	                                    failure) and its event log source
//	watchword-agent service start|stop  asks the SCM and waits until the service is running or stopped
//	watchword-agent service remove      stops and unregisters it; the state directory stays
//
// The SCM then starts `watchword-agent run --state-dir … --event-log WatchwordAgent` as LocalSystem. run notices
// that it was started by the SCM ([IsService]) and hands its work to [Run], which turns the SCM's Stop and
// Shutdown into the same clean stop SIGTERM gives on Linux: no new work, rotations in flight finish. Logs go to
// the Application event log ([OpenEventLog], [NewHandler]) or, with --log FILE, to a file.
//
// Everything that can be decided without Windows — the command line ([Parse]), default paths ([DefaultPaths]),
// the service's own command line ([Options.RunArgs]), the event log handler and the stop protocol — is portable
// and unit-tested on Linux; only the thin calls into the SCM and the event log are in *_windows.go. On other
// systems those return [ErrNotWindows]: Linux runs the agent under systemd (scripts/watchword-agent.service).
package winsvc

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"
)

// Service identity in the SCM and the event log.
const (
	DefaultName = "WatchwordAgent"
	DisplayName = "Watchword agent"
	Description = "Creates, rotates and disables each entitled technician's own admin account on this target, " +
		"as the Watchword hub plans."
)

// LogEventLog as the --log value sends logs to the Windows event log, under the service's name as source.
const LogEventLog = "eventlog"

// StopTimeout bounds how long stop waits for the agent to finish the rotations in flight: each rotation step
// is bounded at 30 s, and the systemd unit gives 90 s too.
const StopTimeout = 90 * time.Second

// ErrNotWindows is returned by the SCM and event log calls on other systems.
var ErrNotWindows = errors.New("windows services exist on Windows only; on Linux run the agent with the systemd unit scripts/watchword-agent.service")

// ErrExists says a service of that name is already installed.
var ErrExists = errors.New("service already installed")

// ErrNotInstalled says no service of that name is installed.
var ErrNotInstalled = errors.New("service not installed")

// Actions of `watchword-agent service`.
const (
	ActionInstall = "install"
	ActionRemove  = "remove"
	ActionStart   = "start"
	ActionStop    = "stop"
)

// Paths are the agent's default locations on Windows, all inside one state directory that install locks down
// (the passphrase and bind password files must never be readable by ordinary users).
type Paths struct {
	StateDir         string // %ProgramData%\Watchword\agent
	PassphraseFile   string // the keystore passphrase, for enroll --passphrase-file
	BindPasswordFile string // the directory bind password (ad, ldap), for enroll --bind-password-file
	LogFile          string // used with --log file
}

// DefaultPaths derives the default paths from the environment (os.Getenv on a real system); %ProgramData% is
// C:\ProgramData when unset, as on every Windows since Vista.
func DefaultPaths(getenv func(string) string) Paths {
	base := strings.TrimRight(getenv("ProgramData"), `\/`)
	if base == "" {
		base = `C:\ProgramData`
	}
	dir := joinWin(base, "Watchword", "agent")
	return Paths{
		StateDir:         dir,
		PassphraseFile:   joinWin(dir, "passphrase"),
		BindPasswordFile: joinWin(dir, "bind-password"),
		LogFile:          joinWin(dir, "agent.log"),
	}
}

// joinWin joins Windows path elements with backslashes, whatever system the code runs on.
func joinWin(elem ...string) string {
	for i, e := range elem {
		if i > 0 {
			e = strings.Trim(e, `\/`)
		}
		elem[i] = strings.TrimRight(e, `\/`)
	}
	return strings.Join(elem, `\`)
}

// IsAbsWindows says whether p is an absolute Windows path: a drive path (C:\…) or a UNC path (\\server\…).
// The SCM starts services in C:\Windows\System32, so a relative path would silently point there.
func IsAbsWindows(p string) bool {
	if strings.HasPrefix(p, `\\`) {
		return len(p) > 2
	}
	return len(p) >= 3 && isLetter(p[0]) && p[1] == ':' && (p[2] == '\\' || p[2] == '/')
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// Options are what install registers; the other actions use only Name.
type Options struct {
	Name     string // service name and event log source
	StateDir string
	// Secret sources that override those recorded at enrollment; empty keeps the enrolled ones.
	PassphraseFile   string
	BindPasswordFile string
	Log              string // LogEventLog or an absolute log file path
	LogLevel         string
	Manual           bool // start on demand instead of automatically (delayed) at boot
}

// Command is a parsed `watchword-agent service ACTION [flags]`.
type Command struct {
	Action string
	Options
}

// RunArgs is the command line the SCM starts the agent with (after the executable's path; the SCM quotes each
// argument, so paths with spaces are safe). Secrets never appear here: only the files they are read from.
func (o Options) RunArgs() []string {
	args := []string{"run", "--state-dir", o.StateDir, "--log-level", o.LogLevel}
	if o.Log == LogEventLog {
		args = append(args, "--event-log", o.Name)
	} else {
		args = append(args, "--log-file", o.Log)
	}
	if o.PassphraseFile != "" {
		args = append(args, "--passphrase-file", o.PassphraseFile)
	}
	if o.BindPasswordFile != "" {
		args = append(args, "--bind-password-file", o.BindPasswordFile)
	}
	return args
}

// Usage documents `watchword-agent service`.
const Usage = `Usage: watchword-agent service install|remove|start|stop [flags]

Runs the agent as a Windows service (run these as an Administrator; on Linux use the systemd unit).

  install   lock the state directory down to SYSTEM and Administrators, register the service (automatic
            delayed start, restarted on failure, runs as LocalSystem) and its event log source
  start     start the service and wait until it runs
  stop      stop it: no new work, rotations in flight finish (up to 90 s)
  remove    stop and unregister the service; the state directory and its identity stay

Typical order: copy watchword-agent.exe to C:\Program Files\Watchword\, run "service install", put the
passphrase (and bind password) files into the state directory, "enroll" with --passphrase-file and
--bind-password-file pointing there, then "service start".
`

// Parse parses the arguments after `service`. getenv supplies the environment for the default paths.
func Parse(args []string, getenv func(string) string, stderr io.Writer) (Command, error) {
	if len(args) == 0 {
		fmt.Fprint(stderr, Usage)
		return Command{}, flag.ErrHelp
	}
	cmd := Command{Action: args[0]}
	switch cmd.Action {
	case ActionInstall, ActionRemove, ActionStart, ActionStop:
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stderr, Usage)
		return Command{}, flag.ErrHelp
	default:
		fmt.Fprint(stderr, Usage)
		return Command{}, fmt.Errorf("service: unknown action %q: want install, remove, start or stop", cmd.Action)
	}
	def := DefaultPaths(getenv)
	fs := flag.NewFlagSet("watchword-agent service "+cmd.Action, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, Usage, "\nFlags of "+cmd.Action+":\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&cmd.Name, "name", DefaultName, "service `name` (and event log source); one per state directory")
	if cmd.Action == ActionInstall {
		fs.StringVar(&cmd.StateDir, "state-dir", def.StateDir, "the agent's state `directory`, as given to enroll")
		fs.StringVar(&cmd.PassphraseFile, "passphrase-file", "", "read the keystore passphrase from this `file` (default: as enrolled)")
		fs.StringVar(&cmd.BindPasswordFile, "bind-password-file", "", "read the bind password from this `file` (default: as enrolled)")
		fs.StringVar(&cmd.Log, "log", LogEventLog, "where the service logs: "+LogEventLog+" (the Application event log) or a log `file`, e.g. "+def.LogFile)
		fs.StringVar(&cmd.LogLevel, "log-level", "info", "debug, info, warn or error")
		fs.BoolVar(&cmd.Manual, "manual", false, "start only on demand, not at boot")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return Command{}, err
	}
	if fs.NArg() > 0 {
		return Command{}, fmt.Errorf("service %s: unexpected argument %q", cmd.Action, fs.Arg(0))
	}
	if err := cmd.check(); err != nil {
		return Command{}, fmt.Errorf("service %s: %w", cmd.Action, err)
	}
	return cmd, nil
}

func (c *Command) check() error {
	var errs []error
	if c.Name == "" || strings.ContainsAny(c.Name, `/\ `) || len(c.Name) > 256 {
		errs = append(errs, fmt.Errorf("--name %q: want a non-empty name without slashes or spaces", c.Name))
	}
	if c.Action != ActionInstall {
		return errors.Join(errs...)
	}
	abs := func(flag, p string) {
		if p != "" && !IsAbsWindows(p) {
			errs = append(errs, fmt.Errorf("--%s %q: want an absolute path such as C:\\… (services start in C:\\Windows\\System32)", flag, p))
		}
	}
	if c.StateDir == "" {
		errs = append(errs, errors.New("--state-dir must not be empty"))
	}
	abs("state-dir", c.StateDir)
	abs("passphrase-file", c.PassphraseFile)
	abs("bind-password-file", c.BindPasswordFile)
	if c.Log == "" {
		errs = append(errs, errors.New("--log: want "+LogEventLog+" or a file path"))
	} else if c.Log != LogEventLog {
		abs("log", c.Log)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.LogLevel))
	}
	return errors.Join(errs...)
}

// ExeWarning returns a warning when the executable a service would run as LocalSystem lies outside
// %ProgramFiles% (e.g. in Downloads): whoever can replace that file would run code as SYSTEM.
func ExeWarning(exe string, getenv func(string) string) string {
	pf := strings.TrimRight(getenv("ProgramFiles"), `\/`)
	if pf == "" {
		pf = `C:\Program Files`
	}
	if strings.HasPrefix(strings.ToLower(exe), strings.ToLower(pf)+`\`) {
		return ""
	}
	return fmt.Sprintf("warning: the service will run %s as LocalSystem; copy watchword-agent.exe under %s "+
		"(writable by Administrators only) and install from there", exe, pf)
}

// StateDirSDDL is the state directory's access list after install: protected from inheritance (P), full
// access for SYSTEM (SY, the service's account) and the Administrators group (BA), inherited by the files and
// folders inside (OICI). Ordinary users get nothing, not even the directory listing.
const StateDirSDDL = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"

// Do performs a parsed service command for the executable exe (os.Executable()), telling the operator on out
// what happened.
func Do(cmd Command, exe string, getenv func(string) string, out io.Writer) error {
	if runtime.GOOS != "windows" {
		return ErrNotWindows
	}
	var err error
	switch cmd.Action {
	case ActionInstall:
		if w := ExeWarning(exe, getenv); w != "" {
			fmt.Fprintln(out, w)
		}
		if err = install(cmd.Options, exe); err == nil {
			fmt.Fprintf(out, "installed service %s: %s %s\nstate directory %s (SYSTEM and Administrators only)\n",
				cmd.Name, exe, strings.Join(cmd.RunArgs(), " "), cmd.StateDir)
		}
	case ActionRemove:
		if err = remove(cmd.Name); err == nil {
			fmt.Fprintf(out, "removed service %s\n", cmd.Name)
		}
	case ActionStart:
		if err = start(cmd.Name); err == nil {
			fmt.Fprintf(out, "service %s is running\n", cmd.Name)
		}
	case ActionStop:
		if err = stop(cmd.Name); err == nil {
			fmt.Fprintf(out, "service %s is stopped\n", cmd.Name)
		}
	default:
		err = fmt.Errorf("unknown action %q", cmd.Action)
	}
	if err != nil {
		return fmt.Errorf("service %s %q: %w", cmd.Action, cmd.Name, err)
	}
	return nil
}
