package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseSends(t *testing.T) {
	log := `{"modem":1,"imei":"3","to":"+447700900001","text":"a","cmgs_at":"2026-12-02T02:01:19.5Z","pdu_at":"2026-12-02T02:01:19.6Z"}

{"modem":2,"imei":"4","to":"447700900001","text":"a","cmgs_at":"2026-12-02T02:01:19.1Z","pdu_at":"2026-12-02T02:01:19.2Z"}
{"modem":1,"to":"447700900002","cmgs_at":"2026-12-02T02:01:20Z"}
`
	sends, err := parseSends(strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	if len(sends) != 3 || sends[1].Modem != 2 || sends[0].Text != "a" {
		t.Fatalf("parsed %+v", sends)
	}
	seen := firstSeen(sends)
	base := time.Date(2026, 12, 2, 2, 1, 19, 0, time.UTC)
	if got := seen["447700900001"]; !got.Equal(base.Add(100 * time.Millisecond)) {
		t.Errorf("first AT+CMGS to 447700900001 at %v, want the earlier of the two", got)
	}
	if got := seen["447700900002"]; !got.Equal(base.Add(time.Second)) {
		t.Errorf("447700900002 at %v", got)
	}
	for _, bad := range []string{"{not json\n", `{"modem":1,"to":"1"}` + "\n"} {
		if _, err := parseSends(strings.NewReader(log + bad)); err == nil || !strings.Contains(err.Error(), "line 5") {
			t.Errorf("bad line %q: err %v, want one naming line 5", bad, err)
		}
	}
}

func TestSummarize(t *testing.T) {
	var ds []time.Duration
	for i := 20; i >= 1; i-- { // unsorted on purpose
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := summarize(ds)
	want := summary{N: 20, P50: 10 * time.Millisecond, P95: 19 * time.Millisecond, Max: 20 * time.Millisecond}
	if got != want {
		t.Errorf("summarize = %+v, want %+v", got, want)
	}
	if one := summarize([]time.Duration{7}); one.P50 != 7 || one.P95 != 7 || one.Max != 7 {
		t.Errorf("one sample: %+v", one)
	}
	if empty := summarize(nil); empty.N != 0 {
		t.Errorf("no samples: %+v", empty)
	}
}

func TestNumberKey(t *testing.T) {
	for in, want := range map[string]string{"+44 7700 900001": "447700900001", "447700900001": "447700900001", "": ""} {
		if got := numberKey(in); got != want {
			t.Errorf("numberKey(%q) = %q, want %q", in, got, want)
		}
	}
}
