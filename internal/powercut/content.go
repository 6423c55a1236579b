package powercut

// content is a file's bytes as fixed-size pages, so that an fsync can keep
// the durable copy by copying page pointers, and a write clones only the
// pages the durable copy still shares. A nil page reads as zeros.
type content struct {
	pages []*[pageSize]byte
	size  int64
}

const pageSize = 4096

// snapshot returns a copy that shares every page with c; neither may then
// write a shared page in place (see writable).
func (c content) snapshot() content {
	return content{pages: append([]*[pageSize]byte(nil), c.pages...), size: c.size}
}

// writable returns page i for writing, cloning it when base (the durable
// copy) shares it.
func (c *content) writable(i int, base *content) *[pageSize]byte {
	for len(c.pages) <= i {
		c.pages = append(c.pages, nil)
	}
	p := c.pages[i]
	shared := p != nil && i < len(base.pages) && base.pages[i] == p
	if p == nil || shared {
		np := new([pageSize]byte)
		if p != nil {
			*np = *p
		}
		c.pages[i] = np
		p = np
	}
	return p
}

func (c *content) writeAt(data []byte, off int64, base *content) {
	end := off + int64(len(data))
	for len(data) > 0 {
		i, o := int(off/pageSize), int(off%pageSize)
		n := copy(c.writable(i, base)[o:], data)
		data, off = data[n:], off+int64(n)
	}
	c.size = max(c.size, end)
}

func (c *content) readAt(dest []byte, off int64) int {
	if off >= c.size {
		return 0
	}
	dest = dest[:min(int64(len(dest)), c.size-off)]
	n := 0
	for n < len(dest) {
		i, o := int(off/pageSize), int(off%pageSize)
		var m int
		if i < len(c.pages) && c.pages[i] != nil {
			m = copy(dest[n:], c.pages[i][o:])
		} else {
			m = min(pageSize-o, len(dest)-n)
			clear(dest[n : n+m])
		}
		n, off = n+m, off+int64(m)
	}
	return n
}

// truncate sets the size; bytes past a shrink read as zeros if the file
// grows again, as with ftruncate(2).
func (c *content) truncate(size int64, base *content) {
	if size < c.size {
		keep := int((size + pageSize - 1) / pageSize)
		if keep < len(c.pages) {
			clear(c.pages[keep:])
			c.pages = c.pages[:keep]
		}
		if o := int(size % pageSize); o != 0 && keep-1 < len(c.pages) && c.pages[keep-1] != nil {
			clear(c.writable(keep-1, base)[o:])
		}
	}
	c.size = size
}

// diff returns how many pages differ between c and d (at least one when
// only the size does).
func (c content) diff(d content) int {
	n := 0
	var zero [pageSize]byte
	pages := int((max(c.size, d.size) + pageSize - 1) / pageSize)
	for i := range pages {
		p, q := c.page(i), d.page(i)
		if p == q {
			continue
		}
		if p == nil {
			p = &zero
		}
		if q == nil {
			q = &zero
		}
		if *p != *q {
			n++
		}
	}
	if n == 0 && c.size != d.size {
		n = 1
	}
	return n
}

func (c content) page(i int) *[pageSize]byte {
	if i < len(c.pages) {
		return c.pages[i]
	}
	return nil
}
