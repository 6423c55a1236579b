package api_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/simgate/simgate/apiv1"
	"github.com/simgate/simgate/web"
	"github.com/simgate/simgate/web/internal/webtest"
)

// apiTypes are the bodies of the API: each has a schema in openapi.json
// whose x-go-type names it, and each schema names one of them.
var apiTypes = []any{
	apiv1.SendRequest{}, apiv1.SendResponse{}, apiv1.Message{}, apiv1.Part{}, apiv1.MessageList{},
	apiv1.InboxMessage{}, apiv1.Inbox{}, apiv1.Modem{}, apiv1.Signal{}, apiv1.Balance{}, apiv1.ModemList{},
	apiv1.USSDRequest{}, apiv1.USSDReply{},
	apiv1.OTPSendRequest{}, apiv1.OTPSendResponse{}, apiv1.OTPCheckRequest{}, apiv1.OTPCheckResponse{},
	apiv1.Verification{}, apiv1.Attempt{},
	apiv1.WebhookRequest{}, apiv1.Webhook{}, apiv1.WebhookList{},
	apiv1.Problem{}, apiv1.FieldError{},
}

type openAPIDoc struct {
	OpenAPI    string                              `json:"openapi"`
	Paths      map[string]map[string]openAPIOp     `json:"paths"`
	Components struct{ Schemas map[string]schema } `json:"components"`
}

type openAPIOp struct {
	Scope    *string          `json:"x-scope"`
	Security []map[string]any `json:"security"`
}

type schema struct {
	Type       any               `json:"type"` // a string or a list
	Format     string            `json:"format"`
	Ref        string            `json:"$ref"`
	OneOf      []schema          `json:"oneOf"`
	Items      *schema           `json:"items"`
	GoType     string            `json:"x-go-type"`
	Properties map[string]schema `json:"properties"`
	Required   []string          `json:"required"`
}

// types is the schema's type, or its oneOf's, as a list ("#ref" for a
// reference).
func (s schema) types() []string {
	var out []string
	switch t := s.Type.(type) {
	case string:
		out = append(out, t)
	case []any:
		for _, v := range t {
			out = append(out, v.(string))
		}
	}
	if s.Ref != "" {
		out = append(out, "#ref")
	}
	for _, o := range s.OneOf {
		out = append(out, o.types()...)
	}
	return out
}

// TestOpenAPI: GET /api/v1/openapi.json serves the embedded document; it
// lists exactly the /api/v1 routes of echo's route table, each with the
// scope routeScopes gives it; every $ref resolves; and every schema
// matches its apiv1 type field by field (name, JSON type, null, required
// against omitempty), so a route or a JSON field renamed, added or removed
// without the document fails here.
func TestOpenAPI(t *testing.T) {
	s := web.NewServer(web.Config{Registry: prometheus.NewRegistry(), OTP: nothingOTP{}, Webhooks: nothingWebhooks{}, Modems: noModems{}},
		&webtest.FakeService{}, slog.New(slog.DiscardHandler))
	ts := webtest.Start(t, s.Handler())
	got := ts.Do(t, http.MethodGet, "/api/v1/openapi.json", "", nil)
	if got.Status != http.StatusOK || !strings.HasPrefix(got.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /api/v1/openapi.json: %d %s", got.Status, got.Header.Get("Content-Type"))
	}
	var doc openAPIDoc
	if err := json.Unmarshal(got.Body, &doc); err != nil {
		t.Fatalf("the document is not JSON: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	checkOpenAPIRoutes(t, doc, s.Handler().(*echo.Echo).Routes())
	checkOpenAPIRefs(t, got.Body, doc)
	checkOpenAPISchemas(t, doc)
}

var echoParam = regexp.MustCompile(`:([a-z_]+)`)

func checkOpenAPIRoutes(t *testing.T, doc openAPIDoc, routes []*echo.Route) {
	t.Helper()
	served := map[string]bool{}
	for _, r := range routes {
		if !strings.HasPrefix(r.Path, "/api/v1/") {
			continue
		}
		p := echoParam.ReplaceAllString(r.Path, "{$1}")
		served[r.Method+" "+p] = true
		op, ok := doc.Paths[p][strings.ToLower(r.Method)]
		if !ok {
			t.Errorf("%s %s is served but not in openapi.json", r.Method, p)
			continue
		}
		want := routeScopes[r.Method+" "+r.Path]
		switch {
		case want == "" && (op.Scope != nil || op.Security == nil || len(op.Security) != 0):
			t.Errorf("%s %s is public: want no x-scope and security: []", r.Method, p)
		case want != "" && (op.Scope == nil || *op.Scope != want):
			t.Errorf("%s %s: x-scope %v, want %q", r.Method, p, op.Scope, want)
		}
	}
	for p, ops := range doc.Paths {
		for m := range ops {
			if !served[strings.ToUpper(m)+" "+p] {
				t.Errorf("openapi.json lists %s %s, which the server does not serve", strings.ToUpper(m), p)
			}
		}
	}
}

var refRE = regexp.MustCompile(`"\$ref":\s*"#/components/schemas/([^"]+)"`)

func checkOpenAPIRefs(t *testing.T, raw []byte, doc openAPIDoc) {
	t.Helper()
	for _, m := range refRE.FindAllSubmatch(raw, -1) {
		if _, ok := doc.Components.Schemas[string(m[1])]; !ok {
			t.Errorf("$ref to %s, which has no schema", m[1])
		}
	}
	if n := strings.Count(string(raw), `"$ref"`); n != len(refRE.FindAll(raw, -1)) {
		t.Errorf("a $ref points outside #/components/schemas")
	}
}

func checkOpenAPISchemas(t *testing.T, doc openAPIDoc) {
	t.Helper()
	byName := map[string]reflect.Type{}
	for _, v := range apiTypes {
		rt := reflect.TypeOf(v)
		byName["apiv1."+rt.Name()] = rt
	}
	used := map[string]bool{}
	for name, s := range doc.Components.Schemas {
		rt, ok := byName[s.GoType]
		if !ok {
			t.Errorf("schema %s: x-go-type %q is not in apiTypes", name, s.GoType)
			continue
		}
		used[s.GoType] = true
		checkSchemaFields(t, name, s, rt)
	}
	for n := range byName {
		if !used[n] {
			t.Errorf("%s has no schema in openapi.json", n)
		}
	}
}

// checkSchemaFields compares a schema's properties with rt's JSON fields.
func checkSchemaFields(t *testing.T, name string, s schema, rt reflect.Type) {
	t.Helper()
	fields := map[string]bool{}
	for i := range rt.NumField() {
		f := rt.Field(i)
		tag, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || tag == "-" {
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		fields[tag] = true
		p, ok := s.Properties[tag]
		if !ok {
			t.Errorf("schema %s lacks %q (%s.%s)", name, tag, rt.Name(), f.Name)
			continue
		}
		omit := strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")
		if req := slices.Contains(s.Required, tag); req == omit {
			t.Errorf("schema %s: %q required=%v, but the field is omitted when empty=%v", name, tag, req, omit)
		}
		checkFieldType(t, name+"."+tag, p, f.Type, omit)
	}
	for p := range s.Properties {
		if !fields[p] {
			t.Errorf("schema %s has %q, which %s does not", name, p, rt.Name())
		}
	}
}

var (
	timeType = reflect.TypeOf(time.Time{})
	rawType  = reflect.TypeOf(json.RawMessage{})
)

// checkFieldType says whether a property's JSON type fits the field's Go
// type, null included exactly when the field is a pointer that is never
// omitted (a pointer with omitempty is an optional request field).
func checkFieldType(t *testing.T, where string, p schema, ft reflect.Type, omit bool) {
	t.Helper()
	if ft == rawType {
		return // a value of several types (ttl), described in words
	}
	types := p.types()
	nullable := slices.Contains(types, "null")
	if (ft.Kind() == reflect.Pointer && !omit) != nullable {
		t.Errorf("%s: null allowed=%v, but the Go field is %v", where, nullable, ft)
	}
	if ft.Kind() == reflect.Pointer {
		ft = ft.Elem()
	}
	var want string
	switch {
	case ft == timeType:
		want = "string"
		if p.Format != "date-time" && (len(p.OneOf) == 0) {
			t.Errorf("%s: a time without format date-time", where)
		}
	case ft.Kind() == reflect.String:
		want = "string"
	case ft.Kind() == reflect.Bool:
		want = "boolean"
	case ft.Kind() >= reflect.Int && ft.Kind() <= reflect.Uint64:
		want = "integer"
	case ft.Kind() == reflect.Float64 || ft.Kind() == reflect.Float32:
		want = "number"
	case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Uint8:
		want = "string" // encoding/json writes []byte as base64
	case ft.Kind() == reflect.Slice:
		want = "array"
	case ft.Kind() == reflect.Struct:
		want = "#ref"
	}
	if !slices.Contains(types, want) {
		t.Errorf("%s: type %v, want %s for Go %v", where, types, want, ft)
	}
}
