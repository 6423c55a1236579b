package hooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/simgate/simgate/gateway"
)

// maxOutput is how much of a program's output is kept for the log.
const maxOutput = 4 << 10

// Payload is what a program reads on its standard input.
type Payload struct {
	Event   string          `json:"event"` // received, sent, failed or report
	Type    string          `json:"type"`  // the event stream's type: sms.received, message.sent…
	ID      string          `json:"id"`    // the event's ID, stable across a replay
	Subject string          `json:"subject"`
	At      time.Time       `json:"at"`
	Data    json.RawMessage `json:"data"`
}

// result is how one run ended.
type result struct {
	err      error
	timedOut bool
	took     time.Duration
	output   string
}

// runProgram runs argv for ev in a process group of its own, killed whole
// at the timeout or when ctx ends (a descendant that keeps the output
// open is not waited for beyond a second after that).
func (h *Hooks) runProgram(ctx context.Context, kind string, argv []string, ev gateway.Event) result {
	payload, err := json.Marshal(Payload{Event: kind, Type: ev.Type, ID: ev.ID, Subject: ev.Subject, At: ev.At.UTC(), Data: ev.Data})
	if err != nil {
		return result{err: fmt.Errorf("payload: %w", err)}
	}
	tctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	cmd := exec.CommandContext(tctx, argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(payload)
	cmd.Env = append(append([]string(nil), h.cfg.Env...), Environ(kind, ev)...)
	out := &capped{max: maxOutput}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = time.Second
	start := time.Now()
	err = cmd.Run()
	res := result{err: err, took: time.Since(start), output: out.String()}
	if err != nil && errors.Is(tctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
		res.timedOut = true
	}
	return res
}

// Environ is the event as SIMGATE_* variables: SIMGATE_EVENT (received,
// sent, failed, report), SIMGATE_EVENT_TYPE, SIMGATE_EVENT_ID,
// SIMGATE_EVENT_SUBJECT, SIMGATE_EVENT_AT, and each field of the event's
// data that is a string, number or boolean as SIMGATE_<FIELD> (SIMGATE_ID,
// SIMGATE_FROM, SIMGATE_TO, SIMGATE_TEXT, SIMGATE_MODEM, SIMGATE_STATUS,
// SIMGATE_ERROR…).
func Environ(kind string, ev gateway.Event) []string {
	env := []string{
		"SIMGATE_EVENT=" + kind,
		"SIMGATE_EVENT_TYPE=" + ev.Type,
		"SIMGATE_EVENT_ID=" + ev.ID,
		"SIMGATE_EVENT_SUBJECT=" + ev.Subject,
		"SIMGATE_EVENT_AT=" + ev.At.UTC().Format(time.RFC3339Nano),
	}
	var data map[string]any
	if json.Unmarshal(ev.Data, &data) != nil {
		return env
	}
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		name := "SIMGATE_" + strings.ToUpper(k)
		if strings.HasPrefix(name, "SIMGATE_EVENT") || !validName(name) {
			continue
		}
		var v string
		switch x := data[k].(type) {
		case string:
			v = x
		case float64:
			v = strconv.FormatFloat(x, 'f', -1, 64)
		case bool:
			v = strconv.FormatBool(x)
		default:
			continue
		}
		env = append(env, name+"="+strings.ReplaceAll(v, "\x00", ""))
	}
	return env
}

// validName: letters, digits and underscores, as a shell can read.
func validName(s string) bool {
	for _, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// capped keeps the first max bytes written to it. Writes come from the
// command's copying goroutines one at a time (os/exec shares one writer
// between stdout and stderr only when they are the same, as here).
type capped struct {
	max int
	b   bytes.Buffer
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.b.Len(); room > 0 {
		c.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (c *capped) String() string { return strings.TrimSpace(c.b.String()) }
