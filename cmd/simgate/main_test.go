package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/simgate/simgate/internal/testkit"
)

// runCmd runs the program with args and returns stdout, stderr and the error.
func runCmd(t *testing.T, ctx context.Context, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	getenv := func(string) string { return "" }
	err := run(ctx, append([]string{"simgate"}, args...), getenv, strings.NewReader(stdin), &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

func TestRun_Usage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"no command", nil, 2, "no command"},
		{"unknown", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"help", []string{"help"}, 0, ""},
		{"probe without port", []string{"probe"}, 2, "want exactly one PORT"},
		{"pdu without verb", []string{"pdu"}, 2, "pdu:"},
		{"encode without to", []string{"pdu", "encode", "--text", "hi"}, 2, "--to is required"},
		{"sim count", []string{"sim", "--count", "0"}, 2, "--count"},
		{"bad flag", []string{"pdu", "encode", "--nope"}, 2, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, err := runCmd(t, t.Context(), "", tt.args...)
			if tt.wantCode == 0 {
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("err = nil, want an error")
			}
			if got := exitCode(err); got != tt.wantCode {
				t.Errorf("exit code = %d, want %d (err %v)", got, tt.wantCode, err)
			}
			if !strings.Contains(err.Error()+stderr, tt.wantErr) {
				t.Errorf("error %q / stderr %q does not mention %q", err, stderr, tt.wantErr)
			}
		})
	}
}

func TestPDU_Decode(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		want map[string]any
	}{
		{
			// The zone octet 0x08 is −0 quarter hours (TS 23.040 §9.2.3.11),
			// as gammu reads it too: UTC.
			name: "deliver",
			hex:  "07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07",
			want: map[string]any{
				"type": "deliver", "from": "+31641600986", "from_type": "international",
				"text": "How are you?", "encoding": "gsm7", "smsc": "+31624000000",
				"scts": "2002-08-26T19:37:41Z", "status_report_request": false,
			},
		},
		{
			// libgammu's data SMS to port 8080 (pdu/testdata/data.jsonl).
			name: "data to a port",
			hex:  "0791448720003023400C91447700091032000442305141035000110605041F90000068656C6C6F20706F7274",
			want: map[string]any{
				"type": "deliver", "encoding": "8bit", "data": "68656C6C6F20706F7274",
				"port": float64(8080), "source_port": float64(0), "udh": "0605041F900000",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, _, err := runCmd(t, t.Context(), "", "pdu", "decode", tt.hex)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, stdout)
			}
			for k, want := range tt.want {
				if got[k] != want {
					t.Errorf("%s = %v, want %v", k, got[k], want)
				}
			}
		})
	}
}

func TestPDU_DecodeInvalid(t *testing.T) {
	for _, hex := range []string{"zz", "0", "07911326040000F0040B9113", "00"} {
		t.Run(hex, func(t *testing.T) {
			stdout, _, err := runCmd(t, t.Context(), "", "pdu", "decode", hex)
			if err == nil {
				t.Fatalf("decode %q succeeded: %s", hex, stdout)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.Contains(msg, "offset") {
				t.Errorf("error %q should be one line naming the field and offset", msg)
			}
			if exitCode(err) == 0 {
				t.Error("exit code 0 for invalid input")
			}
		})
	}
}

func TestPDU_EncodeThenDecode(t *testing.T) {
	tests := []struct {
		name, to, text string
		extra          []string
		wantEnc        string
		wantSegments   int
	}{
		{"gsm7 single", "+447700900123", "hello world", nil, "gsm7", 1},
		{"gsm7 multipart", "+447700900123", strings.Repeat("x", 161), nil, "gsm7", 2},
		{"ucs2", "+447700900123", "Привет", []string{"--status-report", "--validity", "1h"}, "ucs2", 1},
		{"national", "07700900123", "hi", nil, "gsm7", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"pdu", "encode", "--to", tt.to, "--text", tt.text}, tt.extra...)
			stdout, _, err := runCmd(t, t.Context(), "", args...)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			var enc encodedJSON
			if err := json.Unmarshal([]byte(stdout), &enc); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, stdout)
			}
			if string(enc.Encoding) != tt.wantEnc || len(enc.Segments) != tt.wantSegments {
				t.Fatalf("got %s with %d segments, want %s with %d", enc.Encoding, len(enc.Segments), tt.wantEnc, tt.wantSegments)
			}
			var joined strings.Builder
			for _, s := range enc.Segments {
				if got := (len(s.PDU) - 2) / 2; got != s.TPDULength {
					t.Errorf("tpdu_length %d, but the PDU after the 00 SMSC prefix has %d octets", s.TPDULength, got)
				}
				out, _, err := runCmd(t, t.Context(), "", "pdu", "decode", s.PDU)
				if err != nil {
					t.Fatalf("decode own segment: %v", err)
				}
				var d decodedJSON
				if err := json.Unmarshal([]byte(out), &d); err != nil {
					t.Fatal(err)
				}
				if d.Type != "submit" || d.To != tt.to {
					t.Errorf("decoded type %s to %s, want submit to %s", d.Type, d.To, tt.to)
				}
				joined.WriteString(d.Text)
			}
			if joined.String() != tt.text {
				t.Errorf("round trip text = %q, want %q", joined.String(), tt.text)
			}
		})
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startSim runs "simgate sim --count n" and returns the device paths it
// printed and its stderr; the command stops when the test ends.
func startSim(t *testing.T, n int) ([]string, *testkit.SyncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	stderr := &testkit.SyncBuffer{}
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"simgate", "sim", "--count", strconv.Itoa(n)}, func(string) string { return "" }, strings.NewReader(""), pw, stderr)
		pw.CloseWithError(errors.New("sim exited"))
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sim: %v", err)
		}
	})
	var paths []string
	buf := make([]byte, 0, 256)
	tmp := make([]byte, 256)
	for len(paths) < n {
		k, err := pr.Read(tmp)
		if err != nil {
			t.Fatalf("reading sim output: %v (stderr: %s)", err, stderr.String())
		}
		buf = append(buf, tmp[:k]...)
		for {
			i := bytes.IndexByte(buf, '\n')
			if i < 0 {
				break
			}
			paths = append(paths, string(buf[:i]))
			buf = buf[i+1:]
		}
	}
	go io.Copy(io.Discard, pr) // nothing more is expected on stdout
	return paths, stderr
}
