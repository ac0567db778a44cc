package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// peersDir is the benchmark module that measures Watchword beside its peers: it has its own go.mod, so that
// Vault's and the plotting library's dependencies never enter the product's.
const peersDir = "scripts/bench/peers"

// runs are the `go test -bench` invocations of one table, by key.
func runs(quick bool) map[string]run {
	sz := func(full, small string) string {
		if quick {
			return small
		}
		return full
	}
	n := func(full, small int) int {
		if quick {
			return small
		}
		return full
	}
	rs := map[string]run{
		"overhead": {pkg: "./console/server/agent/", bench: "^BenchmarkBareVsFullCycle$", benchtime: sz("40x", "10x"), timeout: 5 * time.Minute},
		"push": {pkg: "./techclient/vm/", bench: "^BenchmarkPushLatency$", benchtime: "1x", timeout: 5 * time.Minute,
			env: []string{"WATCHWORD_BENCH_ROTATIONS=" + sz("200", "50")}},
		"offboard": {pkg: "./console/server/agent/", bench: "^BenchmarkOffboarding100$", benchtime: "1x", timeout: 5 * time.Minute,
			env: []string{"WATCHWORD_BENCH_AGENTS=" + sz("100", "20"), "WATCHWORD_BENCH_REPS=" + sz("10", "3")}},
		"recompute": {pkg: "./shared/entitle/", bench: "^BenchmarkRecompute$", benchtime: "3x", count: n(15, 3), timeout: 5 * time.Minute},
		"plan":      {pkg: "./shared/entitle/", bench: "^BenchmarkAgentPlan$", benchtime: "20x", count: n(15, 3), timeout: 5 * time.Minute},
		"load": {pkg: "./console/server/hub/", bench: "^BenchmarkHubUnderLoad$", benchtime: "1x", timeout: 6 * time.Minute,
			env: []string{"WATCHWORD_BENCH_LOAD_CLIENTS=" + sz("2000", "200"), "WATCHWORD_BENCH_LOAD_ACCOUNTS=" + sz("5000", "500"),
				"WATCHWORD_BENCH_LOAD_SECONDS=" + sz("60", "10")}},
		// The same load on the PostgreSQL cluster of scripts/pgcluster.sh (a primary and a synchronous standby under
		// Patroni), with one hub process and with two; each run starts a fresh cluster and stops it.
		"load-pg1": {pkg: "./console/server/hub/", bench: "^BenchmarkHubUnderLoad$", benchtime: "1x", timeout: 8 * time.Minute,
			env: []string{"WATCHWORD_BENCH_LOAD_ENGINE=postgres", "WATCHWORD_BENCH_LOAD_REPLICAS=1", "WATCHWORD_BENCH_LOAD_CLIENTS=" + sz("2000", "200"),
				"WATCHWORD_BENCH_LOAD_ACCOUNTS=" + sz("5000", "500"), "WATCHWORD_BENCH_LOAD_SECONDS=" + sz("60", "10")}},
		"load-pg2": {pkg: "./console/server/hub/", bench: "^BenchmarkHubUnderLoad$", benchtime: "1x", timeout: 8 * time.Minute,
			env: []string{"WATCHWORD_BENCH_LOAD_ENGINE=postgres", "WATCHWORD_BENCH_LOAD_REPLICAS=2", "WATCHWORD_BENCH_LOAD_CLIENTS=" + sz("2000", "200"),
				"WATCHWORD_BENCH_LOAD_ACCOUNTS=" + sz("5000", "500"), "WATCHWORD_BENCH_LOAD_SECONDS=" + sz("60", "10")}},
		// Two real hub binaries on the cluster, a real agent on the Samba DC: cross-replica push, a hub and a
		// primary killed under load (TestReplicas's scenario).
		"replicas": {pkg: "./console/e2e/", bench: "^BenchmarkReplicas$", benchtime: "1x", timeout: 10 * time.Minute,
			env: []string{"WATCHWORD_BENCH_ROTATIONS=" + sz("200", "30")}},
		"cold":   {pkg: "./techclient/view/", bench: "^BenchmarkColdStartToList$", benchtime: "3x", count: n(5, 2), timeout: time.Minute},
		"filter": {pkg: "./techclient/view/", bench: "^BenchmarkFilter5000$", benchtime: "50x", count: n(5, 2), timeout: 2 * time.Minute},
		"jit": {pkg: "./console/server/agent/", bench: "^BenchmarkJITEnable$", benchtime: "1x", timeout: 5 * time.Minute,
			env: []string{"WATCHWORD_BENCH_JIT=" + sz("50", "10")}},
		// The same from the TechClient's side on Microsoft Entra ID: the real entra driver against graphtest.
		"entra-jit": {pkg: "./techclient/vm/", bench: "^BenchmarkEntraJITEnable$", benchtime: "1x", timeout: 5 * time.Minute,
			env: []string{"WATCHWORD_BENCH_ENTRA_JIT=" + sz("50", "10")}},
		"authority-approve": {pkg: "./shared/authority/", bench: "^BenchmarkApproval$", benchtime: "10x", count: n(15, 3), timeout: 5 * time.Minute},
		"authority-console": {pkg: "./console/vm/", bench: "^BenchmarkApproveRoundTrip$", benchtime: "20x", count: n(5, 2), timeout: 5 * time.Minute},
		"authority-plan":    {pkg: "./shared/authority/", bench: "^BenchmarkCheckPlan5000$", benchtime: "20x", count: n(15, 3), timeout: 5 * time.Minute},
		"authority-open":    {pkg: "./shared/authority/", bench: "^BenchmarkSignedOpen$", benchtime: "200x", count: n(15, 3), timeout: 5 * time.Minute},

		// Beside the peers, in the peers module. Its first run compiles Vault's plugin and SDK.
		"seal": {dir: peersDir, pkg: ".", bench: "^BenchmarkSealVsAge$", benchtime: sz("400x", "100x"), timeout: 10 * time.Minute,
			env: []string{"WATCHWORD_BENCH_AGE_CLI=" + sz("20", "5")}},
		"ondemand": {dir: peersDir, pkg: ".", bench: "^BenchmarkRotateOnDemand$", benchtime: sz("40x", "10x"), timeout: 5 * time.Minute},
		"vault-throughput": {dir: peersDir, pkg: ".", bench: "^BenchmarkThroughputVsVault$", benchtime: "1x", timeout: 15 * time.Minute,
			env: []string{"WATCHWORD_BENCH_ACCOUNTS=" + sz("500", "40"), "WATCHWORD_BENCH_PASSES=1"}},
		"access": {dir: peersDir, pkg: ".", bench: "^Benchmark(CheckOutVsJIT|Onboarding)$", benchtime: "1x", timeout: 5 * time.Minute,
			env: []string{"WATCHWORD_BENCH_JIT=" + sz("20", "5"), "WATCHWORD_BENCH_ONBOARD=" + sz("10", "3")}},

		// The scaling section.
		"scale-rotation": {dir: peersDir, pkg: ".", bench: "^BenchmarkRotationScale$", benchtime: "1x", timeout: 20 * time.Minute,
			env: []string{"WATCHWORD_BENCH_SCALE=" + strings.Join(rotationSizes(quick), ",")}},
	}
	for _, c := range hubSizes(quick) {
		rs[fmt.Sprintf("scale-hub-%d", c)] = run{pkg: "./console/server/hub/", bench: "^BenchmarkHubUnderLoad$", benchtime: "1x", timeout: 6 * time.Minute,
			env: []string{"WATCHWORD_BENCH_LOAD_CLIENTS=" + strconv.Itoa(c), "WATCHWORD_BENCH_LOAD_ACCOUNTS=100", "WATCHWORD_BENCH_LOAD_SECONDS=10"}}
	}
	return rs
}

// rotationSizes are the numbers of accounts on one agent the scaling section rotates.
func rotationSizes(quick bool) []string {
	if quick {
		return []string{"20", "100", "500"}
	}
	return []string{"100", "1000", "10000"}
}

// hubSizes are the numbers of long-polling TechClients the scaling section holds on one hub.
func hubSizes(quick bool) []int {
	if quick {
		return []int{50, 200, 1000}
	}
	return []int{200, 2000, 10000}
}

// order is the order the runs go in: the product's own rows, then the peers, then the scaling section.
func order(quick bool) []string {
	o := []string{"recompute", "plan", "overhead", "push", "offboard", "load", "load-pg1", "load-pg2", "replicas", "cold", "filter", "jit", "entra-jit",
		"authority-approve", "authority-console", "authority-plan", "authority-open", "seal", "ondemand", "access", "vault-throughput", "scale-rotation"}
	for _, c := range hubSizes(quick) {
		o = append(o, fmt.Sprintf("scale-hub-%d", c))
	}
	return o
}

// row is one line of a table.
type row struct {
	how, median, p99, ratio string
	figures                 map[string]float64 // what the limits judge, by figure name
}

// rowSpec is a row of a table: the runs it reads, its goals as limits, and how its text and figures come from
// the runs' results.
type rowSpec struct {
	name   string
	peers  bool     // in the table beside the peers
	runs   []string // keys of runs
	limits []limit
	note   string // after the limits in the goal column
	build  func(get func(key string) *result) row
}

// spec returns the row named name.
func spec(name string) rowSpec {
	for _, s := range specs() {
		if s.name == name {
			return s
		}
	}
	panic("no row " + name)
}

func specs() []rowSpec {
	return []rowSpec{
		{name: "rotation overhead", runs: []string{"overhead"}, limits: []limit{{"B/A (medians)", 1.3, "×"}},
			build: func(get func(string) *result) row {
				res, n := get("overhead"), "BenchmarkBareVsFullCycle"
				bare, full, ratio := res.first(n, "bare-ms"), res.first(n, "full-ms"), res.first(n, "full/bare")
				return row{how: fmt.Sprintf("Samba DC, one account: bare driver set+verify (A) vs full stage→set→verify→confirm through the hub (B), A B A B, %s pairs", iters(res, n)),
					median: fmt.Sprintf("A %s, B %s", ms(bare), ms(full)), p99: fmt.Sprintf("A %s, B %s", ms(res.first(n, "bare-p99-ms")), ms(res.first(n, "full-p99-ms"))),
					ratio: fmt.Sprintf("%.2f× (B/A medians)", ratio), figures: map[string]float64{"B/A (medians)": ratio}}
			}},
		{name: "rotation throughput", runs: []string{"vault-throughput"}, note: "report, and vs bare",
			build: func(get func(string) *result) row {
				res, n := get("vault-throughput"), "BenchmarkThroughputVsVault"
				full, bare := res.first(n, "ww-rot/s"), res.first(n, "bare-rot/s")
				return row{how: fmt.Sprintf("one agent, Samba DC, %.0f accounts, parallelism %.0f: bare set+verify pass (A) then runner pass with the full cycle (B) on the same accounts, "+
					"A B repeated WATCHWORD_BENCH_PASSES times (the peers run, whose Vault pass comes between them)", res.first(n, "accounts"), res.first(n, "parallelism")),
					median: fmt.Sprintf("full %.1f rot/s, bare %.1f rot/s", full, bare), p99: fmt.Sprintf("worst pass: full %.1f, bare %.1f rot/s", res.first(n, "ww-worst-rot/s"), res.first(n, "bare-worst-rot/s")),
					ratio: fmt.Sprintf("bare/full %.2f×", res.first(n, "bare/ww"))}
			}},
		{name: "push latency", runs: []string{"push"}, limits: []limit{{"p99", 1000, "ms"}},
			build: func(get func(string) *result) row {
				res, n := get("push"), "BenchmarkPushLatency"
				p99 := res.first(n, "p99-ms")
				return row{how: fmt.Sprintf("agent confirms at a real hub → TechClient view-model shows the version (long poll + fetch), %.0f rotations", res.first(n, "rotations")),
					median: ms(res.first(n, "p50-ms")), p99: ms(p99), ratio: "—", figures: map[string]float64{"p99": p99}}
			}},
		{name: "offboarding", runs: []string{"offboard"}, limits: []limit{{"p99 (all disabled)", 5000, "ms"}},
			build: func(get func(string) *result) row {
				res, n := get("offboard"), "BenchmarkOffboarding100"
				p99 := res.first(n, "all-p99-ms")
				return row{how: fmt.Sprintf("deactivate a tech entitled on %.0f agents (runners in long poll, one OpenLDAP OU each) → all disabled on the target", res.first(n, "agents")),
					median: fmt.Sprintf("all %s (per agent %s)", ms(res.first(n, "all-p50-ms")), ms(res.first(n, "agent-p50-ms"))),
					p99:    fmt.Sprintf("all %s (per agent %s)", ms(p99), ms(res.first(n, "agent-p99-ms"))), ratio: "—",
					figures: map[string]float64{"p99 (all disabled)": p99}}
			}},
		{name: "entitlement", runs: []string{"recompute", "plan"}, limits: []limit{{"recompute (median)", 1000, "ms"}, {"one agent's plan (median)", 5, "ms"}},
			build: func(get func(string) *result) row {
				rc := scale(get("recompute").values("BenchmarkRecompute", "ns/op"), 1e-6)
				pl := scale(get("plan").values("BenchmarkAgentPlan", "ns/op"), 1e-6)
				return row{how: "10k techs × 10k agents × 100 triplets: full recompute; one agent's plan (mean of one `-count` run each)",
					median: fmt.Sprintf("%s; %s", ms(pct(rc, 50)), ms(pct(pl, 50))), p99: fmt.Sprintf("%s; %s", ms(pct(rc, 99)), ms(pct(pl, 99))), ratio: "—",
					figures: map[string]float64{"recompute (median)": pct(rc, 50), "one agent's plan (median)": pct(pl, 50)}}
			}},
		{name: "hub under load", runs: []string{"load"},
			limits: []limit{{"errors", 0, ""}, {"delta fetch p99", 50, "ms"}, {"wake-up p99", 50, "ms"}, {"peak RSS", 256, "MiB"}},
			build: func(get func(string) *result) row {
				res, n := get("load"), "BenchmarkHubUnderLoad"
				errs, rss := res.first(n, "errors"), res.first(n, "rss-peak-MiB")
				fp99, wp99 := res.first(n, "fetch-p99-ms"), res.first(n, "wake-p99-ms")
				return row{how: fmt.Sprintf("hub process; %.0f tech clients in long polls, one account each, fetching the delta after each wake-up, as the TechClient does; "+
					"a tech with %.0f accounts fetching its delta every second (its full list every tenth); a rotation concerning one poller every 0.1 s, "+
					"one of the heavy tech's every 5 s, a tenant-wide entitlement change (a new tech group, which concerns no tech's grants) every 20 s", res.first(n, "clients"), res.first(n, "accounts")),
					median: fmt.Sprintf("delta fetch %s, wake-up %s; full list %s", ms(res.first(n, "fetch-p50-ms")), ms(res.first(n, "wake-p50-ms")),
						ms(res.first(n, "full-p50-ms"))),
					p99: fmt.Sprintf("delta fetch %s, wake-up %s; full list %s; %.0f errors, %.0f spurious wake-ups, %.0f woken by the tenant-wide changes; RSS %.0f MiB (idle %.0f)",
						ms(fp99), ms(wp99), ms(res.first(n, "full-p99-ms")), errs, res.first(n, "spurious"), res.first(n, "storm-wakeups"), rss, res.first(n, "rss-idle-MiB")),
					ratio:   "—",
					figures: map[string]float64{"errors": errs, "delta fetch p99": fp99, "wake-up p99": wp99, "peak RSS": rss}}
			}},
		{name: "hub under load, PostgreSQL", runs: []string{"load", "load-pg1", "load-pg2"},
			limits: []limit{{"errors", 0, ""}, {"wake-up p99, two replicas", 1000, "ms"}},
			build: func(get func(string) *result) row {
				n := "BenchmarkHubUnderLoad"
				engines := []struct{ name, key string }{{"SQLite", "load"}, {"PostgreSQL, 1 hub", "load-pg1"}, {"PostgreSQL, 2 hubs", "load-pg2"}}
				var med, p99 []string
				var errs float64
				for _, e := range engines {
					res := get(e.key)
					med = append(med, fmt.Sprintf("%s: delta fetch %s, wake-up %s", e.name, ms(res.first(n, "fetch-p50-ms")), ms(res.first(n, "wake-p50-ms"))))
					p99 = append(p99, fmt.Sprintf("%s: delta fetch %s, wake-up %s, %.0f errors, RSS %.0f MiB", e.name, ms(res.first(n, "fetch-p99-ms")),
						ms(res.first(n, "wake-p99-ms")), res.first(n, "errors"), res.first(n, "rss-peak-MiB")))
					errs += res.first(n, "errors")
				}
				return row{how: fmt.Sprintf("the hub-under-load row's load (%.0f long-polling tech clients, a %.0f-account tech, a rotation every 0.1 s) on SQLite (that row's run), "+
					"then on the PostgreSQL cluster of scripts/pgcluster.sh (a primary and a synchronous standby under Patroni, a fresh cluster each) with one hub process, "+
					"and with two sharing the hub key: the pollers split between them, every rotation staged through the first, so half the wake-ups cross replicas; RSS is the first hub's",
					get("load-pg2").first(n, "clients"), get("load-pg2").first(n, "accounts")),
					median: strings.Join(med, "; "), p99: strings.Join(p99, "; "), ratio: fmt.Sprintf("wake-up p99 PostgreSQL 2 hubs ÷ SQLite %.1f×",
						get("load-pg2").first(n, "wake-p99-ms")/get("load").first(n, "wake-p99-ms")),
					figures: map[string]float64{"errors": errs, "wake-up p99, two replicas": get("load-pg2").first(n, "wake-p99-ms")}}
			}},
		{name: "replicas", runs: []string{"replicas"},
			limits: []limit{{"cross-replica push p99", 1000, "ms"}, {"failover", 30000, "ms"}, {"confirmed lost", 0, ""}, {"lockouts", 0, ""}},
			build: func(get func(string) *result) row {
				res, n := get("replicas"), "BenchmarkReplicas"
				p99, fo := res.first(n, "push-p99-ms"), res.first(n, "failover-ms")
				return row{how: fmt.Sprintf("two watchword-hub processes (A, B) on the PostgreSQL cluster, a watchword-agent on the Samba DC enrolled through A, TechClient view-models long-polling B: "+
					"%.0f rotations confirmed through A → shown on B; then under load (every account asked to rotate every 0.3 s) A is SIGKILLed, and the primary's node crashes "+
					"(patroni and postmaster killed together); failover = the crash → the agent's first confirmed rotation (stage, set, verify, confirm); afterwards the newest "+
					"versions (the policy's history depth) of each account that the agent was told were confirmed are looked up, and every account logs in on the DC (Kerberos, NTLM) with a stored envelope's password", res.first(n, "rotations")),
					median: fmt.Sprintf("push %s", ms(res.first(n, "push-p50-ms"))),
					p99: fmt.Sprintf("push %s; A killed → first confirmation through B %s; primary killed → standby promoted %s, hubs write again %s, first confirmed rotation %s; %.0f kills, %.0f confirmed lost, %.0f lockouts",
						ms(p99), ms(res.first(n, "hub-failover-ms")), ms(res.first(n, "promoted-ms")), ms(res.first(n, "writable-ms")), ms(fo),
						res.first(n, "kills"), res.first(n, "lost"), res.first(n, "lockouts")),
					ratio: "—", figures: map[string]float64{"cross-replica push p99": p99, "failover": fo, "confirmed lost": res.first(n, "lost"), "lockouts": res.first(n, "lockouts")}}
			}},
		{name: "crypto", runs: []string{"seal"},
			limits: []limit{{"seal ÷ age", 1.1, "×"}, {"device open ÷ age", 1.1, "×"}, {"recovery open ÷ age", 1.1, "×"}},
			note:   "(medians)",
			build: func(get func(string) *result) row {
				res, n := get("seal"), "BenchmarkSealVsAge"
				s, o, r := res.first(n, "seal-ratio"), res.first(n, "open-ratio"), res.first(n, "recovery-ratio")
				return row{how: fmt.Sprintf("seal a 64-byte password to a device + the recovery recipient (hybrid ML-KEM-768 + X25519); open with the device; open with the recovery identity — "+
					"Watchword's seal.Seal/Open vs the age library (age.Encrypt/Decrypt) with the same recipients, identities and plaintext, interleaved call by call, %s rounds (peers module)", num(res, n, "rounds")),
					median: fmt.Sprintf("%s / %s / %s (age %s / %s / %s)", ms(res.first(n, "ww-seal-ms")), ms(res.first(n, "ww-open-ms")), ms(res.first(n, "ww-recovery-ms")),
						ms(res.first(n, "age-seal-ms")), ms(res.first(n, "age-open-ms")), ms(res.first(n, "age-recovery-ms"))),
					p99: fmt.Sprintf("%s / %s / %s (age %s / %s / %s)", ms(res.first(n, "ww-seal-p99-ms")), ms(res.first(n, "ww-open-p99-ms")), ms(res.first(n, "ww-recovery-p99-ms")),
						ms(res.first(n, "age-seal-p99-ms")), ms(res.first(n, "age-open-p99-ms")), ms(res.first(n, "age-recovery-p99-ms"))),
					ratio:   fmt.Sprintf("%.2f× / %.2f× / %.2f× of age", s, o, r),
					figures: map[string]float64{"seal ÷ age": s, "device open ÷ age": o, "recovery open ÷ age": r}}
			}},
		{name: "TechClient", runs: []string{"cold", "filter"}, limits: []limit{{"cold start (median)", 1000, "ms"}, {"keystroke (median)", 16, "ms"}},
			build: func(get func(string) *result) row {
				c := get("cold").values("BenchmarkColdStartToList", "ms/start")
				f := get("filter").values("BenchmarkFilter5000", "ms/keystroke")
				return row{how: "cold start (new view-model and window) to the list of 50 accounts from a real hub; one keystroke filtering 5,000 rows (mean of one `-count` run each)",
					median: fmt.Sprintf("%s; %s", ms(pct(c, 50)), ms(pct(f, 50))), p99: fmt.Sprintf("%s; %s", ms(pct(c, 99)), ms(pct(f, 99))), ratio: "—",
					figures: map[string]float64{"cold start (median)": pct(c, 50), "keystroke (median)": pct(f, 50)}}
			}},
		{name: "JIT enable", runs: []string{"jit"}, limits: []limit{{"p99", 2000, "ms"}}, note: "(TechIDManager about 1 minute)",
			build: func(get func(string) *result) row {
				res, n := get("jit"), "BenchmarkJITEnable"
				p99 := res.first(n, "p99-ms")
				return row{how: fmt.Sprintf("a tech asks for a just-in-time window on the Samba DC → an LDAP bind with the password its device opens works (long poll wake-up, enable, groups, full rotation cycle, fetch), then Done closes it again; %.0f enables", res.first(n, "enables")),
					median: ms(res.first(n, "p50-ms")), p99: ms(p99), ratio: "—", figures: map[string]float64{"p99": p99}}
			}},
		{name: "Entra JIT enable", runs: []string{"entra-jit"}, limits: []limit{{"p99", 2000, "ms"}},
			note: "(TechIDManager: within 60 s on a live tenant; this figure is Watchword's own overhead, against a Graph test server)",
			build: func(get func(string) *result) row {
				res, n := get("entra-jit"), "BenchmarkEntraJITEnable"
				p99 := res.first(n, "p99-ms")
				return row{how: fmt.Sprintf("a tech asks for a just-in-time window on an Entra ID agent (approved at once) → the TechClient view-model shows it active with a Temporary Access Pass it opens: long poll wake-up, the cloud account enabled with its directory role, full rotation cycle, the pass issued, sealed, signed and stored, fetch; the agent runs the real entra driver against graphtest on loopback, so Microsoft Graph's own latency is not in it; Done closes each window; %.0f windows", res.first(n, "enables")),
					median: ms(res.first(n, "p50-ms")), p99: ms(p99), ratio: "—", figures: map[string]float64{"p99": p99}}
			}},
		{name: "signed authority", runs: []string{"authority-approve", "authority-console", "authority-plan", "authority-open"},
			limits: []limit{{"one approval (median)", 100, "ms"}, {"200 approvals (median)", 1000, "ms"}, {"plan check (median)", 5, "ms"},
				{"verified open ÷ open (median)", 1.5, "×"}},
			note: "(the Console's round trip: report)",
			build: func(get func(string) *result) row {
				ap := get("authority-approve")
				one := scale(ap.values("BenchmarkApproval/techs=1", "ns/op"), 1e-6)
				many := scale(ap.values("BenchmarkApproval/techs=200", "ns/op"), 1e-6)
				verify := scale(ap.values("BenchmarkApproval/verify-techs=200", "ns/op"), 1e-6)
				cs, csn := get("authority-console"), "BenchmarkApproveRoundTrip"
				pl := scale(get("authority-plan").values("BenchmarkCheckPlan5000", "ns/op"), 1e-6)
				op := get("authority-open")
				open, verified := op.values("BenchmarkSignedOpen", "open-ms"), op.values("BenchmarkSignedOpen", "verified-ms")
				ratio := pct(op.values("BenchmarkSignedOpen", "verified/open"), 50)
				at := func(p float64) string {
					return fmt.Sprintf("approve 1 %s, 200 %s (an agent verifies it in %s); Console round trip off %s, on %s; plan %s; open %s, verified %s",
						ms(pct(one, p)), ms(pct(many, p)), ms(pct(verify, p)), ms(pct(cs.values(csn, "off-ms"), p)), ms(pct(cs.values(csn, "on-ms"), p)),
						ms(pct(pl, p)), ms(pct(open, p)), ms(pct(verified, p)))
				}
				return row{how: "a tenant of 1,000 approved techs, 100 agents, 50 groups and 20 triplets: an admin's approval of one tech, and of 200 in one update " +
					"(the device keys parsed, the ops built, one update signed with Ed25519, encoded, verified and applied to a copy of the state), and an agent's " +
					"verification of that update; the Console view-model's whole Approve against an in-process hub with the demo data, authority off and on, " +
					"alternating call by call; an agent's check of a 5,000-account plan against the signed state; a TechClient's open of one password, " +
					"alone and after its agent's signature is verified, alternating call by call (mean of one `-count` run each)",
					median: at(50), p99: at(99),
					ratio: fmt.Sprintf("Console on/off %.2f×; verified/open %.2f× (+%s) (medians of the runs)",
						pct(cs.values(csn, "on/off"), 50), ratio, ms(pct(verified, 50)-pct(open, 50))),
					figures: map[string]float64{"one approval (median)": pct(one, 50), "200 approvals (median)": pct(many, 50),
						"plan check (median)": pct(pl, 50), "verified open ÷ open (median)": ratio}}
			}},

		// Beside the peers.
		{name: "rotate one account on demand", peers: true, runs: []string{"ondemand"}, limits: []limit{{"Watchword ÷ Vault (medians)", 1.2, "×"}},
			build: func(get func(string) *result) row {
				res, n := get("ondemand"), "BenchmarkRotateOnDemand"
				ratio := res.first(n, "ww/vault")
				return row{how: fmt.Sprintf("Samba DC, one account each, A B A B, %s pairs: (A) Vault's LDAP secrets engine v0.17.0 in-process, static role `rotate-role` "+
					"(new password; a search for the DN and a unicodePwd replace, each on a fresh admin connection; it does not check the new password) vs "+
					"(B) Watchword's full cycle through a real hub (generate, seal, stage, set, verify with a bind as the account, confirm)", iters(res, n)),
					median: fmt.Sprintf("Vault %s, Watchword %s (Vault with a verify bind %s)", ms(res.first(n, "vault-ms")), ms(res.first(n, "ww-ms")), ms(res.first(n, "vault-verified-ms"))),
					p99:    fmt.Sprintf("Vault %s, Watchword %s", ms(res.first(n, "vault-p99-ms")), ms(res.first(n, "ww-p99-ms"))),
					ratio:  fmt.Sprintf("%.2f× (Watchword/Vault medians)", ratio), figures: map[string]float64{"Watchword ÷ Vault (medians)": ratio}}
			}},
		{name: "rotation throughput", peers: true, runs: []string{"vault-throughput"}, note: "report",
			build: func(get func(string) *result) row {
				res, n := get("vault-throughput"), "BenchmarkThroughputVsVault"
				return row{how: fmt.Sprintf("the same %.0f accounts of the Samba DC, parallelism %.0f, pass by pass: (A) Vault, one static role per account, workers sending rotate-role "+
					"(one backend runs its static-role rotations one at a time, under one lock) vs (B) Watchword's runner pass with the full cycle", res.first(n, "accounts"), res.first(n, "parallelism")),
					median: fmt.Sprintf("Vault %.1f rot/s, Watchword %.1f rot/s", res.first(n, "vault-rot/s"), res.first(n, "ww-rot/s")),
					p99:    fmt.Sprintf("worst pass: Vault %.1f, Watchword %.1f rot/s", res.first(n, "vault-worst-rot/s"), res.first(n, "ww-worst-rot/s")),
					ratio:  fmt.Sprintf("%.2f× (Watchword/Vault rotations per second)", res.first(n, "ww/vault"))}
			}},
		{name: "check-out / just-in-time", peers: true, runs: []string{"access"}, note: "report",
			build: func(get func(string) *result) row {
				res, n := get("access"), "BenchmarkCheckOutVsJIT"
				return row{how: fmt.Sprintf("Samba DC, A B A B, %s each: (A) Vault library `check-out` until a bind with the password it returns works "+
					"(a flag in Vault's storage, no LDAP call: the pool account is always enabled, its password set at the last check-in; the check-in, which rotates it, apart) vs "+
					"(B) Watchword's just-in-time enable until a bind with the password the tech's device opens works (the agent enables the tech's own account, adds its groups, rotates it)", num(res, n, "samples")),
					median: fmt.Sprintf("Vault %s (the call %s; check-in %s), Watchword %s", ms(res.first(n, "vault-out-ms")), ms(res.first(n, "vault-call-ms")), ms(res.first(n, "vault-in-ms")), ms(res.first(n, "ww-ms"))),
					p99:    fmt.Sprintf("Vault %s (check-in %s), Watchword %s", ms(res.first(n, "vault-out-p99-ms")), ms(res.first(n, "vault-in-p99-ms")), ms(res.first(n, "ww-p99-ms"))),
					ratio:  fmt.Sprintf("%.1f× (Watchword/Vault medians)", res.first(n, "ww/vault"))}
			}},
		{name: "seal/open, the age command", peers: true, runs: []string{"seal"}, note: "report (the library comparison is the crypto row)",
			build: func(get func(string) *result) row {
				res, n := get("seal"), "BenchmarkSealVsAge"
				return row{how: "the `age` command built from the same filippo.io/age release as the product's go.mod, end to end (a process, files on disk): " +
					"`age -e -r DEVICE -r RECOVERY` and `age -d -i RECOVERY-KEY` vs Watchword's seal+open in-process; envelope sizes of the same 64-byte password",
					median: fmt.Sprintf("age command: seal %s, open %s; Watchword seal+open %s", ms(res.first(n, "cli-seal-ms")), ms(res.first(n, "cli-open-ms")), ms(res.first(n, "ww-seal-open-ms"))),
					p99:    "—",
					ratio:  fmt.Sprintf("envelopes %.0f B (Watchword), %.0f B (age library), %.0f B (age command)", res.first(n, "ww-bytes"), res.first(n, "age-bytes"), res.first(n, "cli-bytes"))}
			}},
	}
}

// iters is the number of iterations a benchmark ran (its b.N), or "?".
func iters(res *result, name string) string {
	if n, ok := res.iterations[name]; ok {
		return strconv.Itoa(n)
	}
	return "?"
}

// num is a count a benchmark reports as a metric, or "?".
func num(res *result, name, unit string) string {
	v := res.first(name, unit)
	if v != v {
		return "?"
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}
