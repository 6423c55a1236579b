//go:build linux

package modem_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/modem/modemsim"
	"github.com/simgate/simgate/pdu"
)

// BenchmarkCommand measures AT round trips: over a real pty against
// modemsim, over modemsim's in-memory pipe, and over a bare in-memory pipe
// whose far end only answers OK (the engine's own cost).
func BenchmarkCommand(b *testing.B) {
	b.Run("pty", func(b *testing.B) {
		r := mustRig(b, modem.Config{}, modemsim.Config{})
		benchAT(b, r.m)
	})
	b.Run("pipe_modemsim", func(b *testing.B) {
		n := modemsim.NewNetwork()
		b.Cleanup(func() { n.Close() })
		sim := n.AddModem(modemsim.Config{})
		m := modem.New(sim.Pipe(b.Context()), modem.Config{})
		b.Cleanup(func() { m.Close() })
		if err := m.Init(b.Context()); err != nil {
			b.Fatal(err)
		}
		benchAT(b, m)
	})
	b.Run("pipe_ok", func(b *testing.B) {
		m := modem.New(okResponder(b), modem.Config{})
		b.Cleanup(func() { m.Close() })
		benchAT(b, m)
	})
}

func benchAT(b *testing.B, m *modem.Modem) {
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Command(ctx, "AT"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cmd/s")
}

// okResponder is an in-memory line whose far end answers every command
// line with OK.
func okResponder(b *testing.B) io.ReadWriteCloser {
	hostR, devW := io.Pipe()
	devR, hostW := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 256)
		for {
			n, err := devR.Read(buf)
			for range bytes.Count(buf[:n], []byte{'\n'}) {
				if _, err := devW.Write([]byte("\r\nOK\r\n")); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	rw := &pipeRW{r: hostR, w: hostW, close: func() error {
		hostW.Close()
		hostR.Close()
		devW.Close()
		<-done
		return nil
	}}
	return rw
}

type pipeRW struct {
	r     *io.PipeReader
	w     *io.PipeWriter
	close func() error
}

func (p *pipeRW) Read(b []byte) (int, error)  { return p.r.Read(b) }
func (p *pipeRW) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p *pipeRW) Close() error                { return p.close() }

// BenchmarkSendPDU measures SMS-SUBMITs per second through one virtual
// modem at zero latency over a pty: AT+CMGS, prompt, PDU, +CMGS answer.
func BenchmarkSendPDU(b *testing.B) {
	r := mustRig(b, modem.Config{}, modemsim.Config{})
	sub, err := pdu.EncodeSubmit("+447700900123", "Your code is 123456", pdu.SubmitOptions{})
	if err != nil {
		b.Fatal(err)
	}
	seg := sub.Segments[0]
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.m.SendPDU(ctx, seg.TPDULength, seg.PDU); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sends/s")
}
