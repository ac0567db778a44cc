//go:build !faultinject

package agentcli

import (
	"log/slog"
	"os"

	"github.com/watchword/watchword/shared/rotation"
)

// FaultEnv names the fault-injection variable. A production build (without the faultinject build tag) has no
// hook at all: it only warns that the variable is set and ignores it.
const FaultEnv = "WATCHWORD_FAULT_POINT"

func faultHook(log *slog.Logger) (rotation.Hook, error) {
	if os.Getenv(FaultEnv) != "" {
		log.Warn(FaultEnv + " is set but this binary was built without fault injection; ignored")
	}
	return nil, nil
}
