package modemsim

import (
	"fmt"
	"strings"
)

// Defaults for the identity of generated modems. The PLMN 001/01 is the
// test network of TS 23.003, so generated IMSIs never belong to a real SIM.
const (
	DefaultOperator     = "simgate virtual"
	DefaultShortName    = "simgate"
	DefaultPLMN         = "00101"
	DefaultManufacturer = "simgate"
	DefaultModel        = "SG-1 virtual modem"
	DefaultRevision     = "SG1R01A01"
	DefaultSMSC         = "+15559999999"
	DefaultStorage      = 30
)

// luhn returns digits with its Luhn check digit appended, as IMEIs
// (TS 23.003 §6.2.1 with Annex B) and ICCIDs (ITU-T E.118) carry it.
func luhn(digits string) string {
	sum := 0
	double := true // the check digit will be the rightmost, so the last payload digit doubles
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return digits + string(rune('0'+(10-sum%10)%10))
}

// luhnValid reports whether s ends in the right Luhn check digit.
func luhnValid(s string) bool {
	if len(s) < 2 || strings.Trim(s, "0123456789") != "" {
		return false
	}
	return luhn(s[:len(s)-1]) == s
}

// fillDefaults completes cfg for the i-th modem (1-based) of a network.
func fillDefaults(cfg Config, i int) Config {
	if cfg.Number == "" {
		cfg.Number = defaultNumber(i)
	}
	if cfg.IMEI == "" {
		// TAC 35000000 is not allocated to a real device family.
		cfg.IMEI = luhn(fmt.Sprintf("350000%08d", i))
	}
	if cfg.IMSI == "" {
		cfg.IMSI = fmt.Sprintf("%s%010d", DefaultPLMN, i)
	}
	if cfg.ICCID == "" {
		cfg.ICCID = luhn(fmt.Sprintf("8900101%011d", i))
	}
	if cfg.Operator == "" {
		cfg.Operator = DefaultOperator
	}
	if cfg.Manufacturer == "" {
		cfg.Manufacturer = DefaultManufacturer
	}
	if cfg.Model == "" {
		cfg.Model = DefaultModel
	}
	if cfg.Revision == "" {
		cfg.Revision = DefaultRevision
	}
	if cfg.PUK == "" {
		cfg.PUK = "12345678"
	}
	if cfg.Storage <= 0 {
		cfg.Storage = DefaultStorage
	}
	return cfg
}

// defaultNumber is the i-th generated SIM number, in the NANP range
// 202-555-0100…0199 reserved for fiction: real libraries (libphonenumber)
// accept it as valid, and it reaches nobody.
func defaultNumber(i int) string { return fmt.Sprintf("+1202555%04d", 100+i%100) }
