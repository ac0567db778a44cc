package local

import (
	"bytes"
	"fmt"

	"github.com/watchword/watchword/shared/atomicfile"
	"github.com/watchword/watchword/shared/seal"
)

// WriteRecovery saves the recovery identity to path as [SaveRecovery] writes it, readable by its owner only
// (mode 0600, whatever the umask), through a temporary file and a rename: an existing file at path is replaced
// whole, its mode with it.
func WriteRecovery(path, tenant string, id *seal.Identity) error {
	var buf bytes.Buffer
	if err := SaveRecovery(&buf, tenant, id); err != nil {
		return fmt.Errorf("save the recovery identity: %w", err)
	}
	b := buf.Bytes()
	defer clear(b)
	if err := atomicfile.Write(path, b, 0o600); err != nil {
		return fmt.Errorf("save the recovery identity: %w", err)
	}
	return nil
}
