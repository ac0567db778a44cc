package apidoc

import (
	"reflect"
	"strings"
	"time"
)

// schemas turns Go types into JSON Schemas (draft 2020-12, as OpenAPI 3.1 uses) the way encoding/json encodes
// them. Named structs become components referenced by $ref, so a type used by many routes is described once.
type schemas struct {
	defs  map[string]any          // components/schemas
	names map[reflect.Type]string // the component name of each named struct seen
}

func newSchemas() *schemas {
	return &schemas{defs: map[string]any{}, names: map[reflect.Type]string{}}
}

var (
	timeType  = reflect.TypeFor[time.Time]()
	bytesType = reflect.TypeFor[[]byte]()
)

// of is the schema of a value of type t. A nil pointer, slice or map encodes as null, so those may be null.
func (s *schemas) of(t reflect.Type) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == bytesType:
		return map[string]any{"type": []any{"string", "null"}, "contentEncoding": "base64"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return nullable(s.of(t.Elem()))
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		m := map[string]any{"type": "integer"}
		switch t.Kind() {
		case reflect.Int32:
			m["format"] = "int32"
		case reflect.Int, reflect.Int64:
			m["format"] = "int64"
		}
		if t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64 {
			m["minimum"] = 0
		}
		return m
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice:
		return map[string]any{"type": []any{"array", "null"}, "items": s.of(t.Elem())}
	case reflect.Array:
		return map[string]any{"type": "array", "items": s.of(t.Elem()), "minItems": t.Len(), "maxItems": t.Len()}
	case reflect.Map:
		return map[string]any{"type": []any{"object", "null"}, "additionalProperties": s.of(t.Elem())}
	case reflect.Struct:
		if t.Name() == "" {
			return s.object(t)
		}
		return s.ref(t)
	default: // interfaces: any JSON value
		return map[string]any{}
	}
}

// ref names t's component, describing it the first time.
func (s *schemas) ref(t reflect.Type) map[string]any {
	name, ok := s.names[t]
	if !ok {
		name = t.Name()
		for taken := range s.names {
			if taken.Name() == name { // the same name in another package
				name = pkgName(t) + name
				break
			}
		}
		s.names[t] = name
		s.defs[name] = map[string]any{} // a placeholder: a type may refer to itself
		s.defs[name] = s.object(t)
	}
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

func pkgName(t reflect.Type) string {
	p := t.PkgPath()
	p = p[strings.LastIndex(p, "/")+1:]
	if p == "" {
		return ""
	}
	return strings.ToUpper(p[:1]) + p[1:]
}

// object describes a struct's fields as encoding/json encodes them: the tag's name, embedded structs inlined,
// "-" and unexported fields left out. A field without omitempty or omitzero is always written, so required.
func (s *schemas) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []any
	s.fields(t, props, &required)
	m := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		m["required"] = required
	}
	return m
}

func (s *schemas) fields(t reflect.Type, props map[string]any, required *[]any) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, hasTag := f.Tag.Lookup("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && !hasTag || f.Anonymous && name == "" {
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				s.fields(ft, props, required)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		omit := false
		asString := false
		for o := range strings.SplitSeq(opts, ",") {
			switch o {
			case "omitempty", "omitzero":
				omit = true
			case "string":
				asString = true
			}
		}
		var sch map[string]any
		if asString {
			sch = map[string]any{"type": "string"}
		} else {
			sch = s.of(ft)
			if omit {
				sch = notNull(sch) // an empty value is left out rather than written as null
			}
		}
		props[name] = sch
		if !omit {
			*required = append(*required, name)
		}
	}
}

// nullable lets a schema also be null; a $ref cannot carry a type beside it, so it goes into anyOf.
func nullable(m map[string]any) map[string]any {
	switch ty := m["type"].(type) {
	case string:
		out := clone(m)
		out["type"] = []any{ty, "null"}
		return out
	case []any:
		return m
	}
	if _, ok := m["$ref"]; ok {
		return map[string]any{"anyOf": []any{m, map[string]any{"type": "null"}}}
	}
	return m
}

// notNull undoes nullable for a value that is never written as null.
func notNull(m map[string]any) map[string]any {
	if ty, ok := m["type"].([]any); ok && len(ty) == 2 && ty[1] == "null" {
		out := clone(m)
		out["type"] = ty[0]
		return out
	}
	if alts, ok := m["anyOf"].([]any); ok && len(alts) == 2 && len(m) == 1 {
		if n, ok := alts[1].(map[string]any); ok && n["type"] == "null" {
			return alts[0].(map[string]any)
		}
	}
	return m
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
