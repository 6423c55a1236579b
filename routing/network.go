package routing

import (
	"strings"
	"unicode"

	"github.com/simgate/simgate/gateway"
)

// Network is gateway.DestNetwork: the recipient's network, as routes are
// keyed.
func Network(e164 string) string { return gateway.DestNetwork(e164) }

// onNet reports whether a modem on operator (as +COPS names it, e.g.
// "Vodafone UK") belongs to network's carrier ("GB/Vodafone"): their first
// words match, letters and digits only, case ignored.
func onNet(operator, network string) bool {
	_, carrier, ok := strings.Cut(network, "/")
	if !ok || strings.HasPrefix(carrier, "+") {
		return false
	}
	a, b := firstWord(operator), firstWord(carrier)
	return a != "" && a == b
}

func firstWord(s string) string {
	f := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(f) == 0 {
		return ""
	}
	return f[0]
}
