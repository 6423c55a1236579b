package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

func TestSignalChart(t *testing.T) {
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	to := from.Add(24 * time.Hour)
	on := func(h float64, dbm int) gateway.ModemSample {
		return gateway.ModemSample{At: from.Add(time.Duration(h * float64(time.Hour))), State: gateway.ModemOnline, DBM: dbm, SignalKnown: true}
	}
	samples := []gateway.ModemSample{
		on(0, dbmMax), on(6, dbmMin),
		{At: from.Add(12 * time.Hour), State: gateway.ModemOffline},
		on(18, -82),
		{At: from.Add(19 * time.Hour), State: gateway.ModemOnline}, // signal unknown: a gap
		on(20, -90), on(22, -200), // below the scale: clamped
	}
	c := newSignalChart(samples, from, to)
	if len(c.Lines) != 2 || len(c.Dots) != 1 {
		t.Fatalf("lines %q, dots %v; want 2 lines and the lone -82 dBm as a dot", c.Lines, c.Dots)
	}
	first := strings.Fields(c.Lines[0])
	if first[0] != "44,6" || first[1] != "182,120" {
		t.Errorf("first line %v: want the top-left corner then the bottom a quarter along", first)
	}
	if got := strings.Fields(c.Lines[1]); got[len(got)-1] != "550,120" {
		t.Errorf("second line ends at %s, want -200 dBm clamped to the bottom", got[len(got)-1])
	}
	if len(c.Offline) != 1 || c.Offline[0].X != 320 || c.Offline[0].W != 138 {
		t.Errorf("offline spans %+v, want one from 12:00 to 18:00", c.Offline)
	}
	if c.Empty {
		t.Error("a chart with samples says it is empty")
	}
	if e := newSignalChart(nil, from, to); !e.Empty || len(e.Lines) != 0 {
		t.Error("a chart without samples is not empty")
	}
}

func TestSendsChart(t *testing.T) {
	from := time.Date(2026, 3, 1, 0, 30, 0, 0, time.UTC)
	to := from.Add(24 * time.Hour)
	hours := []gateway.HourCount{
		{Hour: from.Truncate(time.Hour), Sent: 4},
		{Hour: from.Truncate(time.Hour).Add(2 * time.Hour), Sent: 6, Failed: 2},
		{Hour: from.Add(-48 * time.Hour), Sent: 99}, // outside the window
	}
	c := newSendsChart(hours, from, to)
	if len(c.Bars) != 25 {
		t.Fatalf("%d bars, want 25 (the partial hours at both ends included)", len(c.Bars))
	}
	if c.Total != 10 || c.Failed != 2 {
		t.Errorf("totals %d sent, %d failed; want 10, 2", c.Total, c.Failed)
	}
	plot := c.Bottom - c.Top
	peak := c.Bars[2]
	if peak.SentH+peak.FailedH != plot || peak.FailedY != c.Top {
		t.Errorf("the busiest hour %+v does not reach the top of the plot (%g)", peak, plot)
	}
	if got, want := c.Bars[0].SentH, round1(plot/2); got != want {
		t.Errorf("first bar height %g, want half the plot %g", got, want)
	}
	if c.Bars[1].SentH != 0 || c.YTicks[0].Label != "8" {
		t.Errorf("empty hour %+v or peak label %q wrong", c.Bars[1], c.YTicks[0].Label)
	}
}

// BenchmarkLiveFragment is the cost of one live update of an overview of
// four modems, which every open overview pays once a second.
func BenchmarkLiveFragment(b *testing.B) {
	u := New(Config{}, newFakeAdminStore(b), nil, nil, nil)
	var d overviewData
	for i := range 4 {
		d.Modems = append(d.Modems, modemCard{ModemView: gateway.ModemView{ModemInfo: gateway.ModemInfo{
			IMEI: "35693803564380" + string(rune('0'+i)), Model: "SIM800L", State: gateway.ModemOnline,
			DBM: -71, Bars: 3, SignalKnown: true, LastError: "+CMS ERROR: 21", LastErrorAt: time.Now()}}, Cap: 500})
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := u.fragment("live", d); err != nil {
			b.Fatal(err)
		}
	}
}
