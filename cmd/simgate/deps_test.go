package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the arrows of DESIGN.md §2 pointing the right way:
// a package's own imports (tests aside) stay within the stdlib and what the
// table allows, and no package reaches, even indirectly, a simgate package
// it must not know.
func TestDependencies(t *testing.T) {
	const mod = "github.com/simgate/simgate/"
	tests := []struct {
		pkg       string
		allowed   []string // import path prefixes beyond the stdlib
		forbidden []string // simgate packages not to be reached at all
	}{
		{"gsm7", []string{"github.com/warthog618/sms"}, []string{"pdu", "modem", "gateway", "store", "web", "modemdev"}},
		{"pdu", []string{mod + "gsm7", "github.com/warthog618/sms"}, []string{"modem", "gateway", "store", "web"}},
		{"modem", []string{mod + "modem/at", mod + "gsm7", "go.bug.st/serial", "golang.org/x/sys"}, []string{"pdu", "gateway", "store", "web"}},
		{"modem/at", nil, []string{"pdu", "gateway", "store", "web", "modemdev"}},
		{"modem/modemsim", []string{mod + "pdu", "github.com/creack/pty", "golang.org/x/sys"}, []string{"gateway", "store", "web"}},
		{"gateway", []string{mod + "pdu", "github.com/nyaruka/phonenumbers"}, []string{"modem", "store", "web", "modemdev"}},
		{"store", []string{mod + "gateway", "modernc.org/sqlite"}, []string{"modem", "web", "modemdev"}},
		{"web", []string{mod + "gateway", "github.com/labstack/echo/v4", "github.com/prometheus/client_golang", "golang.org/x/crypto/bcrypt"}, []string{"modem", "store", "modemdev"}},
		{"mailer", []string{mod + "gateway", "github.com/wneessen/go-mail"}, []string{"modem", "store", "web"}},
		{"mailer/mailtest", []string{"github.com/emersion/go-smtp", "github.com/emersion/go-sasl"}, []string{"modem", "gateway", "store", "web"}},
		{"modemdev", []string{mod + "modem", mod + "gateway"}, []string{"store", "web"}},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			imports := goList(t, "{{if not .Standard}}{{join .Imports \"\\n\"}}{{end}}", mod+tt.pkg)
			for _, imp := range imports {
				if isStdlib(imp) || hasAnyPrefix(imp, tt.allowed) {
					continue
				}
				t.Errorf("%s imports %s, which DESIGN.md §2 does not allow", tt.pkg, imp)
			}
			deps := goList(t, "-deps", mod+tt.pkg)
			for _, dep := range deps {
				for _, f := range tt.forbidden {
					if dep == mod+f || strings.HasPrefix(dep, mod+f+"/") {
						t.Errorf("%s depends on %s", tt.pkg, dep)
					}
				}
			}
		})
	}
}

// goList runs "go list" with a -f template (or -deps) and returns the lines.
func goList(t *testing.T, arg, pkg string) []string {
	t.Helper()
	args := []string{"list"}
	if arg == "-deps" {
		args = append(args, "-deps", pkg)
	} else {
		args = append(args, "-f", arg, pkg)
	}
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		t.Fatalf("go %s: %v", strings.Join(args, " "), err)
	}
	return strings.Fields(string(out))
}

// isStdlib: standard library paths have no dot in their first element.
func isStdlib(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if s == p || strings.HasPrefix(s, p+"/") {
			return true
		}
	}
	return false
}
