package dispatch

import (
	"errors"
	"time"

	"github.com/simgate/simgate/gateway"
)

// A send refused by the network behind a modem for now (+CMS ERROR 331 no
// network service, 332 network timeout, 38 network out of order, 41
// temporary failure, 42 congestion, 47 resources unavailable, SC busy)
// says nothing about the message and much about the modem's next minute.
// The message that met it is retried as any transient error is (a counted
// attempt, backoff, free for another modem); the modem is also paused: it
// claims nothing until the pause ends, so that a burst of such errors no
// longer burns an attempt of every queued message within a second. Its
// unpinned messages go out through other modems meanwhile; pinned ones
// wait, queued. Each pause in a row is twice the last, from
// Config.NetworkPause up to Config.NetworkPauseMax; a message sent resets
// it. The pause is visible through Paused (the modems API and status page)
// and counted through Config.OnPause (metrics).

// Defaults of Config's pause.
const (
	DefaultNetworkPause    = 2 * time.Second
	DefaultNetworkPauseMax = time.Minute
)

// pause is a modem's network pause; it outlives a worker's replacement.
type pause struct {
	until  time.Time // business time
	reason string
	n      int // network errors in a row; the next pause is longer
}

// networkSide reports whether err is a transient refusal by the network,
// as opposed to one that names the recipient (27, destination out of
// order: other numbers may well work).
func networkSide(err error) bool {
	var de *gateway.DeviceError
	return errors.As(err, &de) && de.Class == gateway.ClassTransient && de.Code != 27
}

// pauseModem pauses imei after a network-side error and returns the
// pause's length.
func (d *Dispatcher) pauseModem(imei, reason string) time.Duration {
	now := d.clock.Now()
	d.mu.Lock()
	p := d.pauses[imei]
	if p == nil {
		p = &pause{}
		d.pauses[imei] = p
	}
	p.n++
	length := d.cfg.NetworkPause
	for i := 1; i < p.n && length < d.cfg.NetworkPauseMax; i++ {
		length *= 2
	}
	length = min(length, d.cfg.NetworkPauseMax)
	p.until, p.reason = now.Add(length), reason
	n := p.n
	d.mu.Unlock()
	d.log.Warn("network refused a send, modem paused", "modem", imei, "for", length, "in_a_row", n, "reason", reason)
	if d.cfg.OnPause != nil {
		d.cfg.OnPause(imei, reason, length)
	}
	return length
}

// unpause ends imei's pause and its count, after a message went out.
func (d *Dispatcher) unpause(imei string) {
	d.mu.RLock()
	_, ok := d.pauses[imei]
	d.mu.RUnlock()
	if !ok {
		return
	}
	d.mu.Lock()
	delete(d.pauses, imei)
	d.mu.Unlock()
}

// pausedUntil is when imei's pause ends; zero when it has none.
func (d *Dispatcher) pausedUntil(imei string) time.Time {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if p := d.pauses[imei]; p != nil {
		return p.until
	}
	return time.Time{}
}

// Paused tells whether modem imei is paused after a network-side error:
// until when, and the error; zero and "" when it is not.
func (d *Dispatcher) Paused(imei string) (until time.Time, reason string) {
	now := d.clock.Now()
	d.mu.RLock()
	defer d.mu.RUnlock()
	if p := d.pauses[imei]; p != nil && p.until.After(now) {
		return p.until, p.reason
	}
	return time.Time{}, ""
}
