package main

import (
	"errors"
	"maps"
	"math"
	"strings"
	"testing"
)

// figuresAt sets every limit's figure to its bound.
func figuresAt(limits []limit) map[string]float64 {
	f := map[string]float64{}
	for _, l := range limits {
		f[l.figure] = l.max
	}
	return f
}

// nudge is a step just past a bound.
func nudge(v float64) float64 { return max(math.Abs(v)*1e-6, 1e-9) }

// TestEveryGoalCanMiss feeds every row's figures at, just under and just over each of its goals: a figure just
// over its limit, or missing, makes the row "missed" naming it, whatever the other figures do.
func TestEveryGoalCanMiss(t *testing.T) {
	judged := 0
	for _, s := range specs() {
		if len(s.limits) == 0 {
			if v := verdict(s.limits, nil, nil); v != "reported" {
				t.Errorf("%s: no goal, verdict %q, want reported", s.name, v)
			}
			continue
		}
		at := figuresAt(s.limits)
		if v := verdict(s.limits, at, nil); v != "met" {
			t.Errorf("%s: every figure at its limit: %q, want met", s.name, v)
		}
		under := maps.Clone(at)
		for k, v := range under {
			under[k] = v - nudge(v)
		}
		if v := verdict(s.limits, under, nil); v != "met" {
			t.Errorf("%s: every figure just under its limit: %q, want met", s.name, v)
		}
		for _, l := range s.limits {
			over := maps.Clone(under)
			over[l.figure] = l.max + nudge(l.max)
			if v := verdict(s.limits, over, nil); !strings.HasPrefix(v, "**missed**") || !strings.Contains(v, l.figure) {
				t.Errorf("%s: %s just over %v: %q, want missed naming it", s.name, l.figure, l.max, v)
			}
			gone := maps.Clone(under)
			delete(gone, l.figure)
			if v := verdict(s.limits, gone, nil); !strings.HasPrefix(v, "**missed**") {
				t.Errorf("%s: %s not measured: %q, want missed", s.name, l.figure, v)
			}
			gone[l.figure] = math.NaN()
			if v := verdict(s.limits, gone, nil); !strings.HasPrefix(v, "**missed**") {
				t.Errorf("%s: %s NaN: %q, want missed", s.name, l.figure, v)
			}
			judged++
		}
		if v := verdict(s.limits, at, errors.New("exit status 1")); v != "**failed to run**" {
			t.Errorf("%s: a failed run: %q", s.name, v)
		}
		// The goal column names every limit.
		for _, l := range s.limits {
			if g := goalText(s.limits, s.note); !strings.Contains(g, l.String()) {
				t.Errorf("%s: goal %q does not name %q", s.name, g, l)
			}
		}
	}
	if judged < 15 {
		t.Fatalf("only %d limits judged: rows lost their goals", judged)
	}
}

// canned is one run's output as `go test -bench` prints it, every figure within the rows' goals.
var canned = map[string]string{
	"overhead":  "BenchmarkBareVsFullCycle-2 40 80000000 ns/op 50.4 bare-ms 58.4 full-ms 1.16 full/bare 72.9 bare-p99-ms 91.2 full-p99-ms",
	"push":      "BenchmarkPushLatency-2 1 1 ns/op 3.6 p50-ms 8.7 p99-ms 200 rotations",
	"offboard":  "BenchmarkOffboarding100-2 1 1 ns/op 635 all-p50-ms 698 all-p99-ms 460 agent-p50-ms 692 agent-p99-ms 100 agents",
	"recompute": "BenchmarkRecompute-2 3 11900000 ns/op\nBenchmarkRecompute-2 3 15700000 ns/op",
	"plan":      "BenchmarkAgentPlan-2 20 3300000 ns/op\nBenchmarkAgentPlan-2 20 4300000 ns/op",
	"load": "BenchmarkHubUnderLoad-2 1 1 ns/op 100 accounts 2000 clients 0 errors 3.3 fetch-p50-ms 10.9 fetch-p99-ms 456 full-p50-ms 562 full-p99-ms " +
		"193 rss-idle-MiB 202 rss-peak-MiB 7.2 small-p99-ms 0 spurious 0 storm-p50-ms 0 storm-p99-ms 0 storm-wakeups 3.6 wake-p50-ms 24.3 wake-p99-ms",
	"load-pg1": "BenchmarkHubUnderLoad-2 1 1 ns/op 100 accounts 2000 clients 0 errors 4.1 fetch-p50-ms 14 fetch-p99-ms 500 full-p50-ms 640 full-p99-ms " +
		"190 rss-idle-MiB 200 rss-peak-MiB 9 small-p99-ms 0 spurious 0 storm-p50-ms 0 storm-p99-ms 0 storm-wakeups 5 wake-p50-ms 30 wake-p99-ms",
	"load-pg2": "BenchmarkHubUnderLoad-2 1 1 ns/op 100 accounts 2000 clients 0 errors 4.3 fetch-p50-ms 15 fetch-p99-ms 510 full-p50-ms 650 full-p99-ms " +
		"120 rss-idle-MiB 130 rss-peak-MiB 9 small-p99-ms 0 spurious 0 storm-p50-ms 0 storm-p99-ms 0 storm-wakeups 8 wake-p50-ms 60 wake-p99-ms",
	"replicas":  "BenchmarkReplicas-2 1 1 ns/op 200 rotations 12 push-p50-ms 40 push-p99-ms 900 hub-failover-ms 10500 failover-ms 10100 promoted-ms 10300 writable-ms 2 kills 0 lost 0 lockouts 14 cluster-up-s",
	"cold":      "BenchmarkColdStartToList-2 3 1 ns/op 68.0 ms/start",
	"filter":    "BenchmarkFilter5000-2 50 1 ns/op 4.4 ms/keystroke",
	"jit":       "BenchmarkJITEnable-2 1 1 ns/op 107 p50-ms 148 p99-ms 50 enables",
	"entra-jit": "BenchmarkEntraJITEnable-2 1 1 ns/op 53 p50-ms 143 p99-ms 20 enables",
	"authority-approve": "BenchmarkApproval/techs=1-2 10 560000 ns/op\nBenchmarkApproval/techs=200-2 10 52000000 ns/op\n" +
		"BenchmarkApproval/verify-techs=200-2 10 2700000 ns/op\nBenchmarkApproval/techs=1-2 10 610000 ns/op\n" +
		"BenchmarkApproval/techs=200-2 10 61000000 ns/op\nBenchmarkApproval/verify-techs=200-2 10 2900000 ns/op",
	"authority-console": "BenchmarkApproveRoundTrip-2 20 46000000 ns/op 22 off-ms 24.5 on-ms 1.11 on/off\n" +
		"BenchmarkApproveRoundTrip-2 20 50000000 ns/op 24 off-ms 26 on-ms 1.08 on/off",
	"authority-plan": "BenchmarkCheckPlan5000-2 20 2600000 ns/op\nBenchmarkCheckPlan5000-2 20 3400000 ns/op",
	"authority-open": "BenchmarkSignedOpen-2 200 360000 ns/op 0.16 open-ms 0.196 verified-ms 1.22 verified/open\n" +
		"BenchmarkSignedOpen-2 200 380000 ns/op 0.17 open-ms 0.21 verified-ms 1.24 verified/open",
	"seal": "BenchmarkSealVsAge-2 400 1 ns/op 3387 age-bytes 0.165 age-open-ms 0.4 age-open-p99-ms 0.275 age-recovery-ms 0.5 age-recovery-p99-ms " +
		"0.279 age-seal-ms 0.5 age-seal-p99-ms 3387 cli-bytes 21 cli-open-ms 22 cli-seal-ms 1.0 open-ratio 0.79 recovery-ratio 400 rounds 1.05 seal-ratio " +
		"3387 ww-bytes 0.165 ww-open-ms 0.4 ww-open-p99-ms 0.217 ww-recovery-ms 0.5 ww-recovery-p99-ms 0.29 ww-seal-ms 0.7 ww-seal-open-ms 0.6 ww-seal-p99-ms",
	"ondemand": "BenchmarkRotateOnDemand-2 40 1 ns/op 100 vault-ms 150 vault-p99-ms 120 vault-verified-ms 90 ww-ms 130 ww-p99-ms 0.9 ww/vault",
	"vault-throughput": "BenchmarkThroughputVsVault-2 1 1 ns/op 21.1 bare-rot/s 21.1 bare-worst-rot/s 10 vault-rot/s 10 vault-worst-rot/s 21.7 ww-rot/s 21.7 ww-worst-rot/s " +
		"2.1 ww/vault 0.97 bare/ww 10 create-rot/s 500 accounts 4 parallelism",
	"access": "BenchmarkCheckOutVsJIT-2 1 1 ns/op 20 samples 0.13 vault-call-ms 100 vault-in-ms 120 vault-in-p99-ms 20 vault-out-ms 40 vault-out-p99-ms 107 ww-ms 150 ww-p99-ms 5.3 ww/vault\n" +
		"BenchmarkOnboarding-2 1 1 ns/op 450 p50-ms 490 p99-ms 10 techs",
}

func cannedResults(t *testing.T, override map[string]string) func(string) *result {
	t.Helper()
	rs := map[string]*result{}
	for k, out := range canned {
		if o, ok := override[k]; ok {
			out = o
		}
		rs[k] = parse([]byte(out + "\nPASS\n"))
	}
	return func(k string) *result { return rs[k] }
}

// TestRowsMeetTheirGoals builds every row from parsed benchmark output within its goals: each limit finds its
// figure, and the verdict is met (or reported).
func TestRowsMeetTheirGoals(t *testing.T) {
	get := cannedResults(t, nil)
	for _, s := range specs() {
		r, goal, v := build(s, get)
		for _, l := range s.limits {
			if f, ok := r.figures[l.figure]; !ok || math.IsNaN(f) {
				t.Errorf("%s: the row has no figure %q for its goal %q", s.name, l.figure, goal)
			}
		}
		want := "met"
		if len(s.limits) == 0 {
			want = "reported"
		}
		if v != want {
			t.Errorf("%s: %q, want %s (figures %v)", s.name, v, want, r.figures)
		}
	}
}

// TestCryptoRowJudgesRecoveryOpen: the crypto row once printed three figures and judged two; a recovery open over
// its goal, the others within theirs, must miss.
func TestCryptoRowJudgesRecoveryOpen(t *testing.T) {
	out := strings.Replace(canned["seal"], "0.79 recovery-ratio", "1.2 recovery-ratio", 1)
	r, _, v := build(spec("crypto"), cannedResults(t, map[string]string{"seal": out}))
	if v != "**missed** (recovery open ÷ age)" {
		t.Fatalf("crypto row with the recovery open at 1.2× age: %q (figures %v)", v, r.figures)
	}
	// Its run failing says so rather than judging what little it printed.
	get := cannedResults(t, nil)
	failing := func(k string) *result {
		res := get(k)
		if k == "seal" {
			res.err = errors.New("exit status 1")
		}
		return res
	}
	if _, _, v := build(spec("crypto"), failing); v != "**failed to run**" {
		t.Fatalf("crypto row whose run failed: %q", v)
	}
}

func TestParseSubBenchmarks(t *testing.T) {
	res := parse([]byte("BenchmarkRotationScale/accounts=100-2 \t 1\t1135262540 ns/op\t 100.0 accounts\t 1.093 pass-s\n" +
		"rotation scale, 100 accounts on one agent (OpenLDAP): pass 1.1 s\nok  \tx\t1s\n"))
	if v := res.first("BenchmarkRotationScale/accounts=100", "pass-s"); v != 1.093 {
		t.Fatalf("pass-s = %v", v)
	}
	if len(res.notes) != 1 || res.iterations["BenchmarkRotationScale/accounts=100"] != 1 {
		t.Fatalf("notes %q, iterations %v", res.notes, res.iterations)
	}
}

// TestSignedAuthorityRowJudgesEachFigure: the signed authority row reads three runs and judges a ratio it computes
// itself; a verified open at twice the open misses naming the ratio, a plan check over 5 ms misses naming it, and a
// sub-benchmark the run no longer prints misses rather than passing on no figure.
func TestSignedAuthorityRowJudgesEachFigure(t *testing.T) {
	s := spec("signed authority")
	slow := "BenchmarkSignedOpen-2 200 520000 ns/op 0.17 open-ms 0.35 verified-ms 2.06 verified/open"
	if _, _, v := build(s, cannedResults(t, map[string]string{"authority-open": slow})); v != "**missed** (verified open ÷ open (median))" {
		t.Fatalf("verified open at twice the open: %q", v)
	}
	if _, _, v := build(s, cannedResults(t, map[string]string{"authority-plan": "BenchmarkCheckPlan5000-2 20 5200000 ns/op"})); v != "**missed** (plan check (median))" {
		t.Fatalf("plan check at 5.2 ms: %q", v)
	}
	gone := strings.ReplaceAll(canned["authority-approve"], "techs=200-2", "batch-2")
	if r, _, v := build(s, cannedResults(t, map[string]string{"authority-approve": gone})); v != "**missed** (200 approvals (median))" {
		t.Fatalf("no 200-tech approval in the run: %q (figures %v)", v, r.figures)
	}
}
