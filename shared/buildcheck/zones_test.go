package buildcheck

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// zonePkgs are the packages whose tests format, schedule or compare times; each runs in under ten seconds with
// neither the real targets nor a display.
var zonePkgs = []string{
	"github.com/watchword/watchword/techclient/vm",
	"github.com/watchword/watchword/console/vm",
	"github.com/watchword/watchword/console/server/agent",
	"github.com/watchword/watchword/shared/rotation",
	"github.com/watchword/watchword/shared/wire",
}

// sweepPkgs are added to zonePkgs for the full sweep: slower, or with less of time in them.
var sweepPkgs = []string{
	"github.com/watchword/watchword/console/server/hub",
	"github.com/watchword/watchword/shared/entitle",
	"github.com/watchword/watchword/console/server/hub/store",
}

const (
	// zoneProbeEnv makes TestTimeTestsPassInOtherZones, started again as a child, print the zone it runs in.
	zoneProbeEnv = "WATCHWORD_ZONE_PROBE"
	// zoneSweepEnv=1 makes TestTimeTestsPassInOtherZones try every hour of the day, not two zones.
	zoneSweepEnv = "WATCHWORD_ZONE_SWEEP"
)

// A zone is a fixed offset, in seconds east of UTC, worked out just before a package's tests start.
type zone struct {
	name   string
	offset func() int
}

func fixed(name string, offset int) zone { return zone{name, func() int { return offset }} }

// beforeMidnight is the zone whose local midnight comes lead after a package's tests start; its offset has
// seconds, as no zone in use today does.
func beforeMidnight(lead time.Duration) zone {
	return zone{fmt.Sprintf("midnight in %v", lead), func() int { return offsetToMidnight(time.Now(), lead) }}
}

// TestTimeTestsPassInOtherZones runs the tests that format and schedule times again under two zones unlike the
// developer's and CI's: UTC+14, whose date is ahead of every other, and one whose local midnight comes a few
// seconds after each package's tests start. A test that expects a time of day or a date without saying in which
// zone, or that breaks when midnight falls while it runs, fails here at whatever hour it runs.
//
// WATCHWORD_ZONE_SWEEP=1 tries every hour of the day (every whole hour from UTC-11 to UTC+14, UTC-03:30, and
// midnight 3 s and 15 s into each run) on more packages, for a change that touches how times are shown or
// scheduled: about a quarter of an hour on two cores.
//
// Go ignores a POSIX TZ rule such as "XXX-14" (it takes the zone as UTC), so the zones are written as zone files
// and TZ names their path; a probe checks that a child process really runs in them.
func TestTimeTestsPassInOtherZones(t *testing.T) {
	if os.Getenv(zoneProbeEnv) != "" {
		fmt.Printf("zone %s\n", time.Now().Format("-07:00:00"))
		return
	}
	if testing.Short() {
		t.Skip("-short: the zone pass builds and runs the tests of five packages twice")
	}
	pkgs, zones := zonePkgs, []zone{fixed("UTC+14", 14*3600), beforeMidnight(3 * time.Second)}
	if os.Getenv(zoneSweepEnv) == "1" {
		pkgs = append(append([]string(nil), zonePkgs...), sweepPkgs...)
		zones = append(zones, fixed("UTC-03:30", -(3*3600+30*60)), beforeMidnight(15*time.Second))
		for h := -11; h <= 13; h++ {
			zones = append(zones, fixed(fmt.Sprintf("UTC%+03d", h), h*3600))
		}
	}
	dir := t.TempDir()
	dirs := pkgDirs(t, pkgs)
	bins := make([]string, len(pkgs))
	for i := range pkgs {
		bins[i] = filepath.Join(dir, fmt.Sprintf("pkg%d.test", i))
	}
	// Two at a time: linking and running a test binary is mostly one core's work.
	inPairs(len(pkgs), func(i int) {
		if out, err := exec.Command("go", "test", "-c", "-o", bins[i], pkgs[i]).CombinedOutput(); err != nil {
			t.Errorf("build the tests of %s: %v\n%s", pkgs[i], err, out)
		}
	})
	if t.Failed() {
		return
	}
	start := time.Now()
	inPairs(len(zones)*len(pkgs), func(j int) {
		z, i := zones[j%len(zones)], j/len(zones)
		loc := time.FixedZone("", z.offset())
		tz, err := zoneFile(dir, loc)
		if err != nil {
			t.Error(err)
			return
		}
		if got, err := probeZone(tz); err != nil || got != time.Now().In(loc).Format("-07:00:00") {
			t.Errorf("a child process given TZ=%s runs at UTC%s, not UTC%s (%v)", tz, got,
				time.Now().In(loc).Format("-07:00:00"), err)
			return
		}
		cmd := exec.Command(bins[i], "-test.count=1", "-test.timeout=2m")
		cmd.Dir, cmd.Env = dirs[pkgs[i]], childEnv(tz)
		began := time.Now().In(loc).Format("-07:00:00, local 15:04:05")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s fails in the zone %s (UTC%s at its start): %v\n%s", pkgs[i], z.name, began, err,
				failures(out))
		}
	})
	t.Logf("%d packages under %d zones in %v", len(pkgs), len(zones), time.Since(start).Round(time.Second))
}

// inPairs calls f(0) … f(n-1), two at a time, and returns when all have returned.
func inPairs(n int, f func(int)) {
	var wg sync.WaitGroup
	slots := make(chan struct{}, 2)
	for i := range n {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			f(i)
		}()
	}
	wg.Wait()
}

// offsetToMidnight returns the zone offset, in seconds east of UTC and within ±12 h, whose local time is lead
// before midnight at now.
func offsetToMidnight(now time.Time, lead time.Duration) int {
	u := now.UTC()
	sinceMidnight := u.Sub(time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC))
	off := int((24*time.Hour - lead - sinceMidnight) / time.Second)
	off = ((off % 86400) + 86400) % 86400
	if off > 12*3600 {
		off -= 86400
	}
	return off
}

// zoneFile writes a zone file for the fixed zone loc and returns its path.
func zoneFile(dir string, loc *time.Location) (string, error) {
	_, offset := time.Now().In(loc).Zone()
	data := tzif(offset)
	if loc, err := time.LoadLocationFromTZData("", data); err != nil {
		return "", fmt.Errorf("the zone file for UTC%+ds does not load: %w", offset, err)
	} else if _, got := time.Now().In(loc).Zone(); got != offset {
		return "", fmt.Errorf("the zone file for UTC%+ds loads as UTC%+ds", offset, got)
	}
	f, err := os.CreateTemp(dir, "zone")
	if err != nil {
		return "", err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return "", err
	}
	return f.Name(), f.Close()
}

// tzif is a version 1 zone file (RFC 8536) with no transitions and one local time type.
func tzif(offset int) []byte {
	b := append([]byte("TZif"), make([]byte, 16)...) // magic, version 1, reserved
	// UT/local indicators, standard/wall indicators, leap seconds, transitions, local time types, abbreviation bytes
	for _, n := range []uint32{0, 0, 0, 0, 1, 4} {
		b = binary.BigEndian.AppendUint32(b, n)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(int32(offset)))
	b = append(b, 0, 0) // not daylight saving time; abbreviation at index 0
	return append(b, "WWT\x00"...)
}

// probeZone starts this test binary again under TZ=tz and returns the offset it reports, as "-07:00:00".
func probeZone(tz string) (string, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestTimeTestsPassInOtherZones$", "-test.count=1")
	cmd.Env = append(childEnv(tz), zoneProbeEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("zone probe: %w\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if z, ok := strings.CutPrefix(line, "zone "); ok {
			return z, nil
		}
	}
	return "", fmt.Errorf("zone probe said nothing of its zone:\n%s", out)
}

// childEnv is this process's environment with TZ=tz, without the real targets: the packages' unit tests are
// what this pass is for, and the targets' tests run once, in the main run.
func childEnv(tz string) []string {
	var env []string
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "TZ", "CI", "WATCHWORD_TARGETS_ENV", zoneProbeEnv:
		default:
			env = append(env, kv)
		}
	}
	return append(env, "TZ="+tz)
}

// pkgDirs maps each package to its directory, where its tests run.
func pkgDirs(t *testing.T, pkgs []string) map[string]string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list", "-f", "{{.ImportPath}} {{.Dir}}"}, pkgs...)...).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dirs := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if pkg, d, ok := strings.Cut(line, " "); ok {
			dirs[pkg] = d
		}
	}
	return dirs
}

// failures keeps the lines of a test binary's output that say what failed.
func failures(out []byte) string {
	var keep []string
	for _, line := range strings.Split(string(out), "\n") {
		l := strings.TrimSpace(line)
		if strings.HasPrefix(l, "--- FAIL") || strings.HasPrefix(l, "panic:") || strings.Contains(l, "_test.go:") ||
			l == "FAIL" {
			keep = append(keep, line)
		}
	}
	if len(keep) == 0 {
		return string(out)
	}
	return strings.Join(keep, "\n")
}
