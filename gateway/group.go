package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// MessageGroup is the messages one request made, one per recipient, under
// one ID: what an interface whose send takes several numbers (SMSGate's
// phoneNumbers) tracks as one message. The ID is the client's or chosen
// for it; one owner's IDs are unique.
type MessageGroup struct {
	Owner     int64  // the API key that sent it (Message.OwnerKey)
	ID        string // 1–64 characters
	Kind      string // the interface that made it: GroupSMSGate
	CreatedAt time.Time
	Members   []GroupMember // in the request's order
}

// GroupMember is one recipient of a group and its message.
type GroupMember struct {
	MessageID string
	Recipient string // as the client wrote it
}

// Group kinds.
const GroupSMSGate = "smsgate"

// GroupFilter selects one owner's groups, newest first.
type GroupFilter struct {
	Owner  int64     // only this key's groups; 0: every key's (admin)
	From   time.Time // created at or after; zero = no bound
	Until  time.Time // created before; zero = no bound
	Limit  int       // 0 = all
	Offset int
}

// Groups is the store of message groups. CreateGroup commits the group and
// its messages in one transaction (ErrConflict when the owner used the ID
// before: nothing is committed then).
type Groups interface {
	CreateGroup(ctx context.Context, g MessageGroup, msgs []*Message) error
	// Group returns a group and its messages in member order; ErrNotFound
	// when owner has none with that ID (owner 0: any owner's).
	Group(ctx context.Context, owner int64, id string) (MessageGroup, []*Message, error)
	// GroupsOf lists groups with their messages, newest first, and how
	// many f selects without its Limit and Offset.
	GroupsOf(ctx context.Context, f GroupFilter) (gs []MessageGroup, msgs [][]*Message, total int, err error)
	// GroupOfMessage returns the ID of the group message id belongs to;
	// ErrNotFound when it belongs to none.
	GroupOfMessage(ctx context.Context, id string) (string, error)
}

// ItemError is a request of a batch that was refused, by its index: the
// batch was committed not at all.
type ItemError struct {
	Index int
	Err   error
}

func (e *ItemError) Error() string { return fmt.Sprintf("item %d: %v", e.Index, e.Err) }

// Unwrap gives the item's own error.
func (e *ItemError) Unwrap() error { return e.Err }

// SendBatch is Send for several messages that are committed together or
// not at all: each request is checked as Send checks it (an ItemError
// names the one refused), the key's limits count them all, and commit —
// which must write every message in one transaction, a group for
// instance — runs once, within the key's daily quota. The dispatcher is
// woken after it. All requests must have the same OwnerKey. Idempotency
// keys are not used: a batch has its own ID.
func (s *Service) SendBatch(ctx context.Context, reqs []SendRequest, commit func(ctx context.Context, msgs []*Message) error) ([]*Message, error) {
	if len(reqs) == 0 {
		return nil, &ValidationError{Field: "to", Reason: "has no number"}
	}
	now := s.clock.Now()
	owner := reqs[0].OwnerKey
	msgs := make([]*Message, len(reqs))
	for i, r := range reqs {
		if r.OwnerKey != owner {
			return nil, errors.New("send batch: requests of several keys")
		}
		m, err := s.checked(ctx, r, now)
		if err != nil {
			return nil, &ItemError{Index: i, Err: err}
		}
		msgs[i] = m
	}
	run := func() error { return commit(ctx, msgs) }
	var err error
	if owner != 0 {
		if err := s.limits.allowN(owner, now, len(msgs)); err != nil {
			return nil, err
		}
		err = s.limits.withQuotaN(ctx, s.store, owner, now, len(msgs), run)
	} else {
		err = run()
	}
	if err != nil {
		return nil, fmt.Errorf("create messages: %w", err)
	}
	for _, m := range msgs {
		s.wake(m, now)
	}
	s.log.Debug("messages queued", "messages", len(msgs), "first_id", msgs[0].ID)
	return msgs, nil
}

// checked is a message Send would queue for r: its fields, the
// destination policy and the router's pin.
func (s *Service) checked(ctx context.Context, r SendRequest, now time.Time) (*Message, error) {
	if err := checkText(r.Text); err != nil {
		return nil, err
	}
	m, err := s.newMessage(ctx, r, now)
	if err != nil {
		return nil, err
	}
	if err := s.dest.check(m.To, s.DefaultRegion()); err != nil {
		return nil, err
	}
	if s.cfg.Router != nil && m.Pin == "" {
		d := s.cfg.Router.Route(m.To, nil)
		m.Pin, m.Route = d.Modem, d.Reason
	}
	return m, nil
}
