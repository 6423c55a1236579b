package session

import (
	"context"
	"errors"
	"testing"

	"github.com/simgate/simgate/gateway"
)

// actionDevice is a Device that answers Identity and USSD and counts
// closes; the rest is never called.
type actionDevice struct {
	gateway.Device
	imei   string
	closes int
}

func (d *actionDevice) Identity(context.Context) (gateway.DeviceIdentity, error) {
	return gateway.DeviceIdentity{IMEI: d.imei}, nil
}

func (d *actionDevice) USSD(_ context.Context, code string) (string, error) {
	return "balance for " + code, nil
}

func (d *actionDevice) Close() error { d.closes++; return nil }

func TestDevices(t *testing.T) {
	ctx := t.Context()
	reg := NewDevices()
	raw := &actionDevice{imei: "356938035643809"}
	open := reg.Wrap(func(context.Context, string) (gateway.Device, error) { return raw, nil })

	if err := reg.Reinit(raw.imei); !errors.Is(err, ErrNotAttached) {
		t.Fatalf("Reinit before open: err = %v, want ErrNotAttached", err)
	}
	dev, err := open(ctx, "/dev/ttyUSB2")
	if err != nil {
		t.Fatal(err)
	}
	// Opened but not identified: the registry cannot know it yet.
	if _, err := reg.USSD(ctx, raw.imei, "*100#"); !errors.Is(err, ErrNotAttached) {
		t.Fatalf("USSD before Identity: err = %v, want ErrNotAttached", err)
	}
	if _, err := dev.Identity(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := reg.USSD(ctx, raw.imei, "*100#")
	if err != nil || got != "balance for *100#" {
		t.Fatalf("USSD = %q, %v", got, err)
	}
	if err := reg.Reinit(raw.imei); err != nil {
		t.Fatalf("Reinit: %v", err)
	}
	if raw.closes != 1 {
		t.Fatalf("closes after Reinit = %d, want 1", raw.closes)
	}
	// The supervisor's own Close after the session ends is absorbed.
	if err := dev.Close(); err != nil || raw.closes != 1 {
		t.Fatalf("second Close: err %v, closes %d; want one close in all", err, raw.closes)
	}
	if err := reg.Reinit(raw.imei); !errors.Is(err, ErrNotAttached) {
		t.Errorf("Reinit after close: err = %v, want ErrNotAttached", err)
	}

	// A device without USSD.
	plain := &plainDevice{a: actionDevice{imei: "490154203237518"}}
	open2 := reg.Wrap(func(context.Context, string) (gateway.Device, error) { return plain, nil })
	d2, _ := open2(ctx, "/dev/ttyUSB5")
	if _, err := d2.Identity(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.USSD(ctx, plain.a.imei, "*100#"); !errors.Is(err, gateway.ErrInvalid) {
		t.Errorf("USSD on a device without it: err = %v, want ErrInvalid", err)
	}
}

// plainDevice hides actionDevice's USSD.
type plainDevice struct{ a actionDevice }

func (p *plainDevice) Init(context.Context) error { return nil }
func (p *plainDevice) Identity(ctx context.Context) (gateway.DeviceIdentity, error) {
	return p.a.Identity(ctx)
}
func (p *plainDevice) Health(context.Context) (gateway.DeviceHealth, error) {
	return gateway.DeviceHealth{}, nil
}
func (p *plainDevice) SendPDU(context.Context, int, string) (int, error)         { return 0, nil }
func (p *plainDevice) ListMessages(context.Context) ([]gateway.StoredSMS, error) { return nil, nil }
func (p *plainDevice) ReadMessage(context.Context, string, int) (gateway.StoredSMS, error) {
	return gateway.StoredSMS{}, nil
}
func (p *plainDevice) DeleteMessage(context.Context, string, int) error { return nil }
func (p *plainDevice) Events() <-chan gateway.DeviceEvent               { return nil }
func (p *plainDevice) Done() <-chan struct{}                            { return nil }
func (p *plainDevice) Close() error                                     { return nil }
