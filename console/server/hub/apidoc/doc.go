// Package apidoc builds an OpenAPI 3.1 description of an HTTP API from Go values: one Endpoint for each row of
// a route table and the Go types its requests and answers encode, turned into JSON Schemas by reflection the way
// encoding/json writes them. The hub (package hub, openapi.go) feeds it its route table and serves the result.
//
//   - doc.go: Endpoint, Param and Build, which assembles the document (paths, operations, parameters, security)
//   - schema.go: JSON Schemas of Go types: json tags, omitempty and omitzero (not required), time.Time (a
//     date-time string), []byte (base64), maps, and named structs as components behind $ref
//
// The output is deterministic (encoding/json sorts map keys), so a committed copy can be compared byte for byte.
package apidoc

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
)

// Endpoint is one operation: a method on a path with {name} wildcards.
type Endpoint struct {
	Method      string
	Path        string
	Summary     string
	Description string
	Access      string   // who may call it, as the route table names it (x-access)
	Tags        []string // groups in a viewer
	// Security names a scheme of Info.Security that authenticates the caller; empty for a public endpoint.
	Security string
	Headers  []Param      // required request headers
	Query    []Param      // optional query parameters
	PathVars []Param      // the path's wildcards; a wildcard not listed is a string
	In       reflect.Type // the JSON request body; nil when it takes none
	// InOptional: the body may be left out altogether.
	InOptional bool
	Out        reflect.Type // the JSON answer; nil for a non-JSON answer (OutType)
	OutType    string       // the media type of a non-JSON answer
}

// Param is a parameter: in a path, a query or a header.
type Param struct {
	Name        string
	Type        string // integer, string, boolean or date-time
	Description string
	Enum        []string
}

// Info is the document's header and what every endpoint shares.
type Info struct {
	Title       string
	Version     string
	Description string
	// Security lists the security schemes by name (OpenAPI Security Scheme Objects).
	Security map[string]any
	// Error is the JSON body of every refusal, described as each operation's default answer.
	Error reflect.Type
}

var wildcard = regexp.MustCompile(`\{([A-Za-z0-9_]+)\}`)

// Build returns the OpenAPI 3.1 document as indented JSON ending in a newline.
func Build(info Info, eps []Endpoint) ([]byte, error) {
	s := newSchemas()
	paths := map[string]any{}
	seen := map[string]bool{}
	for _, ep := range eps {
		key := ep.Method + " " + ep.Path
		if seen[key] {
			return nil, fmt.Errorf("apidoc: %s: listed twice", key)
		}
		seen[key] = true
		item, _ := paths[ep.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[ep.Path] = item
		}
		op, err := operation(s, info, ep)
		if err != nil {
			return nil, err
		}
		item[strings.ToLower(ep.Method)] = op
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       info.Title,
			"version":     info.Version,
			"description": info.Description,
		},
		"paths": paths,
		"components": map[string]any{
			"schemas":         s.defs,
			"securitySchemes": info.Security,
		},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("apidoc: %w", err)
	}
	return append(b, '\n'), nil
}

func operation(s *schemas, info Info, ep Endpoint) (map[string]any, error) {
	op := map[string]any{
		"operationId": operationID(ep.Method, ep.Path),
		"x-access":    ep.Access,
	}
	if ep.Summary != "" {
		op["summary"] = ep.Summary
	}
	if ep.Description != "" {
		op["description"] = ep.Description
	}
	if len(ep.Tags) > 0 {
		op["tags"] = ep.Tags
	}
	if ep.Security == "" {
		op["security"] = []any{} // public: no scheme
	} else {
		if _, ok := info.Security[ep.Security]; !ok {
			return nil, fmt.Errorf("apidoc: %s %s: no security scheme %q", ep.Method, ep.Path, ep.Security)
		}
		op["security"] = []any{map[string]any{ep.Security: []any{}}}
	}
	var params []any
	for _, m := range wildcard.FindAllStringSubmatch(ep.Path, -1) {
		p := Param{Name: m[1], Type: "string"}
		if i := slices.IndexFunc(ep.PathVars, func(p Param) bool { return p.Name == m[1] }); i >= 0 {
			p = ep.PathVars[i]
		}
		params = append(params, param(p, "path", true))
	}
	for _, p := range ep.Headers {
		params = append(params, param(p, "header", true))
	}
	for _, p := range ep.Query {
		params = append(params, param(p, "query", false))
	}
	if len(params) > 0 {
		op["parameters"] = params
	}
	if ep.In != nil {
		op["requestBody"] = map[string]any{
			"required": !ep.InOptional,
			"content":  map[string]any{"application/json": map[string]any{"schema": notNull(s.of(ep.In))}},
		}
	}
	ok := map[string]any{"description": "done"}
	switch {
	case ep.Out != nil:
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": s.of(ep.Out)}}
	case ep.OutType != "":
		ok["content"] = map[string]any{ep.OutType: map[string]any{"schema": map[string]any{"type": "string"}}}
	}
	responses := map[string]any{"200": ok}
	if info.Error != nil {
		responses["default"] = map[string]any{
			"description": "refused",
			"content":     map[string]any{"application/json": map[string]any{"schema": s.of(info.Error)}},
		}
	}
	op["responses"] = responses
	return op, nil
}

func param(p Param, in string, required bool) map[string]any {
	sch := map[string]any{"type": p.Type}
	switch p.Type {
	case "date-time":
		sch = map[string]any{"type": "string", "format": "date-time"}
	case "integer":
		sch["format"] = "int64"
	}
	if len(p.Enum) > 0 {
		sch["enum"] = p.Enum
	}
	m := map[string]any{"name": p.Name, "in": in, "required": required, "schema": sch}
	if p.Description != "" {
		m["description"] = p.Description
	}
	return m
}

// operationID names an operation after its method and path: GET /v1/admin/techs/{id} is getAdminTechsId.
func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, part := range strings.FieldsFunc(path, func(r rune) bool { return !isAlnum(r) }) {
		if part == "v1" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func isAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}
