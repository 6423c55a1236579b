package ui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/simgate/simgate/gateway"
)

// The modem page's charts are inline SVG whose geometry is computed here;
// the templates only place it. Coordinates are in a fixed viewBox that CSS
// scales to the screen.
const (
	chartW, chartH = 600, 140
	chartLeft      = 44 // room for the y labels
	chartBottom    = 20 // room for the x labels
	chartTop       = 6
	dbmMin, dbmMax = -113, -51 // the range +CSQ 0–31 maps to (TS 27.007 §8.5)
)

type chartTick struct {
	X, Y  float64
	Label string
}

type chartSpan struct {
	X, W  float64
	Title string
}

// signalChart is dBm over time: a line where the signal was known, gaps
// where the modem was offline, shaded.
type signalChart struct {
	W, H, Left, Top, Bottom float64
	Lines                   []string // polyline points
	Dots                    []chartTick
	Offline                 []chartSpan
	XTicks, YTicks          []chartTick
	Empty                   bool
}

func newSignalChart(samples []gateway.ModemSample, from, to time.Time) signalChart {
	c := signalChart{W: chartW, H: chartH, Left: chartLeft, Top: chartTop, Bottom: chartH - chartBottom}
	span := to.Sub(from)
	x := func(t time.Time) float64 {
		f := float64(t.Sub(from)) / float64(span)
		return round1(chartLeft + min(max(f, 0), 1)*(chartW-chartLeft-4))
	}
	y := func(dbm int) float64 {
		f := float64(min(max(dbm, dbmMin), dbmMax)-dbmMin) / float64(dbmMax-dbmMin)
		return round1(c.Bottom - f*(c.Bottom-chartTop))
	}
	for _, d := range []int{dbmMax, -82, dbmMin} {
		c.YTicks = append(c.YTicks, chartTick{X: chartLeft - 4, Y: y(d), Label: strconv.Itoa(d)})
	}
	c.XTicks = timeTicks(from, to, x, c.Bottom)
	c.Empty = len(samples) == 0

	var line []chartTick
	flush := func() {
		switch len(line) {
		case 0:
		case 1:
			c.Dots = append(c.Dots, line[0])
		default:
			pts := make([]string, len(line))
			for i, p := range line {
				pts[i] = fmt.Sprintf("%g,%g", p.X, p.Y)
			}
			c.Lines = append(c.Lines, strings.Join(pts, " "))
		}
		line = nil
	}
	for i, s := range samples {
		end := to
		if i+1 < len(samples) {
			end = samples[i+1].At
		}
		up := s.State == gateway.ModemOnline || s.State == gateway.ModemNotRegistered
		if !up {
			flush()
			c.Offline = append(c.Offline, chartSpan{X: x(s.At), W: max(x(end)-x(s.At), 1),
				Title: fmt.Sprintf("%s from %s", label(string(s.State)), s.At.Local().Format("15:04"))})
			continue
		}
		if !s.SignalKnown {
			flush()
			continue
		}
		line = append(line, chartTick{X: x(s.At), Y: y(s.DBM)})
	}
	flush()
	return c
}

// sendsChart is parts sent per hour, failures stacked on top.
type sendsChart struct {
	W, H, Left, Top, Bottom float64
	Bars                    []sendsBar
	XTicks, YTicks          []chartTick
	Total, Failed           int
}

type sendsBar struct {
	X, W             float64
	SentY, SentH     float64
	FailedY, FailedH float64
	Title            string
}

func newSendsChart(hours []gateway.HourCount, from, to time.Time) sendsChart {
	c := sendsChart{W: chartW, H: chartH, Left: chartLeft, Top: chartTop, Bottom: chartH - chartBottom}
	start := from.Truncate(time.Hour)
	n := int(to.Sub(start)/time.Hour) + 1
	sent, failed := make([]int, n), make([]int, n)
	for _, h := range hours {
		i := int(h.Hour.Sub(start) / time.Hour)
		if i < 0 || i >= n {
			continue
		}
		sent[i] += h.Sent
		failed[i] += h.Failed
		c.Total += h.Sent
		c.Failed += h.Failed
	}
	peak := 1
	for i := range n {
		peak = max(peak, sent[i]+failed[i])
	}
	plot := c.Bottom - chartTop
	slot := (chartW - chartLeft - 4) / float64(n)
	for i := range n {
		hs := round1(float64(sent[i]) / float64(peak) * plot)
		hf := round1(float64(failed[i]) / float64(peak) * plot)
		hour := start.Add(time.Duration(i) * time.Hour)
		c.Bars = append(c.Bars, sendsBar{
			X: round1(chartLeft + float64(i)*slot + 1), W: round1(max(slot-2, 1)),
			SentY: round1(c.Bottom - hs), SentH: hs,
			FailedY: round1(c.Bottom - hs - hf), FailedH: hf,
			Title: fmt.Sprintf("%s: %d sent, %d failed", hour.Local().Format("Jan 2 15:00"), sent[i], failed[i]),
		})
	}
	c.YTicks = []chartTick{
		{X: chartLeft - 4, Y: chartTop + 4, Label: strconv.Itoa(peak)},
		{X: chartLeft - 4, Y: c.Bottom, Label: "0"},
	}
	x := func(t time.Time) float64 {
		return round1(chartLeft + float64(t.Sub(start))/float64(time.Hour)*slot)
	}
	c.XTicks = timeTicks(from, to, x, c.Bottom)
	return c
}

// timeTicks labels every sixth local hour between from and to.
func timeTicks(from, to time.Time, x func(time.Time) float64, bottom float64) []chartTick {
	var ticks []chartTick
	t := from.Local().Truncate(time.Hour).Add(time.Hour)
	for ; t.Before(to); t = t.Add(time.Hour) {
		if t.Hour()%6 == 0 {
			ticks = append(ticks, chartTick{X: x(t), Y: bottom + 14, Label: t.Format("15:04")})
		}
	}
	return ticks
}

func round1(f float64) float64 { return float64(int(f*10+0.5)) / 10 }

func label(s string) string { return strings.ReplaceAll(s, "_", " ") }
