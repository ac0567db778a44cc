package local

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/watchword/watchword/shared/keystore"
)

// TestHubAsService: the unit runs watchword-hub on the Console's own database, key and address; while that hub
// answers on the address (here the first Console's, as the service would), the next start connects to it instead
// of starting a second hub on the same database, and starts its own once it is gone.
func TestHubAsService(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	ks, err := keystore.New(keystore.Options{Service: "watchword-console-test", Dir: dir, Keyring: keystore.NoKeyring,
		Passphrase: func(bool) (string, error) { return "correct horse battery staple", nil }, ScryptWorkFactor: 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ServiceSetup(dir, "/opt/watchword/watchword-hub"); err != ErrNotConfigured {
		t.Fatalf("service setup before the hub exists: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	ln.Close()
	first, _, err := CreateLocal(ctx, dir, LocalSpec{Tenant: "Northwind IT", Abbrev: "nw", Listen: listen, PublicURL: "https://console.example:8443"}, ks)
	if err != nil {
		t.Fatal(err)
	}
	if !first.RunsHub {
		t.Fatal("the created hub does not say it runs in this process")
	}
	unit, cmds, err := ServiceSetup(dir, "/opt/watchword/watchword-hub")
	if err != nil {
		t.Fatal(err)
	}
	want := `ExecStart="/opt/watchword/watchword-hub" serve --db "` + filepath.Join(dir, "hub.db") + `" --key "` + filepath.Join(dir, "hub.key") + `" --listen "` + listen + `"`
	if !strings.Contains(unit, want) || !strings.Contains(cmds, "systemctl --user enable --now "+ServiceName) ||
		!strings.Contains(cmds, "loginctl enable-linger") || !strings.Contains(cmds, unit) {
		t.Fatalf("unit:\n%s\ncommands:\n%s", unit, cmds)
	}

	next, err := Open(ctx, dir, ks)
	if err != nil {
		t.Fatal(err)
	}
	if next.RunsHub || !strings.HasPrefix(next.Describe, "Local hub service on "+listen) {
		t.Fatalf("the next start runs its own hub beside the running one: %q", next.Describe)
	}
	if ten, err := next.Client.Tenant(ctx); err != nil || ten.Name != "Northwind IT" {
		t.Fatalf("tenant through the running hub: %+v, %v", ten, err)
	}
	next.Close()
	first.Close()
	again, err := Open(ctx, dir, ks)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if !again.RunsHub {
		t.Fatalf("with no hub running, the Console does not run its own: %q", again.Describe)
	}
}

// TestAutostart: the start at login is an XDG autostart entry that runs the Console, quoted; off removes it.
func TestAutostart(t *testing.T) {
	cfg := t.TempDir()
	if AutostartOn(cfg) {
		t.Fatal("on before it was turned on")
	}
	if err := Autostart(cfg, `/opt/Watchword Console/bin/watchword-console`, true); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(cfg, "autostart", "watchword-console.desktop"))
	if err != nil || !strings.Contains(string(b), "Exec=\"/opt/Watchword Console/bin/watchword-console\"\n") || !AutostartOn(cfg) {
		t.Fatalf("autostart entry %q, %v", b, err)
	}
	if err := Autostart(cfg, "", false); err != nil || AutostartOn(cfg) {
		t.Fatalf("off: %v", err)
	}
	if err := Autostart(cfg, "", false); err != nil {
		t.Fatalf("off twice: %v", err)
	}
}
