package api

import (
	"encoding/json"
	"testing"
	"time"
)

func TestParseTTL(t *testing.T) {
	tests := []struct {
		raw     string
		want    time.Duration
		wantErr error
	}{
		{``, 0, nil},
		{`null`, 0, nil},
		{`0`, 0, nil},
		{`3600`, time.Hour, nil},
		{`"3600"`, time.Hour, nil},
		{`"90m"`, 90 * time.Minute, nil},
		{`"1h30m"`, 90 * time.Minute, nil},
		{`""`, 0, nil},
		{`1.5`, 0, errTTL},
		{`1e3`, 0, errTTL},
		{`true`, 0, errTTL},
		{`"soon"`, 0, errTTL},
		{`-1`, 0, errTTLNegative},
		{`"-1s"`, 0, errTTLNegative},
		{`"-30"`, 0, errTTLNegative},
		{`9223372037`, 0, errTTLTooLong},
		{`99999999999999999999`, 0, errTTL},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := parseTTL(json.RawMessage(tt.raw))
			if err != tt.wantErr || got != tt.want {
				t.Errorf("parseTTL(%s) = %v, %v; want %v, %v", tt.raw, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func FuzzParseTTL(f *testing.F) {
	for _, s := range []string{`3600`, `"90m"`, `"45"`, `-1`, `1.5`, `null`, `"1h"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		d, err := parseTTL(json.RawMessage(raw))
		if err == nil && d < 0 {
			t.Errorf("parseTTL(%q) = %v, a negative ttl", raw, d)
		}
	})
}
