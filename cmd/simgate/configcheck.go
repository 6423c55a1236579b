package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// errConfigInvalid makes "config check" exit 1 after listing the errors.
var errConfigInvalid = errors.New("config is not valid")

func runConfig(_ context.Context, e env, args []string) error {
	if len(args) == 0 || args[0] != "check" {
		return usagef("config: want \"config check FILE\"")
	}
	fs := newFlagSet(e, "config check", "FILE")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usagef("config check: want exactly one FILE")
	}
	problems, err := checkConfigFile(pos[0])
	if err != nil {
		return err
	}
	if len(problems) == 0 {
		fmt.Fprintf(e.stdout, "%s: ok\n", pos[0])
		return nil
	}
	for _, p := range problems {
		fmt.Fprintln(e.stdout, p)
	}
	return errConfigInvalid
}

// checkConfigFile lists what is wrong with a config file, each as
// "FILE:LINE:COLUMN: key: problem": every unknown key and every value of the
// wrong type, then, when there are none, the first setting validation
// refuses (settings are checked together, as serve checks them).
func checkConfigFile(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config check: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return []string{fmt.Sprintf("%s: %v", path, err)}, nil
	}
	if len(doc.Content) == 0 {
		return nil, nil // an empty file: every setting at its default
	}
	var problems []string
	at := func(n *yaml.Node, key, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s:%d:%d: %s: %s", path, n.Line, n.Column, key, fmt.Sprintf(format, args...)))
	}
	walkConfig(doc.Content[0], reflect.TypeFor[config](), "", at)
	if len(problems) > 0 {
		return problems, nil
	}
	cfg := defaultConfig()
	if err := loadConfigFile(&cfg, path); err != nil {
		return []string{err.Error()}, nil
	}
	var ce *configError
	if err := cfg.validate(); errors.As(err, &ce) {
		if n := findKey(doc.Content[0], ce.Field); n != nil {
			at(n, ce.Field, "%v", ce.Err)
		} else {
			problems = append(problems, fmt.Sprintf("%s: %s: %v", path, ce.Field, ce.Err))
		}
	} else if err != nil {
		problems = append(problems, fmt.Sprintf("%s: %v", path, err))
	}
	return problems, nil
}

// walkConfig checks a mapping node against a struct type: each key must be
// one of its yaml fields, and each value must decode into that field.
func walkConfig(n *yaml.Node, t reflect.Type, prefix string, at func(*yaml.Node, string, string, ...any)) {
	if n.Kind != yaml.MappingNode {
		at(n, strings.TrimSuffix(prefix, "."), "want a mapping of keys, got %s", n.ShortTag())
		return
	}
	fields := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name != "" && name != "-" {
			fields[name] = f
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := prefix + k.Value
		f, ok := fields[k.Value]
		if !ok {
			at(k, key, "unknown key")
			continue
		}
		if f.Type.Kind() == reflect.Struct && v.Kind == yaml.MappingNode {
			walkConfig(v, f.Type, key+".", at)
			continue
		}
		if err := v.Decode(reflect.New(f.Type).Interface()); err != nil {
			at(v, key, "%s", strings.TrimPrefix(typeErrorText(err), "yaml: "))
		}
	}
}

// typeErrorText drops yaml.v3's "line N:" prefixes, the position being
// printed already.
func typeErrorText(err error) string {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err.Error()
	}
	var msgs []string
	for _, m := range te.Errors {
		if _, rest, ok := strings.Cut(m, ": "); ok && strings.HasPrefix(m, "line ") {
			m = rest
		}
		msgs = append(msgs, m)
	}
	return strings.Join(msgs, "; ")
}

// findKey finds the key node of a dotted path ("otp.max_ttl"); a field
// like "ttl/max_ttl" names several keys, and the first present is taken.
func findKey(root *yaml.Node, field string) *yaml.Node {
	for _, alt := range strings.Split(field, "/") {
		n, parts := root, strings.Split(alt, ".")
		if len(parts) == 1 && strings.Contains(field, ".") {
			// "otp.ttl/max_ttl": later alternatives share the first's parent.
			if dot := strings.LastIndex(strings.Split(field, "/")[0], "."); dot > 0 {
				parts = append(strings.Split(field[:dot], "."), alt)
			}
		}
		var key *yaml.Node
		for _, p := range parts {
			key = nil
			if n.Kind != yaml.MappingNode {
				break
			}
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == p {
					key, n = n.Content[i], n.Content[i+1]
					break
				}
			}
			if key == nil {
				break
			}
		}
		if key != nil {
			return key
		}
	}
	return nil
}
