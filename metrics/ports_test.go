package metrics

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/internal/testkit"
	"github.com/simgate/simgate/modem/modemsim"
	"github.com/simgate/simgate/otp"
	"github.com/simgate/simgate/pdu"
)

// The wrapped device counts a part the modem accepted, its +CMGS time,
// and an error the modem answered by its class, under the modem's IMEI.
func TestOpener_CountsSends(t *testing.T) {
	netw := modemsim.NewNetwork()
	t.Cleanup(func() { netw.Close() })
	sim := netw.AddModem(modemsim.Config{})
	netw.SetFailure("+14155550199", 21)
	reg := prometheus.NewRegistry()
	m := New(testkit.OpenStore(t), reg, nil)
	open := m.Opener(func(ctx context.Context, port string) (gateway.Device, error) {
		return testkit.SimDevice(t, ctx, sim), nil
	})
	dev, err := open(t.Context(), "sim")
	if err != nil {
		t.Fatal(err)
	}
	id, err := dev.Identity(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	send := func(to string) error {
		sub, err := pdu.EncodeSubmit(to, "hello", pdu.SubmitOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = dev.SendPDU(t.Context(), sub.Segments[0].TPDULength, sub.Segments[0].PDU)
		return err
	}
	waitValue(t, reg, 0, "simgate_parts_sent_total", "modem", id.IMEI) // known before its first send
	if err := send("+14155550101"); err != nil {
		t.Fatalf("send: %v", err)
	}
	err = send("+14155550199")
	var de *gateway.DeviceError
	if !errors.As(err, &de) {
		t.Fatalf("send to the failing number: %v, want a DeviceError", err)
	}
	waitValue(t, reg, 1, "simgate_parts_sent_total", "modem", id.IMEI)
	waitValue(t, reg, 1, "simgate_part_send_duration_seconds", "modem", id.IMEI)
	waitValue(t, reg, 1, "simgate_cms_errors_total", "modem", id.IMEI, "class", string(de.Class))
}

// Each verification the OTP service commits is counted once: sent by
// channel, or blocked by the kind of the limits' reason. This keeps
// blockReason in step with the otp package's words.
func TestOTPStore_CountsSentAndBlocked(t *testing.T) {
	dir := t.TempDir()
	st := testkit.OpenStore(t)
	reg := prometheus.NewRegistry()
	m := New(st, reg, nil)
	key, err := otp.LoadKey(filepath.Join(dir, "otp.key"))
	if err != nil {
		t.Fatal(err)
	}
	clock := testkit.NewClock(time.Now())
	svc := gateway.NewService(gateway.ServiceConfig{}, otp.SealedStore(st, key), nil, clock, nil)
	o, err := otp.New(otp.Config{Limits: otp.Limits{NumberPerHour: 1, NumberPerDay: 1, PrefixPerHour: 2, AllowedCountries: []string{"US"}}},
		svc, m.OTPStore(st), key, nil, clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []otp.Request{
		{To: "+14155550101", Purpose: "a"}, // sent
		{To: "+14155550101", Purpose: "b"}, // the number's hour
		{To: "+14155550102", Purpose: "a"}, // sent
		{To: "+14155550103", Purpose: "a"}, // the prefix's hour
		{To: "+442071838750", Purpose: "a"},
	} {
		if _, err := o.Send(t.Context(), r); err != nil {
			t.Fatalf("Send %+v: %v", r, err)
		}
	}
	clock.Add(2 * time.Hour)
	if _, err := o.Send(t.Context(), otp.Request{To: "+14155550101", Purpose: "c"}); err != nil { // the number's day
		t.Fatal(err)
	}
	waitValue(t, reg, 2, "simgate_otp_sent_total", "channel", "sms")
	for reason, want := range map[string]float64{"number_hourly": 1, "prefix_hourly": 1, "country": 1, "number_daily": 1, "other": 0} {
		waitValue(t, reg, want, "simgate_otp_blocked_total", "reason", reason)
	}
}
