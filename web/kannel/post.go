package kannel

import (
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// maxBody bounds the text of a POST: ten UCS-2 segments are far less.
const maxBody = 64 << 10

// xKannel maps Kannel's X-Kannel-* headers to the parameters of a GET.
var xKannel = map[string]string{
	"X-Kannel-Username": "username", "X-Kannel-Password": "password", "X-Kannel-To": "to",
	"X-Kannel-From": "from", "X-Kannel-Smsc": "smsc", "X-Kannel-Udh": "udh", "X-Kannel-Dlr-Url": "dlr-url",
	"X-Kannel-Dlr-Mask": "dlr-mask", "X-Kannel-Coding": "coding", "X-Kannel-Mclass": "mclass",
	"X-Kannel-Validity": "validity", "X-Kannel-Deferred": "deferred", "X-Kannel-Priority": "priority",
}

// requestForm reads the parameters: the query and, for a POST, a form body
// or, as Kannel's POST, the text as the body (text/plain, or
// application/octet-stream for 8-bit) with the rest in X-Kannel-* headers.
// missingTo is Kannel's answer to a request without "to", which differs
// between the two.
func requestForm(req *http.Request) (form url.Values, missingTo string, a *answer) {
	if req.Method == http.MethodPost && req.ContentLength != 0 {
		ct, ps, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
		switch ct {
		case "application/x-www-form-urlencoded", "multipart/form-data":
		case "text/plain", "application/octet-stream":
			form, a := headerForm(req, ct, ps["charset"])
			return form, "Missing receiver(s) number(s), rejected", a
		default:
			return nil, "", reject("Invalid content-type")
		}
	}
	if err := req.ParseMultipartForm(maxBody); err != nil && err != http.ErrNotMultipart {
		return nil, "", reject(answerCharset)
	}
	return req.Form, answerNoReceiver, nil
}

// headerForm is Kannel's POST: the body is the text, the headers the
// rest (an X-Kannel-UDH in hex or URL-encoded).
func headerForm(req *http.Request, ct, charset string) (url.Values, *answer) {
	body, err := io.ReadAll(io.LimitReader(req.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		return nil, reject(answerCharset)
	}
	form := url.Values{"text": {string(body)}}
	if charset != "" {
		form.Set("charset", charset)
	}
	for h, name := range xKannel {
		if v := req.Header.Values(h); len(v) > 0 {
			form.Set(name, strings.TrimSpace(v[0]))
		}
	}
	if u := form.Get("udh"); u != "" {
		form.Set("udh", decodeUDH(u))
	}
	if _, ok := form["coding"]; !ok {
		form.Set("coding", "0")
		if ct == "application/octet-stream" {
			form.Set("coding", "1")
		}
	}
	return form, nil
}

// decodeUDH reads an X-Kannel-UDH: hex, else URL-encoded.
func decodeUDH(s string) string {
	if len(s)%2 == 0 {
		b := make([]byte, 0, len(s)/2)
		ok := true
		for i := 0; i < len(s) && ok; i += 2 {
			hi, lo := unhex(s[i]), unhex(s[i+1])
			ok = hi >= 0 && lo >= 0
			b = append(b, byte(hi<<4|lo))
		}
		if ok {
			return string(b)
		}
	}
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
