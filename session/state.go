package session

import (
	"context"
	"time"

	"github.com/simgate/simgate/gateway"
)

// claim makes port the holder of imei, unless another port holds it.
func (s *Supervisor) claim(imei, port string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if other, ok := s.active[imei]; ok && other != port {
		return other, false
	}
	s.active[imei] = port
	return "", true
}

func (s *Supervisor) release(imei, port string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active[imei] == port {
		delete(s.active, imei)
	}
}

// upsert records info unless another port's session holds the IMEI (the
// modem moved there): the holder's view wins. A state change is logged at
// info; the store appends its event.
func (s *Supervisor) upsert(ctx context.Context, port string, info gateway.ModemInfo, prev gateway.ModemState) {
	s.mu.Lock()
	holder, held := s.active[info.IMEI]
	if held && holder != port {
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
