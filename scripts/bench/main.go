// Command bench measures Watchword's performance tables in one run and writes them to docs/performance.md, with
// the scaling section's plot beside it.
//
// It measures nothing itself: every row is a `go test -bench` benchmark next to the code it measures, run here
// with fixed sizes and parsed from its result line, so a figure in the tables can be reproduced with the one
// command printed beside it. The product's own rows come first; then the rows beside the peers (Vault's LDAP
// secrets engine, age), whose benchmarks live in scripts/bench/peers, a Go module of its own so that their
// dependencies never enter the product's go.mod; then the scaling section, whose plot the peers module draws.
// Each row's goals are data (limits on named figures, rows.go), and its verdict checks every one (verdict.go).
// Run it through `make bench` (which starts the real targets when they are down) or:
//
//	WATCHWORD_TARGETS_ENV=/tmp/watchword-targets/targets.env go run ./scripts/bench [-out docs/performance.md] [-quick]
//
// Load generators talk only to loopback and stop by themselves: every benchmark is bounded in count and time,
// and each `go test` run has its own timeout.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// run is one `go test -bench` invocation, in the product's module or, with dir, in another module of the tree.
type run struct {
	dir, pkg, bench, benchtime string
	count                      int
	env                        []string
	timeout                    time.Duration
}

func (r run) args() []string {
	a := []string{"test", "-run", "^$", "-bench", r.bench, "-benchtime", r.benchtime, "-timeout", r.timeout.String()}
	if r.count > 1 {
		a = append(a, "-count", strconv.Itoa(r.count))
	}
	return append(a, r.pkg)
}

// command is the run as a shell line someone can paste at the top of the tree.
func (r run) command() string {
	var a []string
	for _, x := range r.args() {
		if strings.ContainsAny(x, "^$|()") {
			x = "'" + x + "'"
		}
		a = append(a, x)
	}
	c := strings.TrimSpace(strings.Join(r.env, " ") + " go " + strings.Join(a, " "))
	if r.dir != "" {
		c = "cd " + r.dir + " && " + c
	}
	return c
}

// result holds every metric of every result line of a run, by benchmark name (without the -N suffix) and unit;
// with -count each name has several values.
type result struct {
	metrics    map[string]map[string][]float64
	iterations map[string]int // b.N of the last result line of each benchmark
	notes      []string       // lines the benchmarks printed themselves
	err        error
	took       time.Duration
}

func (res *result) values(name, unit string) []float64 { return res.metrics[name][unit] }

func (res *result) first(name, unit string) float64 {
	if v := res.values(name, unit); len(v) > 0 {
		return v[0]
	}
	return math.NaN()
}

func parse(out []byte) *result {
	res := &result{metrics: map[string]map[string][]float64{}, iterations: map[string]int{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) >= 4 && strings.HasPrefix(f[0], "Benchmark") {
			if iters, err := strconv.Atoi(f[1]); err == nil {
				name := f[0]
				if i := strings.LastIndex(name, "-"); i > 0 {
					if _, err := strconv.Atoi(name[i+1:]); err == nil {
						name = name[:i]
					}
				}
				m := res.metrics[name]
				if m == nil {
					m = map[string][]float64{}
					res.metrics[name] = m
				}
				res.iterations[name] = iters
				for i := 2; i+1 < len(f); i += 2 {
					if v, err := strconv.ParseFloat(f[i], 64); err == nil {
						m[f[i+1]] = append(m[f[i+1]], v)
					}
				}
				continue
			}
		}
		// The benchmarks' own one-line summaries (lower-case start, figures in them).
		if line != "" && line[0] >= 'a' && line[0] <= 'z' && strings.ContainsAny(line, "0123456789") &&
			!strings.HasPrefix(line, "ok ") && !strings.HasPrefix(line, "goos") && !strings.HasPrefix(line, "goarch") &&
			!strings.HasPrefix(line, "pkg") && !strings.HasPrefix(line, "cpu") {
			res.notes = append(res.notes, line)
		}
	}
	return res
}

func execute(ctx context.Context, r run, log io.Writer) *result {
	fmt.Fprintf(log, "\n$ %s\n", r.command())
	ctx, cancel := context.WithTimeout(ctx, r.timeout+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", r.args()...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), r.env...)
	// go test runs the test binary as its child: on timeout, kill the whole group, or a hung binary would keep
	// the output pipe (and this command) open.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	var buf bytes.Buffer
	cmd.Stdout = io.MultiWriter(&buf, log)
	cmd.Stderr = io.MultiWriter(&buf, log)
	t0 := time.Now()
	err := cmd.Run()
	res := parse(buf.Bytes())
	res.took = time.Since(t0)
	if err != nil {
		res.err = fmt.Errorf("%s: %w", r.command(), err)
	}
	return res
}

// pct is the p-th percentile (nearest rank) of v.
func pct(v []float64, p float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[min(max(int(p/100*float64(len(s))+0.5)-1, 0), len(s)-1)]
}

func ms(v float64) string {
	switch {
	case math.IsNaN(v):
		return "—"
	case v < 1:
		return fmt.Sprintf("%.3f ms", v)
	case v < 100:
		return fmt.Sprintf("%.1f ms", v)
	default:
		return fmt.Sprintf("%.0f ms", v)
	}
}

func machine() (string, float64) {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for l := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	mem := 0.0
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for l := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
				mem = kb / 1024 / 1024
			}
		}
	}
	return fmt.Sprintf("%d cores (%s), %.0f GiB RAM, %s %s/%s", runtime.NumCPU(), cpu, mem, runtime.Version(), runtime.GOOS, runtime.GOARCH), load()
}

func load() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return math.NaN()
	}
	f := strings.Fields(string(b))
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

func gitRev() string {
	out, err := exec.Command("git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

func main() {
	out := flag.String("out", "docs/performance.md", "where to write the tables (the scaling plot goes beside it)")
	quick := flag.Bool("quick", false, "small sizes, to try the command itself (the tables say so)")
	flag.Parse()
	if os.Getenv("WATCHWORD_TARGETS_ENV") == "" {
		fmt.Fprintln(os.Stderr, "bench: WATCHWORD_TARGETS_ENV is not set: run `make bench`, or scripts/targets.sh start and point it at targets.env")
		os.Exit(2)
	}
	ctx := context.Background()
	started := time.Now()
	mach, load0 := machine()
	logf, err := os.Create(os.TempDir() + "/watchword-bench.log")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	defer logf.Close()
	log := io.MultiWriter(logf, os.Stderr)
	fmt.Fprintf(log, "watchword bench: %s, load %.2f at start\n", mach, load0)

	rs := runs(*quick)
	results := map[string]*result{}
	failed := false
	for _, k := range order(*quick) {
		res := execute(ctx, rs[k], log)
		results[k] = res
		failed = failed || res.err != nil
		fmt.Fprintf(log, "(%s)\n", res.took.Round(time.Second))
	}
	get := func(k string) *result { return results[k] }

	plotFile := filepath.Join(filepath.Dir(*out), plotName)
	sc := scaling(*quick, get)
	if err := sc.plot(ctx, plotFile, log); err != nil {
		fmt.Fprintf(log, "bench: plot: %v\n", err)
		sc.plotErr = err
		failed = true
	}
	load1 := load()

	var md strings.Builder
	fmt.Fprintf(&md, "# Performance\n\n")
	fmt.Fprintf(&md, "Measured by `make bench` (`go run ./scripts/bench`) on %s UTC at `%s`", started.UTC().Format("2006-01-02 15:04"), gitRev())
	if *quick {
		fmt.Fprintf(&md, " with `-quick` (reduced sizes: not the figures of record)")
	}
	fmt.Fprintf(&md, ", in %s.\n\n", time.Since(started).Round(time.Second))
	fmt.Fprintf(&md, "Machine: %s. The machine is shared: load average %.2f at the start, %.2f at the end (other builds and tests were running). "+
		"Ratios compare figures measured in the same run, interleaved where the row says so.\n\n", mach, load0, load1)
	table(&md, false, rs, get)
	fmt.Fprintf(&md, "\n%s\n", method)

	fmt.Fprintf(&md, "\n## Beside the peers\n\n%s\n\n", peersIntro)
	table(&md, true, rs, get)
	fmt.Fprintf(&md, "\n%s\n", peersNotes)
	published(&md, get)

	sc.write(&md, plotName)

	fmt.Fprintf(&md, "\n## Each row's command and its own summary\n\n")
	for _, s := range specs() {
		var cmds []string
		for _, k := range s.runs {
			cmds = append(cmds, rs[k].command())
		}
		name := s.name
		if s.peers {
			name += " (beside the peers)"
		}
		fmt.Fprintf(&md, "- **%s**: `%s`\n", name, strings.Join(cmds, "; "))
		notes(&md, s.runs, get, logf.Name())
	}
	fmt.Fprintf(&md, "- **onboarding** (published figures): the `access` run above\n")
	fmt.Fprintf(&md, "- **scaling**: `%s`", rs["scale-rotation"].command())
	for _, c := range hubSizes(*quick) {
		fmt.Fprintf(&md, "; `%s`", rs[fmt.Sprintf("scale-hub-%d", c)].command())
	}
	fmt.Fprintf(&md, "; the plot: `%s`\n", sc.plotCommand(plotName))
	keys := []string{"scale-rotation"}
	for _, c := range hubSizes(*quick) {
		keys = append(keys, fmt.Sprintf("scale-hub-%d", c))
	}
	notes(&md, keys, get, logf.Name())
	if sc.plotErr != nil {
		fmt.Fprintf(&md, "  - error: the plot: %v\n", sc.plotErr)
	}

	if b, err := os.ReadFile(notesFile); err == nil {
		fmt.Fprintf(&md, "\n%s", b)
	}
	if err := os.WriteFile(*out, []byte(md.String()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	fmt.Println()
	fmt.Print(md.String())
	fmt.Fprintf(os.Stderr, "\nbench: wrote %s and %s in %s (full log: %s)\n", *out, plotFile, time.Since(started).Round(time.Second), logf.Name())
	if failed {
		os.Exit(1)
	}
}

// table writes the rows of one table (the product's own, or beside the peers).
func table(md *strings.Builder, peers bool, rs map[string]run, get func(string) *result) {
	fmt.Fprintf(md, "| row | how | median | p99 | ratio | goal | |\n|---|---|---|---|---|---|---|\n")
	for _, s := range specs() {
		if s.peers != peers {
			continue
		}
		r, goal, v := build(s, get)
		fmt.Fprintf(md, "| %s | %s | %s | %s | %s | %s | %s |\n", s.name, r.how, r.median, r.p99, r.ratio, goal, v)
	}
}

// build makes a row from its runs' results: its text, its goal column and its verdict.
func build(s rowSpec, get func(string) *result) (row, string, string) {
	var err error
	for _, k := range s.runs {
		if res := get(k); res == nil {
			err = errors.Join(err, fmt.Errorf("%s: not run", k))
		} else if res.err != nil {
			err = errors.Join(err, res.err)
		}
	}
	get0 := func(k string) *result {
		if res := get(k); res != nil {
			return res
		}
		return &result{metrics: map[string]map[string][]float64{}, iterations: map[string]int{}}
	}
	r := s.build(get0)
	return r, goalText(s.limits, s.note), verdict(s.limits, r.figures, err)
}

// notes lists what the runs printed themselves, and their errors.
func notes(md *strings.Builder, keys []string, get func(string) *result, logName string) {
	for _, k := range keys {
		res := get(k)
		if res == nil {
			continue
		}
		for _, n := range res.notes {
			fmt.Fprintf(md, "  - %s\n", strings.TrimSpace(n))
		}
		if res.err != nil {
			fmt.Fprintf(md, "  - error: %v (log: %s)\n", res.err, logName)
		}
	}
}

// notesFile is appended to the tables as written: findings and fixes that outlive one run.
const notesFile = "scripts/bench/notes.md"

const method = `How to read it: *median* and *p99* are over the samples each benchmark collects — single operations where the
row measures latency (rotation cycles, push, offboarding, fetches, wake-ups), and the mean of one ` + "`-count`" + ` run where
the row says so (entitlement, TechClient, signed authority: ` + "`go test -count`" + ` repeats the benchmark, each run a
few operations). p99 is the nearest-rank percentile: with fewer than 100 samples it is the slowest one. Rows of run
means are judged on their median (a run mean's p99 is the noisiest run on a shared machine), latency rows on their
p99. Throughput reports the median and the worst pass instead. The goal column lists every limit of the row, and the
verdict checks each one: *missed* names every figure over its limit (or not measured); a row without a goal is
*reported*.`

func scale(v []float64, f float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x * f
	}
	return out
}
