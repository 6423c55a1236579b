// Package mailer sends simgate's email (the OTP email channel and its SMS
// fallback) over SMTP with github.com/wneessen/go-mail.
//
// Standards: SMTP (RFC 5321) with STARTTLS (RFC 3207) required by default
// or implicit TLS (RFC 8314), SMTP AUTH (RFC 4954) over TLS only, and a
// multipart/alternative message (RFC 2046 §5.1.4) with a text/plain part and
// a text/html part.
package mailer
