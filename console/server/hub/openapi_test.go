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

// TestOpenAPIReachesEveryHandler sends a request built from the document for each operation to a real hub —
// path parameters filled in, the owner's client certificate and the tenant header when the operation is
// secured — and checks that the route table, not the catch-all, answered: the hub's catch-all says "no such
// endpoint" and the mux answers 405 for a method it does not route.
func TestOpenAPIReachesEveryHandler(t *testing.T) {
	h := hubtest.New(t)
	doc := loadOpenAPI(t)
	owner := ownerHTTP(t, h)
	anon := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	t.Cleanup(anon.CloseIdleConnections)

	var paths []string
	for p := range doc.Paths.Map() {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	n, checked := 0, 0
	for _, p := range paths {
		for method, op := range doc.Paths.Map()[p].Operations() {
			n++
			url := h.URL + fill(p, op)
			if strings.Contains(p, "wait") || op.Parameters.GetByInAndName("query", "wait") != nil {
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
				c = owner
				req.Header.Set(wire.HeaderClient, h.GUID)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", method, p, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusMethodNotAllowed || bytes.Contains(b, []byte("no such endpoint")) {
				t.Errorf("%s %s: %d %s: no route answered", method, p, resp.StatusCode, b)
			}
			if resp.StatusCode >= 500 {
				t.Errorf("%s %s: %d %s", method, p, resp.StatusCode, b)
			}
			if resp.StatusCode == http.StatusOK && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				checkAnswer(t, method, p, op, b)
				checked++
			}
		}
	}
	if n != len(hub.Routes()) {
		t.Fatalf("sent %d requests, the route table has %d routes", n, len(hub.Routes()))
	}
	if checked < 20 {
		t.Fatalf("only %d answers were checked against their schemas", checked)
	}
	t.Logf("%d requests, %d answers checked against their schemas", n, checked)
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

// fill substitutes every path parameter: 1 for an integer, approve for an action.
func fill(path string, op *openapi3.Operation) string {
	for _, p := range op.Parameters {
		if p.Value.In != "path" {
			continue
		}
		v := "approve"
		if p.Value.Schema.Value.Type.Is("integer") {
			v = "1"
		}
		path = strings.ReplaceAll(path, "{"+p.Value.Name+"}", v)
	}
	return path
}

// ownerHTTP is a plain HTTP client presenting the owner's key, pinning the hub as hubclient does.
func ownerHTTP(t *testing.T, h *hubtest.Harness) *http.Client {
	cert, err := h.OwnerID.TLSCertificate()
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
