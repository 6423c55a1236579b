package dispatch_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/internal/testkit"
	"github.com/simgate/simgate/modem/modemsim"
)

// TestDispatcher_VirtualNetwork runs the dispatcher with the real driver on
// two virtual modems: texts arrive whole, a refused number fails with the
// network's reason and does not hold up the rest, and a modem unplugged
// mid-burst leaves its queue to the other.
func TestDispatcher_VirtualNetwork(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	net := modemsim.NewNetwork()
	t.Cleanup(func() { net.Close() })
	simA, simB := net.AddModem(modemsim.Config{}), net.AddModem(modemsim.Config{})
	phone := net.AddModem(modemsim.Config{}) // the recipient's handset
	const refused = "+12025550188"
	net.SetFailure(refused, 1)

	r := newRig(t, rigOptions{})
	for _, sim := range []*modemsim.Modem{simA, simB} {
		if err := r.st.UpsertModem(ctx, gateway.ModemInfo{IMEI: sim.IMEI(), State: gateway.ModemOnline}); err != nil {
			t.Fatal(err)
		}
		r.d.Attach(sim.IMEI(), testkit.SimDevice(t, ctx, sim), gateway.ModemLimits{})
	}

	texts := map[string]string{
		"gsm7":      "Hello from simgate {ok} €5",
		"ucs2":      "Привет, мир! 👋",
		"gsm7 long": strings.Repeat("The quick brown fox jumps over the lazy dog. ", 8),
		"ucs2 long": strings.Repeat("Съешь же ещё этих мягких французских булок. ", 4),
	}
	ids := map[string]string{}
	bad := r.send(gateway.SendRequest{To: refused, Text: "to nobody"})
	for name, text := range texts {
		ids[name] = r.send(gateway.SendRequest{To: phone.Number(), Text: text}).ID
	}
	for name, id := range ids {
		// Reports are the supervisor's business; without it, sent is final.
		m := r.waitStatus(id, gateway.StatusSent, 20*time.Second)
		if m.Text != texts[name] {
			t.Errorf("%s: stored text %q", name, m.Text)
		}
	}
	got := r.waitStatus(bad.ID, gateway.StatusFailed, 20*time.Second)
	if want := "+CMS ERROR: 1 (unassigned number)"; got.Error != want {
		t.Errorf("refused number: error %q, want %q", got.Error, want)
	}

	// What the network saw, part by part: each message from one modem with
	// one reference, joining to the exact text.
	recs := net.Records()
	for name, id := range ids {
		m := r.message(id)
		var joined strings.Builder
		n := 0
		for _, rec := range recs {
			if rec.FromIMEI != m.Modem || rec.Total != m.Segments || rec.Ref != refOf(m) || rec.To != phone.Number() {
				continue
			}
			if m.Segments == 1 && rec.Text != m.Text {
				continue
			}
			n++
			joined.WriteString(rec.Text)
		}
		if n != m.Segments || joined.String() != texts[name] {
			t.Errorf("%s: the network saw %d parts from %s joining to %q", name, n, m.Modem, joined.String())
		}
	}

	// Failover: A unplugged mid-burst; every message still goes, through B.
	const offNet = "+12025550150"
	var burst []string
	for i := range 30 {
		burst = append(burst, r.send(gateway.SendRequest{To: offNet, Text: "burst " + string(rune('a'+i%26))}).ID)
		if i == 10 {
			simA.Unplug()
		}
	}
	for _, id := range burst {
		r.waitStatus(id, gateway.StatusSent, 30*time.Second)
	}
	seen := map[string]int{}
	for _, rec := range net.Records() {
		if rec.To == offNet {
			seen[rec.Text]++
		}
	}
	for i := range 30 {
		if text := "burst " + string(rune('a'+i%26)); seen[text] == 0 {
			t.Errorf("the network never saw %q", text)
		}
	}
}

func refOf(m *gateway.Message) int {
	if m.Segments == 1 {
		return 0
	}
	return m.ConcatRef
}
