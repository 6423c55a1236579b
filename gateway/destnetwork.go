package gateway

import (
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// DestNetwork names the recipient's network of an E.164 number: its country
// and carrier where libphonenumber's carrier data knows the number's
// range ("GB/Vodafone"), else its country and the first digits of the
// national number ("US/+1202"), which on most numbering plans tell the
// original operator or at least the area. A number ported to another
// operator keeps its range's name: the router's measurements are per
// name, so a ported number only blurs its range's figures a little.
func DestNetwork(e164 string) string {
	networks.Lock()
	defer networks.Unlock()
	if n, ok := networks.m[e164]; ok {
		return n
	}
	if len(networks.m) >= 10_000 {
		clear(networks.m) // a crude bound: the working set refills it
	}
	n := network(e164)
	networks.m[e164] = n
	return n
}

// networks caches DestNetwork: parsing a number and looking up its carrier
// costs more than the rest of a routing decision.
var networks = struct {
	sync.Mutex
	m map[string]string
}{m: map[string]string{}}

func network(e164 string) string {
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return "unknown"
	}
	region := phonenumbers.GetRegionCodeForNumber(num)
	if region == "" || region == "ZZ" { // a range no region claims, such as drama numbers
		region = phonenumbers.GetRegionCodeForCountryCode(int(num.GetCountryCode()))
	}
	if c, err := phonenumbers.GetCarrierForNumber(num, "en"); err == nil && c != "" {
		return region + "/" + c
	}
	nat := phonenumbers.GetNationalSignificantNumber(num)
	return region + "/+" + itoa(int(num.GetCountryCode())) + nat[:min(3, len(nat))]
}

func itoa(n int) string {
	var b [8]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		if n /= 10; n == 0 {
			return string(b[i:])
		}
	}
}
