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
	features := []string{"events", "dispatch", "session", "otp", "webhook", "retention", "metrics", "routing", "balance", "spool", "hooks"} // and packages beside the core
	adapters := []string{"store", "web", "mailer", "cmd"}
	tests := []struct {
		pkg       string
		allowed   []string // import path prefixes beyond the stdlib
		forbidden []string // simgate packages not to be reached at all
	}{
		{"gsm7", []string{"github.com/warthog618/sms"}, []string{"pdu", "modem", "gateway", "store", "web", "modemdev"}},
		{"pdu", []string{mod + "gsm7", "github.com/warthog618/sms"}, []string{"modem", "gateway", "store", "web"}},
		{"modem", []string{mod + "modem/at", mod + "gsm7", "go.bug.st/serial", "golang.org/x/sys"}, []string{"pdu", "gateway", "store", "web"}},
		{"modem/at", nil, []string{"pdu", "gateway", "store", "web", "modemdev"}},
		{"modem/modemsim", []string{mod + "pdu", mod + "gsm7", "github.com/creack/pty", "golang.org/x/sys"}, []string{"gateway", "store", "web"}},
		// The core: domain types, ports and the event type; no feature,
		// adapter or driver.
		{"gateway", []string{mod + "pdu", "github.com/nyaruka/phonenumbers", "golang.org/x/time/rate"}, append([]string{"modem", "modemdev"}, adapters...)},
		// Feature packages, beside the core: each its own job, none
		// reaching another (the composition root wires them).
		{"events", []string{mod + "gateway"}, append([]string{"modem", "dispatch", "session", "otp", "webhook"}, adapters...)},
		{"dispatch", []string{mod + "gateway", mod + "pdu"}, append([]string{"modem", "modemdev", "session", "otp", "webhook"}, adapters...)},
		{"session", []string{mod + "gateway", mod + "pdu"}, append([]string{"modem", "modemdev", "dispatch", "otp", "webhook"}, adapters...)},
		{"otp", []string{mod + "gateway", mod + "pdu", mod + "events", "github.com/nyaruka/phonenumbers"}, append([]string{"modem", "modemdev", "dispatch", "session", "webhook"}, adapters...)},
		{"webhook", []string{mod + "gateway", mod + "events"}, append([]string{"modem", "modemdev", "dispatch", "session", "otp"}, adapters...)},
		{"retention", []string{mod + "gateway"}, append([]string{"modem", "modemdev", "events", "dispatch", "session", "otp", "webhook"}, adapters...)},
		// The gateway's own metrics: the event stream, the store's reads
		// through a port of its own, decorators of the other parts' ports.
		{"metrics", []string{mod + "gateway", mod + "events", "github.com/prometheus/client_golang"},
			append([]string{"modem", "modemdev", "dispatch", "session", "otp", "webhook", "retention"}, adapters...)},
		{"routing", []string{mod + "gateway", mod + "events", "github.com/nyaruka/phonenumbers"}, append([]string{"modem", "modemdev", "dispatch", "session", "otp", "webhook"}, adapters...)},
		{"balance", []string{mod + "gateway"}, append([]string{"modem", "modemdev", "events", "dispatch", "session", "otp", "webhook", "routing"}, adapters...)},
		// smstools' spool directories, and programs run on events: the core,
		// the event stream (and gsm7 for a GSM-alphabet file), nothing else.
		{"spool", []string{mod + "gateway", mod + "events", mod + "gsm7"}, append([]string{"modem", "modemdev", "dispatch", "session", "otp", "webhook", "hooks"}, adapters...)},
		{"hooks", []string{mod + "gateway", mod + "events"}, append([]string{"modem", "modemdev", "dispatch", "session", "otp", "webhook", "spool"}, adapters...)},
		// Adapters: persistence and HTTP point at the core. The JSON API and
		// the status page do not know each other.
		{"store", []string{mod + "gateway", "modernc.org/sqlite", "github.com/jackc/pgx/v5"}, append([]string{"modem", "modemdev", "web", "apiv1"}, features...)},
		{"apiv1", nil, []string{"pdu", "modem", "gateway", "store", "web"}},
		{"web", []string{mod + "apiv1", mod + "gateway", mod + "otp", mod + "webhook", mod + "web/api", mod + "web/ui", mod + "web/kannel", mod + "web/smsgate", mod + "web/internal/problem",
			"github.com/labstack/echo/v4", "github.com/prometheus/client_golang"}, []string{"modem", "store", "modemdev", "dispatch"}},
		{"web/api", []string{mod + "apiv1", mod + "gateway", mod + "otp", mod + "webhook", mod + "web/internal/problem", "github.com/labstack/echo/v4"},
			[]string{"web/ui", "modem", "store", "modemdev", "dispatch", "session"}},
		// SMSGate's 3rd-party API, an adapter of its own beside web/api.
		{"web/smsgate", []string{mod + "gateway", mod + "webhook", "github.com/labstack/echo/v4"},
			[]string{"web/api", "web/ui", "web/internal", "apiv1", "modem", "store", "modemdev", "dispatch", "session"}},
		{"web/ui", []string{mod + "gateway", mod + "otp", mod + "session", mod + "events", "github.com/labstack/echo/v4"},
			[]string{"web/api", "web/internal", "apiv1", "modem", "store", "modemdev", "dispatch", "webhook"}},
		// Kannel's sendsms and its DLRs: an adapter on the core, the event
		// stream and the webhook package's callback delivery.
		{"web/kannel", []string{mod + "gateway", mod + "events", mod + "webhook", "github.com/labstack/echo/v4"},
			[]string{"web/api", "web/ui", "web/internal", "apiv1", "modem", "store", "modemdev", "dispatch", "session", "otp"}},
		{"web/internal/problem", []string{mod + "apiv1", "github.com/labstack/echo/v4"}, []string{"modem", "store", "gateway", "web/api", "web/ui"}},
		{"web/internal/webtest", []string{mod + "apiv1", mod + "gateway", "github.com/labstack/echo/v4", "github.com/prometheus/client_golang"},
			[]string{"modem", "store", "modemdev"}}, // test helpers
		{"mailer", []string{mod + "gateway", "github.com/wneessen/go-mail"}, []string{"modem", "store", "web"}},
		{"mailer/mailtest", []string{"github.com/emersion/go-smtp", "github.com/emersion/go-sasl"}, []string{"modem", "gateway", "store", "web"}},
		{"modemdev", []string{mod + "modem", mod + "gateway"}, []string{"store", "web"}},
		// A real PostgreSQL server for tests (initdb, pg_ctl); it knows nothing of simgate.
		{"internal/pgtest", []string{"github.com/jackc/pgx/v5"}, []string{"gateway", "store", "web", "modem", "pdu"}},
		// A test filesystem (FUSE) that can cut the power; it knows nothing of simgate.
		{"internal/powercut", []string{"github.com/hanwen/go-fuse/v2"}, []string{"gateway", "store", "web", "modem", "pdu"}},
		// Checks of the machine and the modems for "simgate doctor".
		{"doctor", []string{mod + "modem", "go.bug.st/serial"}, []string{"gateway", "store", "web", "modemdev", "pdu"}},
		// make bench-peers: drives simgate and its peers as programs, over
		// HTTP, spool files and the virtual modems' logs; imports no simgate code.
		{"bench/peers", nil, []string{"gateway", "store", "web", "modem", "pdu", "modemdev"}},
		// The .deb's files and their tests; no code.
		{"packaging", nil, []string{"gateway", "modem", "store", "web"}},
	}
	t.Run("every package listed", func(t *testing.T) {
		listed := map[string]bool{"cmd/simgate": true, "internal/testkit": true}
		for _, tt := range tests {
			listed[tt.pkg] = true
		}
		for _, p := range goList(t, "{{.ImportPath}}", mod+"...") {
			if !listed[strings.TrimPrefix(p, mod)] {
				t.Errorf("package %s has no row in TestDependencies: say what it may import", p)
			}
		}
	})
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

// TestOnlyMainImportsWeb: the server is wired in cmd/simgate alone; web/api
// and web/ui are its parts, not its clients.
func TestOnlyMainImportsWeb(t *testing.T) {
	const mod = "github.com/simgate/simgate/"
	lines := goList(t, "{{.ImportPath}}:{{join .Imports \",\"}}", mod+"...")
	for _, l := range lines {
		pkg, imports, _ := strings.Cut(l, ":")
		if pkg == mod+"cmd/simgate" {
			continue
		}
		for _, imp := range strings.Split(imports, ",") {
			if imp == mod+"web" {
				t.Errorf("%s imports web; only cmd/simgate may", pkg)
			}
		}
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
