package store

import (
	"testing"
	"time"
)

// chanWaker counts into a channel the wake-ups it gets.
type chanWaker chan struct{}

func (w chanWaker) Wake() {
	select {
	case w <- struct{}{}:
	default:
	}
}

// Host B's dispatcher and event readers wake at host A's commit, with no
// poll: LISTEN/NOTIFY.
func TestPostgres_WakeAcrossHosts(t *testing.T) {
	if pg == nil {
		t.Skip("no PostgreSQL")
	}
	t.Parallel()
	url := pg.Schema(t)
	a, b := mustOpenPath(t, url), mustOpenPath(t, url)
	select {
	case <-b.listen.ready:
	case <-time.After(30 * time.Second):
		t.Fatal("host B never listened")
	}
	woken := make(chanWaker, 1)
	b.WakeOnEnqueue(woken)
	appended := b.Appended()

	mustCreate(t, a, newMessage("msg_across", 0))
	for _, w := range []struct {
		what string
		ch   <-chan struct{}
	}{{"dispatcher", woken}, {"event readers", appended}} {
		select {
		case <-w.ch:
		case <-time.After(30 * time.Second):
			t.Fatalf("host B's %s not woken by host A's enqueue", w.what)
		}
	}
}
