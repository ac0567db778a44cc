package apidoc

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

type inner struct {
	Name string `json:"name"`
}

type Base struct {
	ID int64 `json:"id"`
}

type node struct {
	Base
	Hidden   string         `json:"-"`
	At       time.Time      `json:"at"`
	Blob     []byte         `json:"blob,omitempty"`
	Tags     map[string]int `json:"tags"`
	Kids     []node         `json:"kids,omitempty"`
	Parent   *node          `json:"parent"`
	Inner    inner          `json:"inner,omitzero"`
	Count    int            `json:"count,string"`
	Untagged bool
	Any      any               `json:"any"`
	Labels   map[string]string `json:"labels,omitempty"`
}

func TestSchemaOfStruct(t *testing.T) {
	s := newSchemas()
	ref := s.of(reflect.TypeFor[node]())
	if ref["$ref"] != "#/components/schemas/node" {
		t.Fatalf("ref %v", ref)
	}
	got := s.defs["node"].(map[string]any)
	props := got["properties"].(map[string]any)
	want := map[string]string{
		"id":       `{"format":"int64","type":"integer"}`,
		"at":       `{"format":"date-time","type":"string"}`,
		"blob":     `{"contentEncoding":"base64","type":"string"}`,
		"tags":     `{"additionalProperties":{"format":"int64","type":"integer"},"type":["object","null"]}`,
		"kids":     `{"items":{"$ref":"#/components/schemas/node"},"type":"array"}`,
		"parent":   `{"anyOf":[{"$ref":"#/components/schemas/node"},{"type":"null"}]}`,
		"inner":    `{"$ref":"#/components/schemas/inner"}`,
		"count":    `{"type":"string"}`,
		"Untagged": `{"type":"boolean"}`,
		"any":      `{}`,
		"labels":   `{"additionalProperties":{"type":"string"},"type":"object"}`,
	}
	if len(props) != len(want) {
		t.Errorf("properties %v, want %d", keys(props), len(want))
	}
	for name, w := range want {
		b, _ := json.Marshal(props[name])
		if string(b) != w {
			t.Errorf("%s: %s, want %s", name, b, w)
		}
	}
	req, _ := json.Marshal(got["required"])
	if string(req) != `["id","at","tags","parent","count","Untagged","any"]` {
		t.Errorf("required %s", req)
	}
}

func keys(m map[string]any) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return strings.Join(out, ",")
}

func TestBuild(t *testing.T) {
	info := Info{Title: "t", Version: "1", Security: map[string]any{"key": map[string]any{"type": "mutualTLS"}},
		Error: reflect.TypeFor[inner]()}
	b, err := Build(info, []Endpoint{
		{Method: "GET", Path: "/v1/things/{id}/{action}", Security: "key", Out: reflect.TypeFor[node](),
			PathVars: []Param{{Name: "id", Type: "integer"}}, Query: []Param{{Name: "since", Type: "date-time"}}},
		{Method: "GET", Path: "/healthz"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			OperationID string           `json:"operationId"`
			Security    []map[string]any `json:"security"`
			Parameters  []struct {
				Name   string         `json:"name"`
				In     string         `json:"in"`
				Schema map[string]any `json:"schema"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	op := doc.Paths["/v1/things/{id}/{action}"]["get"]
	if doc.OpenAPI != "3.1.0" || op.OperationID != "getThingsIdAction" || len(op.Security) != 1 {
		t.Fatalf("%s %+v", doc.OpenAPI, op)
	}
	if len(op.Parameters) != 3 || op.Parameters[0].Schema["type"] != "integer" || op.Parameters[1].Schema["type"] != "string" ||
		op.Parameters[2].In != "query" || op.Parameters[2].Schema["format"] != "date-time" {
		t.Fatalf("parameters %+v", op.Parameters)
	}
	if h := doc.Paths["/healthz"]["get"]; h.Security == nil || len(h.Security) != 0 {
		t.Fatalf("a public endpoint has an empty security list: %+v", h)
	}
	again, _ := Build(info, []Endpoint{
		{Method: "GET", Path: "/v1/things/{id}/{action}", Security: "key", Out: reflect.TypeFor[node](),
			PathVars: []Param{{Name: "id", Type: "integer"}}, Query: []Param{{Name: "since", Type: "date-time"}}},
		{Method: "GET", Path: "/healthz"},
	})
	if string(again) != string(b) {
		t.Fatal("two builds differ")
	}
	if _, err := Build(info, []Endpoint{{Method: "GET", Path: "/x"}, {Method: "GET", Path: "/x"}}); err == nil {
		t.Fatal("a route listed twice was accepted")
	}
	if _, err := Build(info, []Endpoint{{Method: "GET", Path: "/x", Security: "nope"}}); err == nil {
		t.Fatal("an unknown security scheme was accepted")
	}
}
