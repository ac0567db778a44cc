package hub_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/wire"
)

// TestCapabilityVersion: the hub names its capability version on every response (an answer, a refusal, an
// unknown path) and in its health answer; it refuses a client older than wire.MinCapabilityVersion, or whose
// capability header is not a number, with a bad_request naming the header, audited like a protocol refusal; it
// serves a client of any capability from the minimum on, newer than itself included, and one that sends none.
func TestCapabilityVersion(t *testing.T) {
	ctx := testCtx(t)
	h := hubtest.New(t)
	alice := h.ActiveTech("alice")
	want := strconv.Itoa(wire.CapabilityVersion)
	r := newRaw(t, h, alice.Identity)
	get := func(path string, hdr map[string][]string) (*http.Response, wire.Error) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "GET", h.URL+path, nil)
		req.Header.Set(wire.HeaderClient, h.GUID)
		for k, vs := range hdr {
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
		resp, err := r.c.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		var e wire.Error
		if resp.StatusCode >= 400 {
			json.NewDecoder(resp.Body).Decode(&e)
		}
		return resp, e
	}

	resp, _ := get(wire.PathHealthz, nil)
	if got := resp.Header.Get(wire.HeaderCapability); got != want {
		t.Errorf("healthz header %s %q, want %q", wire.HeaderCapability, got, want)
	}
	var health struct {
		Capability int `json:"capability"`
		Protocol   int `json:"protocol"`
	}
	hr, err := http.NewRequestWithContext(ctx, "GET", h.URL+wire.PathHealthz, nil)
	noErr(t, err)
	hresp, err := r.c.Do(hr)
	noErr(t, err)
	noErr(t, json.NewDecoder(hresp.Body).Decode(&health))
	hresp.Body.Close()
	if health.Capability != wire.CapabilityVersion || health.Protocol != wire.ProtocolVersion {
		t.Errorf("healthz body %+v, want capability %d and protocol %d", health, wire.CapabilityVersion, wire.ProtocolVersion)
	}
	for _, path := range []string{wire.PathTechCredentials, "/v1/no/such/path"} {
		if resp, _ := get(path, nil); resp.Header.Get(wire.HeaderCapability) != want {
			t.Errorf("GET %s (%d): header %s %q, want %q", path, resp.StatusCode, wire.HeaderCapability, resp.Header.Get(wire.HeaderCapability), want)
		}
	}

	for _, v := range [][]string{{strconv.Itoa(wire.MinCapabilityVersion - 1)}, {"-1"}, {"x"}, {"7.5"}, {""}, {"8", "8"}} {
		resp, e := get(wire.PathTechCredentials, map[string][]string{wire.HeaderCapability: v})
		if resp.StatusCode != 400 || e.Code != wire.CodeBadRequest || e.Field != wire.HeaderCapability {
			t.Errorf("capability %q: %d %+v, want 400 bad_request on %s", v, resp.StatusCode, e, wire.HeaderCapability)
		}
		if got := resp.Header.Get(wire.HeaderCapability); got != want {
			t.Errorf("refusal of capability %q: header %q, want %q", v, got, want)
		}
	}
	for _, v := range []string{strconv.Itoa(wire.MinCapabilityVersion), want, strconv.Itoa(wire.CapabilityVersion + 5)} {
		if resp, e := get(wire.PathTechCredentials, map[string][]string{wire.HeaderCapability: {v}}); resp.StatusCode != 200 {
			t.Errorf("capability %s refused: %d %+v", v, resp.StatusCode, e)
		}
	}
	// The protocol header is a number too: its major version is the hub's, however it is written.
	if resp, e := get(wire.PathTechCredentials, map[string][]string{wire.HeaderProtocol: {"01"}}); resp.StatusCode != 200 {
		t.Errorf("protocol 01 refused: %d %+v", resp.StatusCode, e)
	}
	if !refusedAs(refusals(t, h), "capability", alice.Identity.Public().ID()) {
		t.Error("a refused capability version was not audited")
	}
	if _, err := alice.Credentials(context.Background()); err != nil {
		t.Fatalf("the typed client after the refusals: %v", err)
	}
}
