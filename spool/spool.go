// Package spool is smstools' spool directories on the gateway: SMS files
// dropped in an outgoing directory are queued, then moved to sent or
// failed with the outcome added to their headers (Sent:, Modem:,
// Message_id:, or Failed: and Error:) as smstools does; received SMS can be
// written to an incoming directory in the same format. It is for the
// scripts and applications written for smstools (and gammu-smsd's files
// backend, through the same format), which then need no change.
//
// A file goes outgoing → checked → sent | failed. It is queued with an
// idempotency key derived from the file (name, size, time, inode and a
// hash of its content) and only then renamed into checked under its
// message's ID, so a crash between the two queues nothing twice: at the
// next scan the same file gives the same key and the message queued
// before. Outcomes come from the event stream through a durable cursor
// (consumer "spool"), and checked is looked through at each start, so a
// file whose message ended while the gateway was down is moved then.
package spool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/simgate/simgate/events"
	"github.com/simgate/simgate/gateway"
)

// Consumer is the spool's name among the event log's durable consumers.
const Consumer = "spool"

// APIKey is the name messages queued from the spool carry as their
// submitter.
const APIKey = "spool"

// Defaults.
const (
	DefaultPoll = time.Second
	// DefaultSettle is smstools' rule: a file that has not changed for a
	// second is taken as whole.
	DefaultSettle = time.Second
)

// Config names the directories and how often outgoing is looked at.
type Config struct {
	Outgoing string // where applications drop SMS files
	Checked  string // files queued, waiting for their outcome
	Sent     string
	Failed   string
	Incoming string // where received SMS are written; "" to write none
	// Poll is how often outgoing is scanned; DefaultPoll when 0.
	Poll time.Duration
	// Settle is how long a file must be left unchanged before it is taken;
	// DefaultSettle when 0, none when negative.
	Settle time.Duration
}

// Sender queues messages and reads them back: gateway.Service.
type Sender interface {
	Send(ctx context.Context, r gateway.SendRequest) (*gateway.Message, bool, error)
	Message(ctx context.Context, id string) (*gateway.Message, error)
}

// Store is the event stream with the spool's cursor, and the inbox.
type Store interface {
	gateway.EventLog
	MoveEventCursor(ctx context.Context, consumer string, seq int64) error
	InboundMessageByID(ctx context.Context, id string) (*gateway.InboundMessage, error)
}

// Spool moves SMS files between the spool directories.
type Spool struct {
	cfg   Config
	send  Sender
	store Store
	clock gateway.Clock
	log   *slog.Logger

	// Owned by Run's goroutine alone.
	pending map[string]string // message ID → its file's name in checked
	cursor  int64             // the last event taken
	stored  int64             // the cursor as last stored
	moved   time.Time         // when it was last stored
}

// New checks cfg and returns the spool; nothing is touched before Run.
func New(cfg Config, send Sender, store Store, clock gateway.Clock, logger *slog.Logger) (*Spool, error) {
	for name, dir := range map[string]string{"outgoing": cfg.Outgoing, "checked": cfg.Checked, "sent": cfg.Sent, "failed": cfg.Failed} {
		if dir == "" {
			return nil, fmt.Errorf("spool: the %s directory is not set", name)
		}
	}
	if cfg.Poll == 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.Poll < 0 {
		return nil, errors.New("spool: poll must not be negative")
	}
	if cfg.Settle == 0 {
		cfg.Settle = DefaultSettle
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Spool{cfg: cfg, send: send, store: store, clock: clock, log: logger, pending: map[string]string{}}, nil
}

// Run creates the directories that are missing, finishes what the last
// run left in checked, then scans outgoing every Poll and follows the
// event stream until ctx ends.
func (s *Spool) Run(ctx context.Context) error {
	for _, dir := range []string{s.cfg.Outgoing, s.cfg.Checked, s.cfg.Sent, s.cfg.Failed, s.cfg.Incoming} {
		if dir == "" {
			continue
		}
		if err := os.MkdirAll(dir, 0o770); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
	}
	if err := s.startCursor(ctx); err != nil {
		return err
	}
	if err := s.recoverChecked(ctx); err != nil {
		return err
	}
	tick := time.NewTicker(s.cfg.Poll)
	defer tick.Stop()
	s.intake(ctx)
	for {
		appended := s.store.Appended()
		if err := s.follow(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("spool: following events failed; trying again", "err", err)
		}
		select {
		case <-ctx.Done():
			return s.storeCursor(ctx)
		case <-tick.C:
			s.intake(ctx)
		case <-appended:
			select { // a burst of commits costs one read
			case <-ctx.Done():
			case <-time.After(events.Settle):
			}
		}
	}
}

// startCursor takes the spool's position in the log; the first start
// begins at the present.
func (s *Spool) startCursor(ctx context.Context) error {
	seq, err := s.store.EventCursor(ctx, Consumer)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if seq == 0 {
		if seq, err = s.store.LastEventSeq(ctx); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		if err := s.store.MoveEventCursor(ctx, Consumer, seq); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
	}
	s.cursor, s.stored = seq, seq
	return nil
}

// follow takes the events after the cursor: an outcome of a message from
// the spool moves its file, a received SMS is written to incoming. The
// cursor moves once they are done, so a failure (a full disk) is tried
// again rather than skipped.
func (s *Spool) follow(ctx context.Context) error {
	for {
		evs, err := s.store.EventsAfter(ctx, s.cursor, 256)
		if err != nil || len(evs) == 0 {
			return err
		}
		did := false
		for _, ev := range evs {
			done, err := s.take(ctx, ev)
			if err != nil {
				return err
			}
			did = did || done
		}
		s.cursor = evs[len(evs)-1].Seq
		// Events that moved or wrote nothing need not be recorded at once
		// (taking them again does nothing), so a busy log does not cost a
		// write per commit.
		if did || time.Since(s.moved) >= time.Second {
			if err := s.storeCursor(ctx); err != nil {
				return err
			}
		}
	}
}

// storeCursor records the cursor, even while stopping.
func (s *Spool) storeCursor(ctx context.Context) error {
	if s.cursor == s.stored {
		return nil
	}
	if err := s.store.MoveEventCursor(context.WithoutCancel(ctx), Consumer, s.cursor); err != nil {
		return err
	}
	s.stored, s.moved = s.cursor, time.Now()
	return nil
}

// take does what ev asks of the spool, if anything; done tells it did.
func (s *Spool) take(ctx context.Context, ev gateway.Event) (done bool, err error) {
	switch ev.Type {
	case gateway.EventMessageSent, gateway.EventMessageDelivered, gateway.EventMessageFailed,
		gateway.EventMessageExpired, gateway.EventMessageCanceled:
		if _, ok := s.pending[ev.Subject]; ok {
			return true, s.finish(ctx, ev.Subject)
		}
	case gateway.EventSMSReceived:
		if s.cfg.Incoming != "" {
			return true, s.writeIncoming(ctx, ev.Subject)
		}
	}
	return false, nil
}

// recoverChecked takes up the files a previous run left in checked and
// moves those whose message has ended meanwhile.
func (s *Spool) recoverChecked(ctx context.Context) error {
	entries, err := os.ReadDir(s.cfg.Checked)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	for _, e := range entries {
		id, _, ok := strings.Cut(e.Name(), ".")
		if !e.Type().IsRegular() || !ok || !strings.HasPrefix(id, "msg_") {
			continue
		}
		s.pending[id] = e.Name()
		// One file that cannot be moved now (a full disk) waits for its
		// event or the next start; it does not keep the gateway down.
		if err := s.finish(ctx, id); err != nil {
			s.log.Warn("spool: cannot finish a checked file", "file", e.Name(), "err", err)
		}
	}
	return nil
}

// finish moves a checked file to sent or failed once its message has an
// outcome, with the lines smstools adds; it does nothing while the message
// is queued or sending.
func (s *Spool) finish(ctx context.Context, id string) error {
	name := s.pending[id]
	_, orig, _ := strings.Cut(name, ".")
	m, err := s.send.Message(ctx, id)
	var dir string
	var lines []string
	switch {
	case errors.Is(err, gateway.ErrNotFound):
		dir, lines = s.cfg.Failed, []string{"Failed: " + stamp(s.clock.Now()), "Error: the gateway has no message " + id}
	case err != nil:
		return err
	case m.Status == gateway.StatusSent || m.Status == gateway.StatusDelivered:
		dir, lines = s.cfg.Sent, sentLines(m)
	case m.Status == gateway.StatusFailed || m.Status == gateway.StatusExpired || m.Status == gateway.StatusCanceled:
		dir, lines = s.cfg.Failed, failedLines(m)
	default:
		return nil
	}
	src := filepath.Join(s.cfg.Checked, name)
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if err := put(dir, orig, withHeaders(b, lines)); err != nil {
		return err
	}
	if err := os.Remove(src); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	delete(s.pending, id)
	s.log.Info("spool file done", "file", orig, "message_id", id, "status", statusOf(m), "dir", filepath.Base(dir))
	return nil
}

func statusOf(m *gateway.Message) gateway.Status {
	if m == nil {
		return ""
	}
	return m.Status
}
