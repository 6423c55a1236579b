package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/simgate/simgate/apiv1"
	"github.com/simgate/simgate/web/internal/problem"
)

// strictJSON refuses what encoding/json reads quietly but a client cannot
// have meant, in a body that already decoded into dst: a key given twice
// (encoding/json keeps the last) and a field name in another case ("TO"
// for "to": encoding/json matches case-insensitively).
func strictJSON(body []byte, dst any) *problem.Error {
	top, dup := objectKeys(body)
	if dup != "" {
		return problem.New(http.StatusBadRequest, apiv1.ProblemInvalidJSON,
			fmt.Sprintf("the key %q appears twice in one object", problem.Clip(dup)),
			apiv1.FieldError{Field: dup, Reason: "appears twice"})
	}
	names := jsonNames(reflect.TypeOf(dst))
	for _, k := range top {
		if names[k] {
			continue
		}
		for n := range names {
			if strings.EqualFold(n, k) {
				return problem.New(http.StatusBadRequest, apiv1.ProblemInvalidJSON,
					fmt.Sprintf("field names are case-sensitive: %q is not %q", problem.Clip(k), n),
					apiv1.FieldError{Field: k, Reason: fmt.Sprintf("field names are case-sensitive; want %q", n)})
			}
		}
	}
	return nil
}

// surrogateProblem refuses a lone UTF-16 surrogate escape ("\ud800"),
// which encoding/json would turn into U+FFFD: a message would go out with a
// character the client never wrote.
func surrogateProblem(body []byte) *problem.Error {
	if off, ok := loneSurrogate(body); ok {
		return problem.New(http.StatusBadRequest, apiv1.ProblemInvalidJSON,
			fmt.Sprintf("the body has a lone UTF-16 surrogate escape at offset %d; a \\uD800–\\uDBFF escape must be followed by a \\uDC00–\\uDFFF one", off))
	}
	return nil
}

// loneSurrogate finds a \u escape of a UTF-16 surrogate that is not half of
// a high–low pair, in the strings of a JSON text (read leniently: a body
// that is not JSON is the decoder's to refuse).
func loneSurrogate(b []byte) (int, bool) {
	in := false
	for i := 0; i < len(b); i++ {
		switch {
		case !in:
			in = b[i] == '"'
		case b[i] == '"':
			in = false
		case b[i] == '\\' && i+1 < len(b) && b[i+1] == 'u':
			r := hex4(b, i+2)
			switch {
			case r >= 0xDC00 && r <= 0xDFFF:
				return i, true
			case r >= 0xD800 && r <= 0xDBFF:
				if i+7 >= len(b) || b[i+6] != '\\' || b[i+7] != 'u' {
					return i, true
				}
				if lo := hex4(b, i+8); lo < 0xDC00 || lo > 0xDFFF {
					return i, true
				}
				i += 11
			default:
				i += 5
			}
		case b[i] == '\\':
			i++ // the escaped character, which may be a quote
		}
	}
	return 0, false
}

// hex4 reads 4 hex digits at b[i:], -1 when they are not there.
func hex4(b []byte, i int) int {
	if i+4 > len(b) {
		return -1
	}
	n, err := strconv.ParseUint(string(b[i:i+4]), 16, 16)
	if err != nil {
		return -1
	}
	return int(n)
}

// objectKeys walks a valid JSON text and returns the keys of its top-level
// object and the first key repeated within any one object ("" if none).
func objectKeys(b []byte) (top []string, dup string) {
	type frame struct {
		obj, wantKey bool
		keys         map[string]bool
	}
	var stack []*frame
	value := func() { // a value ended: in an object, a key comes next
		if n := len(stack); n > 0 && stack[n-1].obj {
			stack[n-1].wantKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := dec.Token()
		if err != nil {
			return top, ""
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				stack = append(stack, &frame{obj: d == '{', wantKey: d == '{', keys: map[string]bool{}})
			default:
				stack = stack[:len(stack)-1]
				value()
			}
			continue
		}
		if len(stack) == 0 {
			continue // a scalar at the top: no object at all
		}
		if f := stack[len(stack)-1]; f.obj && f.wantKey {
			k, _ := tok.(string)
			if f.keys[k] {
				return top, k
			}
			f.keys[k], f.wantKey = true, false
			if len(stack) == 1 {
				top = append(top, k)
			}
			continue
		}
		value()
	}
}

// jsonNames is the set of JSON field names of struct type t (or a pointer
// to one), embedded structs included.
func jsonNames(t reflect.Type) map[string]bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	names := map[string]bool{}
	if t.Kind() != reflect.Struct {
		return names
	}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
		case f.Anonymous && name == "":
			for n := range jsonNames(f.Type) {
				names[n] = true
			}
		case name != "":
			names[name] = true
		case f.IsExported():
			names[f.Name] = true
		}
	}
	return names
}
