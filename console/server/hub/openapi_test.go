package hub_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/watchword/watchword/console/server/hub"
	"github.com/watchword/watchword/internal/testsupport/hubtest"
	"github.com/watchword/watchword/shared/seal"
	"github.com/watchword/watchword/shared/wire"
)

var update = flag.Bool("update", false, "rewrite docs/openapi.json from the route table and the wire types")

var openAPIFile = filepath.Join("..", "..", "..", "docs", "openapi.json")

// TestOpenAPIGolden keeps docs/openapi.json equal to what the route table and the wire types generate: a new
// route or a changed wire type fails here until the file is regenerated (go test -run TestOpenAPIGolden -update).
func TestOpenAPIGolden(t *testing.T) {
	got, err := hub.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(openAPIFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(openAPIFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("docs/openapi.json is not what the route table and the wire types generate; regenerate it:\n" +
			"\tgo test ./console/server/hub -run TestOpenAPIGolden -update")
	}
}

// TestOpenAPIServed: the hub serves the document without a client certificate.
func TestOpenAPIServed(t *testing.T) {
	h := hubtest.New(t)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	t.Cleanup(c.CloseIdleConnections)
	resp, err := c.Get(h.URL + wire.PathOpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	want, err := hub.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" || !bytes.Equal(got, want) {
		t.Fatalf("%d %s: %d bytes, want the %d of hub.OpenAPI", resp.StatusCode, resp.Header.Get("Content-Type"), len(got), len(want))
	}
}

// TestOpenAPIValid checks the document with an OpenAPI library: it loads as 3.1, every $ref resolves, and every
// schema and operation is well formed.
func TestOpenAPIValid(t *testing.T) {
	doc := loadOpenAPI(t)
	if !doc.IsOpenAPI31OrLater() || doc.IsOpenAPI32OrLater() {
		t.Fatalf("openapi %q, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, want := countOps(doc), len(hub.Routes()); n != want {
		t.Fatalf("%d operations, the route table has %d routes", n, want)
	}
}

func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	b, err := hub.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func countOps(doc *openapi3.T) int {
	n := 0
	for _, item := range doc.Paths.Map() {
		n += len(item.Operations())
	}
	return n
}

// TestOpenAPIReachesEveryHandler sends a request built from the document for each operation (and each value of
// an {action}) to a real hub — path parameters filled in, the client certificate of a principal its x-access
// admits (an active tech, an active agent, else the owner) and the tenant header when the operation is secured,
// nothing for a public one — and checks that the route's handler answered: not the hub's catch-all ("no such
// endpoint"), not the mux's 405, not a refusal of the action. A 200 JSON answer must match the operation's schema.
func TestOpenAPIReachesEveryHandler(t *testing.T) {
	h := hubtest.New(t)
	doc := loadOpenAPI(t)
	tech := h.ActiveTech("alice")
	agent := h.NewAgent("contoso.local", "ad")
	clients := map[string]*http.Client{
		"tech": keyHTTP(t, h, tech.Identity), "active-tech": keyHTTP(t, h, tech.Identity),
		"active-any": keyHTTP(t, h, tech.Identity), "active-agent": keyHTTP(t, h, agent.Identity),
	}
	owner := keyHTTP(t, h, h.OwnerID)
	anon := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	t.Cleanup(anon.CloseIdleConnections)

	var paths []string
	for p := range doc.Paths.Map() {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	n, sent, checked := 0, 0, 0
	for _, p := range paths {
		for method, op := range doc.Paths.Map()[p].Operations() {
			n++
			for _, path := range fill(p, op) {
				sent++
				url := h.URL + path
				if op.Parameters.GetByInAndName("query", "wait") != nil {
					url += "?waitms=1"
				}
				var body io.Reader
				if op.RequestBody != nil {
					body = strings.NewReader("{}")
				}
				req, err := http.NewRequest(method, url, body)
				if err != nil {
					t.Fatal(err)
				}
				c := anon
				if op.Security == nil || len(*op.Security) > 0 {
					access, _ := op.Extensions["x-access"].(string)
					if c = clients[access]; c == nil {
						c = owner
					}
					req.Header.Set(wire.HeaderClient, h.GUID)
				}
				resp, err := c.Do(req)
				if err != nil {
					t.Fatalf("%s %s: %v", method, path, err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var refusal wire.Error
				_ = json.Unmarshal(b, &refusal)
				switch {
				case resp.StatusCode == http.StatusMethodNotAllowed || bytes.Contains(b, []byte("no such endpoint")):
					t.Errorf("%s %s: %d %s: no route answered", method, path, resp.StatusCode, b)
				case resp.StatusCode >= 500:
					t.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
				case refusal.Field == "action":
					t.Errorf("%s %s: the handler refuses the action the document lists: %s", method, path, b)
				case resp.StatusCode == http.StatusOK && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json"):
					checkAnswer(t, method, path, op, b)
					checked++
				}
			}
		}
	}
	if n != len(hub.Routes()) {
		t.Fatalf("%d operations, the route table has %d routes", n, len(hub.Routes()))
	}
	if checked < 40 {
		t.Fatalf("only %d answers were checked against their schemas", checked)
	}
	t.Logf("%d requests, %d answers checked against their schemas", sent, checked)
}

// checkAnswer validates a 200 answer against the operation's response schema: the types the table names for a
// route are the ones its handler writes.
func checkAnswer(t *testing.T, method, path string, op *openapi3.Operation, body []byte) {
	t.Helper()
	rsp := op.Responses.Status(http.StatusOK)
	if rsp == nil || rsp.Value.Content.Get("application/json") == nil {
		t.Errorf("%s %s: a JSON answer the document does not describe", method, path)
		return
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Errorf("%s %s: %v", method, path, err)
		return
	}
	sch := rsp.Value.Content.Get("application/json").Schema.Value
	if err := sch.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
		t.Errorf("%s %s: the answer does not match its schema: %v\n%s", method, path, err, body)
	}
}

// fill substitutes every path parameter: 1 for an integer, each value of an enum in turn, x for another string.
func fill(path string, op *openapi3.Operation) []string {
	out := []string{path}
	for _, p := range op.Parameters {
		if p.Value.In != "path" {
			continue
		}
		values := []string{"x"}
		switch sch := p.Value.Schema.Value; {
		case sch.Type.Is("integer"):
			values = []string{"1"}
		case len(sch.Enum) > 0:
			values = nil
			for _, v := range sch.Enum {
				values = append(values, v.(string))
			}
		}
		var next []string
		for _, o := range out {
			for _, v := range values {
				next = append(next, strings.ReplaceAll(o, "{"+p.Value.Name+"}", v))
			}
		}
		out = next
	}
	return out
}

// keyHTTP is a plain HTTP client presenting id's key, pinning the hub as hubclient does.
func keyHTTP(t *testing.T, h *hubtest.Harness, id *seal.Identity) *http.Client {
	cert, err := id.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		Certificates:          []tls.Certificate{cert},
		MinVersion:            tls.VersionTLS13,
		InsecureSkipVerify:    true, // the hub's certificate is self-signed: pinned by key ID below
		VerifyPeerCertificate: seal.VerifyPeerKeyID(h.Invite.HubPin),
	}}}
	t.Cleanup(c.CloseIdleConnections)
	return c
}
