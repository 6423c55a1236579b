package session

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/simgate/simgate/gateway"
)

// holder is the session that holds a modem: its port, and its device,
// through which the admin's actions (Reinit, USSD) reach the modem.
type holder struct {
	port string
	dev  *sessionDevice
}

// sessionDevice is a session's device, closed once: Reinit closes it to
// end the session, and the session closes it again as it unwinds. It is
// also what the dispatcher sends through, so it tells the session of a
// send that got no answer (check the modem now) or found the storage full
// (+CMS ERROR: 322: drain it).
type sessionDevice struct {
	gateway.Device
	once    sync.Once
	err     error
	suspect chan struct{} // a call got no answer
	full    chan struct{} // a call found the message storage full
}

func newSessionDevice(d gateway.Device) *sessionDevice {
	return &sessionDevice{Device: d, suspect: make(chan struct{}, 1), full: make(chan struct{}, 1)}
}

// cmsMemoryFull is +CMS ERROR: 322, "memory full" (TS 27.005 §3.2.5).
const cmsMemoryFull = 322

// SendPDU sends through the device and notes what the session must act on.
func (d *sessionDevice) SendPDU(ctx context.Context, tpduLen int, pduHex string) (int, error) {
	mr, err := d.Device.SendPDU(ctx, tpduLen, pduHex)
	var de *gateway.DeviceError
	switch {
	case err == nil:
	case errors.Is(err, gateway.ErrNoAnswer):
		notify(d.suspect)
	case errors.As(err, &de) && de.Code == cmsMemoryFull:
		notify(d.full)
	}
	return mr, err
}

func notify(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Close closes the device the first time and returns that result after.
func (d *sessionDevice) Close() error {
	d.once.Do(func() { d.err = d.Device.Close() })
	return d.err
}

// claim makes the session on port, with dev, the holder of imei, unless
// another port's session holds it.
func (s *Supervisor) claim(imei, port string, dev *sessionDevice) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h, ok := s.active[imei]; ok && h.port != port {
		return h.port, false
	}
	s.active[imei] = holder{port: port, dev: dev}
	return "", true
}

func (s *Supervisor) release(imei, port string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active[imei].port == port {
		delete(s.active, imei)
	}
}

// upsert records info unless another port's session holds the IMEI (the
// modem moved there): the holder's view wins. A state change is logged at
// info; the store appends its event.
func (s *Supervisor) upsert(ctx context.Context, port string, info gateway.ModemInfo, prev gateway.ModemState) {
	s.mu.Lock()
	h, held := s.active[info.IMEI]
	if held && h.port != port {
		s.mu.Unlock()
		return
	}
	// Writes of the final offline state happen after ctx ended: they must
	// still land.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	err := s.store.UpsertModem(wctx, info)
	cancel()
	s.mu.Unlock()
	if err != nil {
		s.log.Warn("record modem state", "modem", info.IMEI, "err", err)
		return
	}
	if info.State != prev {
		args := []any{"modem", info.IMEI, "port", port, "state", string(info.State)}
		if prev != "" {
			args = append(args, "was", string(prev))
		}
		if info.LastError != "" && info.State != gateway.ModemOnline {
			args = append(args, "err", info.LastError)
		}
		s.log.Info("modem state", args...)
	}
}

// forgetStates marks offline, at start, each of this host's modems that
// the store still holds as up: that state is a previous process's (a
// gateway killed never said otherwise), and until a session here
// identifies the modem it is not served. Left as it was, the OTP router
// pinned codes to a modem whose port never came up again, and they waited
// there (found by the chaos soak).
func (s *Supervisor) forgetStates(ctx context.Context) {
	mods, err := s.store.Modems(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("read modem states at start", "err", err)
		}
		return
	}
	now := s.clock.Now()
	for _, m := range mods {
		if m.State == gateway.ModemOffline || m.Host != s.cfg.Host {
			continue
		}
		prev := m.State
		m.State, m.UpdatedAt = gateway.ModemOffline, now
		s.upsert(ctx, m.Port, m, prev)
	}
}
