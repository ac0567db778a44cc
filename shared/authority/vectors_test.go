package authority_test

import (
	"bufio"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/watchword/watchword/shared/authority"
)

var updateVectors = flag.Bool("update-vectors", false, "rewrite testdata/vectors.txt from the current encoding")

// vector is one line of testdata/vectors.txt: a name, whether the update applies to the state before it (the
// lines form one chain), its hash when it does, and its encoding in hex.
type vector struct {
	name, want, hash string
	enc              []byte
}

// readVectors reads testdata/vectors.txt; the fuzz tests start from the same encodings.
func readVectors(t testing.TB) []vector {
	t.Helper()
	return readVectorFile(t, "testdata/vectors.txt")
}

// readVectorFile reads a file of vectors in the format of testdata/vectors.txt.
func readVectorFile(t testing.TB, name string) []vector {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []vector
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) != 4 {
			t.Fatalf("vector line %q: want name, want, hash, hex", line)
		}
		b, err := hex.DecodeString(fs[3])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, vector{name: fs[0], want: fs[1], hash: fs[2], enc: b})
	}
	return out
}

// vectorChain is the chain the vectors hold: deterministic keys and times, so the bytes never change unless the
// format does (which TestVectors then reports).
func vectorChain(t testing.TB) []vector {
	l := genesis(t)
	var out []vector
	add := func(name string, b []byte) {
		out = append(out, vector{name: name, want: "ok", hash: l.state.Head.String(), enc: b})
	}
	add("genesis", l.enc[0])
	add("naming", l.add([]authority.Op{authority.SetNaming("{username:8}-{abbrev}", "ctso")}, admin))
	add("triplet-removed", l.add([]authority.Op{authority.RemoveTriplet(4)}, admin))
	add("audit-checkpoint", l.add([]authority.Op{authority.AuditCheckpoint(12, eventHash(12))}, auditor))
	bad := l.next([]authority.Op{authority.SetTriplet(5, 1, 2, 3)}, attacker)
	b, _ := bad.Encode()
	out = append(out, vector{name: "stranger-signed", want: "refused", hash: "-", enc: b})
	add("tech-approved", l.add([]authority.Op{vectorApproval}, admin))
	add("tech-short-name", l.add([]authority.Op{authority.SetTechShortName(8, "maxo")}, admin))
	return out
}

// vectorApproval approves a device whose keys never change (ApproveTech with a fixed auth key and recipient),
// which a generated age identity would not give.
var vectorApproval = authority.Op{Kind: authority.OpTechApprove, ID: 8, Name: "maximilian.oz", Key: pub(key("device-8")),
	Recipient: authority.RecipientHash("age1pq1device-of-maximilian")}

// TestVectors: the encodings and hashes of testdata/vectors.txt are what this build produces and accepts.
func TestVectors(t *testing.T) {
	if *updateVectors {
		var sb strings.Builder
		sb.WriteString("# name want hash encoding — regenerate with go test -run TestVectors ./shared/authority -args -update-vectors\n")
		for _, v := range vectorChain(t) {
			sb.WriteString(v.name + " " + v.want + " " + v.hash + " " + hex.EncodeToString(v.enc) + "\n")
		}
		if err := os.WriteFile("testdata/vectors.txt", []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vs := readVectors(t)
	if len(vs) == 0 {
		t.Fatal("no vectors")
	}
	fresh := vectorChain(t)
	var s = &authority.State{}
	for i, v := range vs {
		if i < len(fresh) && hex.EncodeToString(fresh[i].enc) != hex.EncodeToString(v.enc) {
			t.Errorf("%s: this build encodes the update differently", v.name)
		}
		u, err := authority.Decode(v.enc)
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		next, err := s.Apply(u)
		switch {
		case v.want == "ok" && err != nil:
			t.Fatalf("%s: %v", v.name, err)
		case v.want == "ok" && next.Head.String() != v.hash:
			t.Fatalf("%s: hash %s, vector says %s", v.name, next.Head, v.hash)
		case v.want != "ok" && !errors.Is(err, authority.ErrBadSignature):
			t.Fatalf("%s: %v, want ErrBadSignature", v.name, err)
		case v.want == "ok":
			s = next
		}
	}
}

// FuzzDecode: any bytes decode to an error or to an update that encodes back to the same bytes; applying it to
// the vectors' genesis state never panics.
func FuzzDecode(f *testing.F) {
	vs := readVectors(f)
	for _, v := range vs {
		f.Add(v.enc)
	}
	base, err := authority.Decode(vs[0].enc)
	if err != nil {
		f.Fatal(err)
	}
	s, err := (&authority.State{}).Apply(base)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := authority.Decode(b)
		if err != nil {
			return
		}
		again, err := u.Encode()
		if err != nil || hex.EncodeToString(again) != hex.EncodeToString(b) {
			t.Fatalf("decoded update encodes to other bytes: %v", err)
		}
		_, _ = s.Apply(u)
		_, _ = (&authority.State{}).Apply(u)
	})
}
