package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/simgate/simgate/apiv1"
	"github.com/simgate/simgate/web/internal/problem"
)

// decodeJSON reads the body (already bounded by limitBody) into dst, which
// must be the whole body: one object, no unknown fields, nothing after it,
// no lone surrogate escape, and nothing strictJSON refuses (repeated keys,
// field names in another case).
// Each way of getting it wrong is a 400 that says where.
func decodeJSON(c echo.Context, dst any) error {
	req := c.Request()
	if ct := req.Header.Get(echo.HeaderContentType); ct != "" && !isJSONMediaType(ct) {
		return problem.New(http.StatusUnsupportedMediaType, apiv1.ProblemMediaType,
			fmt.Sprintf("the body must be application/json, not %q", problem.Clip(ct)))
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return problem.TooLarge(mbe.Limit)
		}
		return problem.BadRequest("the request body could not be read")
	}
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD: a message
	// would go out with text the client never wrote.
	if !utf8.Valid(body) {
		i := 0
		for i < len(body) {
			r, size := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			i += size
		}
		return problem.New(http.StatusBadRequest, apiv1.ProblemInvalidJSON,
			fmt.Sprintf("the body is not valid UTF-8 (offset %d)", i))
	}
	if p := surrogateProblem(body); p != nil {
		return p
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonProblem(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return problem.New(http.StatusBadRequest, apiv1.ProblemInvalidJSON,
			fmt.Sprintf("the body must hold one JSON object and nothing after it (offset %d)", dec.InputOffset()))
	}
	if p := strictJSON(body, dst); p != nil {
		return p
	}
	return nil
}

func isJSONMediaType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == echo.MIMEApplicationJSON || strings.HasSuffix(mt, "+json"))
}

// jsonProblem explains a decoding error in terms of the request: the field
// and the byte offset, never Go type names.
func jsonProblem(err error) *problem.Error {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.Is(err, io.EOF):
		return problem.New(http.StatusBadRequest, apiv1.ProblemInvalidJSON, "the request body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return problem.New(http.StatusBadRequest, apiv1.ProblemInvalidJSON, "the request body ends in the middle of the JSON")
	case errors.As(err, &syntax):
		return problem.New(http.StatusBadRequest, apiv1.ProblemInvalidJSON,
			fmt.Sprintf("malformed JSON at offset %d: %s", syntax.Offset, strings.TrimPrefix(syntax.Error(), "json: ")))
	case errors.As(err, &typ):
		want := jsonKind(typ.Type.Kind().String())
		if typ.Field == "" {
			return problem.New(http.StatusBadRequest, apiv1.ProblemInvalidJSON,
				fmt.Sprintf("the body must be a JSON object, not %s", article(typ.Value)))
		}
		reason := fmt.Sprintf("must be %s, not %s", article(want), article(typ.Value))
		return problem.New(http.StatusBadRequest, apiv1.ProblemInvalidJSON,
			fmt.Sprintf("%s %s (offset %d)", typ.Field, reason, typ.Offset),
			apiv1.FieldError{Field: typ.Field, Reason: reason})
	}
	// encoding/json has no type for an unknown field, only this message.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return problem.New(http.StatusBadRequest, apiv1.ProblemInvalidJSON,
			fmt.Sprintf("unknown field %q", name), apiv1.FieldError{Field: name, Reason: "unknown field"})
	}
	return problem.New(http.StatusBadRequest, apiv1.ProblemInvalidJSON, "the request body is not valid JSON for this route")
}

// jsonKind names a Go kind the way a JSON client knows it.
func jsonKind(kind string) string {
	switch {
	case kind == "string":
		return "string"
	case kind == "bool":
		return "boolean"
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"):
		return "integer"
	case strings.HasPrefix(kind, "float"):
		return "number"
	case kind == "slice", kind == "array":
		return "array"
	}
	return "object"
}

func article(noun string) string {
	if noun == "" {
		return "a value"
	}
	switch noun[0] {
	case 'a', 'e', 'i', 'o', 'u':
		return "an " + noun
	}
	return "a " + noun
}
