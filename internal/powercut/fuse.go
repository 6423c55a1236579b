package powercut

import (
	"context"
	"sort"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// The FUSE side: thin go-fuse nodes over the model, made anew at every
// mount (a go-fuse Inode belongs to one mount), each under FS.mu.

// inode is what a directory and a file share: the node of the model it
// shows, its attributes and its fsync.
type inode struct {
	fs.Inode
	fsys *FS
	n    *node
}

type dirNode struct{ inode }

type fileNode struct{ inode }

var (
	_ fs.NodeLookuper  = (*dirNode)(nil)
	_ fs.NodeReaddirer = (*dirNode)(nil)
	_ fs.NodeCreater   = (*dirNode)(nil)
	_ fs.NodeMkdirer   = (*dirNode)(nil)
	_ fs.NodeUnlinker  = (*dirNode)(nil)
	_ fs.NodeRmdirer   = (*dirNode)(nil)
	_ fs.NodeRenamer   = (*dirNode)(nil)
	_ fs.NodeGetattrer = (*dirNode)(nil)
	_ fs.NodeSetattrer = (*dirNode)(nil)
	_ fs.NodeFsyncer   = (*dirNode)(nil)

	_ fs.NodeOpener    = (*fileNode)(nil)
	_ fs.NodeReader    = (*fileNode)(nil)
	_ fs.NodeWriter    = (*fileNode)(nil)
	_ fs.NodeGetattrer = (*fileNode)(nil)
	_ fs.NodeSetattrer = (*fileNode)(nil)
	_ fs.NodeFsyncer   = (*fileNode)(nil)
	_ fs.NodeFlusher   = (*fileNode)(nil)
	_ fs.NodeAllocater = (*fileNode)(nil)
)

// attr fills a's fields from n.
func attr(n *node, a *fuse.Attr) {
	a.Ino = n.ino
	a.Mode = n.mode
	a.Nlink = 1
	if n.isDir() {
		a.Nlink = 2
	} else {
		a.Size = uint64(n.data.size)
		a.Blocks = (a.Size + 511) / 512
	}
	a.Blksize = pageSize
	a.SetTimes(nil, &n.mtime, &n.mtime)
}

// child makes the go-fuse inode for n under parent.
func (d *dirNode) child(ctx context.Context, n *node, out *fuse.EntryOut) *fs.Inode {
	attr(n, &out.Attr)
	st := fs.StableAttr{Mode: n.mode & syscall.S_IFMT, Ino: n.ino}
	if n.isDir() {
		return d.NewInode(ctx, &dirNode{inode{fsys: d.fsys, n: n}}, st)
	}
	return d.NewInode(ctx, &fileNode{inode{fsys: d.fsys, n: n}}, st)
}

func (d *dirNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	d.fsys.mu.Lock()
	defer d.fsys.mu.Unlock()
	n := d.n.entries[name]
	if n == nil {
		return nil, syscall.ENOENT
	}
	return d.child(ctx, n, out), 0
}

func (d *dirNode) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	d.fsys.mu.Lock()
	defer d.fsys.mu.Unlock()
	list := make([]fuse.DirEntry, 0, len(d.n.entries))
	for name, n := range d.n.entries {
		list = append(list, fuse.DirEntry{Name: name, Mode: n.mode, Ino: n.ino})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	return fs.NewListDirStream(list), 0
}

func (d *dirNode) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	d.fsys.mu.Lock()
	defer d.fsys.mu.Unlock()
	if d.n.entries[name] != nil {
		return nil, nil, 0, syscall.EEXIST
	}
	n := d.fsys.newNode(syscall.S_IFREG | mode&0o7777)
	d.fsys.logLocked(change{dir: d.n, name: name, target: n})
	return d.child(ctx, n, out), nil, 0, 0
}

func (d *dirNode) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	d.fsys.mu.Lock()
	defer d.fsys.mu.Unlock()
	if d.n.entries[name] != nil {
		return nil, syscall.EEXIST
	}
	n := d.fsys.newNode(syscall.S_IFDIR | mode&0o7777)
	d.fsys.logLocked(change{dir: d.n, name: name, target: n})
	return d.child(ctx, n, out), 0
}

func (d *dirNode) Unlink(ctx context.Context, name string) syscall.Errno {
	d.fsys.mu.Lock()
	defer d.fsys.mu.Unlock()
	n := d.n.entries[name]
	switch {
	case n == nil:
		return syscall.ENOENT
	case n.isDir():
		return syscall.EISDIR
	}
	d.fsys.logLocked(change{dir: d.n, name: name})
	return 0
}

func (d *dirNode) Rmdir(ctx context.Context, name string) syscall.Errno {
	d.fsys.mu.Lock()
	defer d.fsys.mu.Unlock()
	n := d.n.entries[name]
	switch {
	case n == nil:
		return syscall.ENOENT
	case !n.isDir():
		return syscall.ENOTDIR
	case len(n.entries) > 0:
		return syscall.ENOTEMPTY
	}
	d.fsys.logLocked(change{dir: d.n, name: name})
	return 0
}

// renameNoReplace is RENAME_NOREPLACE of renameat2(2).
const renameNoReplace = 1

func (d *dirNode) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	to, ok := newParent.(*dirNode)
	if !ok {
		return syscall.EXDEV
	}
	if flags&^renameNoReplace != 0 {
		return syscall.EINVAL // RENAME_EXCHANGE, RENAME_WHITEOUT: not needed
	}
	d.fsys.mu.Lock()
	defer d.fsys.mu.Unlock()
	n := d.n.entries[name]
	if n == nil {
		return syscall.ENOENT
	}
	if old := to.n.entries[newName]; old != nil {
		switch {
		case old == n:
			return 0
		case flags&renameNoReplace != 0:
			return syscall.EEXIST
		case old.isDir() && !n.isDir():
			return syscall.EISDIR
		case !old.isDir() && n.isDir():
			return syscall.ENOTDIR
		case old.isDir() && len(old.entries) > 0:
			return syscall.ENOTEMPTY
		}
	}
	d.fsys.logLocked(change{dir: d.n, name: name}, change{dir: to.n, name: newName, target: n})
	return 0
}

func (i *inode) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	i.fsys.mu.Lock()
	defer i.fsys.mu.Unlock()
	attr(i.n, &out.Attr)
	return 0
}

// Fsync serves fsync(2) and fdatasync(2) alike: both make the data and the
// size durable, which is all the model keeps; on a directory, its entries.
func (i *inode) Fsync(ctx context.Context, fh fs.FileHandle, flags uint32) syscall.Errno {
	i.fsys.mu.Lock()
	defer i.fsys.mu.Unlock()
	i.fsys.syncLocked(i.n)
	return 0
}

func (d *dirNode) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	d.fsys.mu.Lock()
	defer d.fsys.mu.Unlock()
	setattr(d.n, in)
	attr(d.n, &out.Attr)
	return 0
}

// setattr applies a mode or times change (not rolled back by a cut).
func setattr(n *node, in *fuse.SetAttrIn) {
	if m, ok := in.GetMode(); ok {
		n.mode = n.mode&syscall.S_IFMT | m&0o7777
	}
	if t, ok := in.GetMTime(); ok {
		n.mtime = t
	}
}

// Open keeps no handle: reads and writes go to the node. No KEEP_CACHE and
// no direct I/O: the page cache is dropped at each open, and mmap works.
func (f *fileNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	return nil, 0, 0
}

func (f *fileNode) Read(ctx context.Context, fh fs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	f.fsys.mu.Lock()
	defer f.fsys.mu.Unlock()
	n := f.n.data.readAt(dest, off)
	return fuse.ReadResultData(dest[:n]), 0
}

func (f *fileNode) Write(ctx context.Context, fh fs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	f.fsys.mu.Lock()
	defer f.fsys.mu.Unlock()
	f.n.data.writeAt(data, off, &f.n.durable)
	f.n.mtime = time.Now()
	return uint32(len(data)), 0
}

func (f *fileNode) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	f.fsys.mu.Lock()
	defer f.fsys.mu.Unlock()
	if size, ok := in.GetSize(); ok {
		f.n.data.truncate(int64(size), &f.n.durable)
		f.n.mtime = time.Now()
	}
	setattr(f.n, in)
	attr(f.n, &out.Attr)
	return 0
}

func (f *fileNode) Flush(ctx context.Context, fh fs.FileHandle) syscall.Errno { return 0 }

// fallocKeepSize is FALLOC_FL_KEEP_SIZE of fallocate(2).
const fallocKeepSize = 1

// Allocate serves fallocate(2) mode 0 and KEEP_SIZE; holes read as zeros
// already, so only the size changes.
func (f *fileNode) Allocate(ctx context.Context, fh fs.FileHandle, off, size uint64, mode uint32) syscall.Errno {
	if mode&^fallocKeepSize != 0 {
		return syscall.EOPNOTSUPP
	}
	f.fsys.mu.Lock()
	defer f.fsys.mu.Unlock()
	if end := int64(off + size); mode&fallocKeepSize == 0 && end > f.n.data.size {
		f.n.data.truncate(end, &f.n.durable)
	}
	return 0
}
