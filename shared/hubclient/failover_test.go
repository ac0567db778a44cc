package hubclient_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/hubclient"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// hosts counts the requests a client sends to each host and signals each one on sent.
type hosts struct {
	mu   sync.Mutex
	n    map[string]int
	sent chan *http.Request
	next http.RoundTripper
}

func (h *hosts) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.n[r.URL.Host]++
	h.mu.Unlock()
	select {
	case h.sent <- r:
	default:
	}
	return h.next.RoundTrip(r)
}

func (h *hosts) count(rawURL string) int {
	u, _ := url.Parse(rawURL)
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[u.Host]
}

func countingClient(t *testing.T, inv wire.Invite, id *seal.Identity) (*hubclient.Client, *hosts) {
	t.Helper()
	hs := &hosts{n: map[string]int{}, sent: make(chan *http.Request, 16)}
	c, err := hubclient.New(inv, id, hubclient.WithTimeout(10*time.Second),
		hubclient.WithTransport(func(rt http.RoundTripper) http.RoundTripper { hs.next = rt; return hs }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, hs
}

// TestFailoverMidPoll: an agent holds both URLs of a hub (a replica first, then the first hub, one store, one key).
// It long-polls its plan on the replica; the replica dies in the middle of the poll; the same poll carries on at
// the other address, where a change made through that hub ends it with the new plan; and the client stays there.
func TestFailoverMidPoll(t *testing.T) {
	h := hubtest.New(t)
	rep := h.Replica()
	agent := h.NewAgent("contoso.local", wire.DriverAD)
	inv := h.Invite.WithURLs(rep.URL, h.URL)
	c, hs := countingClient(t, inv, agent.Identity)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	first, err := c.Plan(ctx, 0)
	if err != nil || c.URL() != rep.URL || hs.count(rep.URL) != 1 || hs.count(h.URL) != 0 {
		t.Fatalf("first plan: %v; on %s; replica %d requests, hub %d", err, c.URL(), hs.count(rep.URL), hs.count(h.URL))
	}
	<-hs.sent
	type result struct {
		p   *wire.Plan
		err error
	}
	done := make(chan result, 1)
	go func() {
		p, err := c.PlanWait(ctx, first.Revision, 20*time.Second)
		done <- result{p, err}
	}()
	if r := <-hs.sent; r.URL.Host != hostOf(rep.URL) {
		t.Fatalf("the poll went to %s, want the replica", r.URL.Host)
	}
	// Let the replica take the poll in, then kill it under the poll.
	time.Sleep(200 * time.Millisecond)
	rep.Kill()
	select {
	case r := <-hs.sent:
		if r.URL.Host != hostOf(h.URL) {
			t.Fatalf("after the replica died the poll went to %s, want %s", r.URL.Host, h.URL)
		}
	case r := <-done:
		t.Fatalf("the poll ended without moving to the other hub: %+v, %v", r.p, r.err)
	case <-ctx.Done():
		t.Fatal("the poll never moved to the other hub")
	}
	h.ActiveTech("alice") // a change the agent's plan carries: alice's account on it
	r := <-done
	if r.err != nil || r.p.Revision <= first.Revision {
		t.Fatalf("poll across the failover: %+v, %v (revision before %d)", r.p, r.err, first.Revision)
	}
	if c.URL() != h.URL {
		t.Fatalf("the client uses %s, want %s", c.URL(), h.URL)
	}
	before := hs.count(rep.URL)
	for range 3 {
		p, err := c.Plan(ctx, 0)
		if err != nil || len(p.Accounts) != 1 {
			t.Fatalf("plan after the failover: %v, %d accounts, want alice's", err, len(p.Accounts))
		}
	}
	if hs.count(rep.URL) != before || c.URL() != h.URL {
		t.Fatalf("the client went back to the dead replica: %d requests there, was %d", hs.count(rep.URL), before)
	}
}

func hostOf(raw string) string {
	u, _ := url.Parse(raw)
	return u.Host
}

// fakeHubWith serves handler over TLS with the certificate of key, requiring a client certificate.
func fakeHubWith(t *testing.T, key *seal.Identity, handler http.HandlerFunc) *httptest.Server {
	t.Helper()
	cert, err := key.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(handler)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAnyClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// TestFailoverRefusesAnotherKey: an address that answers with another key than the invite pins gets no request
// and never becomes the address in use; the client goes on to the real hub's address. With no other address, the
// call fails as the pin check makes it fail, and when every address fails the other key is the error shown.
func TestFailoverRefusesAnotherKey(t *testing.T) {
	h := hubtest.New(t)
	var reached atomic.Int32
	impostor := fakeHubWith(t, h.NewIdentity(), func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		w.Write([]byte(`{"ok":true}`))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	me := h.NewIdentity()

	c, _ := countingClient(t, h.Invite.WithURLs(impostor.URL, h.URL), me)
	for range 2 {
		if err := c.Healthz(ctx); err != nil {
			t.Fatalf("healthz past an impostor: %v", err)
		}
		if c.URL() != h.URL {
			t.Fatalf("the client uses %s, want the hub's %s", c.URL(), h.URL)
		}
	}
	only, _ := countingClient(t, h.Invite.WithURLs(impostor.URL), me)
	if err := only.Healthz(ctx); !errors.Is(err, seal.ErrUnexpectedPeer) {
		t.Fatalf("an impostor alone: %v, want ErrUnexpectedPeer", err)
	}
	dead := httptest.NewUnstartedServer(http.NotFoundHandler()) // an address nothing listens on
	deadURL := "https://" + dead.Listener.Addr().String()
	dead.Listener.Close()
	both, _ := countingClient(t, h.Invite.WithURLs(impostor.URL, deadURL), me)
	if err := both.Healthz(ctx); !errors.Is(err, seal.ErrUnexpectedPeer) {
		t.Fatalf("an impostor and a dead address: %v, want ErrUnexpectedPeer", err)
	}
	if reached.Load() != 0 {
		t.Fatalf("the impostor got %d requests", reached.Load())
	}
}

// TestFailoverRules drives two fake hubs on the pinned key: a 4xx refusal is the hub speaking (no failover); a
// proxy's 502 moves a GET on and back is never tried again while the other answers; a POST whose connection
// drops after it was sent is not sent twice (its error comes back, the next request goes to the other address);
// a proxy's 503 on a POST is sent again (the proxy forwarded nothing).
func TestFailoverRules(t *testing.T) {
	key, _ := seal.GenerateIdentity()
	me, _ := seal.GenerateIdentity()
	var mu sync.Mutex
	answer := map[string]func(w http.ResponseWriter, r *http.Request){}
	var got []string
	fake := func(name string) *httptest.Server {
		return fakeHubWith(t, key, func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			got = append(got, name+" "+r.Method+" "+r.URL.Path)
			f := answer[name+" "+r.URL.Path]
			mu.Unlock()
			if f == nil {
				w.Write([]byte(`{}`))
				return
			}
			f(w, r)
		})
	}
	a, b := fake("a"), fake("b")
	set := func(name, path string, f func(w http.ResponseWriter, r *http.Request)) {
		mu.Lock()
		defer mu.Unlock()
		answer[name+" "+path] = f
	}
	seen := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := got
		got = nil
		return out
	}
	status := func(code int) func(w http.ResponseWriter, r *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(code)
			w.Write([]byte(`{"code":"forbidden","message":"no"}`))
		}
	}
	hangUp := func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}
	inv := wire.Invite{ClientGUID: "0b5e6a3c-1f2d-4e5f-8a9b-0c1d2e3f4a5b", HubPin: key.Public().ID()}.WithURLs(a.URL, b.URL)
	c, err := hubclient.New(inv, me, hubclient.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	eq := func(step string, want ...string) {
		t.Helper()
		g := seen()
		if len(g) != len(want) {
			t.Fatalf("%s: requests %q, want %q", step, g, want)
		}
		for i := range g {
			if g[i] != want[i] {
				t.Fatalf("%s: requests %q, want %q", step, g, want)
			}
		}
	}

	set("a", wire.PathTechStatus, status(http.StatusForbidden))
	if _, err := c.Status(ctx); !errors.Is(err, hubclient.ErrForbidden) {
		t.Fatalf("a 403: %v", err)
	}
	eq("a 403", "a GET "+wire.PathTechStatus)

	set("a", wire.PathTechStatus, status(http.StatusBadGateway))
	if _, err := c.Status(ctx); err != nil {
		t.Fatalf("a 502 then b: %v", err)
	}
	eq("a 502", "a GET "+wire.PathTechStatus, "b GET "+wire.PathTechStatus)
	if _, err := c.Status(ctx); err != nil || c.URL() != b.URL {
		t.Fatalf("after failing over: %v, on %s", err, c.URL())
	}
	eq("sticky", "b GET "+wire.PathTechStatus)

	set("b", wire.PathAgentConfirm, hangUp)
	if err := c.Confirm(ctx, 1, 2); err == nil {
		t.Fatal("a confirm whose connection dropped succeeded")
	}
	eq("a dropped POST", "b POST "+wire.PathAgentConfirm)
	if c.URL() != a.URL {
		t.Fatalf("after a dropped POST the client uses %s, want the next address %s", c.URL(), a.URL)
	}

	set("a", wire.PathAgentConfirm, status(http.StatusServiceUnavailable))
	set("b", wire.PathAgentConfirm, nil)
	if err := c.Confirm(ctx, 1, 2); err != nil {
		t.Fatalf("a 503 on a POST then b: %v", err)
	}
	eq("a 503 POST", "a POST "+wire.PathAgentConfirm, "b POST "+wire.PathAgentConfirm)

	set("b", wire.PathAgentConfirm, status(http.StatusGatewayTimeout))
	var he *hubclient.Error
	if err := c.Confirm(ctx, 1, 2); !errors.As(err, &he) || he.Status != http.StatusGatewayTimeout {
		t.Fatalf("a 504 on a POST: %v", err)
	}
	eq("a 504 POST", "b POST "+wire.PathAgentConfirm)
}
