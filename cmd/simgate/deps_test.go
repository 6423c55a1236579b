package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the arrows of DESIGN.md §2 pointing the right way:
// each package may depend only on the stdlib and the modules listed for it.
func TestDependencies(t *testing.T) {
	const mod = "github.com/simgate/simgate/"
	tests := []struct {
		pkg     string
		allowed []string // import path prefixes beyond the stdlib and the package itself
	}{
		{"pdu", []string{"github.com/warthog618/sms"}},
		{"modem", []string{"go.bug.st/serial", "golang.org/x/sys"}},
		{"modem/modemsim", []string{mod + "pdu", "github.com/warthog618/sms", "github.com/creack/pty", "golang.org/x/sys"}},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", mod+tt.pkg).Output()
			if err != nil {
				t.Fatalf("go list %s: %v", tt.pkg, err)
			}
			for _, dep := range strings.Fields(string(out)) {
				if dep == mod+tt.pkg || hasAnyPrefix(dep, tt.allowed) {
					continue
				}
				t.Errorf("%s imports %s, which DESIGN.md §2 does not allow", tt.pkg, dep)
			}
		})
	}
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if s == p || strings.HasPrefix(s, p+"/") {
			return true
		}
	}
	return false
}
