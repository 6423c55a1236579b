package main

import (
	"bufio"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simgate/simgate/apiv1"
)

// dashboardFile is the Grafana dashboard shipped in configs.
const dashboardFile = "../../configs/grafana-dashboard.json"

// quietMetrics are the series the dashboard queries that this test's
// traffic leaves at zero: a failed verification, a scheduled backup and a
// drained queue are not part of it.
var quietMetrics = map[string]bool{
	"simgate_otp_failed_total":                      true,
	"simgate_backup_last_success_timestamp_seconds": true,
	"simgate_queue_depth":                           true,
}

// TestE2E_DashboardMetricsExist: after traffic through the real binary on
// virtual modems — messages sent, delivered and received, one refused by
// the network, an OTP sent and approved, one blocked, a webhook retried
// and delivered — every series configs/grafana-dashboard.json queries is
// on /metrics, and has moved unless it is one of quietMetrics.
func TestE2E_DashboardMetricsExist(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	queried := dashboardMetrics(t)
	netw := startNetwork(t, 2, "--fail", "+12025550199:1")
	g := startGateway(t, t.TempDir(), freePort(t), "", netw.ports)

	var hits atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if hits.Add(1) == 1 {
			w.WriteHeader(http.StatusInternalServerError) // the first attempt fails: a retry
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(hook.Close)
	body := `{"url":"` + hook.URL + `/hook","events":["message.delivered"]}`
	if s := g.call(t, http.MethodPost, "/api/v1/webhooks", strings.NewReader(body), nil); s != http.StatusCreated {
		t.Fatalf("POST /api/v1/webhooks = %d", s)
	}

	for _, to := range []string{netw.numbers[1], netw.numbers[1], "+12025550199"} {
		if s, _ := g.send(t, map[string]any{"to": to, "text": "metrics traffic", "modem": netw.imeis[0]}); s != http.StatusAccepted {
			t.Fatalf("POST message to %s = %d", to, s)
		}
	}
	approveOTP(t, g, netw)
	var blocked apiv1.OTPSendResponse
	if s := g.call(t, http.MethodPost, "/api/v1/otp", strings.NewReader(`{"to":"+442071838750"}`), &blocked); s != http.StatusCreated {
		t.Fatalf("POST /api/v1/otp to a country not allowed = %d", s)
	}

	// Poll until every series is there and moved; then say which are not.
	var missing []string
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		values := scrape(t, g.url+"/metrics")
		missing = missing[:0]
		for _, name := range queried {
			if v, ok := values[name]; !ok {
				missing = append(missing, name+" (absent)")
			} else if v == 0 && !quietMetrics[name] {
				missing = append(missing, name+" (still zero after the traffic)")
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, m := range missing {
		t.Errorf("the dashboard queries %s", m)
	}
}

// approveOTP sends a code to a number on no modem, reads it from the
// virtual network's record and checks it.
func approveOTP(t *testing.T, g *gatewayProc, netw *virtualNetwork) {
	t.Helper()
	const to = "+12025550150"
	var v apiv1.OTPSendResponse
	if s := g.call(t, http.MethodPost, "/api/v1/otp", strings.NewReader(`{"to":"`+to+`","length":10}`), &v); s != http.StatusCreated {
		t.Fatalf("POST /api/v1/otp = %d", s)
	}
	codeRe := regexp.MustCompile(`\b(\d{10})\b`)
	var code string
	waitFor(t, 30*time.Second, "the code SMS on the network", func() bool {
		for _, r := range netw.records(t) {
			if m := codeRe.FindStringSubmatch(r.Text); r.To == to && m != nil {
				code = m[1]
			}
		}
		return code != ""
	})
	var res apiv1.OTPCheckResponse
	if s := g.call(t, http.MethodPost, "/api/v1/otp/"+v.ID+"/check", strings.NewReader(`{"code":"`+code+`"}`), &res); s != http.StatusOK || res.Status != "approved" {
		t.Fatalf("check = %d %+v, want approved", s, res)
	}
}

// dashboardMetrics lists the simgate_ series the dashboard's queries and
// variables name, a histogram's _bucket, _sum and _count as the histogram.
func dashboardMetrics(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	var exprs []string
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, v := range d.Templating.List {
		exprs = append(exprs, v.Definition)
	}
	set := map[string]bool{}
	re := regexp.MustCompile(`simgate_[a-z0-9_]+`)
	for _, e := range exprs {
		for _, name := range re.FindAllString(e, -1) {
			set[histogramBase(name)] = true
		}
	}
	if len(set) < 10 {
		t.Fatalf("the dashboard queries only %v", set)
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func histogramBase(name string) string {
	for _, s := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, s); ok {
			return base
		}
	}
	return name
}

// scrape reads /metrics: for each series family, the sum of the absolute
// values of its samples (a histogram's counts).
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name := line[:strings.IndexAny(line, "{ ")]
		if strings.HasSuffix(name, "_bucket") || strings.HasSuffix(name, "_sum") {
			out[histogramBase(name)] += 0 // present; _count carries the value
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", line, err)
		}
		out[histogramBase(name)] += math.Abs(v)
	}
	return out
}
