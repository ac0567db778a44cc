// Command bench measures Watchword's performance table in one run and writes it to docs/performance.md.
//
// It measures nothing itself: every row is a `go test -bench` benchmark next to the code it measures, run here
// with fixed sizes and parsed from its result line, so a figure in the table can be reproduced with the one
// command printed beside it. Run it through `make bench` (which starts the real targets when they are down) or:
//
//	WATCHWORD_TARGETS_ENV=/tmp/watchword-targets/targets.env go run ./scripts/bench [-out docs/performance.md]
//
// Load generators talk only to loopback and stop by themselves: every benchmark is bounded in count and time,
// and each `go test` run has its own timeout.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// run is one `go test -bench` invocation.
type run struct {
	pkg, bench, benchtime string
	count                 int
	env                   []string
	timeout               time.Duration
}

func (r run) args() []string {
	a := []string{"test", "-run", "^$", "-bench", r.bench, "-benchtime", r.benchtime, "-timeout", r.timeout.String()}
	if r.count > 1 {
		a = append(a, "-count", strconv.Itoa(r.count))
	}
	return append(a, r.pkg)
}

// command is the run as a shell line someone can paste.
func (r run) command() string {
	var a []string
	for _, x := range r.args() {
		if strings.ContainsAny(x, "^$|()") {
			x = "'" + x + "'"
		}
		a = append(a, x)
	}
	return strings.TrimSpace(strings.Join(r.env, " ") + " go " + strings.Join(a, " "))
}

// result holds every metric of every result line of a run, by benchmark name (without the -N suffix) and unit;
// with -count each name has several values.
type result struct {
	metrics map[string]map[string][]float64
	notes   []string // lines the benchmarks printed themselves
	err     error
	took    time.Duration
}

func (res *result) values(name, unit string) []float64 { return res.metrics[name][unit] }

func (res *result) first(name, unit string) float64 {
	if v := res.values(name, unit); len(v) > 0 {
		return v[0]
	}
	return math.NaN()
}

func parse(out []byte) *result {
	res := &result{metrics: map[string]map[string][]float64{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) >= 4 && strings.HasPrefix(f[0], "Benchmark") {
			if _, err := strconv.Atoi(f[1]); err == nil {
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

// row is one line of the table.
type row struct {
	name, how, median, p99, ratio, goal, verdict string
	cmd                                          string
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

func verdict(ok bool, err error) string {
	switch {
	case err != nil:
		return "**failed to run**"
	case ok:
		return "met"
	default:
		return "**missed**"
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
	out := flag.String("out", "docs/performance.md", "where to write the table")
	quick := flag.Bool("quick", false, "small sizes, to try the command itself (the table says so)")
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

	sz := func(full, small string) string {
		if *quick {
			return small
		}
		return full
	}
	var (
		overhead   = run{pkg: "./console/agent/", bench: "^BenchmarkBareVsFullCycle$", benchtime: sz("40x", "10x"), timeout: 5 * time.Minute}
		throughput = run{pkg: "./console/agent/", bench: "^BenchmarkThroughput500$", benchtime: "1x", timeout: 10 * time.Minute,
			env: []string{"WATCHWORD_BENCH_ACCOUNTS=" + sz("500", "40"), "WATCHWORD_BENCH_PASSES=1"}}
		push     = run{pkg: "./techclient/vm/", bench: "^BenchmarkPushLatency$", benchtime: "1x", timeout: 5 * time.Minute, env: []string{"WATCHWORD_BENCH_ROTATIONS=" + sz("200", "50")}}
		offboard = run{pkg: "./console/agent/", bench: "^BenchmarkOffboarding100$", benchtime: "1x", timeout: 5 * time.Minute,
			env: []string{"WATCHWORD_BENCH_AGENTS=" + sz("100", "20"), "WATCHWORD_BENCH_REPS=" + sz("10", "3")}}
		recompute = run{pkg: "./console/hub/entitle/", bench: "^BenchmarkRecompute$", benchtime: "3x", count: sz2(*quick, 15, 3), timeout: 5 * time.Minute}
		plan      = run{pkg: "./console/hub/entitle/", bench: "^BenchmarkAgentPlan$", benchtime: "20x", count: sz2(*quick, 15, 3), timeout: 5 * time.Minute}
		loadRun   = run{pkg: "./console/hub/", bench: "^BenchmarkHubUnderLoad$", benchtime: "1x", timeout: 6 * time.Minute,
			env: []string{"WATCHWORD_BENCH_LOAD_CLIENTS=" + sz("2000", "200"), "WATCHWORD_BENCH_LOAD_ACCOUNTS=" + sz("5000", "500"),
				"WATCHWORD_BENCH_LOAD_SECONDS=" + sz("60", "10")}}
		crypto = run{pkg: "./shared/seal/", bench: "^Benchmark(Seal|Open|OpenRecovery)$", benchtime: "20x", count: sz2(*quick, 25, 5), timeout: 5 * time.Minute}
		cold   = run{pkg: "./techclient/view/", bench: "^BenchmarkColdStartToList$", benchtime: "3x", count: sz2(*quick, 5, 2), timeout: time.Minute}
		filter = run{pkg: "./techclient/view/", bench: "^BenchmarkFilter5000$", benchtime: "50x", count: sz2(*quick, 5, 2), timeout: 2 * time.Minute}
		jit    = run{pkg: "./console/agent/", bench: "^BenchmarkJITEnable$", benchtime: "1x", timeout: 5 * time.Minute, env: []string{"WATCHWORD_BENCH_JIT=" + sz("50", "10")}}
	)
	order := []*run{&recompute, &plan, &crypto, &overhead, &push, &offboard, &loadRun, &throughput, &cold, &filter, &jit}
	results := map[*run]*result{}
	for _, r := range order {
		results[r] = execute(ctx, *r, log)
		fmt.Fprintf(log, "(%s)\n", results[r].took.Round(time.Second))
	}
	load1 := load()

	var rows []row
	// rotation overhead
	{
		res := results[&overhead]
		n := "BenchmarkBareVsFullCycle"
		bare, full, ratio := res.first(n, "bare-ms"), res.first(n, "full-ms"), res.first(n, "full/bare")
		rows = append(rows, row{name: "rotation overhead", how: "Samba DC, one account: bare driver set+verify (A) vs full stage→set→verify→confirm through the hub (B), A B A B, " + strings.TrimSuffix(overhead.benchtime, "x") + " pairs",
			median: fmt.Sprintf("A %s, B %s", ms(bare), ms(full)), p99: fmt.Sprintf("A %s, B %s", ms(res.first(n, "bare-p99-ms")), ms(res.first(n, "full-p99-ms"))),
			ratio: fmt.Sprintf("%.2f× (B/A medians)", ratio), goal: "≤ 1.3×", verdict: verdict(ratio <= 1.3, res.err), cmd: overhead.command()})
	}
	// rotation throughput
	{
		res := results[&throughput]
		n := "BenchmarkThroughput500"
		full, bare := res.first(n, "full-rot/s"), res.first(n, "bare-rot/s")
		rows = append(rows, row{name: "rotation throughput", how: fmt.Sprintf("one agent, Samba DC, %.0f accounts, parallelism 4: bare set+verify pass (A) then runner pass with the full cycle (B) on the same accounts, A B repeated WATCHWORD_BENCH_PASSES times", res.first(n, "accounts")),
			median: fmt.Sprintf("full %.1f rot/s, bare %.1f rot/s", full, bare), p99: fmt.Sprintf("worst pass: full %.1f, bare %.1f rot/s", res.first(n, "full-worst-rot/s"), res.first(n, "bare-worst-rot/s")),
			ratio: fmt.Sprintf("bare/full %.2f×", res.first(n, "bare/full")), goal: "report, and vs bare", verdict: verdict(true, res.err), cmd: throughput.command()})
	}
	// push latency
	{
		res := results[&push]
		n := "BenchmarkPushLatency"
		p99 := res.first(n, "p99-ms")
		rows = append(rows, row{name: "push latency", how: fmt.Sprintf("agent confirms at a real hub → TechClient view-model shows the version (long poll + fetch), %.0f rotations", res.first(n, "rotations")),
			median: ms(res.first(n, "p50-ms")), p99: ms(p99), ratio: "—", goal: "p99 ≤ 1 s", verdict: verdict(p99 <= 1000, res.err), cmd: push.command()})
	}
	// offboarding
	{
		res := results[&offboard]
		n := "BenchmarkOffboarding100"
		p99 := res.first(n, "all-p99-ms")
		rows = append(rows, row{name: "offboarding", how: fmt.Sprintf("deactivate a tech entitled on %.0f agents (runners in long poll, one OpenLDAP OU each) → all disabled on the target", res.first(n, "agents")),
			median: fmt.Sprintf("all %s (per agent %s)", ms(res.first(n, "all-p50-ms")), ms(res.first(n, "agent-p50-ms"))),
			p99:    fmt.Sprintf("all %s (per agent %s)", ms(p99), ms(res.first(n, "agent-p99-ms"))), ratio: "—", goal: "p99 ≤ 5 s",
			verdict: verdict(p99 <= 5000, res.err), cmd: offboard.command()})
	}
	// entitlement
	{
		r1, r2 := results[&recompute], results[&plan]
		rc := scale(r1.values("BenchmarkRecompute", "ns/op"), 1e-6)
		pl := scale(r2.values("BenchmarkAgentPlan", "ns/op"), 1e-6)
		var err error
		if r1.err != nil {
			err = r1.err
		} else {
			err = r2.err
		}
		rows = append(rows, row{name: "entitlement", how: "10k techs × 10k agents × 100 triplets: full recompute; one agent's plan (mean of one `-count` run each)",
			median: fmt.Sprintf("%s; %s", ms(pct(rc, 50)), ms(pct(pl, 50))), p99: fmt.Sprintf("%s; %s", ms(pct(rc, 99)), ms(pct(pl, 99))), ratio: "—",
			goal: "≤ 1 s; ≤ 5 ms (median)", verdict: verdict(pct(rc, 50) <= 1000 && pct(pl, 50) <= 5, err), cmd: recompute.command() + "; " + plan.command()})
	}
	// hub under load
	{
		res := results[&loadRun]
		n := "BenchmarkHubUnderLoad"
		errs, rss := res.first(n, "errors"), res.first(n, "rss-peak-MiB")
		fp99, wp99 := res.first(n, "fetch-p99-ms"), res.first(n, "wake-p99-ms")
		rows = append(rows, row{name: "hub under load", how: fmt.Sprintf("hub process; %.0f tech clients in long polls, one account each, fetching the delta after each wake-up, as the TechClient does; "+
			"a tech with %.0f accounts fetching its delta every second (its full list every tenth); a rotation concerning one poller every 0.1 s, "+
			"one of the heavy tech's every 5 s, a tenant-wide entitlement change (a new tech group, which concerns no tech's grants) every 20 s", res.first(n, "clients"), res.first(n, "accounts")),
			median: fmt.Sprintf("delta fetch %s, wake-up %s; full list %s", ms(res.first(n, "fetch-p50-ms")), ms(res.first(n, "wake-p50-ms")),
				ms(res.first(n, "full-p50-ms"))),
			p99: fmt.Sprintf("delta fetch %s, wake-up %s; full list %s; %.0f errors, %.0f spurious wake-ups, %.0f woken by the tenant-wide changes; RSS %.0f MiB (idle %.0f)",
				ms(fp99), ms(wp99), ms(res.first(n, "full-p99-ms")), errs, res.first(n, "spurious"), res.first(n, "storm-wakeups"), rss, res.first(n, "rss-idle-MiB")),
			ratio: "—", goal: "0 errors, p99 ≤ 50 ms (delta fetch, wake-up), RSS ≤ 256 MiB",
			verdict: verdict(errs == 0 && fp99 <= 50 && wp99 <= 50 && rss <= 256, res.err), cmd: loadRun.command()})
	}
	// crypto
	{
		res := results[&crypto]
		s := scale(res.values("BenchmarkSeal", "ns/op"), 1e-6)
		o := scale(res.values("BenchmarkOpen", "ns/op"), 1e-6)
		orc := scale(res.values("BenchmarkOpenRecovery", "ns/op"), 1e-6)
		rows = append(rows, row{name: "crypto", how: "seal a 64-byte secret to a device + the recovery recipient (hybrid ML-KEM-768 + X25519); open with the device; open with the recovery identity",
			median: fmt.Sprintf("%s / %s / %s", ms(pct(s, 50)), ms(pct(o, 50)), ms(pct(orc, 50))), p99: fmt.Sprintf("%s / %s / %s", ms(pct(s, 99)), ms(pct(o, 99)), ms(pct(orc, 99))),
			ratio: "—", goal: "≤ 0.5 ms each (median)", verdict: verdict(pct(s, 50) <= 0.5 && pct(o, 50) <= 0.5, res.err), cmd: crypto.command()})
	}
	// TechClient
	{
		r1, r2 := results[&cold], results[&filter]
		c := r1.values("BenchmarkColdStartToList", "ms/start")
		f := r2.values("BenchmarkFilter5000", "ms/keystroke")
		err := r1.err
		if err == nil {
			err = r2.err
		}
		rows = append(rows, row{name: "TechClient", how: "cold start (new view-model and window) to the list of 50 accounts from a real hub; one keystroke filtering 5,000 rows (mean of one `-count` run each)",
			median: fmt.Sprintf("%s; %s", ms(pct(c, 50)), ms(pct(f, 50))), p99: fmt.Sprintf("%s; %s", ms(pct(c, 99)), ms(pct(f, 99))), ratio: "—",
			goal: "≤ 1 s; ≤ 16 ms (median)", verdict: verdict(pct(c, 50) <= 1000 && pct(f, 50) <= 16, err), cmd: cold.command() + "; " + filter.command()})
	}

	// JIT enable
	{
		res := results[&jit]
		n := "BenchmarkJITEnable"
		p99 := res.first(n, "p99-ms")
		rows = append(rows, row{name: "JIT enable", how: fmt.Sprintf("a tech asks for a just-in-time window on the Samba DC → an LDAP bind with the password its device opens works (long poll wake-up, enable, groups, full rotation cycle, fetch), then Done closes it again; %.0f enables", res.first(n, "enables")),
			median: ms(res.first(n, "p50-ms")), p99: ms(p99), ratio: "—", goal: "p99 ≤ 2 s (TechIDManager about 1 minute)", verdict: verdict(p99 <= 2000, res.err), cmd: jit.command()})
	}

	var md strings.Builder
	fmt.Fprintf(&md, "# Performance\n\n")
	fmt.Fprintf(&md, "Measured by `make bench` (`go run ./scripts/bench`) on %s UTC at `%s`", started.UTC().Format("2006-01-02 15:04"), gitRev())
	if *quick {
		fmt.Fprintf(&md, " with `-quick` (reduced sizes: not the figures of record)")
	}
	fmt.Fprintf(&md, ", in %s.\n\n", time.Since(started).Round(time.Second))
	fmt.Fprintf(&md, "Machine: %s. The machine is shared: load average %.2f at the start, %.2f at the end (other builds and tests were running). "+
		"Ratios compare figures measured in the same run, interleaved where the row says so.\n\n", mach, load0, load1)
	fmt.Fprintf(&md, "| row | how | median | p99 | ratio | goal | |\n|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&md, "| %s | %s | %s | %s | %s | %s | %s |\n", r.name, r.how, r.median, r.p99, r.ratio, r.goal, r.verdict)
	}
	fmt.Fprintf(&md, "\n%s\n", method)
	fmt.Fprintf(&md, "\n## Each row's command and its own summary\n\n")
	for i, r := range rows {
		fmt.Fprintf(&md, "- **%s**: `%s`\n", r.name, r.cmd)
		for _, rr := range rowRuns(i, order) {
			res := results[rr]
			for _, n := range res.notes {
				fmt.Fprintf(&md, "  - %s\n", strings.TrimSpace(n))
			}
			if res.err != nil {
				fmt.Fprintf(&md, "  - error: %v (log: %s)\n", res.err, logf.Name())
			}
		}
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
	fmt.Fprintf(os.Stderr, "\nbench: wrote %s in %s (full log: %s)\n", *out, time.Since(started).Round(time.Second), logf.Name())
	for _, r := range order {
		if results[r].err != nil {
			os.Exit(1)
		}
	}
}

// notesFile is appended to the table as written: findings and fixes that outlive one run.
const notesFile = "scripts/bench/notes.md"

const method = `How to read it: *median* and *p99* are over the samples each benchmark collects — single operations where the
row measures latency (rotation cycles, push, offboarding, fetches, wake-ups), and the mean of one ` + "`-count`" + ` run where
the row says so (entitlement, crypto, TechClient: ` + "`go test -count`" + ` repeats the benchmark, each run a few operations).
p99 is the nearest-rank percentile: with fewer than 100 samples it is the slowest one. Rows of run means are judged
on their median (a run mean's p99 is the noisiest run on a shared machine), latency rows on their p99. Throughput
reports the median and the worst pass instead.`

// rowRuns maps a table row (in the order rows are built) to its runs.
func rowRuns(i int, order []*run) []*run {
	// order: recompute, plan, crypto, overhead, push, offboard, load, throughput, cold, filter, jit
	switch i {
	case 8:
		return []*run{order[10]}
	case 0:
		return []*run{order[3]}
	case 1:
		return []*run{order[7]}
	case 2:
		return []*run{order[4]}
	case 3:
		return []*run{order[5]}
	case 4:
		return []*run{order[0], order[1]}
	case 5:
		return []*run{order[6]}
	case 6:
		return []*run{order[2]}
	default:
		return []*run{order[8], order[9]}
	}
}

func scale(v []float64, f float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x * f
	}
	return out
}

func sz2(quick bool, full, small int) int {
	if quick {
		return small
	}
	return full
}
