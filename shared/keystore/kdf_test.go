package keystore

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"filippo.io/age"
)

// scryptFactor reads the work factor an age passphrase file records in its header ("-> scrypt SALT LOGN").
func scryptFactor(t *testing.T, data []byte) string {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 4 && f[0] == "->" && f[1] == "scrypt" {
			return f[3]
		}
	}
	t.Fatalf("no scrypt stanza in the header:\n%s", data)
	return ""
}

// TestScryptWorkFactor: a new passphrase file is sealed at DefaultScryptWorkFactor (the figure docs/security.md
// builds the offline cost on), or at the factor the options ask for; a file sealed as age seals it by default, as
// every file written before the factor was set here was, still opens.
func TestScryptWorkFactor(t *testing.T) {
	if testing.Short() {
		t.Skip("seals and opens at the full work factor (about 2 s)")
	}
	s := newStore(t, NoKeyring, fixedPassphrase("correct horse"))
	s.o.ScryptWorkFactor = 0
	if _, err := s.Save("device", testSecret); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(s.Path("device"))
	if err != nil {
		t.Fatal(err)
	}
	if got := scryptFactor(t, data); got != fmt.Sprint(DefaultScryptWorkFactor) {
		t.Fatalf("new file sealed at 2^%s, want 2^%d", got, DefaultScryptWorkFactor)
	}

	low := newStore(t, NoKeyring, fixedPassphrase("correct horse")) // the tests' factor, 10
	if _, err := low.Save("device", testSecret); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(low.Path("device"))
	if got := scryptFactor(t, data); got != "10" {
		t.Fatalf("file sealed at 2^%s, want the options' 2^10", got)
	}

	// An older file: age's own default factor, written without the store.
	r, err := age.NewScryptRecipient("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, testSecret)
	w.Close()
	if err := os.WriteFile(low.Path("device"), buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if v, b, err := low.Load("device"); err != nil || v != testSecret || b != BackendFile {
		t.Fatalf("an age-default file (2^%s) does not open: %v", scryptFactor(t, buf.Bytes()), err)
	}
}

// BenchmarkUnlock opens a sealed file through the store at the default work factor and its neighbours: one op is
// one unlock, which is also what one guess costs an attacker holding a copy of the file, on the same kind of core.
// cpu-ns/op is the process's CPU time per unlock, which a busy machine inflates less than ns/op.
//
//	go test -run '^$' -bench Unlock -benchtime 5x -cpu 1 ./shared/keystore/
func BenchmarkUnlock(b *testing.B) {
	for _, logN := range []int{DefaultScryptWorkFactor - 2, DefaultScryptWorkFactor - 1, DefaultScryptWorkFactor, DefaultScryptWorkFactor + 1} {
		b.Run(fmt.Sprintf("logN=%d", logN), func(b *testing.B) {
			s, err := New(Options{Service: "watchword-bench", Dir: b.TempDir(), Keyring: NoKeyring,
				Passphrase: fixedPassphrase("correct horse battery staple"), ScryptWorkFactor: logN})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.Save("device", testSecret); err != nil {
				b.Fatal(err)
			}
			cpu0, cpuOK := cpuTime()
			b.ResetTimer()
			for range b.N {
				if v, _, err := s.Load("device"); err != nil || v != testSecret {
					b.Fatalf("unlock: %v", err)
				}
			}
			b.StopTimer()
			if cpu1, ok := cpuTime(); ok && cpuOK {
				b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
			}
			b.ReportMetric(float64(int64(128*8)<<logN)/(1<<20), "MiB/guess")
		})
	}
}
