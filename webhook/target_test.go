package webhook_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/webhook"
)

func TestValidURL_Targets(t *testing.T) {
	for _, u := range []string{
		"http://169.254.169.254/latest/meta-data/iam/security-credentials/",
		"http://169.254.170.2/v2/credentials", // ECS task credentials
		"http://[fe80::1%25eth0]:8080/",
		"http://[::ffff:169.254.169.254]/",
		"http://metadata.google.internal/computeMetadata/v1/",
		"http://METADATA.GOOGLE.INTERNAL./computeMetadata/v1/",
		"http://metadata/computeMetadata/v1/",
		"http://100.100.100.200/latest/meta-data/",
		"http://[fd00:ec2::254]/latest/meta-data/",
	} {
		var ve *gateway.ValidationError
		if err := webhook.ValidURL(u); !errors.As(err, &ve) || ve.Field != "url" || !strings.Contains(ve.Reason, "refused") {
			t.Errorf("ValidURL(%s) = %v, want a refusal of the url", u, err)
		}
	}
	// The LAN and the machine itself stay allowed on purpose.
	for _, u := range []string{"http://127.0.0.1:9000/hook", "http://10.0.0.5/hook", "https://[::1]/hook", "http://192.168.1.20/",
		"https://hooks.example.com/in", "http://metadata.example.com/"} {
		if err := webhook.ValidURL(u); err != nil {
			t.Errorf("ValidURL(%s) = %v, want it allowed", u, err)
		}
	}
}

// An endpoint stored before the deny-list (or a name that resolves to a
// link-local address) is refused when the connection would be opened: its
// row fails at once, and no connection leaves the machine. The address is
// link-local on the loopback interface, so even a failure of the guard
// stays on this machine.
func TestNotifier_LinkLocalRefusedAtDial(t *testing.T) {
	r := newNotifierRig(t)
	ep := gateway.WebhookEndpoint{ID: gateway.NewID("wh_", r.clock.Now()), URL: "http://[fe80::1%25lo]:9/hook",
		Events: []string{gateway.EventModemOnline}, Secret: "whsec_AAAA", CreatedAt: r.clock.Now()}
	if err := r.st.CreateWebhook(context.Background(), ep); err != nil {
		t.Fatal(err)
	}
	r.run()
	r.notify(gateway.EventModemOnline, map[string]string{"id": "x"})
	row := r.waitRow(ep.ID, "failed", func(d gateway.WebhookDelivery) bool { return d.Status != gateway.WebhookPending })
	if row.Status != gateway.WebhookFailed || !strings.Contains(row.LastError, "link-local") {
		t.Errorf("row = %+v; want failed at once as link-local", row)
	}
}
