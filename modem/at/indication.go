package at

import (
	"errors"
	"fmt"
	"strings"
)

// ErrIndicationExists is returned by AddIndication for a prefix (of the
// same kind, whole line or not) that already has a handler.
var ErrIndicationExists = errors.New("indication already registered")

// Indication routes unsolicited lines that start with Prefix to Handle.
type Indication struct {
	// Prefix is matched case-insensitively at the start of a line: "+CMTI:".
	Prefix string
	// WholeLine asks for the line to be Prefix and nothing more ("RING",
	// "RDY"). Whole-line indications are matched first, even against a
	// line the command in flight would own.
	WholeLine bool
	// Trailing is how many lines after the first belong to the indication:
	// 1 for the PDU after +CMT: and +CDS:.
	Trailing int
	// Accept, when set, decides whether a line is the trailing line the
	// header announced; a refused line ends the indication early and is
	// handled as any other line. It runs in the reader and must be quick.
	Accept func(header, line string) bool
	// Until, when set, ends the indication as soon as the lines so far
	// make it whole (a quoted string closed), before Trailing lines came:
	// Trailing is then the most it may take. It runs in the reader.
	Until func(lines []string) bool
	// Handle receives the first line and the trailing lines that came. It
	// is called from the reader goroutine, in the order the modem sent
	// them, and must not block or run commands.
	Handle func(lines []string)
}

type indication struct {
	prefix    string
	wholeLine bool
	trailing  int
	accept    func(header, line string) bool
	until     func(lines []string) bool
	handle    func([]string)
}

// pendingIndication collects the trailing lines of an indication.
type pendingIndication struct {
	ind   *indication
	lines []string
}

func (p *pendingIndication) takes(s string) bool {
	if p.ind.accept != nil && !p.ind.accept(p.lines[0], s) {
		return false
	}
	p.lines = append(p.lines, s)
	return true
}

func (p *pendingIndication) complete() bool {
	return len(p.lines) > p.ind.trailing || p.ind.whole(p.lines)
}

// whole says whether lines already make the indication whole.
func (i *indication) whole(lines []string) bool { return i.until != nil && i.until(lines) }

// AddIndication registers a handler for unsolicited lines. It may be
// called while the engine runs; lines read before it are not replayed.
func (e *Engine) AddIndication(ind Indication) error {
	if ind.Prefix == "" || ind.Handle == nil {
		return fmt.Errorf("add indication %q: empty prefix or nil handler", ind.Prefix)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, i := range e.inds {
		if i.wholeLine == ind.WholeLine && strings.EqualFold(i.prefix, ind.Prefix) {
			return fmt.Errorf("add indication %q: %w", ind.Prefix, ErrIndicationExists)
		}
	}
	e.inds = append(e.inds, &indication{
		prefix:    ind.Prefix,
		wholeLine: ind.WholeLine,
		trailing:  max(ind.Trailing, 0),
		accept:    ind.Accept,
		until:     ind.Until,
		handle:    ind.Handle,
	})
	return nil
}

// CancelIndication removes the handlers registered for prefix.
func (e *Engine) CancelIndication(prefix string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	kept := e.inds[:0]
	for _, i := range e.inds {
		if !strings.EqualFold(i.prefix, prefix) {
			kept = append(kept, i)
		}
	}
	clear(e.inds[len(kept):])
	e.inds = kept
}

// indicationLocked finds the indication for s: whole-line ones first, then
// prefixes in the order they were added, unless the command in flight owns
// the line's prefix. Called with e.mu held.
func (e *Engine) indicationLocked(s string, owned bool) *indication {
	for _, i := range e.inds {
		if i.wholeLine && strings.EqualFold(s, i.prefix) {
			return i
		}
	}
	if owned {
		return nil
	}
	for _, i := range e.inds {
		if !i.wholeLine && hasPrefixFold(s, i.prefix) {
			return i
		}
	}
	return nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// LinePrefix returns the "+XXX:" prefix of s in upper case, or "" when s does
// not look like an extended result code.
func LinePrefix(s string) string {
	if len(s) < 3 || !strings.ContainsRune("+^*$%#", rune(s[0])) {
		return ""
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ':':
			if i < 2 {
				return ""
			}
			return strings.ToUpper(s[:i+1])
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '_', c == '-':
		default:
			return ""
		}
	}
	return ""
}
