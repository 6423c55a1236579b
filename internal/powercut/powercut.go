// Package powercut is a test filesystem that can cut the power: mounted
// with FUSE, it keeps everything in memory, and for each file both what a
// process sees now and what a disk would still hold after a power cut.
// Cut drops what was never made durable, as a machine that loses power
// and boots again finds its disk.
//
// The model is ext4 with its default data=ordered journal, at its worst
// (a cut lands before any periodic writeback or journal commit):
//
//   - A file's data (its bytes and its size) becomes durable only when
//     that file is fsynced or fdatasynced. Everything written since is
//     lost on a cut, whole: writes are not torn.
//   - Names (create, mkdir, unlink, rmdir, rename) go into one ordered
//     journal. ext4 records a name change in the running transaction,
//     together with the inode it touches, and commits transactions in
//     order: an fsync of a file commits up to the last name change that
//     involved that file (its creation, a rename of it), so everything
//     before it too; an fsync of a directory commits up to its own last
//     change. A rename is one record (atomic). Name changes after the
//     last such commit are undone on a cut: a file created and never
//     fsynced disappears, an unlink comes back.
//   - Modes and times are not rolled back (SQLite does not rely on them).
//
// SQLite's unix VFS fits this: it fsyncs the WAL and the database file,
// and fsyncs the directory once after creating a journal or WAL file. The
// -shm file is never fsynced, so a cut leaves it as it was created (empty),
// which SQLite rebuilds from the WAL. POSIX locks are the kernel's local
// ones (go-fuse does not forward them unless asked), which serve processes
// on this machine; the -shm file is mmapped shared, which FUSE supports
// when direct I/O is off, as it is here.
//
// Mounting needs root (mount(2) directly, no fusermount) and /dev/fuse.
// The process that serves the filesystem must not map its files into
// memory (SQLite does, for the -shm file): a page fault waits for the
// server while holding the process's memory-map lock, which the Go runtime
// may need to answer. Run SQLite on it in another process, or copy the
// database out to read it.
package powercut

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// FS is the filesystem: mount it, use it, Cut it.
type FS struct {
	mu      sync.Mutex
	root    *node
	journal []record // name changes not yet committed, in order
	seq     uint64   // of the last record
	nextIno uint64
	syncs   int // fsync/fdatasync calls on files, for Stats
	dirSync int

	// mountMu guards the mount. It is never held with mu: mounting makes
	// the kernel call the filesystem, whose handlers take mu.
	mountMu sync.Mutex
	server  *fuse.Server
	dir     string
}

// node is a file or a directory, current and durable.
type node struct {
	ino     uint64
	mode    uint32 // type and permissions
	mtime   time.Time
	lastSeq uint64 // the last journal record that involved it

	data, durable content // files

	entries, durEntries map[string]*node // directories
}

func (n *node) isDir() bool { return n.mode&syscall.S_IFMT == syscall.S_IFDIR }

// record is one name change: each change sets or (target nil) removes an
// entry. A rename is one record of two changes.
type record struct {
	seq     uint64
	changes []change
}

type change struct {
	dir    *node
	name   string
	target *node
}

// New returns an empty filesystem, not yet mounted.
func New() *FS {
	f := &FS{nextIno: 1}
	f.root = f.newNode(syscall.S_IFDIR | 0o755)
	return f
}

func (f *FS) newNode(mode uint32) *node {
	f.nextIno++
	n := &node{ino: f.nextIno, mode: mode, mtime: time.Now()}
	if n.isDir() {
		n.entries, n.durEntries = map[string]*node{}, map[string]*node{}
	}
	return n
}

// Mount serves the filesystem at dir (an existing directory).
func (f *FS) Mount(dir string) error {
	f.mountMu.Lock()
	defer f.mountMu.Unlock()
	if f.server != nil {
		return fmt.Errorf("powercut: already mounted at %s", f.dir)
	}
	opts := &fs.Options{MountOptions: fuse.MountOptions{
		DirectMountStrict: true, // as root, without fusermount
		FsName:            "powercut",
		Name:              "powercut",
		DisableXAttrs:     true,
	}}
	srv, err := fs.Mount(dir, &dirNode{inode{fsys: f, n: f.root}}, opts)
	if err != nil {
		return fmt.Errorf("powercut: mount %s: %w", dir, err)
	}
	f.server, f.dir = srv, dir
	return nil
}

// Unmount stops serving; the kernel forgets its caches, as at a reboot.
// It fails while a process still has a file open.
func (f *FS) Unmount() error {
	f.mountMu.Lock()
	defer f.mountMu.Unlock()
	if f.server == nil {
		return nil
	}
	if err := f.server.Unmount(); err != nil {
		return fmt.Errorf("powercut: unmount %s: %w", f.dir, err)
	}
	f.server = nil
	return nil
}

// Loss is what a cut threw away.
type Loss struct {
	Files   []string // paths (as before the cut) whose content was rolled back
	Pages   int      // 4 KiB pages of theirs that differed from the durable copy
	Records int      // name changes undone
}

// ErrMounted: a cut needs the filesystem unmounted, the kernel's caches gone.
var ErrMounted = errors.New("powercut: unmount before a cut")

// Cut loses power: every file goes back to its content as of its last
// fsync and every name change not committed is undone. The filesystem
// must be unmounted (the processes using it dead), as after a power cut.
func (f *FS) Cut() (Loss, error) {
	f.mountMu.Lock()
	defer f.mountMu.Unlock()
	if f.server != nil {
		return Loss{}, ErrMounted
	}
	f.mu.Lock() // no kernel call can come: unmounted
	defer f.mu.Unlock()
	var loss Loss
	loss.Records = len(f.journal)
	seen := map[*node]bool{}
	var walk func(dir *node, p string)
	walk = func(dir *node, p string) {
		for _, m := range []map[string]*node{dir.entries, dir.durEntries} {
			for name, n := range m {
				if seen[n] {
					continue
				}
				seen[n] = true
				if n.isDir() {
					walk(n, path.Join(p, name))
				} else if d := n.data.diff(n.durable); d > 0 {
					loss.Files = append(loss.Files, path.Join(p, name))
					loss.Pages += d
				}
			}
		}
	}
	walk(f.root, "/")
	sort.Strings(loss.Files)
	for n := range seen {
		n.lastSeq = 0
		if n.isDir() {
			n.entries = cloneEntries(n.durEntries)
		} else {
			n.data = n.durable.snapshot()
		}
	}
	f.root.entries = cloneEntries(f.root.durEntries)
	f.root.lastSeq = 0
	f.journal = nil
	return loss, nil
}

func cloneEntries(m map[string]*node) map[string]*node {
	c := make(map[string]*node, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// Stats counts the syncs the filesystem has seen.
type Stats struct {
	FileSyncs, DirSyncs int
}

// Stats returns the sync counts so far.
func (f *FS) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return Stats{FileSyncs: f.syncs, DirSyncs: f.dirSync}
}

// logLocked applies a name change to the current tree and journals it.
func (f *FS) logLocked(changes ...change) {
	f.seq++
	for _, c := range changes {
		if c.target == nil {
			delete(c.dir.entries, c.name)
		} else {
			c.dir.entries[c.name] = c.target
			c.target.lastSeq = f.seq
		}
		c.dir.lastSeq = f.seq
		c.dir.mtime = time.Now()
	}
	f.journal = append(f.journal, record{seq: f.seq, changes: changes})
}

// commitLocked makes the journal durable up to seq, in order.
func (f *FS) commitLocked(seq uint64) {
	i := 0
	for ; i < len(f.journal) && f.journal[i].seq <= seq; i++ {
		for _, c := range f.journal[i].changes {
			if c.target == nil {
				delete(c.dir.durEntries, c.name)
			} else {
				c.dir.durEntries[c.name] = c.target
			}
		}
	}
	f.journal = f.journal[i:]
}

// syncLocked is fsync(2) on n: its data, and the journal up to its last
// name change.
func (f *FS) syncLocked(n *node) {
	if n.isDir() {
		f.dirSync++
	} else {
		f.syncs++
		n.durable = n.data.snapshot()
	}
	f.commitLocked(n.lastSeq)
}
