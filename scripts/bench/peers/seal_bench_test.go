package peers_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/watchword/watchword/internal/testsupport/agenttest"
	"github.com/watchword/watchword/shared/seal"
)

// productAge is the filippo.io/age version the product's go.mod requires.
func productAge(tb testing.TB) string {
	tb.Helper()
	f, err := os.Open("../../../go.mod")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) >= 2 && fs[0] == "filippo.io/age" {
			return fs[1]
		}
	}
	tb.Fatal("the product's go.mod requires no filippo.io/age")
	return ""
}

// linkedAge is the filippo.io/age version this module selects, which this test binary links and the age command
// is built from.
func linkedAge(tb testing.TB) string {
	tb.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "filippo.io/age").Output()
	if err != nil {
		tb.Fatalf("go list -m filippo.io/age: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// buildAgeCLI builds the age command of this module's filippo.io/age (a tool of its go.mod) into dir.
func buildAgeCLI(tb testing.TB, dir string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	bin := filepath.Join(dir, "age")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "filippo.io/age/cmd/age").CombinedOutput(); err != nil {
		tb.Fatalf("go build filippo.io/age/cmd/age: %v\n%s", err, out)
	}
	return bin
}

// BenchmarkSealVsAge seals a 64-byte password to a device and the recovery recipient (both hybrid ML-KEM-768 +
// X25519) and opens it with the device and with the recovery identity, interleaved operation by operation: (W)
// Watchword's seal.Seal and seal.Open, (A) the age library (age.Encrypt and age.Decrypt, one call each) with the
// same recipients, identities and plaintext (the context header Watchword binds, then the password). Which one
// goes first alternates. Outside that loop, the age command built from the same filippo.io/age release as the
// product's go.mod seals and opens the same plaintext end to end (a process each, files on disk), interleaved with
// Watchword's library calls. It reports medians, p99s, ratios and the envelope sizes.
// Sizes: -benchtime Nx library rounds; WATCHWORD_BENCH_AGE_CLI (20) command rounds.
// Run: go test -run '^$' -bench SealVsAge -benchtime 400x .
func BenchmarkSealVsAge(b *testing.B) {
	if p, l := productAge(b), linkedAge(b); p != l {
		b.Fatalf("filippo.io/age: the product requires %s, this module links %s", p, l)
	}
	cliRounds := agenttest.EnvInt("WATCHWORD_BENCH_AGE_CLI", 20)
	dir := b.TempDir()
	cli := buildAgeCLI(b, dir)

	device, err := seal.GenerateIdentity()
	if err != nil {
		b.Fatal(err)
	}
	recovery, err := age.GenerateHybridIdentity()
	if err != nil {
		b.Fatal(err)
	}
	dev, rec := device.Public().Recipient(), recovery.Recipient()
	sctx := seal.Context{Tenant: "5f0c3d2e-8a41-4b7e-9d55-1c2b3a4d5e6f", Agent: "17", Account: "alice-tm", Version: 42}
	secret := bytes.Repeat([]byte("p"), 64)
	// The plaintext Watchword seals: its context header, a blank line, the password.
	plain := fmt.Appendf(nil, "watchword-envelope/1\ntenant: %s\nagent: %s\naccount: %s\nversion: %d\n\n%s",
		sctx.Tenant, sctx.Agent, sctx.Account, sctx.Version, secret)

	wSeal := func() []byte {
		env, err := seal.Seal(secret, sctx, device.Public(), rec)
		if err != nil {
			b.Fatal(err)
		}
		return env
	}
	aSeal := func() []byte {
		var buf bytes.Buffer
		w, err := age.Encrypt(&buf, dev, rec)
		if err == nil {
			_, err = w.Write(plain)
		}
		if err == nil {
			err = w.Close()
		}
		if err != nil {
			b.Fatal(err)
		}
		return buf.Bytes()
	}
	wOpen := func(env []byte, id age.Identity) {
		if pw, err := seal.Open(env, sctx, id); err != nil || !bytes.Equal(pw, secret) {
			b.Fatalf("seal.Open: %v", err)
		}
	}
	aOpen := func(env []byte, id age.Identity) {
		r, err := age.Decrypt(bytes.NewReader(env), id)
		if err != nil {
			b.Fatal(err)
		}
		if pt, err := io.ReadAll(r); err != nil || !bytes.Equal(pt, plain) {
			b.Fatalf("age.Decrypt: %v", err)
		}
	}
	wEnv, aEnv := wSeal(), aSeal()
	// Each opens the other's envelope too: the same format.
	wOpen(aEnv, device)
	aOpen(wEnv, recovery)

	var ws, as, wo, ao, wr, ar []time.Duration
	clock := func(into *[]time.Duration, f func()) {
		t0 := time.Now()
		f()
		*into = append(*into, time.Since(t0))
	}
	round := 0
	for b.Loop() {
		pairs := []struct {
			w, a   func()
			wd, ad *[]time.Duration
		}{
			{func() { wSeal() }, func() { aSeal() }, &ws, &as},
			{func() { wOpen(wEnv, device) }, func() { aOpen(aEnv, device.AgeIdentity()) }, &wo, &ao},
			{func() { wOpen(wEnv, recovery) }, func() { aOpen(aEnv, recovery) }, &wr, &ar},
		}
		for _, p := range pairs {
			if round%2 == 0 {
				clock(p.wd, p.w)
				clock(p.ad, p.a)
			} else {
				clock(p.ad, p.a)
				clock(p.wd, p.w)
			}
		}
		round++
	}
	b.StopTimer()

	// The age command, end to end: `age -e -r DEVICE -r RECOVERY -o out in` and `age -d -i key out`.
	in, out, key := filepath.Join(dir, "plain"), filepath.Join(dir, "sealed.age"), filepath.Join(dir, "recovery.key")
	if err := os.WriteFile(in, plain, 0o600); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(key, []byte(recovery.String()+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	run := func(args ...string) {
		var stderr bytes.Buffer
		cmd := exec.Command(cli, args...)
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			b.Fatalf("age %s: %v: %s", args[0], err, stderr.String())
		}
	}
	var ce, cd, cw []time.Duration
	var cliSize int
	for range cliRounds {
		clock(&ce, func() { run("-e", "-r", dev.String(), "-r", rec.String(), "-o", out, in) })
		clock(&cd, func() { run("-d", "-i", key, "-o", in+".out", out) })
		clock(&cw, func() { wOpen(wSeal(), recovery) })
	}
	if got, err := os.ReadFile(in + ".out"); err != nil || !bytes.Equal(got, plain) {
		b.Fatalf("age -d: %v", err)
	}
	if fi, err := os.Stat(out); err == nil {
		cliSize = int(fi.Size())
	}

	ratio := func(w, a []time.Duration) float64 { return pct(w, 50) / pct(a, 50) }
	for _, m := range []struct {
		d    []time.Duration
		name string
	}{{ws, "ww-seal"}, {as, "age-seal"}, {wo, "ww-open"}, {ao, "age-open"}, {wr, "ww-recovery"}, {ar, "age-recovery"}} {
		b.ReportMetric(pct(m.d, 50), m.name+"-ms")
		b.ReportMetric(pct(m.d, 99), m.name+"-p99-ms")
	}
	b.ReportMetric(ratio(ws, as), "seal-ratio")
	b.ReportMetric(ratio(wo, ao), "open-ratio")
	b.ReportMetric(ratio(wr, ar), "recovery-ratio")
	b.ReportMetric(pct(ce, 50), "cli-seal-ms")
	b.ReportMetric(pct(cd, 50), "cli-open-ms")
	b.ReportMetric(pct(cw, 50), "ww-seal-open-ms")
	b.ReportMetric(float64(len(wEnv)), "ww-bytes")
	b.ReportMetric(float64(len(aEnv)), "age-bytes")
	b.ReportMetric(float64(cliSize), "cli-bytes")
	b.ReportMetric(float64(len(ws)), "rounds")
	fmt.Printf("seal/open vs age %s, 64-byte password, device + recovery recipients: seal %.3f vs %.3f ms (%.2f×), "+
		"device open %.3f vs %.3f ms (%.2f×), recovery open %.3f vs %.3f ms (%.2f×), %d rounds interleaved; "+
		"age command end to end: seal %.1f ms, recovery open %.1f ms vs Watchword's seal+open %.3f ms (%d rounds); "+
		"envelopes %d bytes (Watchword), %d (age library), %d (age command)\n",
		linkedAge(b), pct(ws, 50), pct(as, 50), ratio(ws, as), pct(wo, 50), pct(ao, 50), ratio(wo, ao),
		pct(wr, 50), pct(ar, 50), ratio(wr, ar), len(ws), pct(ce, 50), pct(cd, 50), pct(cw, 50), len(ce),
		len(wEnv), len(aEnv), cliSize)
}
