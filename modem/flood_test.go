package modem

import (
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestEvents_FloodIsBounded floods the modem with registration and signal
// lines while nobody reads Events (the consumer is busy in a command, as
// the session is during a health check): the queue must stay small, the
// flood must come out as a handful of events, and the SMS that arrived in
// the middle of it must all be delivered.
func TestEvents_FloodIsBounded(t *testing.T) {
	const (
		lines   = 200_000
		perRead = 500
		pdu     = "07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07"
	)
	f := newFake(t).on("AT\r\n", "\r\nOK\r\n")
	// The flood takes long under -race on a busy machine: the command that
	// waits it out gets minutes (a bound, not a timing).
	m := mustModem(t, f, Config{CommandTimeout: 5 * time.Minute})

	var chunk strings.Builder
	for i := range perRead {
		switch i % 3 {
		case 0:
			chunk.WriteString("\r\n+CREG: 1,\"1A2B\",\"01C3D4E5\",7\r\n")
		case 1:
			chunk.WriteString("\r\n+CEREG: 5\r\n")
		default:
			chunk.WriteString("\r\n^RSSI: 17\r\n")
		}
	}
	flood := chunk.String()

	before := heapInUse()
	for i := range lines / perRead {
		f.inject(flood)
		if i == lines/perRead/2 {
			f.inject("\r\n+CMTI: \"SM\",7\r\n", "\r\n+CMT: ,24\r\n"+pdu+"\r\n", "\r\n+CDSI: \"SR\",3\r\n")
		}
	}
	// The command's OK comes after the flood: once it returns, the reader
	// has handled every line, and nobody has read an event yet.
	if _, err := m.Command(t.Context(), "AT"); err != nil {
		t.Fatal(err)
	}
	grown := heapInUse() - before
	t.Logf("heap grew by %.1f MiB for %d lines", float64(grown)/(1<<20), lines)
	if grown > 10<<20 {
		t.Errorf("heap grew by %d bytes (> 10 MiB) for %d queued lines", grown, lines)
	}

	f.inject("\r\n+SENTINEL: 1\r\n")
	kinds := map[EventKind]int{}
	var got []string
	for {
		e := mustEvent(t, m)
		if e.Line == "+SENTINEL: 1" {
			break
		}
		kinds[e.Kind]++
		switch e.Kind {
		case EventNewMessage, EventStatusReportStored:
			got = append(got, e.Mem)
		case EventDeliver:
			if e.PDU != pdu {
				t.Errorf("deliver PDU = %q", e.PDU)
			}
			got = append(got, "CMT")
		}
	}
	t.Logf("events delivered: %v", kinds)
	if n := kinds[EventRegistration] + kinds[EventUnsolicited]; n >= 100 {
		t.Errorf("%d registration and signal events for %d lines, want < 100", n, lines)
	}
	if strings.Join(got, ",") != "SM,CMT,SR" {
		t.Errorf("SMS events = %v, want +CMTI, +CMT, +CDSI in order", got)
	}
}

// heapInUse is the live heap after a collection.
func heapInUse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// TestEvents_DataIsNeverDropped: more stored-SMS notices than the queue
// holds, with nobody reading, make the reader wait (it does not drop
// them), and every one comes out in order once the consumer reads again.
func TestEvents_DataIsNeverDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = maxQueuedData * 4 // more than the queue, the pump's batch and the fake's buffer
		logs := &lockedBuffer{}
		f := newFake(t)
		m := mustModem(t, f, Config{Logger: slog.New(slog.NewTextHandler(logs, nil))})
		var injected atomic.Int64
		go func() {
			for i := range n {
				f.inject(fmt.Sprintf("\r\n+CMTI: \"SM\",%d\r\n\r\n+CREG: %d\r\n", i, i%6))
				injected.Add(1)
			}
		}()
		synctest.Wait()
		if injected.Load() == n {
			t.Fatal("the reader took every line although nobody read events")
		}
		for i := 0; i < n; {
			e := mustEvent(t, m)
			if e.Kind != EventNewMessage {
				continue
			}
			if e.Index != i {
				t.Fatalf("event %d has index %d", i, e.Index)
			}
			i++
		}
		if !strings.Contains(logs.String(), "modem event queue full") {
			t.Errorf("no warning that the queue was full; log:\n%s", logs.String())
		}
	})
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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

// TestEvents_CoalescedLineIsTheLatest: while a registration line waits, a
// newer one of the same prefix replaces it; other prefixes keep their own.
func TestEvents_CoalescedLineIsTheLatest(t *testing.T) {
	f := newFake(t).on("AT\r\n", "\r\nOK\r\n")
	m := mustModem(t, f, Config{})
	// The first line may be taken by the pump at once; the rest wait.
	f.inject("\r\n+CREG: 2\r\n", "\r\n+CREG: 3\r\n", "\r\n+CEREG: 1\r\n", "\r\n+CREG: 5\r\n", "\r\n+CREG: 1\r\n")
	for i := range 4 * maxQueuedKeys {
		f.inject(fmt.Sprintf("\r\n+X%d: 1\r\n", i))
	}
	if _, err := m.Command(t.Context(), "AT"); err != nil {
		t.Fatal(err)
	}
	// A data event as the sentinel: a new prefix may be dropped now.
	f.inject("\r\n+CMTI: \"SM\",99\r\n")
	var creg, cereg []RegState
	others := 0
	for {
		e := mustEvent(t, m)
		if e.Kind == EventNewMessage {
			break
		}
		switch {
		case strings.HasPrefix(e.Line, "+CREG:"):
			creg = append(creg, e.Registration.CS)
		case strings.HasPrefix(e.Line, "+CEREG:"):
			cereg = append(cereg, e.Registration.PS)
		default:
			others++
		}
	}
	if len(creg) == 0 || len(creg) > 2 || creg[len(creg)-1] != RegRegistered {
		t.Errorf("+CREG states = %v, want at most 2 ending with the latest (registered)", creg)
	}
	if len(cereg) != 1 || cereg[0] != RegRegistered {
		t.Errorf("+CEREG states = %v, want one, registered", cereg)
	}
	// The pump's batch in hand and the queue behind it hold at most
	// maxQueuedKeys each.
	if others > 2*maxQueuedKeys {
		t.Errorf("%d of %d lines of distinct prefixes delivered, want at most %d", others, 4*maxQueuedKeys, 2*maxQueuedKeys)
	}
}
