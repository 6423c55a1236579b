package session

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/simgate/simgate/gateway"
)

// ErrNotAttached means the modem an action names has no open session.
var ErrNotAttached = errors.New("modem not connected")

// USSDer is a Device that can run USSD codes (TS 22.090, AT+CUSD).
type USSDer interface {
	USSD(ctx context.Context, code string) (string, error)
}

// Devices tracks the open Device of each modem by IMEI, so that an admin
// can act on a modem the Supervisor owns: Wrap its Opener and every
// device it opens is registered once it has told its IMEI, and forgotten
// when closed.
type Devices struct {
	mu   sync.Mutex
	byID map[string]*trackedDevice
}

// NewDevices returns an empty registry.
func NewDevices() *Devices { return &Devices{byID: map[string]*trackedDevice{}} }

// Wrap returns an Opener whose devices d tracks.
func (d *Devices) Wrap(open gateway.Opener) gateway.Opener {
	return func(ctx context.Context, port string) (gateway.Device, error) {
		dev, err := open(ctx, port)
		if err != nil {
			return nil, err
		}
		return &trackedDevice{Device: dev, reg: d}, nil
	}
}

// Reinit closes the modem's port: its session ends and the Supervisor
// opens it again after its backoff, running Init from scratch, as it would
// after an unplug. That clears states a live Init would not (a stuck
// prompt, a radio left off).
func (d *Devices) Reinit(imei string) error {
	t, err := d.get(imei)
	if err != nil {
		return err
	}
	if err := t.Close(); err != nil {
		return fmt.Errorf("reinit %s: %w", imei, err)
	}
	return nil
}

// USSD runs code on the modem and returns the network's answer.
func (d *Devices) USSD(ctx context.Context, imei, code string) (string, error) {
	t, err := d.get(imei)
	if err != nil {
		return "", err
	}
	u, ok := t.Device.(USSDer)
	if !ok {
		return "", fmt.Errorf("ussd: modem %s cannot run ussd codes: %w", imei, gateway.ErrInvalid)
	}
	reply, err := u.USSD(ctx, code)
	if err != nil {
		return "", fmt.Errorf("ussd: %w", err)
	}
	return reply, nil
}

func (d *Devices) get(imei string) (*trackedDevice, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.byID[imei]
	if !ok {
		return nil, fmt.Errorf("modem %s: %w", imei, ErrNotAttached)
	}
	return t, nil
}

// trackedDevice is a Device registered under its IMEI between Identity and
// Close.
type trackedDevice struct {
	gateway.Device
	reg       *Devices
	mu        sync.Mutex
	imei      string
	closed    bool
	closeErr  error
	closeOnce sync.Once
}

func (t *trackedDevice) Identity(ctx context.Context) (gateway.DeviceIdentity, error) {
	id, err := t.Device.Identity(ctx)
	if err != nil || id.IMEI == "" {
		return id, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return id, nil
	}
	t.imei = id.IMEI
	t.reg.mu.Lock()
	t.reg.byID[id.IMEI] = t
	t.reg.mu.Unlock()
	return id, nil
}

// Close closes the device once: the Supervisor closes it again when the
// session that Reinit ended unwinds.
func (t *trackedDevice) Close() error {
	t.closeOnce.Do(func() {
		t.mu.Lock()
		t.closed = true
		if t.imei != "" {
			t.reg.mu.Lock()
			if t.reg.byID[t.imei] == t {
				delete(t.reg.byID, t.imei)
			}
			t.reg.mu.Unlock()
		}
		t.mu.Unlock()
		t.closeErr = t.Device.Close()
	})
	return t.closeErr
}
