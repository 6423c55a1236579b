package modem

import (
	"errors"
	"slices"
	"testing"
)

func TestParseCSQ(t *testing.T) {
	tests := []struct {
		arg   string
		dbm   int
		bars  int
		known bool
		ber   int
	}{
		{"0,0", -113, 0, true, 0},
		{"1,99", -111, 0, true, 99},
		{"2,99", -109, 1, true, 99},
		{"9,99", -95, 1, true, 99},
		{"10,99", -93, 2, true, 99},
		{"14,0", -85, 2, true, 0},
		{"15,99", -83, 3, true, 99},
		{"19,99", -75, 3, true, 99},
		{"20,99", -73, 4, true, 99},
		{"30,99", -53, 4, true, 99},
		{"31,99", -51, 4, true, 99},
		{"99,99", 0, 0, false, 99},
		{" 17 , 3 ", -79, 3, true, 3},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			s, ok := parseCSQ(tt.arg)
			if !ok {
				t.Fatal("not parsed")
			}
			if s.DBM != tt.dbm || s.Bars != tt.bars || s.Known != tt.known || s.BER != tt.ber {
				t.Errorf("got %+v, want dbm %d bars %d known %v ber %d", s, tt.dbm, tt.bars, tt.known, tt.ber)
			}
		})
	}
	for _, bad := range []string{"", "x,1", ","} {
		if _, ok := parseCSQ(bad); ok {
			t.Errorf("parseCSQ(%q) accepted", bad)
		}
	}
}

func TestSignal(t *testing.T) {
	f := newFake(t).on("AT+CSQ\r\n", "\r\n+CSQ: 21,99\r\n\r\nOK\r\n")
	m := mustModem(t, f, Config{})
	s, err := m.Signal(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Signal{CSQ: 21, BER: 99, DBM: -71, Bars: 4, Known: true}); s != want {
		t.Errorf("got %+v, want %+v", s, want)
	}
}

func TestParseRegLine(t *testing.T) {
	tests := []struct {
		name  string
		arg   string
		query bool
		want  regLine
	}{
		{"QueryShort", "0,1", true, regLine{stat: 1, state: RegRegistered, act: -1}},
		{"QueryLAC", `2,5,"00C3","0000A1B2"`, true, regLine{stat: 5, state: RegRoaming, lac: "00C3", ci: "0000A1B2", act: -1}},
		{"QueryLACAcT", `2,1,"00C3","0000A1B2",7`, true, regLine{stat: 1, state: RegRegistered, lac: "00C3", ci: "0000A1B2", act: 7}},
		{"QueryCGREGWithRAC", `2,1,"1A2B","01C3D4E5",7,"01"`, true, regLine{stat: 1, state: RegRegistered, lac: "1A2B", ci: "01C3D4E5", act: 7}},
		{"QueryCEREGEmptyTAC", `2,2,,,7`, true, regLine{stat: 2, state: RegSearching, act: 7}},
		{"QueryCEREGSMSOnlyHome", `2,6,"1A2B","01C3D4E5",7`, true, regLine{stat: 6, state: RegRegistered, lac: "1A2B", ci: "01C3D4E5", act: 7}},
		{"QueryCEREGSMSOnlyRoaming", `0,7`, true, regLine{stat: 7, state: RegRoaming, act: -1}},
		{"QueryDenied", `0,3`, true, regLine{stat: 3, state: RegDenied, act: -1}},
		{"QueryEmergencyOnly", `0,8`, true, regLine{stat: 8, state: RegNotRegistered, act: -1}},
		{"QueryUnknown", `0,4`, true, regLine{stat: 4, state: RegUnknown, act: -1}},
		{"QueryIdle", `0,0`, true, regLine{stat: 0, state: RegNotRegistered, act: -1}},
		{"URCStat", `5`, false, regLine{stat: 5, state: RegRoaming, act: -1}},
		{"URCLAC", `1,"00C3","0000A1B2"`, false, regLine{stat: 1, state: RegRegistered, lac: "00C3", ci: "0000A1B2", act: -1}},
		{"URCLACAcT", `1,"00C3","0000A1B2",2`, false, regLine{stat: 1, state: RegRegistered, lac: "00C3", ci: "0000A1B2", act: 2}},
		// A URC-shaped answer to a query: the quoted LAC says where <stat> is.
		{"QueryWithoutN", `1,"00C3","0000A1B2",2`, true, regLine{stat: 1, state: RegRegistered, lac: "00C3", ci: "0000A1B2", act: 2}},
		{"URCUnquotedLAC", `1,00C3,0000A1B2`, false, regLine{stat: 1, state: RegRegistered, lac: "00C3", ci: "0000A1B2", act: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseRegLine(tt.arg, tt.query)
			if !ok {
				t.Fatal("not parsed")
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "x", `"00C3",1`} {
		if r, ok := parseRegLine(bad, false); ok {
			t.Errorf("parseRegLine(%q) = %+v", bad, r)
		}
	}
}

func TestRegistration(t *testing.T) {
	tests := []struct {
		name       string
		creg       string // reply; "" refuses the command
		cgreg      string
		cereg      string
		want       Registration
		registered bool
	}{
		{
			name: "HomeGSM",
			creg: `+CREG: 2,1,"00C3","0000A1B2",0`, cgreg: `+CGREG: 2,1,"00C3","0000A1B2",0`, cereg: `+CEREG: 2,0`,
			want:       Registration{State: RegRegistered, CS: RegRegistered, PS: RegRegistered, LAC: "00C3", CellID: "0000A1B2", AcT: 0},
			registered: true,
		},
		{
			name: "Roaming",
			creg: `+CREG: 0,5`, cgreg: `+CGREG: 0,5`, cereg: `+CEREG: 0,0`,
			want:       Registration{State: RegRoaming, Roaming: true, CS: RegRoaming, PS: RegRoaming, AcT: -1},
			registered: true,
		},
		{
			// LTE-only module: CS idle, SMS over SGs.
			name: "LTESMSOnly",
			creg: `+CREG: 2,0`, cgreg: "", cereg: `+CEREG: 2,6,"1A2B","01C3D4E5",7`,
			want:       Registration{State: RegRegistered, CS: RegNotRegistered, PS: RegRegistered, LAC: "1A2B", CellID: "01C3D4E5", AcT: 7},
			registered: true,
		},
		{
			name: "Searching",
			creg: `+CREG: 0,2`, cgreg: `+CGREG: 0,3`, cereg: "",
			want: Registration{State: RegSearching, CS: RegSearching, PS: RegDenied, AcT: -1},
		},
		{
			name: "Denied",
			creg: `+CREG: 0,3`, cgreg: "", cereg: "",
			want: Registration{State: RegDenied, CS: RegDenied, PS: RegUnknown, AcT: -1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			for cmd, line := range map[string]string{"AT+CREG?\r\n": tt.creg, "AT+CGREG?\r\n": tt.cgreg, "AT+CEREG?\r\n": tt.cereg} {
				if line == "" {
					f.on(cmd, "\r\n+CME ERROR: 4\r\n")
				} else {
					f.on(cmd, "\r\n"+line+"\r\n\r\nOK\r\n")
				}
			}
			m := mustModem(t, f, Config{})
			got, err := m.Registration(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if got.Registered() != tt.registered {
				t.Errorf("Registered() = %v", got.Registered())
			}
		})
	}
	t.Run("AllRefused", func(t *testing.T) {
		f := newFake(t)
		m := mustModem(t, f, Config{})
		if _, err := m.Registration(ctxT(t)); !errors.Is(err, ErrCommandFailed) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestOperator(t *testing.T) {
	tests := []struct {
		reply string
		want  Operator
	}{
		{`+COPS: 0,0,"Vodafone UK",7`, Operator{Name: "Vodafone UK", AcT: 7, Tech: "LTE"}},
		{`+COPS: 0,0,"EE",2`, Operator{Name: "EE", AcT: 2, Tech: "UMTS"}},
		{`+COPS: 1,0,"T-Mobile, US",0`, Operator{Name: "T-Mobile, US", AcT: 0, Tech: "GSM"}},
		{`+COPS: 0,0,"Telia"`, Operator{Name: "Telia", AcT: -1}},
		{`+COPS: 0`, Operator{AcT: -1}},
		{`+COPS: 0,0,"5G Net",11`, Operator{Name: "5G Net", AcT: 11, Tech: "NR"}},
	}
	for _, tt := range tests {
		t.Run(tt.reply, func(t *testing.T) {
			f := newFake(t).on("AT+COPS=3,0\r\n", "\r\nOK\r\n").on("AT+COPS?\r\n", "\r\n"+tt.reply+"\r\n\r\nOK\r\n")
			m := mustModem(t, f, Config{})
			got, err := m.Operator(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if !f.wrote("AT+COPS=3,0\r\n") {
				t.Error("AT+COPS=3,0 not sent")
			}
		})
	}
}

func TestParseICCID(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  string
	}{
		{"CCID", []string{"+CCID: 89441000300000000001"}, "89441000300000000001"},
		{"CCIDQuoted", []string{`+CCID: "89441000300000000001"`}, "89441000300000000001"},
		{"ICCID", []string{"+ICCID: 8944100030000000001F"}, "8944100030000000001"},
		{"QCCID", []string{"+QCCID: 89860318760238593781"}, "89860318760238593781"},
		{"HuaweiSwapped", []string{"^ICCID: 98441000030000000010"}, "89440100300000000001"},
		{"HuaweiSwappedOdd", []string{"^ICCID: 984410000300000010F0"}, "8944010030000000010"},
		{"BareDigits", []string{"89014103211118510720"}, "89014103211118510720"},
		{"BareWithF", []string{"8901410321111851072F"}, "8901410321111851072"},
		{"ICCIDColon", []string{"ICCID: 89014103211118510720"}, "89014103211118510720"},
		{"SkipsNoise", []string{"", "SIMCOM_Ltd", "+ICCID: 89014103211118510720"}, "89014103211118510720"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseICCID(tt.lines)
			if !ok || got != tt.want {
				t.Errorf("got %q %v, want %q", got, ok, tt.want)
			}
		})
	}
	for _, bad := range [][]string{nil, {"ERROR"}, {"+CCID: 1234"}, {"+CCID: 8944ABCD00300000000001"}} {
		if got, ok := parseICCID(bad); ok {
			t.Errorf("parseICCID(%q) = %q", bad, got)
		}
	}
}

func TestIdentity(t *testing.T) {
	f := newFake(t).
		on("AT+CGMI\r\n", "\r\nQuectel\r\n\r\nOK\r\n").
		on("AT+CGMM\r\n", "\r\nEC25\r\n\r\nOK\r\n").
		on("AT+CGMR\r\n", "\r\nRevision: EC25EFAR06A06M4G\r\n\r\nOK\r\n").
		on("AT+CIMI\r\n", "\r\n234150000000001\r\n\r\nOK\r\n").
		on("AT+CGSN\r\n", "\r\n866758040000001\r\n\r\nOK\r\n").
		on("AT+QCCID\r\n", "\r\n+QCCID: 89441000300000000001F\r\n\r\nOK\r\n").
		on("AT+CNUM\r\n", "\r\n+CNUM: \"Own, number\",\"15550000001\",145\r\n\r\nOK\r\n")
	p, _ := LookupProfile("quectel")
	m := mustModem(t, f, Config{Profile: p})
	id, err := m.Identity(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	want := Identity{
		Manufacturer: "Quectel", Model: "EC25", Revision: "EC25EFAR06A06M4G",
		IMEI: "866758040000001", IMSI: "234150000000001", ICCID: "89441000300000000001", Number: "+15550000001",
	}
	if id != want {
		t.Errorf("got %+v\nwant %+v", id, want)
	}
	if f.wrote("AT+CCID\r\n") {
		t.Error("generic AT+CCID tried although the Quectel command answered")
	}
}

func TestIdentity_Fallbacks(t *testing.T) {
	// No profile: AT+CCID is refused, +ICCID answers; CGSN has a prefix;
	// CNUM is empty; CIMI refused (SIM locked).
	f := newFake(t).
		on("AT+CGMI\r\n", "\r\n+CGMI: SIMCOM INCORPORATED\r\n\r\nOK\r\n").
		on("AT+CGMM\r\n", "\r\n+CGMM: SIMCOM_SIM7600E-H\r\n\r\nOK\r\n").
		on("AT+CGMR\r\n", "\r\n+CGMR: LE20B04SIM7600M22\r\n\r\nOK\r\n").
		on("AT+CIMI\r\n", "\r\n+CME ERROR: 11\r\n").
		on("AT+CGSN\r\n", "\r\n+CGSN: 862636050000001\r\n\r\nOK\r\n").
		on("AT+ICCID\r\n", "\r\n+ICCID: 89860318760238593781\r\n\r\nOK\r\n").
		on("AT+CNUM\r\n", "\r\nOK\r\n")
	m := mustModem(t, f, Config{})
	id, err := m.Identity(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	want := Identity{
		Manufacturer: "SIMCOM INCORPORATED", Model: "SIMCOM_SIM7600E-H", Revision: "LE20B04SIM7600M22",
		IMEI: "862636050000001", ICCID: "89860318760238593781",
	}
	if id != want {
		t.Errorf("got %+v\nwant %+v", id, want)
	}
}

func TestIdentity_NoIMEI(t *testing.T) {
	m := mustModem(t, newFake(t), Config{})
	if _, err := m.Identity(ctxT(t)); !errors.Is(err, ErrCommandFailed) {
		t.Fatalf("err = %v", err)
	}
}

func TestSMSC(t *testing.T) {
	tests := []struct {
		reply, want string
	}{
		{`+CSCA: "+447802000332",145`, "+447802000332"},
		{`+CSCA: "447802000332",145`, "+447802000332"},
		{`+CSCA: "0800123",129`, "0800123"},
		{`+CSCA: "002B00340034",145`, "+44"},
		{`+CSCA: "",128`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.reply, func(t *testing.T) {
			f := newFake(t).on("AT+CSCA?\r\n", "\r\n"+tt.reply+"\r\n\r\nOK\r\n")
			m := mustModem(t, f, Config{})
			got, err := m.SMSC(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSetSMSC(t *testing.T) {
	f := newFake(t).on("AT+CSCA=\"+447802000332\",145\r\n", "\r\nOK\r\n").on("AT+CSCA=\"0800123\",129\r\n", "\r\nOK\r\n")
	m := mustModem(t, f, Config{})
	if err := m.SetSMSC(ctxT(t), "+447802000332"); err != nil {
		t.Fatal(err)
	}
	if err := m.SetSMSC(ctxT(t), "0800123"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "+", "12a", `1",1`} {
		if err := m.SetSMSC(ctxT(t), bad); err == nil {
			t.Errorf("SetSMSC(%q) accepted", bad)
		}
	}
}

const (
	deliverPDU = "07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07"
	srPDU      = "0006D60B911326880736F4111011719551401110117195714000"
)

func TestListMessages(t *testing.T) {
	f := newFake(t).
		on("AT+CPMS?\r\n", "\r\n+CPMS: \"ME\",2,23,\"ME\",2,23,\"ME\",2,23\r\n\r\nOK\r\n").
		on("AT+CMGL=4\r\n", "\r\n+CMGL: 0,1,,24\r\n"+deliverPDU+"\r\n+CMGL: 3,0,\"Alice, B\",24\r\n"+deliverPDU+"\r\n+CMGL: 5,1,,25\r\n"+srPDU+"\r\n\r\nOK\r\n")
	m := mustModem(t, f, Config{})
	// The storage name comes from Init; set it as Init would.
	m.mem = "ME"
	got, err := m.ListMessages(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	want := []StoredMessage{
		{Index: 0, Stat: 1, Mem: "ME", PDU: deliverPDU},
		{Index: 3, Stat: 0, Mem: "ME", PDU: deliverPDU},
		{Index: 5, Stat: 1, Mem: "ME", PDU: srPDU},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestListMessages_Empty(t *testing.T) {
	f := newFake(t).on("AT+CMGL=4\r\n", "\r\nOK\r\n")
	m := mustModem(t, f, Config{})
	got, err := m.ListMessages(ctxT(t))
	if err != nil || len(got) != 0 {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestReadMessage(t *testing.T) {
	tests := []struct {
		name    string
		reply   string
		want    StoredMessage
		wantErr error
	}{
		{"OK", "\r\n+CMGR: 0,,24\r\n" + deliverPDU + "\r\n\r\nOK\r\n", StoredMessage{Index: 2, Stat: 0, PDU: deliverPDU}, nil},
		{"Alpha", "\r\n+CMGR: 1,\"Bob\",24\r\n" + deliverPDU + "\r\n\r\nOK\r\n", StoredMessage{Index: 2, Stat: 1, PDU: deliverPDU}, nil},
		{"EmptyOK", "\r\nOK\r\n", StoredMessage{}, ErrNoMessage},
		{"EmptyHeader", "\r\n+CMGR: 0,,0\r\n\r\nOK\r\n", StoredMessage{}, ErrNoMessage},
		{"CMS321", "\r\n+CMS ERROR: 321\r\n", StoredMessage{}, ErrNoMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t).on("AT+CMGR=2\r\n", tt.reply)
			m := mustModem(t, f, Config{})
			got, err := m.ReadMessage(ctxT(t), 2)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDeleteMessage(t *testing.T) {
	f := newFake(t).on("AT+CMGD=7\r\n", "\r\nOK\r\n")
	m := mustModem(t, f, Config{})
	if err := m.DeleteMessage(ctxT(t), 7); err != nil {
		t.Fatal(err)
	}
	if err := m.DeleteMessage(ctxT(t), 8); !errors.Is(err, ErrCommandFailed) {
		t.Fatalf("err = %v", err)
	}
}

func TestReadStatusReport(t *testing.T) {
	t.Run("SwitchAndRestore", func(t *testing.T) {
		f := newFake(t).
			on("AT+CPMS?\r\n", "\r\n+CPMS: \"SM\",1,30,\"SM\",1,30,\"SM\",1,30\r\n\r\nOK\r\n").
			on("AT+CPMS=\"SR\"\r\n", "\r\n+CPMS: 1,20,1,30,1,30\r\n\r\nOK\r\n").
			on("AT+CMGR=3\r\n", "\r\n+CMGR: 0,,25\r\n"+srPDU+"\r\n\r\nOK\r\n").
			on("AT+CPMS=\"SM\"\r\n", "\r\n+CPMS: 1,30,1,30,1,30\r\n\r\nOK\r\n")
		m := mustModem(t, f, Config{})
		got, err := m.ReadStatusReport(ctxT(t), "SR", 3)
		if err != nil {
			t.Fatal(err)
		}
		if want := (StoredMessage{Index: 3, Stat: 0, Mem: "SR", PDU: srPDU}); got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
		// Read, not deleted: that waits until the report is committed.
		want := []string{"AT+CPMS?\r\n", "AT+CPMS=\"SR\"\r\n", "AT+CMGR=3\r\n", "AT+CPMS=\"SM\"\r\n"}
		if got := f.written(); !slices.Equal(got, want) {
			t.Errorf("writes = %q\nwant %q", got, want)
		}
	})
	t.Run("RestoreAfterReadError", func(t *testing.T) {
		f := newFake(t).
			on("AT+CPMS?\r\n", "\r\n+CPMS: \"ME\",1,30,\"ME\",1,30,\"ME\",1,30\r\n\r\nOK\r\n").
			on("AT+CPMS=\"SR\"\r\n", "\r\n+CPMS: 1,20,1,30,1,30\r\n\r\nOK\r\n").
			on("AT+CMGR=3\r\n", "\r\n+CMS ERROR: 321\r\n").
			on("AT+CPMS=\"ME\"\r\n", "\r\nOK\r\n")
		m := mustModem(t, f, Config{})
		if _, err := m.ReadStatusReport(ctxT(t), "SR", 3); !errors.Is(err, ErrNoMessage) {
			t.Fatalf("err = %v", err)
		}
		if !f.wrote("AT+CPMS=\"ME\"\r\n") {
			t.Errorf("storage not restored: %q", f.written())
		}
		if f.wrote("AT+CMGD=3\r\n") {
			t.Error("deleted after a failed read")
		}
	})
	t.Run("SameStorageNoSwitch", func(t *testing.T) {
		f := newFake(t).
			on("AT+CPMS?\r\n", "\r\n+CPMS: \"SM\",1,30,\"SM\",1,30,\"SM\",1,30\r\n\r\nOK\r\n").
			on("AT+CMGR=4\r\n", "\r\n+CMGR: 0,,25\r\n"+srPDU+"\r\n\r\nOK\r\n")
		m := mustModem(t, f, Config{})
		if _, err := m.ReadStatusReport(ctxT(t), "SM", 4); err != nil {
			t.Fatal(err)
		}
		want := []string{"AT+CPMS?\r\n", "AT+CMGR=4\r\n"}
		if got := f.written(); !slices.Equal(got, want) {
			t.Errorf("writes = %q", got)
		}
	})
}

func TestDeleteStatusReport(t *testing.T) {
	f := newFake(t).
		on("AT+CPMS?\r\n", "\r\n+CPMS: \"SM\",1,30,\"SM\",1,30,\"SM\",1,30\r\n\r\nOK\r\n").
		on("AT+CPMS=\"SR\"\r\n", "\r\n+CPMS: 1,20,1,30,1,30\r\n\r\nOK\r\n").
		on("AT+CMGD=3\r\n", "\r\nOK\r\n").
		on("AT+CPMS=\"SM\"\r\n", "\r\n+CPMS: 1,30,1,30,1,30\r\n\r\nOK\r\n")
	m := mustModem(t, f, Config{})
	if err := m.DeleteStatusReport(ctxT(t), "SR", 3); err != nil {
		t.Fatal(err)
	}
	want := []string{"AT+CPMS?\r\n", "AT+CPMS=\"SR\"\r\n", "AT+CMGD=3\r\n", "AT+CPMS=\"SM\"\r\n"}
	if got := f.written(); !slices.Equal(got, want) {
		t.Errorf("writes = %q\nwant %q", got, want)
	}
}

func TestListStatusReports(t *testing.T) {
	const cpmsSM = "\r\n+CPMS: \"SM\",1,30,\"SM\",1,30,\"SM\",1,30\r\n\r\nOK\r\n"
	tests := []struct {
		name   string
		script func(f *fakeModem)
		want   []StoredMessage
		writes []string
	}{
		{
			name: "SwitchListRestore",
			script: func(f *fakeModem) {
				f.on("AT+CPMS?\r\n", cpmsSM).
					on("AT+CPMS=\"SR\"\r\n", "\r\n+CPMS: 2,20,1,30,1,30\r\n\r\nOK\r\n").
					on("AT+CMGL=4\r\n", "\r\n+CMGL: 1,0,,25\r\n"+srPDU+"\r\n+CMGL: 4,1,,25\r\n"+srPDU+"\r\n\r\nOK\r\n").
					on("AT+CPMS=\"SM\"\r\n", "\r\n+CPMS: 1,30,1,30,1,30\r\n\r\nOK\r\n")
			},
			want:   []StoredMessage{{Index: 1, Stat: 0, Mem: "SR", PDU: srPDU}, {Index: 4, Stat: 1, Mem: "SR", PDU: srPDU}},
			writes: []string{"AT+CPMS?\r\n", "AT+CPMS=\"SR\"\r\n", "AT+CMGL=4\r\n", "AT+CPMS=\"SM\"\r\n"},
		},
		{
			name: "Empty",
			script: func(f *fakeModem) {
				f.on("AT+CPMS?\r\n", cpmsSM).
					on("AT+CPMS=\"SR\"\r\n", "\r\n+CPMS: 0,20,1,30,1,30\r\n\r\nOK\r\n").
					on("AT+CMGL=4\r\n", "\r\nOK\r\n").
					on("AT+CPMS=\"SM\"\r\n", "\r\nOK\r\n")
			},
			writes: []string{"AT+CPMS?\r\n", "AT+CPMS=\"SR\"\r\n", "AT+CMGL=4\r\n", "AT+CPMS=\"SM\"\r\n"},
		},
		{
			// No SR storage: nothing to list, nothing to restore.
			name: "SRRefusedCMS",
			script: func(f *fakeModem) {
				f.on("AT+CPMS?\r\n", cpmsSM).on("AT+CPMS=\"SR\"\r\n", "\r\n+CMS ERROR: 302\r\n")
			},
			writes: []string{"AT+CPMS?\r\n", "AT+CPMS=\"SR\"\r\n"},
		},
		{
			name:   "SRRefusedPlain",
			script: func(f *fakeModem) { f.on("AT+CPMS?\r\n", cpmsSM) },
			writes: []string{"AT+CPMS?\r\n", "AT+CPMS=\"SR\"\r\n"},
		},
		{
			name: "ListRefusedStillRestores",
			script: func(f *fakeModem) {
				f.on("AT+CPMS?\r\n", cpmsSM).
					on("AT+CPMS=\"SR\"\r\n", "\r\nOK\r\n").
					on("AT+CMGL=4\r\n", "\r\n+CMS ERROR: 500\r\n").
					on("AT+CPMS=\"SM\"\r\n", "\r\nOK\r\n")
			},
			writes: []string{"AT+CPMS?\r\n", "AT+CPMS=\"SR\"\r\n", "AT+CMGL=4\r\n", "AT+CPMS=\"SM\"\r\n"},
		},
		{
			// ListMessages lists the read storage, SR or not.
			name: "ReadStorageIsSR",
			script: func(f *fakeModem) {
				f.on("AT+CPMS?\r\n", "\r\n+CPMS: \"SR\",1,20,\"SM\",1,30,\"SM\",1,30\r\n\r\nOK\r\n")
			},
			writes: []string{"AT+CPMS?\r\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			tt.script(f)
			m := mustModem(t, f, Config{})
			got, err := m.ListStatusReports(ctxT(t))
			if err != nil {
				t.Fatalf("ListStatusReports: %v", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
			if w := f.written(); !slices.Equal(w, tt.writes) {
				t.Errorf("writes = %q\nwant %q", w, tt.writes)
			}
		})
	}
	t.Run("Closed", func(t *testing.T) {
		m := mustModem(t, newFake(t), Config{})
		m.Close()
		if _, err := m.ListStatusReports(ctxT(t)); !errors.Is(err, ErrClosed) {
			t.Fatalf("err = %v, want ErrClosed", err)
		}
	})
}

func TestSplitFields(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"1", []string{"1"}},
		{` 1 , "a,b" ,,3`, []string{"1", `"a,b"`, "", "3"}},
		{`"unterminated,x`, []string{`"unterminated,x`}},
	}
	for _, tt := range tests {
		if got := splitFields(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("splitFields(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCMSClass(t *testing.T) {
	tests := []struct {
		code      int
		class     ErrorClass
		retryable bool
	}{
		{1, ClassPermanent, false}, {8, ClassPermanent, false}, {10, ClassPermanent, false},
		{21, ClassPermanent, false}, {28, ClassPermanent, false}, {29, ClassPermanent, false},
		{30, ClassPermanent, false}, {50, ClassPermanent, false}, {69, ClassPermanent, false},
		{0xC3, ClassPermanent, false}, {0xC4, ClassPermanent, false},
		{95, ClassBadPDU, false}, {99, ClassBadPDU, false}, {111, ClassBadPDU, false},
		{0x80, ClassBadPDU, false}, {0x82, ClassBadPDU, false}, {0x8F, ClassBadPDU, false},
		{0x91, ClassBadPDU, false}, {0x9F, ClassBadPDU, false}, {0xB0, ClassBadPDU, false},
		{0xC6, ClassBadPDU, false}, {304, ClassBadPDU, false}, {305, ClassBadPDU, false},
		{27, ClassTransient, true}, {38, ClassTransient, true}, {41, ClassTransient, true},
		{42, ClassTransient, true}, {47, ClassTransient, true}, {0xC0, ClassTransient, true},
		{0xC2, ClassTransient, true}, {331, ClassTransient, true}, {332, ClassTransient, true},
		{300, ClassModemState, true}, {302, ClassModemState, true}, {310, ClassModemState, true},
		{313, ClassModemState, true}, {314, ClassModemState, true}, {318, ClassModemState, true},
		{320, ClassModemState, true}, {330, ClassModemState, true}, {500, ClassModemState, true},
		{512, ClassVendor, true}, {515, ClassVendor, true},
		{0, ClassUnknown, false}, {321, ClassUnknown, false}, {340, ClassUnknown, false}, {-1, ClassUnknown, false},
	}
	for _, tt := range tests {
		e := CMSError{Code: tt.code}
		if e.Class() != tt.class || e.Retryable() != tt.retryable {
			t.Errorf("CMS %d: class %s retryable %v, want %s %v", tt.code, e.Class(), e.Retryable(), tt.class, tt.retryable)
		}
	}
}

func TestErrorIs(t *testing.T) {
	tests := []struct {
		err    error
		target error
		want   bool
	}{
		{CMEError{Code: 10}, ErrNoSIM, true},
		{CMSError{Code: 310}, ErrNoSIM, true},
		{CMEError{Code: 11}, ErrPINRequired, true},
		{CMSError{Code: 311}, ErrPINRequired, true},
		{CMEError{Code: 12}, ErrPUKRequired, true},
		{CMSError{Code: 321}, ErrNoMessage, true},
		{CMEError{Code: 10, Text: "SIM not inserted"}, CMEError{Code: 10}, true},
		{CMEError{Code: 10}, CMSError{Code: 10}, false},
		{CMSError{Code: 38}, CMSError{Code: 41}, false},
		{CMEError{Code: 3}, ErrNoSIM, false},
		{CMSError{Code: 500}, ErrCommandFailed, false},
	}
	for _, tt := range tests {
		if got := errors.Is(tt.err, tt.target); got != tt.want {
			t.Errorf("errors.Is(%v, %v) = %v", tt.err, tt.target, got)
		}
	}
	if s := (CMSError{Code: 38, Text: "Network out of order"}).Error(); s != "+CMS ERROR: 38 (Network out of order)" {
		t.Errorf("Error() = %q", s)
	}
	if s := (CMEError{Code: -1, Text: "odd"}).Error(); s != "+CME ERROR: odd" {
		t.Errorf("Error() = %q", s)
	}
}
