package modem

import (
	"slices"
	"testing"
	"testing/synctest"
)

func TestDetectProfile(t *testing.T) {
	for cgmi, want := range map[string]string{
		"huawei":                          "huawei",
		"Huawei Technologies Co.":         "huawei",
		"SIMCOM_Ltd":                      "simcom",
		"SIMCOM INCORPORATED":             "simcom",
		"Quectel":                         "quectel",
		"Sierra Wireless, Incorporated":   "sierra",
		"Cinterion":                       "gemalto",
		"Gemalto M2M GmbH":                "gemalto",
		"THALES DIS AIS Deutschland GmbH": "gemalto",
		"SIEMENS":                         "gemalto",
		"ZTE CORPORATION":                 "generic",
		"":                                "generic",
	} {
		if got := DetectProfile(cgmi).Name; got != want {
			t.Errorf("DetectProfile(%q) = %s, want %s", cgmi, got, want)
		}
	}
	p, _ := LookupProfile("quectel")
	p.InitCommands[0] = "changed"
	q, _ := LookupProfile("quectel")
	if q.InitCommands[0] == "changed" {
		t.Error("changing a looked-up profile changed the built-in one")
	}
}

func mustProfile(t *testing.T, name string) *Profile {
	t.Helper()
	p, ok := LookupProfile(name)
	if !ok {
		t.Fatalf("no profile %q", name)
	}
	return p
}

func TestProfile_ResetSigns(t *testing.T) {
	tests := []struct {
		profile string
		line    string
	}{
		{"quectel", "RDY"},
		{"quectel", "+QIND: SMS DONE"},
		{"simcom", "SMS Ready"},
		{"simcom", "Call Ready"},
		{"simcom", "START"},
		{"gemalto", "^SYSSTART"},
		// Before Init knows the vendor, the shared signs still count.
		{"", "RDY"},
		{"", "SMS Ready"},
	}
	for _, tt := range tests {
		t.Run(tt.profile+"/"+tt.line, func(t *testing.T) {
			var cfg Config
			if tt.profile != "" {
				cfg.Profile = mustProfile(t, tt.profile)
			}
			// The sign arrives in the middle of a command's answer.
			f := newFake(t).on("AT+CSQ\r\n", "\r\n+CSQ: 12,99\r\n", "\r\n"+tt.line+"\r\n", "\r\nOK\r\n")
			m := mustModem(t, f, cfg)
			info, err := m.Command(ctxT(t), "AT+CSQ")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(info, []string{"+CSQ: 12,99"}) {
				t.Errorf("info = %q", info)
			}
			if e := mustEvent(t, m); e.Kind != EventReset || e.Line != tt.line {
				t.Errorf("event = %+v", e)
			}
		})
	}
	t.Run("QINDOtherIsNotReset", func(t *testing.T) {
		f := newFake(t)
		m := mustModem(t, f, Config{Profile: mustProfile(t, "quectel")})
		f.inject("\r\n+QIND: PB DONE\r\n")
		if e := mustEvent(t, m); e.Kind != EventUnsolicited {
			t.Errorf("event = %+v", e)
		}
	})
}

func TestProfile_PlainVendorURCs(t *testing.T) {
	tests := []struct {
		profile, line string
	}{
		{"simcom", "UNDER-VOLTAGE WARNNING"},
		{"simcom", "NORMAL POWER DOWN"},
		{"quectel", "POWERED DOWN"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			f := newFake(t).on("AT+CGMM\r\n", "\r\nMODEL\r\n"+tt.line+"\r\n\r\nOK\r\n")
			m := mustModem(t, f, Config{Profile: mustProfile(t, tt.profile)})
			info, err := m.Command(ctxT(t), "AT+CGMM")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(info, []string{"MODEL"}) {
				t.Errorf("info = %q", info)
			}
			if e := mustEvent(t, m); e.Kind != EventUnsolicited || e.Line != tt.line {
				t.Errorf("event = %+v", e)
			}
		})
	}
	t.Run("GenericTakesItAsInfo", func(t *testing.T) {
		f := newFake(t).on("AT+CGMM\r\n", "\r\nMODEL\r\nPOWERED DOWN\r\n\r\nOK\r\n")
		m := mustModem(t, f, Config{Profile: mustProfile(t, "generic")})
		info, _ := m.Command(ctxT(t), "AT+CGMM")
		if !slices.Equal(info, []string{"MODEL", "POWERED DOWN"}) {
			t.Errorf("info = %q", info)
		}
	})
}

func TestProfile_GemaltoCMTLengthFirst(t *testing.T) {
	for _, tt := range []struct {
		profile string
		header  string
		want    int
	}{
		{"gemalto", `+CMT: 24,"Alice"`, 24},
		{"generic", `+CMT: "Alice",24`, 24},
		{"generic", `+CMT: ,24`, 24},
		{"generic", `+CMT: 24`, 24},
		// The generic reading of a Gemalto header finds no number.
		{"generic", `+CMT: 24,"Alice"`, -1},
	} {
		t.Run(tt.profile+"/"+tt.header, func(t *testing.T) {
			f := newFake(t)
			m := mustModem(t, f, Config{Profile: mustProfile(t, tt.profile)})
			f.inject("\r\n" + tt.header + "\r\n" + deliverPDU + "\r\n")
			e := mustEvent(t, m)
			if e.Kind != EventDeliver || e.PDU != deliverPDU || e.Length != tt.want {
				t.Errorf("event = %+v, want length %d", e, tt.want)
			}
		})
	}
}

func TestProfile_HuaweiUSSDPacked(t *testing.T) {
	reply, _ := packUSSD("Your balance is 10.00")
	f := newFake(t).on(`AT+CUSD=1,"AA180C3602",15`+"\r\n", "\r\nOK\r\n\r\n+CUSD: 0,\""+reply+"\",15\r\n")
	m := mustModem(t, f, Config{Profile: mustProfile(t, "huawei")})
	got, err := m.USSD(ctxT(t), "*100#")
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != "Your balance is 10.00" {
		t.Errorf("text = %q", got.Text)
	}
}

func TestProfile_HuaweiICCIDFirst(t *testing.T) {
	f := newFake(t).
		on("AT+CGSN\r\n", "\r\n351234567890123\r\n\r\nOK\r\n").
		on("AT^ICCID?\r\n", "\r\n^ICCID: 98441000030000000010\r\n\r\nOK\r\n")
	m := mustModem(t, f, Config{Profile: mustProfile(t, "huawei")})
	id, err := m.Identity(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if id.ICCID != "89440100300000000001" {
		t.Errorf("iccid = %q", id.ICCID)
	}
	if f.wrote("AT+CCID\r\n") {
		t.Error("AT+CCID tried before the Huawei command")
	}
}

func TestProfile_SierraAndGenericHaveNoInitCommands(t *testing.T) {
	for _, name := range []string{"sierra", "generic"} {
		if p := mustProfile(t, name); len(p.InitCommands) != 0 || p.WakeTwice || p.USSDPackedHex || p.CMTLengthFirst {
			t.Errorf("%s has quirks: %+v", name, p)
		}
	}
}

func TestCNMA(t *testing.T) {
	t.Run("AckedWhenServiceNeedsIt", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFake(t).on("AT+CNMA\r\n", "\r\nOK\r\n")
			m := New(f, Config{})
			defer m.Close()
			m.needAck.Store(true)
			f.inject("\r\n+CMT: ,24\r\n" + deliverPDU + "\r\n")
			if e := mustEvent(t, m); e.Kind != EventDeliver {
				t.Fatalf("event = %+v", e)
			}
			synctest.Wait()
			if !f.wrote("AT+CNMA\r\n") {
				t.Errorf("no +CNMA: %q", f.written())
			}
		})
	})
	t.Run("NotAckedWithService0", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFake(t)
			m := New(f, Config{})
			defer m.Close()
			f.inject("\r\n+CMT: ,24\r\n" + deliverPDU + "\r\n")
			mustEvent(t, m)
			synctest.Wait()
			if len(f.written()) != 0 {
				t.Errorf("writes = %q", f.written())
			}
		})
	})
}
