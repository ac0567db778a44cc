package local

// Keeping the Console's hub running when its window closes. The hub a Console runs for itself stops with the
// Console: TechClients then wait, agents find no plan and rotations pause. Three ways out, offered at first start:
// the Console keeps running in the system tray when its window closes (package view), it starts at login (an XDG
// autostart entry, Autostart), or the same hub runs as a service of the admin's own user (ServiceSetup prints the
// systemd unit and the commands), which the Console then connects to instead of starting its own (Open).

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/watchword/watchword/shared/atomicfile"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// ServiceName is the systemd unit's name.
const ServiceName = "watchword-hub.service"

// ServiceSetup is how to run the hub of the Console set up in dir as a systemd service of the admin's user: the
// unit (running hubBinary, the watchword-hub command, on the same database, key and address) and the commands
// that install and start it. The service keeps running after logout once lingering is on.
func ServiceSetup(dir, hubBinary string) (unit, commands string, err error) {
	cfg, err := LoadConfig(dir)
	if err != nil {
		return "", "", err
	}
	if cfg.Mode != ModeLocal {
		return "", "", fmt.Errorf("this Console connects to a hub elsewhere (%s): there is no local hub to run as a service", cfg.Mode)
	}
	q := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }
	unit = fmt.Sprintf(`[Unit]
Description=Watchword hub (the Console's local hub)
After=network-online.target

[Service]
ExecStart=%s serve --db %s --key %s --listen %s
Restart=on-failure
RestartSec=5

[Install]
WantedBy=default.target
`, q(hubBinary), q(filepath.Join(dir, "hub.db")), q(filepath.Join(dir, "hub.key")), q(cfg.Listen))
	commands = fmt.Sprintf(`# Quit the Console first: the hub's database is used by one hub at a time.
mkdir -p ~/.config/systemd/user
cat > ~/.config/systemd/user/%[1]s <<'EOF'
%[2]sEOF
systemctl --user daemon-reload
systemctl --user enable --now %[1]s
loginctl enable-linger "$USER"     # keep it running after you log out and after a reboot
# Start the Console again: it finds the service on %[3]s and connects to it instead of running its own hub.
`, ServiceName, unit, cfg.Listen)
	return unit, commands, nil
}

// runningService connects to a hub already listening on listen with the invite's pin (the service of
// ServiceSetup), or returns nil when none answers within a second.
func runningService(ctx context.Context, listen string, inv wire.Invite, owner *seal.Identity) *hubclient.Client {
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		return nil
	}
	probe := inv
	probe.HubURL = "https://" + net.JoinHostPort("127.0.0.1", port)
	c, err := hubclient.New(probe, owner)
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := c.Tenant(ctx); err != nil {
		c.Close()
		return nil
	}
	return c
}

// Autostart turns the Console's start at login on or off for the current user (an XDG autostart entry running exe,
// which is what Linux desktops read). configDir is os.UserConfigDir() but for tests.
func Autostart(configDir, exe string, on bool) error {
	path := filepath.Join(configDir, "autostart", "watchword-console.desktop")
	if !on {
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("autostart: %w", err)
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("autostart: %w", err)
	}
	entry := fmt.Sprintf("[Desktop Entry]\nType=Application\nName=Watchword Console\nComment=Keeps the Console's hub running\nExec=%s\nX-GNOME-Autostart-enabled=true\n",
		desktopQuote(exe))
	return atomicfile.Write(path, []byte(entry), 0o600)
}

// AutostartOn reports whether the start at login is on.
func AutostartOn(configDir string) bool {
	_, err := os.Stat(filepath.Join(configDir, "autostart", "watchword-console.desktop"))
	return err == nil
}

// desktopQuote quotes an Exec argument as the Desktop Entry Specification says.
func desktopQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "`", "\\`", "$", `\$`)
	return `"` + r.Replace(s) + `"`
}
