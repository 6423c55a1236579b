package store

import (
	"fmt"
	"os"
	"sync/atomic"
)

// The WAL syncer. In durability full the writer does not wait for the disk:
// it commits each batch with synchronous=NORMAL, hands the batch's durable
// requests to the syncer and goes on with the next batch, while the syncer
// fsyncs the WAL file (all that was committed before, in order) and only
// then answers them. One fsync thus covers every batch committed while the
// previous one ran, and the writer never sits idle during one. What a
// commit wrote is visible to the store's readers before it is on disk, but
// no caller is told it is done before it is; a claim (lazy) is answered at
// its commit, and a message it takes may go out before the message's own
// accept is on disk — after a power cut in that instant the accept was
// never answered, so its client sends it again.
//
// Without the WAL file to sync (it could not be opened) or after an fsync
// failed, the writer goes back to letting SQLite sync each commit
// (synchronous=FULL).

// walSyncer fsyncs the WAL file on behalf of the writer.
type walSyncer struct {
	f      *os.File
	sync   func() error     // f.Sync; replaced by tests
	queue  chan []*writeReq // committed durable requests, in commit order
	done   chan struct{}    // closed when the syncer ends
	failed atomic.Bool      // an fsync failed: SQLite syncs from now on
	handed atomic.Int64     // requests put on queue, for tests
}

// startSyncer opens the WAL file of the database at path and starts the
// syncer; nil when the file cannot be opened.
func (s *Store) startSyncer(path string) *walSyncer {
	f, err := os.Open(path + "-wal")
	if err != nil {
		s.logger.Warn("cannot open the WAL file: every commit waits for its own fsync", "err", err)
		return nil
	}
	sy := &walSyncer{f: f, sync: f.Sync, queue: make(chan []*writeReq, 16), done: make(chan struct{})}
	go s.syncLoop(sy)
	return sy
}

// pipelined reports whether the syncer takes the fsyncs off the writer.
func (s *Store) pipelined() bool {
	return s.syncer != nil && !s.syncer.failed.Load()
}

// syncLoop answers each committed request after an fsync that followed its
// commit; it ends when the queue is closed and drained.
func (s *Store) syncLoop(sy *walSyncer) {
	defer close(sy.done)
	for reqs := range sy.queue {
	more: // whatever was committed meanwhile shares the fsync
		for {
			select {
			case more, ok := <-sy.queue:
				if !ok {
					break more
				}
				reqs = append(reqs, more...)
			default:
				break more
			}
		}
		var err error
		if serr := sy.sync(); serr != nil {
			// After a failed fsync the kernel may have dropped the pages:
			// say so to the callers, and let SQLite sync from now on.
			sy.failed.Store(true)
			s.logger.Error("fsync of the WAL failed; SQLite syncs every commit from now on", "err", serr)
			err = fmt.Errorf("sync wal: %w", serr)
		}
		s.answer(reqs, err)
	}
}

// stopSyncer waits until the syncer has answered every request handed to
// it (the writer has ended), and closes the WAL file.
func (s *Store) stopSyncer() {
	if s.syncer == nil {
		return
	}
	close(s.syncer.queue)
	<-s.syncer.done
	s.syncer.f.Close()
}
