package hub_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/watchword/watchword/console/server/hub"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

// FuzzAPIBody sends arbitrary bodies to every body-taking endpoint, as a principal allowed to call it, through
// the hub's real handler and SQLite store (without the TLS round trip, so that it runs thousands of times a
// second). The hub must answer: never a panic, never a 5xx, and every refusal a well-formed wire error.
func FuzzAPIBody(f *testing.F) {
	h := hubtest.New(f)
	tech := h.ActiveTech("alice")
	agent := h.NewAgent("a.local", wire.DriverAD)
	leaf := func(id *seal.Identity) *x509.Certificate {
		cert, err := id.TLSCertificate()
		if err != nil {
			f.Fatal(err)
		}
		c, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			f.Fatal(err)
		}
		return c
	}
	stranger := leaf(h.NewIdentity())
	as := map[string]*x509.Certificate{"keyed": stranger, "tech": leaf(tech.Identity), "active-tech": leaf(tech.Identity),
		"active-agent": leaf(agent.Identity), "admin": leaf(h.OwnerID), "owner": leaf(h.OwnerID)}
	var routes []hub.RouteInfo
	for _, rt := range hub.Routes() {
		if rt.Method == "POST" || rt.Method == "PUT" {
			routes = append(routes, rt)
		}
	}
	handler := h.Hub.Handler()
	pk, _ := json.Marshal(tech.Identity.Public().String())
	for i := range routes {
		for _, seed := range []string{
			`{}`, `{"name":"ops","members":[1,2]}`, `{"username":"bob","email":"b@example.com","publicKey":` + string(pk) + `}`,
			`{"accountId":1,"version":2,"envelope":"YWdlLWVuY3J5cHRpb24ub3JnL3YxCg=="}`, `{"accounts":[{"accountId":1,"state":"present"}]}`,
			`{"techGroupId":1,"agentGroupId":1,"rightId":1}`, `{"token":"x","name":"n","driver":"ad"}`, `[[[[[`, "{\"name\":\"\xff\"}",
		} {
			f.Add(uint8(i), []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		rt := routes[int(which)%len(routes)]
		req := httptest.NewRequest(rt.Method, "https://hub"+concrete(rt.Path), bytes.NewReader(body))
		req.Header.Set(wire.HeaderClient, h.GUID)
		req.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{as[rt.Access]}}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s with %q: %d %s", rt.Method, rt.Path, body, rec.Code, rec.Body.Bytes())
		}
		if rec.Code >= 400 {
			var e wire.Error
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code == "" {
				t.Fatalf("%s %s: %d with a body that is not a wire error: %q", rt.Method, rt.Path, rec.Code, rec.Body.Bytes())
			}
		}
	})
}
