package hubclient

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

const guid = "0b5e6a3c-1f2d-4e5f-8a9b-0c1d2e3f4a5b"

// fakeHub serves handler over TLS with a seal identity's certificate and requires a client certificate.
func fakeHub(t *testing.T, handler http.HandlerFunc) (*httptest.Server, *seal.Identity) {
	t.Helper()
	id, err := seal.GenerateIdentity()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := id.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(handler)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAnyClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, id
}

func TestClientPinsTheHubAndAuthenticates(t *testing.T) {
	me, _ := seal.GenerateIdentity()
	var gotKey, gotGUID, gotProto string
	srv, hubID := fakeHub(t, func(w http.ResponseWriter, r *http.Request) {
		key, _ := seal.PeerKey(r.TLS.PeerCertificates[0])
		gotKey, gotGUID, gotProto = seal.KeyID(key), r.Header.Get(wire.HeaderClient), r.Header.Get(wire.HeaderProtocol)
		json.NewEncoder(w).Encode(wire.TechStatusResponse{TechID: 7, Status: wire.TechPending})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := New(wire.Invite{HubURL: srv.URL, ClientGUID: guid, HubPin: hubID.Public().ID()}, me)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(ctx)
	if err != nil || st.TechID != 7 {
		t.Fatalf("status: %+v, %v", st, err)
	}
	if gotKey != me.Public().ID() || gotGUID != guid || gotProto != "1" {
		t.Fatalf("hub saw key %q guid %q protocol %q", gotKey, gotGUID, gotProto)
	}
	other, _ := seal.GenerateIdentity()
	bad, _ := New(wire.Invite{HubURL: srv.URL, ClientGUID: guid, HubPin: other.Public().ID()}, me)
	if _, err := bad.Status(ctx); err == nil {
		t.Fatal("a hub with another key was accepted")
	}
	if _, err := New(wire.Invite{HubURL: "http://x", ClientGUID: guid, HubPin: hubID.Public().ID()}, me); err == nil {
		t.Fatal("an http invite was accepted")
	}
}

func TestClientMapsErrors(t *testing.T) {
	me, _ := seal.GenerateIdentity()
	answers := map[string]struct {
		status int
		body   any
	}{
		wire.PathTechStatus:      {403, wire.Error{Code: wire.CodePending, Message: "tech is pending"}},
		wire.PathTechCredentials: {401, wire.Error{Code: wire.CodeUnauthenticated, Message: "unknown"}},
		wire.PathAdminTenant:     {400, wire.Error{Code: wire.CodeInvalid, Field: "name", Message: "bad"}},
		wire.PathAdminAgents:     {502, "<html>proxy error</html>"},
	}
	srv, hubID := fakeHub(t, func(w http.ResponseWriter, r *http.Request) {
		a := answers[r.URL.Path]
		w.WriteHeader(a.status)
		json.NewEncoder(w).Encode(a.body)
	})
	c, _ := New(wire.Invite{HubURL: srv.URL, ClientGUID: guid, HubPin: hubID.Public().ID()}, me)
	ctx := context.Background()
	if _, err := c.Status(ctx); !errors.Is(err, ErrPending) {
		t.Errorf("pending: %v", err)
	}
	if _, err := c.Credentials(ctx); !errors.Is(err, ErrUnauthenticated) || errors.Is(err, ErrPending) {
		t.Errorf("unauthenticated: %v", err)
	}
	_, err := c.Tenant(ctx)
	if we, ok := wire.AsError(err); !errors.Is(err, ErrInvalid) || !ok || we.Field != "name" {
		t.Errorf("invalid: %v", err)
	}
	var he *Error
	if _, err := c.Agents(ctx); !errors.As(err, &he) || he.Status != 502 || he.Wire.Code != wire.CodeInternal {
		t.Errorf("non-JSON error: %v", err)
	}
}

func TestSealContext(t *testing.T) {
	got := SealContext(guid, 42, "alice-tm", 3)
	if got != (seal.Context{Tenant: guid, Agent: "42", Account: "alice-tm", Version: 3}) {
		t.Fatalf("%+v", got)
	}
}
