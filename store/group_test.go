package store

import (
	"errors"
	"testing"
	"time"

	"github.com/simgate/simgate/gateway"
)

func newGroup(owner int64, id string, age time.Duration, msgs ...*gateway.Message) gateway.MessageGroup {
	g := gateway.MessageGroup{Owner: owner, ID: id, Kind: gateway.GroupSMSGate, CreatedAt: t0.Add(age)}
	for _, m := range msgs {
		m.OwnerKey = owner
		g.Members = append(g.Members, gateway.GroupMember{MessageID: m.ID, Recipient: "as written " + m.ID})
	}
	return g
}

func TestGroups_CreateReadList(t *testing.T) {
	s := mustOpen(t)
	ctx := t.Context()
	a, b := newMessage("msg_b", 0), newMessage("msg_a", 0) // member order, not ID order
	if err := s.CreateGroup(ctx, newGroup(7, "order-1", 0, a, b), []*gateway.Message{a, b}); err != nil {
		t.Fatal(err)
	}
	c := newMessage("msg_c", time.Minute)
	if err := s.CreateGroup(ctx, newGroup(7, "order-2", time.Minute, c), []*gateway.Message{c}); err != nil {
		t.Fatal(err)
	}

	g, msgs, err := s.Group(ctx, 7, "order-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].ID != "msg_b" || msgs[1].ID != "msg_a" || len(msgs[0].Parts) != 1 ||
		g.Members[1].Recipient != "as written msg_a" || g.Kind != gateway.GroupSMSGate || !g.CreatedAt.Equal(t0) {
		t.Errorf("group %+v with %d messages", g, len(msgs))
	}
	if _, _, err := s.Group(ctx, 8, "order-1"); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("another owner's group: %v, want ErrNotFound", err)
	}
	if _, _, err := s.Group(ctx, 0, "order-1"); err != nil {
		t.Errorf("any owner's (admin): %v", err)
	}
	if id, err := s.GroupOfMessage(ctx, "msg_a"); err != nil || id != "order-1" {
		t.Errorf("GroupOfMessage(msg_a) = %q, %v", id, err)
	}

	gs, lists, total, err := s.GroupsOf(ctx, gateway.GroupFilter{Owner: 7, Limit: 1})
	if err != nil || total != 2 || len(gs) != 1 || gs[0].ID != "order-2" || len(lists[0]) != 1 {
		t.Errorf("GroupsOf limit 1: %+v total %d, %v; want the newest of 2", gs, total, err)
	}
	gs, _, total, _ = s.GroupsOf(ctx, gateway.GroupFilter{Owner: 7, Until: t0.Add(time.Second)})
	if total != 1 || len(gs) != 1 || gs[0].ID != "order-1" {
		t.Errorf("GroupsOf until: %+v total %d", gs, total)
	}
}

// TestGroups_DuplicateIDWritesNothing: the second group of an ID commits
// none of its messages, and another owner may use the same ID.
func TestGroups_DuplicateIDWritesNothing(t *testing.T) {
	s := mustOpen(t)
	ctx := t.Context()
	a := newMessage("msg_1", 0)
	if err := s.CreateGroup(ctx, newGroup(7, "same", 0, a), []*gateway.Message{a}); err != nil {
		t.Fatal(err)
	}
	b := newMessage("msg_2", 0)
	if err := s.CreateGroup(ctx, newGroup(7, "same", 0, b), []*gateway.Message{b}); !errors.Is(err, gateway.ErrConflict) {
		t.Fatalf("same owner and ID: %v, want ErrConflict", err)
	}
	if _, err := s.Message(ctx, "msg_2"); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("the refused group's message: %v, want ErrNotFound", err)
	}
	if err := s.CreateGroup(ctx, newGroup(8, "same", 0, b), []*gateway.Message{b}); err != nil {
		t.Errorf("another owner, same ID: %v", err)
	}
}
