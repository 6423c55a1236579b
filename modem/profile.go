package modem

import (
	"slices"
	"strings"
)

// Profile holds what differs between modem vendors. Init detects one from
// AT+CGMI unless Config.Profile is set.
type Profile struct {
	// Name is a short lower-case vendor name ("huawei", "generic"…).
	Name string
	// InitCommands are sent at the end of Init, in order; their errors are
	// ignored because many are firmware-dependent.
	InitCommands []string
	// URCs are extra unsolicited lines of this vendor that do not look like
	// "+XXX:" (those are recognised anyway), matched as prefixes.
	URCs []string
	// ResetSigns are whole lines that mean the module rebooted, on top of the
	// ones every vendor shares (RDY, SMS Ready…).
	ResetSigns []string
	// CMTLengthFirst: +CMT carries <length> in its first field, not its last
	// (Gemalto/Cinterion, ofono "Fix SMS reception for Gemalto modems").
	CMTLengthFirst bool
	// USSDPackedHex: USSD strings go both ways as GSM 7-bit packed hex, not
	// as text (Huawei firmware, warthog618/modem cmd/ussd).
	USSDPackedHex bool
	// WakeTwice: the module sleeps (AT+CSCLK) and drops the first characters
	// that wake it, so Init sends a throw-away AT first (SIM800/SIM900).
	WakeTwice bool
	// ICCIDCommands are tried before the generic AT+CCID.
	ICCIDCommands []string
}

var profiles = []Profile{
	{
		Name: "huawei",
		// ^CURC=0 stops the ^RSSI/^MODE/^DSFLOWRPT floods; ^PORTSEL=0 puts
		// the URCs that remain on the PCUI port we use (ModemManager).
		InitCommands:  []string{"AT^CURC=0", "AT^PORTSEL=0"},
		USSDPackedHex: true,
		ICCIDCommands: []string{"AT^ICCID?"},
	},
	{
		Name:          "simcom",
		InitCommands:  []string{"AT+CIURC=0"},
		URCs:          []string{"NORMAL POWER DOWN", "UNDER-VOLTAGE", "OVER-VOLTAGE", "PB DONE"},
		ResetSigns:    []string{"START"},
		WakeTwice:     true,
		ICCIDCommands: []string{"AT+CICCID"},
	},
	{
		Name:          "quectel",
		InitCommands:  []string{`AT+QURCCFG="urcport","usbat"`, `AT+QCFG="urc/cache",0`},
		URCs:          []string{"POWERED DOWN"},
		ICCIDCommands: []string{"AT+QCCID"},
	},
	{Name: "sierra"},
	{Name: "gemalto", CMTLengthFirst: true, URCs: []string{"^SYSSTART", "^SHUTDOWN"}, ResetSigns: []string{"^SYSSTART"}},
	{Name: "generic"},
}

// commonResetSigns are boot messages that mean the module rebooted under us
// whatever the vendor: echo, CMGF and CNMI are back to their defaults.
var commonResetSigns = []string{"RDY", "SMS Ready", "Call Ready", "+QIND: SMS DONE"}

// vendorKeywords maps words found in AT+CGMI answers to profile names.
var vendorKeywords = []struct{ word, name string }{
	{"huawei", "huawei"},
	{"simcom", "simcom"},
	{"sim com", "simcom"},
	{"quectel", "quectel"},
	{"sierra", "sierra"},
	{"cinterion", "gemalto"},
	{"gemalto", "gemalto"},
	{"thales", "gemalto"},
	{"siemens", "gemalto"},
}

// LookupProfile returns a copy of the named profile.
func LookupProfile(name string) (*Profile, bool) {
	for _, p := range profiles {
		if p.Name == strings.ToLower(name) {
			return p.clone(), true
		}
	}
	return nil, false
}

// DetectProfile picks the profile for an AT+CGMI answer; unknown vendors get
// "generic".
func DetectProfile(manufacturer string) *Profile {
	m := strings.ToLower(manufacturer)
	for _, k := range vendorKeywords {
		if strings.Contains(m, k.word) {
			p, _ := LookupProfile(k.name)
			return p
		}
	}
	p, _ := LookupProfile("generic")
	return p
}

// clone copies p deeply, so callers cannot change the built-in table.
func (p Profile) clone() *Profile {
	p.InitCommands = slices.Clone(p.InitCommands)
	p.URCs = slices.Clone(p.URCs)
	p.ResetSigns = slices.Clone(p.ResetSigns)
	p.ICCIDCommands = slices.Clone(p.ICCIDCommands)
	return &p
}
