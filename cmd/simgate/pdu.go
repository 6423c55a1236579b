package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/simgate/simgate/pdu"
)

func runPDU(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		return usagef("pdu: want 'decode HEX' or 'encode --to NUMBER --text TEXT'")
	}
	switch args[0] {
	case "decode":
		return runPDUDecode(e, args[1:])
	case "encode":
		return runPDUEncode(e, args[1:])
	}
	return usagef("pdu: unknown subcommand %q (want decode or encode)", args[0])
}

// decodedJSON is "simgate pdu decode" output; names follow the HTTP API.
type decodedJSON struct {
	Type                string       `json:"type"`
	SMSC                string       `json:"smsc,omitempty"`
	To                  string       `json:"to,omitempty"`
	ToType              string       `json:"to_type,omitempty"`
	From                string       `json:"from,omitempty"`
	FromType            string       `json:"from_type,omitempty"`
	Recipient           string       `json:"recipient,omitempty"`
	RecipientType       string       `json:"recipient_type,omitempty"`
	Text                string       `json:"text"`
	Data                string       `json:"data,omitempty"`
	Encoding            pdu.Encoding `json:"encoding"`
	Concat              *concatJSON  `json:"concat,omitempty"`
	Port                *int         `json:"port,omitempty"`
	SourcePort          *int         `json:"source_port,omitempty"`
	Flash               bool         `json:"flash,omitempty"`
	UDH                 string       `json:"udh,omitempty"` // hex, with its length octet
	MR                  *int         `json:"mr,omitempty"`
	Status              *statusJSON  `json:"status,omitempty"`
	SCTS                string       `json:"scts,omitempty"`
	DischargeTime       string       `json:"discharge_time,omitempty"`
	Validity            string       `json:"validity,omitempty"`
	StatusReportRequest bool         `json:"status_report_request"`
}

type concatJSON struct {
	Ref   int `json:"ref"`
	Part  int `json:"part"`
	Total int `json:"total"`
	Bits  int `json:"bits"`
}

type statusJSON struct {
	Code  int             `json:"code"`
	Class pdu.StatusClass `json:"class"`
}

func runPDUDecode(e env, args []string) error {
	fs := newFlagSet(e, "pdu decode", "HEX")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usagef("pdu decode: want exactly one HEX argument")
	}
	m, err := pdu.Decode(strings.TrimSpace(pos[0]))
	if err != nil {
		return fmt.Errorf("invalid PDU: %w", err)
	}
	out := decodedJSON{
		Type:                string(m.Type),
		SMSC:                m.SMSC.Number,
		Text:                m.Text,
		Encoding:            m.Encoding,
		StatusReportRequest: m.StatusReportRequest,
	}
	if m.Encoding == pdu.Octet {
		out.Data = fmt.Sprintf("%X", m.Data)
	}
	if p := m.Ports; p != nil {
		out.Port, out.SourcePort = &p.Dest, &p.Source
	}
	out.Flash = m.Flash
	if m.UDH != nil {
		out.UDH = fmt.Sprintf("%X", m.UDH)
	}
	switch m.Type {
	case pdu.TypeSubmit:
		out.To, out.ToType = m.To.Number, addressType(m.To)
		out.MR = &m.MR
		if m.Validity > 0 {
			out.Validity = m.Validity.String()
		}
	case pdu.TypeDeliver:
		out.From, out.FromType = m.From.Number, addressType(m.From)
		out.SCTS = formatTime(m.SCTS)
	case pdu.TypeStatusReport:
		out.Recipient, out.RecipientType = m.Recipient.Number, addressType(m.Recipient)
		out.MR = &m.MR
		out.SCTS = formatTime(m.SCTS)
		out.DischargeTime = formatTime(m.DischargeTime)
	}
	if m.Concat != nil {
		out.Concat = &concatJSON{Ref: m.Concat.Ref, Part: m.Concat.Part, Total: m.Concat.Total, Bits: m.Concat.Bits}
	}
	if m.Status != nil {
		out.Status = &statusJSON{Code: int(m.Status.Code), Class: m.Status.Class}
	}
	return writeJSON(e.stdout, out)
}

// addressType names the type of number of a TOA octet (TS 23.040 §9.1.2.5).
func addressType(a pdu.Address) string {
	switch (a.TOA >> 4) & 0x07 {
	case 1:
		return "international"
	case 2:
		return "national"
	case 3:
		return "network_specific"
	case 4:
		return "subscriber"
	case 5:
		return "alphanumeric"
	case 6:
		return "abbreviated"
	}
	return "unknown"
}

// formatTime keeps the zone the SMSC gave: it is part of what was received.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}

type encodedJSON struct {
	Encoding pdu.Encoding  `json:"encoding"`
	Segments []segmentJSON `json:"segments"`
}

type segmentJSON struct {
	PDU        string `json:"pdu"`
	TPDULength int    `json:"tpdu_length"`
}

func runPDUEncode(e env, args []string) error {
	fs := newFlagSet(e, "pdu encode", "--to NUMBER --text TEXT [--status-report] [--validity DURATION]")
	to := fs.String("to", "", "destination: +<country><number>, a national number or a short code")
	text := fs.String("text", "", "message text (UTF-8)")
	srr := fs.Bool("status-report", false, "request a delivery report (TP-SRR)")
	validity := fs.Duration("validity", 0, "relative validity period, e.g. 10m or 24h (0: the SMSC's default)")
	ref := fs.Int("ref", 1, "concatenation reference for a multipart message (0–255, or 0–65535 with --ref16)")
	ref16 := fs.Bool("ref16", false, "use a 16-bit concatenation reference")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("pdu encode: unexpected argument %q", pos[0])
	}
	if *to == "" {
		return usagef("pdu encode: --to is required")
	}
	max := 255
	if *ref16 {
		max = 65535
	}
	if *ref < 0 || *ref > max {
		return usagef("pdu encode: --ref must be within 0–%d", max)
	}
	if *validity < 0 {
		return usagef("pdu encode: --validity must not be negative")
	}
	sub, err := pdu.EncodeSubmit(*to, *text, pdu.SubmitOptions{
		StatusReport: *srr,
		Validity:     *validity,
		ConcatRef:    *ref,
		Concat16:     *ref16,
	})
	if err != nil {
		if errors.Is(err, pdu.ErrEmptyText) {
			return usagef("pdu encode: --text is empty")
		}
		return fmt.Errorf("encode: %w", err)
	}
	out := encodedJSON{Encoding: sub.Encoding}
	for _, s := range sub.Segments {
		out.Segments = append(out.Segments, segmentJSON{PDU: s.PDU, TPDULength: s.TPDULength})
	}
	return writeJSON(e.stdout, out)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
