package vm

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/watchword/watchword/shared/atomicfile"
	"github.com/watchword/watchword/shared/wire"
)

// Device is what this device remembers about its registration: nothing secret, so it is a plain JSON file.
type Device struct {
	Invite       wire.Invite     `json:"invite"`
	TechID       int64           `json:"techId"`
	Username     string          `json:"username"`
	DisplayName  string          `json:"displayName"`
	Email        string          `json:"email"`
	Organization string          `json:"organization,omitempty"`
	Fingerprint  string          `json:"fingerprint"`
	Status       wire.TechStatus `json:"status"`
	TenantName   string          `json:"tenantName,omitempty"`
	// Replacing is set while this device waits for approval as the replacement of the tech's previous device,
	// whose fingerprint OldFingerprint is.
	Replacing      bool   `json:"replacing,omitempty"`
	OldFingerprint string `json:"oldFingerprint,omitempty"`
	// UnlockFailures counts failed passphrase unlocks not yet reported to the hub (see twofactor.go).
	UnlockFailures int `json:"unlockFailures,omitempty"`
}

func (d *Device) describe() string {
	host := d.Invite.HubURL
	if u, err := url.Parse(d.Invite.HubURL); err == nil && u.Host != "" {
		host = u.Host
	}
	who := d.Username
	if d.TenantName != "" {
		return fmt.Sprintf("%s at %s (%s)", who, d.TenantName, host)
	}
	return fmt.Sprintf("%s on %s", who, host)
}

const (
	deviceFile = "device.json"
	cacheFile  = "credentials.json"
)

var errNoDevice = errors.New("device is not registered")

func loadDevice(dir string) (*Device, error) {
	raw, err := os.ReadFile(filepath.Join(dir, deviceFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, errNoDevice
	}
	if err != nil {
		return nil, fmt.Errorf("read device file: %w", err)
	}
	var d Device
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("device file %q: %w", filepath.Join(dir, deviceFile), err)
	}
	return &d, nil
}

func saveDevice(dir string, d *Device) error {
	raw, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, deviceFile), raw)
}

// cache is the offline copy of the last credentials answer. Its envelopes are sealed to this device, so it
// holds nothing a thief without the device key could open; it is still written with mode 0600.
type cache struct {
	SyncedAt    time.Time                `json:"syncedAt"`
	Credentials wire.CredentialsResponse `json:"credentials"`
	// Events are reveals and copies made while the hub was unreachable, reported when it answers again.
	Events []wire.EventRequest `json:"events,omitempty"`
}

func loadCache(dir string) (*cache, error) {
	raw, err := os.ReadFile(filepath.Join(dir, cacheFile))
	if err != nil {
		return nil, err
	}
	var c cache
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("cache %q: %w", filepath.Join(dir, cacheFile), err)
	}
	return &c, nil
}

func saveCache(dir string, c *cache) error {
	raw, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, cacheFile), raw)
}

// writeAtomic writes mode 0600 data through shared/atomicfile, so a crash or a full disk never leaves half a file.
func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(path, data, 0o600)
}
