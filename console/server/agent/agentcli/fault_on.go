//go:build faultinject

package agentcli

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/watchword/watchword/shared/rotation"
)

// FaultEnv names the rotation step boundary (after-stage, during-set, after-set, after-verify, after-confirm) at
// which a binary built with the faultinject tag stops, for the fault-injection test to SIGKILL it there. Only
// such a test build reads it.
const FaultEnv = "WATCHWORD_FAULT_POINT"

// FaultMarker starts the line printed on stdout when the binary stands at the fault point.
const FaultMarker = "watchword-fault:"

func faultHook(log *slog.Logger) (rotation.Hook, error) {
	want := os.Getenv(FaultEnv)
	if want == "" {
		return nil, nil
	}
	var point rotation.Point
	for _, p := range rotation.Points {
		if p.String() == want {
			point = p
		}
	}
	if point == 0 {
		return nil, fmt.Errorf("%s=%q: not a rotation step boundary", FaultEnv, want)
	}
	log.Warn("FAULT INJECTION BUILD: the agent will stop at a rotation step boundary", "point", want)
	var once sync.Once
	return func(_ context.Context, p rotation.Point, ref rotation.Ref, version int64) error {
		if p != point {
			return nil
		}
		hit := false
		once.Do(func() { hit = true })
		if !hit {
			return nil
		}
		if p == rotation.DuringSet && rand.N(2) == 1 {
			// The set is under way: half the kills land at once (before or as the request leaves), the others
			// anywhere across its round trip.
			time.Sleep(time.Duration(rand.N(40)) * time.Millisecond)
		}
		fmt.Fprintf(os.Stdout, "%s point=%s account=%s version=%d\n", FaultMarker, p, ref.Account, version)
		os.Stdout.Sync()
		// Stand here until the test's SIGKILL; a test that never sends it must not leave the process behind.
		time.Sleep(2 * time.Minute)
		os.Exit(97)
		return nil
	}, nil
}
