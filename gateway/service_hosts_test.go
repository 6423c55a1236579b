package gateway_test

import (
	"context"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/internal/testkit"
)

// heartbeats is a store whose modems' hosts were last seen at the times
// given, as a shared PostgreSQL's Modems says (store's TestPostgres_Heartbeat
// checks that part); the rest is the real SQLite store.
type heartbeats struct {
	gateway.Store
	seen map[string]time.Time // by IMEI
}

func (h heartbeats) Modems(ctx context.Context) ([]gateway.ModemInfo, error) {
	ms, err := h.Store.Modems(ctx)
	for i := range ms {
		ms[i].Host, ms[i].HostSeenAt = "host-"+ms[i].IMEI[len(ms[i].IMEI)-1:], h.seen[ms[i].IMEI]
	}
	return ms, err
}

// A modem whose host has gone without a heartbeat for longer than
// HostTimeout is listed offline, with how long its host was silent; one
// whose host is alive, or that has no heartbeat (a single host), keeps its
// state; with no HostTimeout nothing changes.
func TestService_ModemsOfASilentHost(t *testing.T) {
	st := testkit.OpenStore(t)
	clock := testkit.NewClock(svcNow)
	const imeiC = "490154203237530"
	for _, imei := range []string{imeiA, imeiB, imeiC} {
		if err := st.UpsertModem(t.Context(), gateway.ModemInfo{IMEI: imei, State: gateway.ModemOnline}); err != nil {
			t.Fatal(err)
		}
	}
	hb := heartbeats{Store: st, seen: map[string]time.Time{
		imeiA: svcNow.Add(-42 * time.Second), // past the timeout
		imeiB: svcNow.Add(-29 * time.Second), // within it
	}}
	for _, c := range []struct {
		timeout time.Duration
		want    map[string]string
	}{
		{30 * time.Second, map[string]string{imeiA: "offline 42s", imeiB: "online 0s", imeiC: "online 0s"}},
		{0, map[string]string{imeiA: "online 0s", imeiB: "online 0s", imeiC: "online 0s"}},
	} {
		svc := gateway.NewService(gateway.ServiceConfig{HostTimeout: c.timeout}, hb, nil, clock, nil)
		mods, err := svc.Modems(t.Context())
		if err != nil || len(mods) != 3 {
			t.Fatalf("Modems = %v, %v", mods, err)
		}
		for _, m := range mods {
			if got := string(m.State) + " " + m.HostSilent.String(); got != c.want[m.IMEI] {
				t.Errorf("timeout %v: modem %s: %s, want %s", c.timeout, m.IMEI, got, c.want[m.IMEI])
			}
		}
	}
}
