package modem

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// These run under testing/synctest: the fake's channels block durably, so
// the bubble's clock jumps to the next timer and timeouts take no real time.

func TestTimeout_PromptNeverComes(t *testing.T) {
	tests := []struct {
		name    string
		escEcho []string // what the modem prints after ESC
	}{
		{name: "SilentAfterESC"},
		{name: "ERRORAfterESC", escEcho: []string{"\r\nERROR\r\n"}},
		{name: "OKAfterESC", escEcho: []string{"\r\nOK\r\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFake(t).on("AT+CMGS=23\r")
				if tt.escEcho != nil {
					f.on("\x1b", tt.escEcho...)
				}
				f.on("AT\r\n", "\r\nOK\r\n")
				m := New(f, Config{PromptTimeout: 5 * time.Second})
				defer m.Close()
				start := time.Now()
				_, err := m.SendPDU(t.Context(), 23, testPDU)
				if !errors.Is(err, ErrPromptTimeout) {
					t.Fatalf("err = %v, want ErrPromptTimeout", err)
				}
				if d := time.Since(start); d != 5*time.Second {
					t.Errorf("returned after %v", d)
				}
				// ESC, and the line brought back in step at once.
				if got := f.written(); !slices.Equal(got, []string{"AT+CMGS=23\r", "\x1b", "AT+CMEE?\r\n"}) {
					t.Errorf("writes = %q", got)
				}
				// The line is usable afterwards, and what the modem said
				// about the aborted command is not taken for this answer.
				info, err := m.Command(t.Context(), "AT")
				if err != nil || len(info) != 0 {
					t.Fatalf("next command: %q, %v", info, err)
				}
			})
		})
	}
}

func TestTimeout_Command(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(t).on("AT+COPS?\r\n").on("AT+CSQ\r\n").on("AT+CMGL=4\r\n")
		m := New(f, Config{CommandTimeout: 3 * time.Second, ListTimeout: 20 * time.Second})
		defer m.Close()

		start := time.Now()
		_, err := m.Signal(t.Context())
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("err = %v, want ErrTimeout", err)
		}
		if d := time.Since(start); d != 3*time.Second {
			t.Errorf("CSQ timed out after %v, want 3s", d)
		}

		start = time.Now()
		if _, err := m.ListMessages(t.Context()); !errors.Is(err, ErrTimeout) {
			t.Fatalf("err = %v, want ErrTimeout", err)
		}
		if d := time.Since(start); d != 20*time.Second {
			t.Errorf("CMGL timed out after %v, want the list timeout 20s", d)
		}
	})
}

func TestTimeout_LateAnswerAbsorbed(t *testing.T) {
	// The answer to a timed-out command arrives before the next command: the
	// abandoned command absorbs it.
	synctest.Test(t, func(t *testing.T) {
		f := newFake(t).on("AT+CSQ\r\n").on("AT+CGMM\r\n", "\r\nEC25\r\n\r\nOK\r\n")
		m := New(f, Config{CommandTimeout: time.Second})
		defer m.Close()
		if _, err := m.Signal(t.Context()); !errors.Is(err, ErrTimeout) {
			t.Fatalf("err = %v", err)
		}
		f.inject("\r\n+CSQ: 9,99\r\n\r\nOK\r\n")
		synctest.Wait()
		info, err := m.Command(t.Context(), "AT+CGMM")
		if err != nil || !slices.Equal(info, []string{"EC25"}) {
			t.Fatalf("got %q, %v", info, err)
		}
	})
}

func TestTimeout_ContextCancel(t *testing.T) {
	t.Run("WaitingForResult", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFake(t).on("AT+CSQ\r\n")
			m := New(f, Config{})
			defer m.Close()
			ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := m.Signal(ctx)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v", err)
			}
			if d := time.Since(start); d != 500*time.Millisecond {
				t.Errorf("returned after %v", d)
			}
		})
	})
	t.Run("WaitingForPrompt", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFake(t).on("AT+CMGS=23\r")
			m := New(f, Config{})
			defer m.Close()
			ctx, cancel := context.WithCancel(t.Context())
			go func() {
				time.Sleep(time.Second)
				cancel()
			}()
			_, err := m.SendPDU(ctx, 23, testPDU)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v", err)
			}
			if !f.wrote("\x1b") {
				t.Errorf("no ESC after cancel: %q", f.written())
			}
			if f.wrote(testPDU + "\x1a") {
				t.Error("PDU written after cancel")
			}
		})
	})
	t.Run("WaitingForTheLine", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFake(t).on("AT+CMGS=23\r", "\r\n> ").on(testPDU + "\x1a")
			m := New(f, Config{})
			defer m.Close()
			go m.SendPDU(t.Context(), 23, testPDU) // holds the line until its send timeout
			synctest.Wait()
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			if _, err := m.Signal(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v", err)
			}
			if f.wrote("AT+CSQ\r\n") {
				t.Error("a command was written while AT+CMGS was in flight")
			}
		})
	})
}

func TestTimeout_UnplugMidSendIsPrompt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(t).on("AT+CMGS=23\r", "\r\n> ").on(testPDU + "\x1a")
		m := New(f, Config{SendTimeout: time.Minute})
		defer m.Close()
		errc := make(chan error, 1)
		start := time.Now()
		go func() {
			_, err := m.SendPDU(t.Context(), 23, testPDU)
			errc <- err
		}()
		synctest.Wait() // the PDU is written, the send waits for +CMGS
		time.Sleep(2 * time.Second)
		f.Close()
		err := <-errc
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("err = %v, want ErrClosed", err)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("returned after %v: it waited for something other than the unplug", d)
		}
		<-m.Done()
		if _, ok := <-m.Events(); ok {
			t.Error("events still open")
		}
		// Calls waiting for the line fail too.
		if _, err := m.Signal(t.Context()); !errors.Is(err, ErrClosed) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestTimeout_WaitersGetErrClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(t).on("AT+CSQ\r\n")
		m := New(f, Config{})
		defer m.Close()
		errc := make(chan error, 3)
		for range 3 {
			go func() {
				_, err := m.Signal(t.Context())
				errc <- err
			}()
		}
		synctest.Wait()
		f.Close()
		for range 3 {
			if err := <-errc; !errors.Is(err, ErrClosed) {
				t.Errorf("err = %v", err)
			}
		}
	})
}
