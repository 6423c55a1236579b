package at

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A Redact request's PDU is in the debug trace neither as written nor as
// echoed, even when the echo comes in pieces; the command line before the
// prompt and the commands after it are traced as ever.
func TestTrace_RedactedPDU(t *testing.T) {
	const secret, plain = "0001000B915121551532F400000CC8329BFD06DDDF723619", "0001000B915121551532F4000003C1E21C"
	f := newFakePort().
		on("AT+CMGS=23\r", "AT+CMGS=23\r\r\n> ").
		on(secret+"\x1a", secret[:20], secret[20:]+"\x1a\r\n+CMGS: 7\r\n\r\nOK\r\n").
		on("AT+CMGS=16\r", "AT+CMGS=16\r\r\n> ").
		on(plain+"\x1a", plain+"\x1a\r\n+CMGS: 8\r\n\r\nOK\r\n")
	logs := &lockedBuffer{}
	e := New(f, Config{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	t.Cleanup(func() { e.Close() })
	if _, err := run(t, e, Request{Command: "AT+CMGS=23", PDU: secret, Redact: true, Timeout: time.Second, PromptTimeout: time.Second}); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, e, Request{Command: "AT+CMGS=16", PDU: plain, Timeout: time.Second, PromptTimeout: time.Second}); err != nil {
		t.Fatal(err)
	}
	trace := logs.String()
	// Its user data (the text) is the tail, which the other PDU does not share.
	for ud, i := secret[len(secret)-24:], 0; i+6 <= len(ud); i += 2 {
		if w := ud[i : i+6]; strings.Contains(trace, w) {
			t.Fatalf("the trace holds %q of the redacted PDU:\n%s", w, trace)
		}
	}
	for _, want := range []string{"AT+CMGS=23", "redacted_bytes=", "AT+CMGS=16", plain, "+CMGS: 8"} {
		if !strings.Contains(trace, want) {
			t.Errorf("the trace lacks %q:\n%s", want, trace)
		}
	}
}
