package vm

import (
	"flag"
	"fmt"
	"io"
	"os/user"
	"strings"
)

// Prefill is what an MSP's deployment tool (an RMM pushing the installer to many desktops) hands the TechClient
// on its first start, so the technician only confirms who they are. Nothing in it is secret: an invite names a
// hub and pins its key, it grants nothing by itself.
type Prefill struct {
	Invite   string
	Username string
}

// Environment variables a deployment tool may set machine-wide instead of passing flags.
const (
	EnvInvite   = "WATCHWORD_INVITE"
	EnvUsername = "WATCHWORD_USERNAME"
)

// ParseArgs reads the TechClient's command line: --invite and --username, falling back to EnvInvite and
// EnvUsername, and, when an invite was given, for the username to the OS login name without its DOMAIN\ part. getenv and login are
// os.Getenv and the current user's name in production.
func ParseArgs(args []string, getenv func(string) string, login func() string, stderr io.Writer) (Prefill, error) {
	fs := flag.NewFlagSet("techclient", flag.ContinueOnError)
	fs.SetOutput(stderr)
	invite := fs.String("invite", "", "the MSP's invite (watchword-invite:…) to fill in on first start; or set "+EnvInvite)
	username := fs.String("username", "", "the username to suggest on first start; or set "+EnvUsername+" (default: your login name)")
	fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return Prefill{}, err
	}
	if fs.NArg() > 0 {
		return Prefill{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	p := Prefill{Invite: strings.TrimSpace(*invite), Username: strings.TrimSpace(*username)}
	if p.Invite == "" {
		p.Invite = strings.TrimSpace(getenv(EnvInvite))
	}
	if p.Username == "" {
		p.Username = strings.TrimSpace(getenv(EnvUsername))
	}
	// The login name is only a guess worth showing when a deployment tool set the TechClient up; a technician
	// who installs it by hand types their MSP username into an empty field.
	if p.Username == "" && p.Invite != "" && login != nil {
		name := login()
		if i := strings.LastIndexByte(name, '\\'); i >= 0 {
			name = name[i+1:]
		}
		p.Username = strings.ToLower(strings.TrimSpace(name))
	}
	return p, nil
}

// LoginName is the current OS user's name, or "" when the OS does not say.
func LoginName() string {
	u, err := user.Current()
	if err != nil {
		return ""
	}
	return u.Username
}

// Prefill returns what the first-run form starts with.
func (a *App) Prefill() Prefill { return a.o.Prefill }
