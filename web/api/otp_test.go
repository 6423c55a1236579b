package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/simgate/simgate/apiv1"
	"github.com/simgate/simgate/dispatch"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/internal/testkit"
	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/modem/modemsim"
	"github.com/simgate/simgate/modemdev"
	"github.com/simgate/simgate/otp"
	"github.com/simgate/simgate/store"
	"github.com/simgate/simgate/web"
	"github.com/simgate/simgate/web/internal/webtest"
)

// otpStack is the whole API over the real store, dispatcher and driver on
// a virtual modem, behind a loopback listener.
type otpStack struct {
	ts    *webtest.Server
	key   string
	clock *testkit.Clock
	net   *modemsim.Network
	phone *modemsim.Modem
	st    *store.Store
	otp   *otp.Service
}

func mustOTPStack(t testing.TB, cfg otp.Config, attach bool) *otpStack {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "simgate.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	key, err := otp.LoadKey(filepath.Join(dir, "otp.key"))
	if err != nil {
		t.Fatal(err)
	}
	clock := testkit.NewClock(time.Now())
	sealed := otp.SealedStore(st, key)
	d := dispatch.New(dispatch.Config{}, sealed, clock, nil)
	svc := gateway.NewService(gateway.ServiceConfig{}, sealed, d, clock, nil)
	otp, err := otp.New(cfg, svc, st, key, nil, clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	secret, _, err := svc.CreateAPIKey(ctx, "app", nil)
	if err != nil {
		t.Fatal(err)
	}
	net := modemsim.NewNetwork()
	sim, phone := net.AddModem(modemsim.Config{}), net.AddModem(modemsim.Config{})
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var dev gateway.Device
	if attach {
		m := modem.New(sim.Pipe(ctx), modem.Config{})
		if err := m.Init(ctx); err != nil {
			t.Fatal(err)
		}
		dev = modemdev.New(m)
		if err := st.UpsertModem(ctx, gateway.ModemInfo{IMEI: sim.IMEI(), State: gateway.ModemOnline}); err != nil {
			t.Fatal(err)
		}
		d.Attach(sim.IMEI(), dev, gateway.ModemLimits{})
	}
	s := web.NewServer(web.Config{OTP: otp, Registry: prometheus.NewRegistry()}, svc, slog.New(slog.DiscardHandler))
	ts := webtest.Start(t, s.Handler())
	t.Cleanup(func() {
		cancel()
		<-done
		if dev != nil {
			dev.Close()
		}
		net.Close()
		st.Close()
	})
	return &otpStack{
		ts:  ts,
		key: secret, clock: clock, net: net, phone: phone, st: st, otp: otp,
	}
}

func (s *otpStack) Do(t testing.TB, method, path, body string) webtest.Response {
	t.Helper()
	return s.ts.Do(t, method, path, body, map[string]string{"Authorization": "Bearer " + s.key})
}

var otpCodeRE = regexp.MustCompile(`code is (\d+)`)

// code waits for the virtual network to carry message msgID and returns the
// code in its text.
func (s *otpStack) code(t testing.TB, msgID string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		m, err := s.st.Message(context.Background(), msgID)
		if err == nil && m.Status == gateway.StatusSent && m.Parts[0].HasMR {
			for _, rec := range s.net.Records() {
				if rec.FromIMEI == m.Modem && rec.MR == m.Parts[0].MR {
					if c := otpCodeRE.FindStringSubmatch(rec.Text); c != nil {
						return c[1]
					}
				}
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("message %s never reached the network", msgID)
	return ""
}

func decode[T any](t testing.TB, r webtest.Response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
	return v
}

func TestOTPAPI_EndToEnd(t *testing.T) {
	s := mustOTPStack(t, otp.Config{}, true)
	res := s.Do(t, http.MethodPost, "/api/v1/otp", `{"to":"`+s.phone.Number()+`","purpose":"login"}`)
	if res.Status != http.StatusCreated {
		t.Fatalf("POST /otp: %d %s", res.Status, res.Body)
	}
	sent := decode[apiv1.OTPSendResponse](t, res)
	if sent.Status != "pending" || sent.MessageID == nil || sent.To != s.phone.Number() || sent.Channel != "sms" {
		t.Fatalf("POST /otp = %s", res.Body)
	}
	code := s.code(t, *sent.MessageID)

	wrong := string(rune('0'+(code[0]-'0'+1)%10)) + code[1:]
	check := func(path, body string, wantStatus int, want apiv1.OTPCheckResponse) {
		t.Helper()
		res := s.Do(t, http.MethodPost, path, body)
		if res.Status != wantStatus {
			t.Fatalf("POST %s: %d %s, want %d", path, res.Status, res.Body, wantStatus)
		}
		if wantStatus == http.StatusOK {
			if got := decode[apiv1.OTPCheckResponse](t, res); got != want {
				t.Fatalf("POST %s = %+v, want %+v", path, got, want)
			}
		}
	}
	check("/api/v1/otp/"+sent.ID+"/check", `{"code":"`+wrong+`"}`, 200, apiv1.OTPCheckResponse{ID: sent.ID, Status: "pending", AttemptsLeft: 4})

	// Resend within 30 s: 429 with Retry-After.
	res = s.Do(t, http.MethodPost, "/api/v1/otp/"+sent.ID+"/resend", "")
	if res.Status != http.StatusTooManyRequests {
		t.Fatalf("resend at once: %d %s", res.Status, res.Body)
	}
	if ra, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 30 {
		t.Fatalf("Retry-After %q", res.Header.Get("Retry-After"))
	}
	s.clock.Add(31 * time.Second)
	res = s.Do(t, http.MethodPost, "/api/v1/otp/"+sent.ID+"/resend", "")
	if res.Status != http.StatusOK {
		t.Fatalf("resend after 31s: %d %s", res.Status, res.Body)
	}
	v := decode[apiv1.Verification](t, res)
	if v.MessageID == nil || *v.MessageID == *sent.MessageID || v.Sends != 2 || v.AttemptsLeft != 4 {
		t.Fatalf("resend = %s", res.Body)
	}
	fresh := s.code(t, *v.MessageID)
	if fresh != code {
		check("/api/v1/otp/"+sent.ID+"/check", `{"code":"`+code+`"}`, 200, apiv1.OTPCheckResponse{ID: sent.ID, Status: "pending", AttemptsLeft: 3})
	}
	// By number, as a login form without the ID would.
	check("/api/v1/otp/check", `{"to":"`+s.phone.Number()+`","purpose":"login","code":"`+fresh+`"}`, 200,
		apiv1.OTPCheckResponse{ID: sent.ID, Status: "approved", AttemptsLeft: v.AttemptsLeft - boolToInt(fresh != code)})
	check("/api/v1/otp/"+sent.ID+"/check", `{"code":"`+fresh+`"}`, 404, apiv1.OTPCheckResponse{})

	res = s.Do(t, http.MethodGet, "/api/v1/otp/"+sent.ID, "")
	if res.Status != 200 || decode[apiv1.Verification](t, res).Status != "approved" {
		t.Fatalf("GET = %d %s", res.Status, res.Body)
	}
	if otpCodeRE.Match(res.Body) || regexp.MustCompile(`\b`+fresh+`\b`).Match(res.Body) {
		t.Fatalf("GET shows the code: %s", res.Body)
	}
}

func boolToInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestOTPAPI_Errors(t *testing.T) {
	s := mustOTPStack(t, otp.Config{}, false)
	tests := []struct {
		name, method, path, body string
		status                   int
	}{
		{"NoTo", "POST", "/api/v1/otp", `{}`, 422},
		{"BadNumber", "POST", "/api/v1/otp", `{"to":"12"}`, 422},
		{"BadLength", "POST", "/api/v1/otp", `{"to":"+12025550111","length":3}`, 422},
		{"TTLOverCap", "POST", "/api/v1/otp", `{"to":"+12025550111","ttl":"11m"}`, 422},
		{"EmailNotConfigured", "POST", "/api/v1/otp", `{"to":"+12025550111","channel":"email","email":"a@example.org"}`, 422},
		{"BadChannel", "POST", "/api/v1/otp", `{"to":"+12025550111","channel":"fax"}`, 422},
		{"UnknownField", "POST", "/api/v1/otp", `{"to":"+12025550111","code":"123456"}`, 400},
		{"UnknownID", "GET", "/api/v1/otp/otp_nope", ``, 404},
		{"CheckUnknown", "POST", "/api/v1/otp/otp_nope/check", `{"code":"123456"}`, 404},
		{"CheckNoCode", "POST", "/api/v1/otp/otp_nope/check", `{}`, 422},
		{"CheckByNumberNone", "POST", "/api/v1/otp/check", `{"to":"+12025550111","code":"123456"}`, 404},
		{"CancelUnknown", "DELETE", "/api/v1/otp/otp_nope", ``, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := s.Do(t, tt.method, tt.path, tt.body)
			if res.Status != tt.status {
				t.Fatalf("%s %s: %d %s, want %d", tt.method, tt.path, res.Status, res.Body, tt.status)
			}
		})
	}
	t.Run("NoKey", func(t *testing.T) {
		if res := s.ts.Do(t, "POST", "/api/v1/otp", `{"to":"+12025550111"}`, nil); res.Status != 401 {
			t.Fatalf("no key: %d", res.Status)
		}
	})
	t.Run("Cancel", func(t *testing.T) {
		res := s.Do(t, "POST", "/api/v1/otp", `{"to":"+12025550112"}`)
		id := decode[apiv1.OTPSendResponse](t, res).ID
		res = s.Do(t, "DELETE", "/api/v1/otp/"+id, "")
		if res.Status != 200 || decode[apiv1.Verification](t, res).Status != "canceled" {
			t.Fatalf("DELETE = %d %s", res.Status, res.Body)
		}
		if res := s.Do(t, "POST", "/api/v1/otp/"+id+"/check", `{"code":"123456"}`); decode[apiv1.OTPCheckResponse](t, res).Status != "canceled" {
			t.Fatalf("check after cancel: %s", res.Body)
		}
	})
	t.Run("BlockedLooksPending", func(t *testing.T) {
		res := s.Do(t, "POST", "/api/v1/otp", `{"to":"+447911123456"}`) // not the home region
		if res.Status != 201 {
			t.Fatalf("blocked send: %d %s", res.Status, res.Body)
		}
		got := decode[apiv1.OTPSendResponse](t, res)
		if got.Status != "pending" || got.MessageID == nil {
			t.Fatalf("blocked send answered %s", res.Body)
		}
		v, err := s.otp.Get(t.Context(), got.ID)
		if err != nil || v.Status != gateway.OTPBlocked {
			t.Fatalf("operator view %+v, %v", v, err)
		}
	})
}

func TestOTPAPI_NotConfigured(t *testing.T) {
	ts := mustServer(t, &webtest.FakeService{AuthenticateFn: func(context.Context, string) (gateway.APIKey, error) {
		return gateway.APIKey{Name: webtest.KeyName}, nil
	}}, web.Config{})
	if res := ts.Do(t, "POST", "/api/v1/otp", `{"to":"+12025550111"}`, webtest.Authed()); res.Status != 404 {
		t.Fatalf("without OTP: %d", res.Status)
	}
}

// benchLimits lets a benchmark send as fast as it can to one number.
var benchLimits = otp.Limits{NumberPerHour: -1, NumberPerDay: -1, APIKeyPerMinute: -1, PrefixPerHour: -1,
	AllowedCountries: []string{"*"}}

// latencies collects per-request times and reports p50, p99 and the rate.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B, unit string) {
	if len(l.d) == 0 {
		return
	}
	slices.Sort(l.d)
	pct := func(p float64) float64 { return float64(l.d[int(float64(len(l.d)-1)*p)].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
}

func benchPost(b *testing.B, s *otpStack, path, body string, want int) {
	req, err := http.NewRequest(http.MethodPost, s.ts.URL+path, strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.key)
	req.Header.Set("Content-Type", "application/json")
	res, err := s.ts.Client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != want {
		b.Fatalf("POST %s: %d", path, res.StatusCode)
	}
}

// BenchmarkOTPAPI_Send is POST /api/v1/otp accepted (committed and queued)
// through the real server and store, 8 clients at once.
func BenchmarkOTPAPI_Send(b *testing.B) {
	s := mustOTPStack(b, otp.Config{Limits: benchLimits}, false)
	s.ts.Client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	var lat latencies
	var n atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := `{"to":"+12025550111","purpose":"p` + strconv.FormatInt(n.Add(1), 10) + `"}`
			t0 := time.Now()
			benchPost(b, s, "/api/v1/otp", body, http.StatusCreated)
			lat.add(time.Since(t0))
		}
	})
	b.StopTimer()
	lat.report(b, "sends/s")
}

// BenchmarkOTPAPI_Check is POST /api/v1/otp/{id}/check with a wrong code
// (a write: the attempt is counted) over 256 verifications, 8 clients.
func BenchmarkOTPAPI_Check(b *testing.B) {
	s := mustOTPStack(b, otp.Config{Limits: benchLimits, MaxAttempts: 1 << 30}, false)
	s.ts.Client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	ids := make([]string, 256)
	for i := range ids {
		v, err := s.otp.Send(context.Background(), otp.Request{To: "+12025550111", Purpose: "p" + strconv.Itoa(i)})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = v.ID
	}
	var lat latencies
	var n atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := ids[n.Add(1)%int64(len(ids))]
			t0 := time.Now()
			benchPost(b, s, "/api/v1/otp/"+id+"/check", `{"code":"0000000000"}`, http.StatusOK)
			lat.add(time.Since(t0))
		}
	})
	b.StopTimer()
	lat.report(b, "checks/s")
}

// BenchmarkOTPAPI_PostToCMGS is the time from POST /api/v1/otp to the
// virtual network recording the SMS-SUBMIT, i.e. AT+CMGS answered, on an
// idle modem over the real driver.
func BenchmarkOTPAPI_PostToCMGS(b *testing.B) {
	s := mustOTPStack(b, otp.Config{Limits: benchLimits}, true)
	var lat latencies
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		benchPost(b, s, "/api/v1/otp", `{"to":"`+s.phone.Number()+`","purpose":"p`+strconv.Itoa(i)+`"}`, http.StatusCreated)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := s.net.WaitRecords(ctx, i+1)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		lat.add(time.Since(t0))
	}
	b.StopTimer()
	lat.report(b, "otps/s")
}
