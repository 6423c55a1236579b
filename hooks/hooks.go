// Package hooks runs a program of the admin's choice on gateway events —
// an SMS received, a message sent, failed, or delivered (its report) — as
// smstools' eventhandler and gammu-smsd's RunOnReceive do. The program is
// run without a shell, with the event as JSON on its standard input and as
// SIMGATE_* environment variables, under a timeout after which its whole
// process group is killed.
//
// Hooks follow the event stream from a durable cursor (event_cursors,
// consumer "hooks"), moved once every hook of a batch has ended: delivery
// is at least once. A crash or a stop while a batch runs runs that batch's
// hooks again at the next start (at most one batch, 64 events), and nothing
// that happened while the gateway was down is lost. The first start begins
// at the present, not at the start of the log.
package hooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simgate/simgate/events"
	"github.com/simgate/simgate/gateway"
)

// Consumer is the hooks' name among the event log's durable consumers.
const Consumer = "hooks"

// The events a hook can be set for, in the words of smstools' eventhandler.
const (
	Received = "received" // sms.received
	Sent     = "sent"     // message.sent
	Failed   = "failed"   // message.failed and message.expired
	Report   = "report"   // message.delivered: the delivery report said delivered
)

// Kinds are the events a hook can be set for.
var Kinds = []string{Received, Sent, Failed, Report}

// kindOf maps an event type to the hook it runs; "" runs none. A report
// that says "failed" ends its message failed and runs the failed hook.
func kindOf(eventType string) string {
	switch eventType {
	case gateway.EventSMSReceived:
		return Received
	case gateway.EventMessageSent:
		return Sent
	case gateway.EventMessageFailed, gateway.EventMessageExpired:
		return Failed
	case gateway.EventMessageDelivered:
		return Report
	}
	return ""
}

// Defaults.
const (
	DefaultTimeout     = 30 * time.Second
	DefaultConcurrency = 4
	// batch is how many events a batch holds at most: the most a restart
	// may run again.
	batch = 64
)

// Config says which program runs for which event.
type Config struct {
	// Programs maps a kind (Received, Sent, Failed, Report) to the program
	// and its arguments; a kind without one runs nothing.
	Programs map[string][]string
	// Timeout is how long a program may run before its process group is
	// killed; DefaultTimeout when 0.
	Timeout time.Duration
	// Concurrency is how many programs may run at once; DefaultConcurrency
	// when 0. With 1 they run one after the other in the log's order.
	Concurrency int
	// Env is the environment every program starts with (PATH, say); the
	// event's SIMGATE_* variables are added to it.
	Env []string
}

// Log is the event stream as hooks need it: read, and a cursor they move
// themselves once the programs of a batch have ended.
type Log interface {
	gateway.EventLog
	MoveEventCursor(ctx context.Context, consumer string, seq int64) error
}

// Counts are how many programs ran and how they ended.
type Counts struct {
	OK, Failed, TimedOut int64
}

// Hooks runs the configured programs on events.
type Hooks struct {
	cfg  Config
	log  Log
	logf *slog.Logger

	ok, failed, timedOut atomic.Int64
}

// New checks cfg and returns the hooks; nothing runs before Run.
func New(cfg Config, log Log, logger *slog.Logger) (*Hooks, error) {
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Timeout < 0 || cfg.Concurrency < 0 {
		return nil, errors.New("hooks: timeout and concurrency must not be negative")
	}
	for kind, argv := range cfg.Programs {
		if kindOf(eventTypeOf(kind)) == "" {
			return nil, fmt.Errorf("hooks: unknown event %q (want received, sent, failed or report)", kind)
		}
		if len(argv) > 0 && argv[0] == "" {
			return nil, fmt.Errorf("hooks: %s: the program is empty", kind)
		}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Hooks{cfg: cfg, log: log, logf: logger}, nil
}

// eventTypeOf is one event type of kind, to check a configured kind.
func eventTypeOf(kind string) string {
	return map[string]string{Received: gateway.EventSMSReceived, Sent: gateway.EventMessageSent,
		Failed: gateway.EventMessageFailed, Report: gateway.EventMessageDelivered}[kind]
}

// Counts returns how many programs have ended, by outcome.
func (h *Hooks) Counts() Counts {
	return Counts{OK: h.ok.Load(), Failed: h.failed.Load(), TimedOut: h.timedOut.Load()}
}

// Run follows the log from the hooks' cursor until ctx ends. A stop kills
// the programs still running; their batch runs again at the next start.
func (h *Hooks) Run(ctx context.Context) error {
	seq, err := h.log.EventCursor(ctx, Consumer)
	if err != nil {
		return fmt.Errorf("hooks: %w", err)
	}
	if seq == 0 { // the first start: from the present on
		if seq, err = h.log.LastEventSeq(ctx); err != nil {
			return fmt.Errorf("hooks: %w", err)
		}
		if err := h.log.MoveEventCursor(ctx, Consumer, seq); err != nil {
			return fmt.Errorf("hooks: %w", err)
		}
	}
	r := events.NewReader(h.log, seq, events.Settle)
	var moved time.Time
	for {
		evs, err := r.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("hooks: %w", err)
		}
		for len(evs) > 0 {
			n := min(len(evs), batch)
			ran, whole := h.runBatch(ctx, evs[:n])
			if !whole {
				return nil // stopped mid-batch: it runs again at the next start
			}
			// A batch that ran whole is recorded even while stopping. One
			// that ran nothing need not be at once: taking it again runs
			// nothing either, and a busy log would cost a write per batch.
			if ran > 0 || time.Since(moved) >= time.Second {
				if err := h.log.MoveEventCursor(context.WithoutCancel(ctx), Consumer, evs[n-1].Seq); err != nil {
					return fmt.Errorf("hooks: %w", err)
				}
				moved = time.Now()
			}
			evs = evs[n:]
		}
	}
}

// runBatch runs the hooks of evs, at most Concurrency at once, and waits
// for them all. It returns how many it started, and false when ctx ended
// before every one had ended by itself.
func (h *Hooks) runBatch(ctx context.Context, evs []gateway.Event) (ran int, whole bool) {
	slots := make(chan struct{}, h.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, ev := range evs {
		kind := kindOf(ev.Type)
		argv := h.cfg.Programs[kind]
		if len(argv) == 0 {
			continue
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ran, false
		}
		ran++
		wg.Go(func() {
			defer func() { <-slots }()
			res := h.runProgram(ctx, kind, argv, ev)
			if ctx.Err() == nil { // killed by a stop, it runs again at the next start
				h.record(kind, ev, res)
			}
		})
	}
	wg.Wait()
	return ran, ctx.Err() == nil
}

// record counts and logs how a program ended.
func (h *Hooks) record(kind string, ev gateway.Event, res result) {
	switch {
	case res.err == nil:
		h.ok.Add(1)
		h.logf.Debug("hook ran", "event", kind, "event_id", ev.ID, "took", res.took)
		return
	case res.timedOut:
		h.timedOut.Add(1)
		h.logf.Warn("hook killed at its timeout", "event", kind, "event_id", ev.ID, "timeout", h.cfg.Timeout)
	default:
		h.failed.Add(1)
		h.logf.Warn("hook failed", "event", kind, "event_id", ev.ID, "err", res.err)
	}
	if res.output != "" {
		h.logf.Debug("hook output", "event", kind, "event_id", ev.ID, "output", res.output)
	}
}
