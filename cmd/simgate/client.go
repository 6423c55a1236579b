package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/simgate/simgate/apiv1"
)

// apiClient talks to a running gateway's HTTP API, as any app would.
type apiClient struct {
	server string
	key    string
	http   *http.Client
}

// clientFlags adds --server, --key and --json to fs.
func clientFlags(fs *flag.FlagSet) (server, key *string, asJSON *bool) {
	server = fs.String("server", "", "gateway URL (default $SIMGATE_SERVER or http://127.0.0.1:8080)")
	key = fs.String("key", "", "API key (default $SIMGATE_API_KEY)")
	asJSON = fs.Bool("json", false, "print the API's JSON")
	return
}

func newAPIClient(e env, server, key string) (*apiClient, error) {
	if server == "" {
		server = e.getenv("SIMGATE_SERVER")
	}
	if server == "" {
		server = "http://" + defaultConfig().Listen
	}
	if key == "" {
		key = e.getenv("SIMGATE_API_KEY")
	}
	if key == "" {
		return nil, usagef("no API key: pass --key or set SIMGATE_API_KEY (create one with 'simgate apikey create')")
	}
	return &apiClient{server: strings.TrimRight(server, "/"), key: key, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// do sends a request and returns the raw JSON body of a 2xx answer.
func (c *apiClient) do(ctx context.Context, method, path string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.server+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var p apiv1.Problem
		if json.Unmarshal(b, &p) != nil || p.Status == 0 {
			return nil, fmt.Errorf("%s %s: %s", method, path, resp.Status)
		}
		return nil, &p
	}
	return b, nil
}

func runSend(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "send", "--to NUMBER --text TEXT [--priority high|normal|low] [--wait]")
	server, key, asJSON := clientFlags(fs)
	to := fs.String("to", "", "destination number (E.164, or national in the gateway's region)")
	text := fs.String("text", "", "message text")
	priority := fs.String("priority", "", "high, normal (default) or low")
	pin := fs.String("modem", "", "IMEI of the modem that must send it")
	wait := fs.Bool("wait", false, "wait until the message is sent, delivered or failed")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("send: unexpected argument %q", pos[0])
	}
	if *to == "" || *text == "" {
		return usagef("send: --to and --text are required")
	}
	c, err := newAPIClient(e, *server, *key)
	if err != nil {
		return err
	}
	body := apiv1.SendRequest{To: *to, Text: *text, Priority: *priority, Modem: *pin}
	raw, err := c.do(ctx, http.MethodPost, "/api/v1/messages", body)
	if err != nil {
		return err
	}
	var sent apiv1.SendResponse
	if err := json.Unmarshal(raw, &sent); err != nil {
		return fmt.Errorf("unexpected answer: %w", err)
	}
	m := apiv1.Message{ID: sent.ID, Status: sent.Status, To: sent.To, Segments: sent.Segments, Encoding: sent.Encoding}
	if *wait {
		raw, m, err = waitMessage(ctx, c, m.ID)
		if err != nil {
			return err
		}
	}
	if *asJSON {
		_, err := e.stdout.Write(raw)
		return err
	}
	fmt.Fprintf(e.stdout, "%s %s to %s (%d segment(s), %s)", m.ID, m.Status, m.To, m.Segments, m.Encoding)
	if m.Error != "" {
		fmt.Fprintf(e.stdout, ": %s", m.Error)
	}
	fmt.Fprintln(e.stdout)
	if m.Status == apiv1.StatusFailed {
		return errors.New("message failed")
	}
	return nil
}

// waitMessage polls a message until it leaves queued/sending.
func waitMessage(ctx context.Context, c *apiClient, id string) ([]byte, apiv1.Message, error) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		raw, err := c.do(ctx, http.MethodGet, "/api/v1/messages/"+url.PathEscape(id), nil)
		if err != nil {
			return nil, apiv1.Message{}, err
		}
		var m apiv1.Message
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, m, fmt.Errorf("unexpected answer: %w", err)
		}
		if m.Status != apiv1.StatusQueued && m.Status != apiv1.StatusSending {
			return raw, m, nil
		}
		select {
		case <-ctx.Done():
			return nil, m, ctx.Err()
		case <-tick.C:
		}
	}
}

func runInbox(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "inbox", "[--since RFC3339] [--limit N] [--json]")
	server, key, asJSON := clientFlags(fs)
	since := fs.String("since", "", "only messages received after this time (RFC 3339)")
	limit := fs.Int("limit", 50, "at most this many messages")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("inbox: unexpected argument %q", pos[0])
	}
	c, err := newAPIClient(e, *server, *key)
	if err != nil {
		return err
	}
	q := url.Values{"limit": {fmt.Sprint(*limit)}}
	if *since != "" {
		q.Set("since", *since)
	}
	raw, err := c.do(ctx, http.MethodGet, "/api/v1/inbox?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	if *asJSON {
		_, err := e.stdout.Write(raw)
		return err
	}
	var in apiv1.Inbox
	if err := json.Unmarshal(raw, &in); err != nil {
		return fmt.Errorf("unexpected answer: %w", err)
	}
	if len(in.Messages) == 0 {
		fmt.Fprintln(e.stdout, "no messages")
		return nil
	}
	for _, m := range in.Messages {
		fmt.Fprintf(e.stdout, "%s  from %s  (modem %s)\n  %s\n", deref(m.ReceivedAt).Local().Format("2006-01-02 15:04:05"), m.From, m.Modem, inboxText(m))
	}
	return nil
}

func runModems(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "modems", "[--json]")
	server, key, asJSON := clientFlags(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("modems: unexpected argument %q", pos[0])
	}
	c, err := newAPIClient(e, *server, *key)
	if err != nil {
		return err
	}
	raw, err := c.do(ctx, http.MethodGet, "/api/v1/modems", nil)
	if err != nil {
		return err
	}
	if *asJSON {
		_, err := e.stdout.Write(raw)
		return err
	}
	var out apiv1.ModemList
	if err := json.Unmarshal(raw, &out); err != nil {
		return fmt.Errorf("unexpected answer: %w", err)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "IMEI\tSTATE\tPORT\tMODEL\tOPERATOR\tSIGNAL\tQUEUE\tSENT\tFAILED\tLAST ERROR")
	for _, m := range out.Modems {
		sig := "0/4" // not measured yet
		if m.Signal != nil {
			sig = fmt.Sprintf("%d/4 %ddBm", m.Signal.Bars, m.Signal.DBM)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", m.ID, m.State, m.Port, m.Model,
			orDash(m.Operator), sig, m.QueueDepth, m.Sent, m.Failed, orDash(deref(m.LastError)))
	}
	return tw.Flush()
}

// deref is *p, or the zero value for a JSON null.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// inboxText is m's text, or says that its PDU did not decode or that
// retention removed it.
func inboxText(m apiv1.InboxMessage) string {
	if m.Error != "" {
		return "(undecodable: " + m.Error + ")"
	}
	if m.TextPurged {
		return "(text removed by retention)"
	}
	return m.Text
}
