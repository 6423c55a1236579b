package kannel

import (
	"net/url"
	"strings"
)

// undefined is Kannel's SMS_PARAM_UNDEFINED: a numeric parameter absent or
// not starting with a number.
const undefined = -1

// maxUDH is MAX_SMS_OCTETS: a UDH longer than one SMS is refused.
const maxUDH = 140

// numberChars are the characters a receiver may have (Kannel's
// SENDSMS_DEFAULT_CHARS).
const numberChars = "0123456789 +-"

// params is a sendsms request as Kannel reads it, before the gateway
// checks it.
type params struct {
	user, pass string
	to         []string // receivers as the client wrote them
	text       string   // UTF-8, after charset conversion (coding 0 and 2)
	raw        []byte   // the text as sent: the data of coding 1
	from, smsc string
	udh        []byte
	dlrURL     string
	dlrMask    int
	mclass     int
	coding     int
	validity   int // minutes
	deferred   int // minutes
	priority   int
}

// first is http_cgi_variable: the first of the names that is present.
func first(form url.Values, names ...string) (string, bool) {
	for _, n := range names {
		if vs, ok := form[n]; ok && len(vs) > 0 {
			return vs[0], true
		}
	}
	return "", false
}

// number reads a parameter as sscanf("%d") does: leading white space, a
// sign and digits, anything after ignored; undefined when absent or when
// no digit starts it.
func number(form url.Values, names ...string) int {
	s, ok := first(form, names...)
	if !ok {
		return undefined
	}
	s = strings.TrimLeft(s, " \t\n\r\v\f")
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg, s = s[0] == '-', s[1:]
	}
	n, digits := 0, 0
	for ; digits < len(s) && s[digits] >= '0' && s[digits] <= '9'; digits++ {
		if n < 1<<30 {
			n = n*10 + int(s[digits]-'0')
		}
	}
	if digits == 0 {
		return undefined
	}
	if neg {
		return -n
	}
	return n
}

// parseParams reads form in the order smsbox checks it and returns
// Kannel's answer for the first field it refuses; missingTo is the answer
// without a "to".
func parseParams(form url.Values, missingTo string) (params, *answer) {
	var p params
	p.user, _ = first(form, "user", "username")
	p.pass, _ = first(form, "password", "pass")
	p.from, _ = first(form, "from")
	p.smsc, _ = first(form, "smsc")
	p.dlrURL, _ = first(form, "dlr-url", "dlrurl")
	udh, hasUDH := first(form, "udh")
	p.udh = []byte(udh)
	p.dlrMask = number(form, "dlr-mask", "dlrmask")
	p.mclass, p.coding = number(form, "mclass"), number(form, "coding")
	p.validity, p.deferred = number(form, "validity"), number(form, "deferred")
	p.priority = number(form, "priority")

	to, ok := first(form, "to")
	switch {
	case !ok:
		return p, reject(missingTo)
	case to == "":
		return p, reject(answerEmptyRecv)
	}
	p.to = strings.Fields(to)
	if hasUDH && (len(p.udh) == 0 || len(p.udh) != int(p.udh[0])+1) {
		return p, reject(answerUDH)
	}
	if len(p.udh) > maxUDH {
		return p, reject(answerUDHLong)
	}
	for _, r := range p.to {
		if strings.ContainsFunc(r, func(c rune) bool { return !strings.ContainsRune(numberChars, c) }) {
			return p, reject(answerDenied)
		}
	}
	if len(p.to) == 0 { // only white space
		return p, reject(answerDenied)
	}
	if a := checkFields(p); a != nil {
		return p, a
	}
	if p.coding == undefined { // Kannel's compatibility mode
		p.coding = 0
		if len(p.udh) > 0 {
			p.coding = 1
		}
	}
	text, _ := first(form, "text")
	p.raw = []byte(text)
	if p.coding == 1 {
		return p, nil // bytes: no charset
	}
	charset, _ := first(form, "charset")
	var err error
	if p.text, err = decodeText(p.raw, charset, p.coding); err != nil {
		return p, reject(answerCharset)
	}
	return p, nil
}

// checkFields checks the numeric fields and the dlr-url as smsbox does,
// in its order.
func checkFields(p params) *answer {
	if p.dlrURL != "" {
		low := strings.ToLower(p.dlrURL)
		if len(p.dlrURL) < 8 || !strings.HasPrefix(low, "http://") && !strings.HasPrefix(low, "https://") {
			return reject(answerDLRURL)
		}
	}
	switch {
	case p.dlrMask < undefined || p.dlrMask > 63:
		return reject(answerDLRMask)
	case p.mclass < undefined || p.mclass > 3:
		return reject(answerMClass)
	case p.coding < undefined || p.coding > 2:
		return reject(answerCoding)
	case p.validity < undefined:
		return reject(answerValidity)
	case p.deferred < undefined:
		return reject(answerDeferred)
	case p.priority != undefined && (p.priority < 0 || p.priority > 3):
		return reject(answerPriority)
	}
	return nil
}
