package hubserve

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/watchword/watchword/shared/seal"
)

// LoadOrCreateIdentity reads the hub's identity from path, creating it (mode 0600) if the file does not exist.
func LoadOrCreateIdentity(path string) (*seal.Identity, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		id, err := seal.ParseIdentity(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("hub identity %q: %w", path, err)
		}
		return id, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("hub identity %q: %w", path, err)
	}
	id, err := seal.GenerateIdentity()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("hub identity %q: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("hub identity %q: %w", path, err)
	}
	_, werr := f.WriteString(id.String() + "\n")
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		return nil, fmt.Errorf("hub identity %q: %w", path, err)
	}
	return id, nil
}
