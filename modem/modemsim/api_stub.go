package modemsim

import (
	"context"
	"io"
	"time"
)

// TEMPORARY: signatures of the package API, to be replaced by the implementation.

// Config describes one virtual modem and its SIM.
type Config struct {
	Number       string // the SIM's own number, E.164 ("+15550000001")
	IMEI         string
	IMSI         string
	ICCID        string
	Operator     string // long alphanumeric operator name
	Manufacturer string
	Model        string
	Revision     string
	PIN          string // when set, the SIM starts locked (+CPIN: SIM PIN)
}

// Record is one SMS-SUBMIT the network accepted from a virtual modem.
type Record struct {
	From      string // sending modem's number
	FromIMEI  string
	To        string // destination as submitted (E.164 when international)
	Text      string // decoded text of this part
	PDU       string // the hex written after the prompt
	MR        int    // the <mr> answered in +CMGS
	Ref       int    // concatenation reference, 0 when single
	Part      int    // 1-based part number, 1 when single
	Total     int    // number of parts, 1 when single
	Encoding  string
	SRR       bool
	Validity  time.Duration
	At        time.Time
}

// Network is a set of virtual modems that can text each other.
type Network struct{}

// NewNetwork returns an empty network.
func NewNetwork() *Network { return &Network{} }

// AddModem adds a modem; zero Config fields get generated defaults.
func (n *Network) AddModem(cfg Config) *Modem { return &Modem{} }

// Records returns every SMS-SUBMIT the network accepted so far, in order.
func (n *Network) Records() []Record { return nil }

// Deliver sends text from an outside number to the modem owning to.
func (n *Network) Deliver(from, to, text string) error { return nil }

// Modem is one virtual modem.
type Modem struct{}

// Serve answers AT commands on rw until ctx ends or rw fails.
func (m *Modem) Serve(ctx context.Context, rw io.ReadWriter) error { return nil }

// Pipe returns the host side of an in-memory serial line served by m.
func (m *Modem) Pipe(ctx context.Context) io.ReadWriteCloser { return nil }

// OpenPTY serves m on a new pseudo-terminal and returns the device path to open.
func (m *Modem) OpenPTY(ctx context.Context) (string, error) { return "", nil }
