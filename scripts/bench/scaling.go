package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// plotName is the scaling section's figure, written beside the tables.
const plotName = "performance-scaling.png"

// rotationPoint is one size of the rotation scaling run.
type rotationPoint struct {
	accounts                          int
	passS, perMS, cpuMS, rate, planMS float64
}

// hubPoint is one size of the hub memory scaling runs.
type hubPoint struct {
	clients                             int
	idle, peak, errs, wakeP99, fetchP99 float64
	err                                 error
}

type scalingFigures struct {
	rotation []rotationPoint
	rotErr   error
	hub      []hubPoint
	plotErr  error
}

// scaling gathers the scaling section's figures from its runs.
func scaling(quick bool, get func(string) *result) *scalingFigures {
	sc := &scalingFigures{}
	if res := get("scale-rotation"); res != nil {
		sc.rotErr = res.err
		for _, s := range rotationSizes(quick) {
			n := "BenchmarkRotationScale/accounts=" + s
			a, _ := strconv.Atoi(s)
			sc.rotation = append(sc.rotation, rotationPoint{accounts: a, passS: res.first(n, "pass-s"), perMS: res.first(n, "ms/rotation"),
				cpuMS: res.first(n, "cpu-ms/rotation"), rate: res.first(n, "rot/s"), planMS: res.first(n, "plan-ms")})
		}
	}
	for _, c := range hubSizes(quick) {
		res := get(fmt.Sprintf("scale-hub-%d", c))
		if res == nil {
			continue
		}
		n := "BenchmarkHubUnderLoad"
		sc.hub = append(sc.hub, hubPoint{clients: c, idle: res.first(n, "rss-idle-MiB"), peak: res.first(n, "rss-peak-MiB"),
			errs: res.first(n, "errors"), wakeP99: res.first(n, "wake-p99-ms"), fetchP99: res.first(n, "small-p99-ms"), err: res.err})
	}
	return sc
}

// args are the plot command's flags: each measured figure as size=value.
func (sc *scalingFigures) args() []string {
	var rot, idle, peak []string
	for _, p := range sc.rotation {
		if p.passS > 0 {
			rot = append(rot, fmt.Sprintf("%d=%g", p.accounts, p.passS))
		}
	}
	for _, p := range sc.hub {
		if p.idle > 0 {
			idle = append(idle, fmt.Sprintf("%d=%g", p.clients, p.idle))
		}
		if p.peak > 0 {
			peak = append(peak, fmt.Sprintf("%d=%g", p.clients, p.peak))
		}
	}
	return []string{"-rotation", strings.Join(rot, ","), "-idle", strings.Join(idle, ","), "-peak", strings.Join(peak, ",")}
}

func (sc *scalingFigures) plotCommand(out string) string {
	return "cd " + peersDir + " && go run ./cmd/scaleplot " + strings.Join(sc.args(), " ") + " -out ../../../docs/" + out
}

// plot draws the figure into file with the peers module's plotting command.
func (sc *scalingFigures) plot(ctx context.Context, file string, log io.Writer) error {
	abs, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", append(append([]string{"run", "./cmd/scaleplot"}, sc.args()...), "-out", abs)...)
	cmd.Dir = peersDir
	cmd.Stdout, cmd.Stderr = log, log
	fmt.Fprintf(log, "\n$ %s\n", sc.plotCommand(filepath.Base(file)))
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go run ./cmd/scaleplot: %w", err)
	}
	return nil
}

// growth says how a cost per unit changed from the smallest size to the largest.
func growth(from, to float64) string {
	if from <= 0 || to <= 0 || math.IsNaN(from) || math.IsNaN(to) {
		return "—"
	}
	return fmt.Sprintf("%.2f×", to/from)
}

// write is the scaling section.
func (sc *scalingFigures) write(md *strings.Builder, plot string) {
	fmt.Fprintf(md, "\n## Scaling\n\n")
	fmt.Fprintf(md, "How the cost grows with the work: one agent rotating every account it manages on OpenLDAP (accounts are cheap "+
		"there), and one hub holding long-polling TechClients. Both panels have logarithmic axes, so cost in proportion to the "+
		"work is a line of slope one; the dashed line continues the two smallest sizes, and a measured point above it grew "+
		"worse than linearly.\n\n")
	if sc.plotErr == nil {
		fmt.Fprintf(md, "![Rotation pass time by accounts on one agent, and hub memory by long-polling TechClients](%s)\n\n", plot)
	} else {
		fmt.Fprintf(md, "(No plot: %v.)\n\n", sc.plotErr)
	}
	fmt.Fprintf(md, "| accounts on one agent (OpenLDAP) | one rotation pass | per rotation | CPU per rotation (hub + agent) | rotations/s | the agent's first plan |\n|---|---|---|---|---|---|\n")
	for _, p := range sc.rotation {
		fmt.Fprintf(md, "| %s | %.1f s | %s | %s | %.0f | %s |\n", thousands(p.accounts), p.passS, ms(p.perMS), ms(p.cpuMS), p.rate, ms(p.planMS))
	}
	if sc.rotErr != nil {
		fmt.Fprintf(md, "\n(The rotation run failed: %v.)\n", sc.rotErr)
	}
	if n := len(sc.rotation); n >= 2 {
		a, b := sc.rotation[0], sc.rotation[n-1]
		fmt.Fprintf(md, "\nFrom %s to %s accounts the time per rotation changed %s and the CPU per rotation %s: a pass costs "+
			"in proportion to its accounts when both stay near 1×. Each pass: the runner ensures every account (a search for it "+
			"and for its groups), then the full cycle with parallelism 4: the hub stages and confirms each version in its own "+
			"write transaction, the agent binds as the account to verify.\n",
			thousands(a.accounts), thousands(b.accounts), growth(a.perMS, b.perMS), growth(a.cpuMS, b.cpuMS))
	}
	fmt.Fprintf(md, "\n| long-polling TechClients | hub RSS, all polling | peak RSS | errors | wake-up p99 | poller delta p99 |\n|---|---|---|---|---|---|\n")
	for _, p := range sc.hub {
		e := fmt.Sprintf("%.0f", p.errs)
		if p.err != nil {
			e = "run failed"
		}
		fmt.Fprintf(md, "| %s | %.0f MiB | %.0f MiB | %s | %s | %s |\n", thousands(p.clients), p.idle, p.peak, e, ms(p.wakeP99), ms(p.fetchP99))
	}
	if n := len(sc.hub); n >= 2 {
		a, b := sc.hub[0], sc.hub[n-1]
		if b.clients > a.clients && b.idle > 0 && a.idle > 0 {
			fmt.Fprintf(md, "\nFrom %s to %s TechClients the hub's resident set grew by %.0f KiB per client. "+
				"The hub-under-load benchmark at each size: the hub in its own process, every client one account, a tech with "+
				"100 accounts, 10 s of rotations (one poller's every 0.1 s; no tenant-wide change falls in so short a run); the resident set is read "+
				"from the hub process (VmRSS once all clients poll, VmHWM for the peak). Errors are requests that failed or "+
				"timed out and wake-ups that never came.\n",
				thousands(a.clients), thousands(b.clients), (b.idle-a.idle)*1024/float64(b.clients-a.clients))
		}
	}
}

// thousands prints n with commas: 10,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
