package wire

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzWireJSON decodes arbitrary bytes as every body a client receives or the hub accepts, strictly as the hub
// does. Decoding must never panic, and whatever decodes must re-encode to JSON that decodes to the same encoding
// (no value that changes meaning on the way through a client or a hub).
func FuzzWireJSON(f *testing.F) {
	news := []func() any{
		func() any { return new(Plan) }, func() any { return new(CredentialsResponse) }, func() any { return new(Error) },
		func() any { return new(RegisterRequest) }, func() any { return new(StageRequest) }, func() any { return new(AccountsReport) },
		func() any { return new(RightRequest) }, func() any { return new(Policy) }, func() any { return new(TechStatusResponse) },
		func() any { return new(EnrollRequest) }, func() any { return new(AuditResponse) },
	}
	for i := range news {
		for _, s := range []string{`{}`, `{"accounts":[{"accountId":1,"recipients":["age1pq1x"]}],"nextDueAt":"2026-01-01T00:00:00Z"}`,
			`{"credentials":[{"versions":[{"envelope":"YWdl","version":1}]}]}`, `{"code":"invalid","errors":[{"code":"x"}]}`,
			`{"targets":{"ad":["Domain Admins"]}}`, `{"envelope":"!!"}`, "{\"username\":\"\xff\"}", `{"version":1e400}`} {
			f.Add(uint8(i), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		mk := news[int(which)%len(news)]
		v := mk()
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if dec.Decode(v) != nil {
			return
		}
		once, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("re-encode %T from %q: %v", v, data, err)
		}
		w := mk()
		if err := json.Unmarshal(once, w); err != nil {
			t.Fatalf("decode own encoding %q of %T: %v", once, v, err)
		}
		twice, _ := json.Marshal(w)
		if !bytes.Equal(once, twice) {
			t.Fatalf("%T changes on a round trip: %q then %q", v, once, twice)
		}
	})
}
