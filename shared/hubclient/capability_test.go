package hubclient

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// TestHubCapabilityFromAnOlderHub: every request says what this build can do, and the client remembers what the
// hub said it can, refusals included, so that callers gate features on it.
func TestHubCapabilityFromAnOlderHub(t *testing.T) {
	me, _ := seal.GenerateIdentity()
	var mu sync.Mutex
	var sent []string
	answer := wire.CapJIT // a hub from before two-factor sessions
	srv, hubID := fakeHub(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		sent = append(sent, r.Header.Get(wire.HeaderCapability))
		v := answer
		mu.Unlock()
		switch r.URL.Path {
		case wire.PathTechStatus:
			w.Header().Set(wire.HeaderCapability, strconv.Itoa(v))
			json.NewEncoder(w).Encode(wire.TechStatusResponse{TechID: 7, Status: wire.TechActive})
		case wire.PathTechCredentials:
			w.Header().Set(wire.HeaderCapability, strconv.Itoa(v))
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(wire.Error{Code: wire.CodePending, Message: "tech is pending"})
		default: // an error page of a proxy in front of the hub
			w.WriteHeader(http.StatusBadGateway)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := New(wire.Invite{HubURL: srv.URL, ClientGUID: guid, HubPin: hubID.Public().ID()}, me)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.HubCapability(); got != 0 || c.Supports(wire.MinCapabilityVersion) {
		t.Fatalf("before any answer: capability %d, supports %d: %v; want 0 and false", got, wire.MinCapabilityVersion, c.Supports(wire.MinCapabilityVersion))
	}
	if _, err := c.Status(ctx); err != nil {
		t.Fatal(err)
	}
	if got := c.HubCapability(); got != wire.CapJIT {
		t.Fatalf("after the hub answered %d: capability %d", wire.CapJIT, got)
	}
	if !c.Supports(wire.CapDeltaChanges) || !c.Supports(wire.CapJIT) || c.Supports(wire.CapTwoFactor) || c.Supports(wire.CapHistory) {
		t.Fatalf("a hub at %d: supports delta %v, JIT %v, two-factor %v, history %v; want true, true, false, false",
			wire.CapJIT, c.Supports(wire.CapDeltaChanges), c.Supports(wire.CapJIT), c.Supports(wire.CapTwoFactor), c.Supports(wire.CapHistory))
	}

	mu.Lock()
	answer = wire.CapRekey // the hub was upgraded; its refusal says so
	mu.Unlock()
	if _, err := c.Credentials(ctx); err == nil {
		t.Fatal("the hub's refusal was not returned")
	}
	if got := c.HubCapability(); got != wire.CapRekey {
		t.Fatalf("after a refusal stating %d: capability %d", wire.CapRekey, got)
	}
	if _, err := c.Agents(ctx); err == nil {
		t.Fatal("the proxy's error page was not returned")
	}
	if got := c.HubCapability(); got != wire.CapRekey {
		t.Fatalf("after an answer without the header: capability %d, want the hub's %d kept", got, wire.CapRekey)
	}

	mu.Lock()
	defer mu.Unlock()
	want := strconv.Itoa(wire.CapabilityVersion)
	for i, s := range sent {
		if s != want {
			t.Errorf("request %d sent %s %q, want %q", i, wire.HeaderCapability, s, want)
		}
	}
	if len(sent) != 3 {
		t.Errorf("the hub saw %d requests, want 3", len(sent))
	}
}

// TestHubCapabilityWithoutTheHeader: a hub older than the header is at the first capability version.
func TestHubCapabilityWithoutTheHeader(t *testing.T) {
	me, _ := seal.GenerateIdentity()
	for _, header := range []string{"", "eight", "0", "-3"} {
		srv, hubID := fakeHub(t, func(w http.ResponseWriter, r *http.Request) {
			if header != "" {
				w.Header().Set(wire.HeaderCapability, header)
			}
			json.NewEncoder(w).Encode(wire.TechStatusResponse{TechID: 7, Status: wire.TechActive})
		})
		c, _ := New(wire.Invite{HubURL: srv.URL, ClientGUID: guid, HubPin: hubID.Public().ID()}, me)
		if _, err := c.Status(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := c.HubCapability(); got != wire.MinCapabilityVersion || c.Supports(wire.CapDeltaChanges) {
			t.Errorf("header %q: capability %d, supports delta changes %v; want %d and false", header, got,
				c.Supports(wire.CapDeltaChanges), wire.MinCapabilityVersion)
		}
		c.Close()
	}
}

// TestStageSignatureOnlyToAHubThatTakesIt: a hub older than wire.CapEnvelopeSignature gets staged versions without
// the signature field (it would refuse a field it does not know); a hub that takes it gets the signature.
func TestStageSignatureOnlyToAHubThatTakesIt(t *testing.T) {
	me, _ := seal.GenerateIdentity()
	for _, hubCap := range []int{wire.CapAuthority, wire.CapEnvelopeSignature} {
		var mu sync.Mutex
		var bodies []map[string]any
		srv, hubID := fakeHub(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set(wire.HeaderCapability, strconv.Itoa(hubCap))
			if r.URL.Path == wire.PathAgentStage {
				var body map[string]any
				json.NewDecoder(r.Body).Decode(&body)
				mu.Lock()
				bodies = append(bodies, body)
				mu.Unlock()
			}
			w.Write([]byte("{}"))
		})
		c, _ := New(wire.Invite{HubURL: srv.URL, ClientGUID: guid, HubPin: hubID.Public().ID()}, me)
		ctx := context.Background()
		if _, err := c.Plan(ctx, 0); err != nil { // an agent polls its plan before it stages
			t.Fatal(err)
		}
		sig := make([]byte, 64)
		if err := c.StageSigned(ctx, 1, 2, []byte("age"), sig); err != nil {
			t.Fatal(err)
		}
		if err := c.StageRecoveryOnlySigned(ctx, 1, 3, []byte("age"), sig); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		for i, b := range bodies {
			if _, has := b["signature"]; has != (hubCap >= wire.CapEnvelopeSignature) {
				t.Errorf("hub at %d, stage %d: signature sent %v", hubCap, i, has)
			}
		}
		if len(bodies) != 2 {
			t.Errorf("hub at %d saw %d stages, want 2", hubCap, len(bodies))
		}
		mu.Unlock()
		c.Close()
	}
}
