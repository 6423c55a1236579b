package modem

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// Init sleeps a little after ESC; synctest makes that instant.

func TestInit_Transcripts(t *testing.T) {
	simcom, _ := LookupProfile("simcom")
	tests := []struct {
		file    string
		cfg     Config
		profile string
		mem     string
		needAck bool
		events  func(t *testing.T, m *Modem)
	}{
		{
			file: "generic.txt", profile: "generic", mem: "SM",
			events: func(t *testing.T, m *Modem) {
				e := mustEvent(t, m)
				if e.Kind != EventRegistration || e.Registration.CS != RegRegistered || e.Registration.LAC != "00C3" {
					t.Errorf("event = %+v", e)
				}
			},
		},
		{
			file: "quectel.txt", cfg: Config{PIN: "1234"}, profile: "quectel", mem: "ME",
			events: func(t *testing.T, m *Modem) {
				if e := mustEvent(t, m); e.Line != "+QIND: PB DONE" || e.Kind != EventUnsolicited {
					t.Errorf("event = %+v", e)
				}
			},
		},
		{
			file: "huawei.txt", profile: "huawei", mem: "SM",
			events: func(t *testing.T, m *Modem) {
				// Signal lines coalesce: ^RSSI:14 may be replaced by ^RSSI:15
				// when the pump has not taken it yet.
				seen := map[string]bool{}
				for !seen["^MODE:5,4"] || !seen["^RSSI:15"] {
					e := mustEvent(t, m)
					if !slices.Contains([]string{"^RSSI:14", "^MODE:5,4", "^RSSI:15"}, e.Line) || seen[e.Line] {
						t.Fatalf("event = %+v", e)
					}
					seen[e.Line] = true
				}
			},
		},
		{file: "simcom.txt", cfg: Config{Profile: simcom}, profile: "simcom", mem: "SM", needAck: true},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".txt"), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFake(t)
				f.loadTranscript(filepath.Join("testdata", "init", tt.file))
				m := New(f, tt.cfg)
				defer m.Close()
				start := time.Now()
				if err := m.Init(t.Context()); err != nil {
					t.Fatal(err)
				}
				// Fake time: only the settle pauses pass, no command timed out.
				if d := time.Since(start); d >= syncTimeout {
					t.Errorf("init took %v: a command waited for its timeout", d)
				}
				if !f.transcriptDone() {
					t.Error("transcript not played to the end")
				}
				if p := m.Profile(); p == nil || p.Name != tt.profile {
					t.Errorf("profile = %+v, want %s", p, tt.profile)
				}
				if m.mem != tt.mem {
					t.Errorf("mem = %q, want %q", m.mem, tt.mem)
				}
				if m.needAck.Load() != tt.needAck {
					t.Errorf("needAck = %v", m.needAck.Load())
				}
				if tt.events != nil {
					tt.events(t, m)
				}
			})
		})
	}
}

// initFake answers everything Init sends with OK, except what the test
// scripts otherwise.
func initFake(t *testing.T) *fakeModem {
	f := newFake(t)
	for _, c := range []string{"AT", "ATE0", "AT+CMEE=1", "AT+CMGF=0", `AT+CSCS="GSM"`, "AT+CSMS=0", "AT+CREG=2", "AT+CGREG=2", "AT+CEREG=2"} {
		f.on(c+"\r\n", "\r\nOK\r\n")
	}
	f.on("AT+CGMI\r\n", "\r\nGeneric\r\n\r\nOK\r\n")
	return f
}

func TestInit_CNMIFallbacks(t *testing.T) {
	for accepted := 0; accepted <= len(cnmiFallbacks); accepted++ {
		t.Run(fmt.Sprint(accepted), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := initFake(t)
				f.on("AT+CPIN?\r\n", "\r\n+CPIN: READY\r\n\r\nOK\r\n")
				for i, c := range cnmiFallbacks {
					if i < accepted {
						f.on(c+"\r\n", "\r\n+CMS ERROR: 303\r\n")
					} else {
						f.on(c+"\r\n", "\r\nOK\r\n")
					}
				}
				m := New(f, Config{})
				defer m.Close()
				if err := m.Init(t.Context()); err != nil {
					t.Fatal(err)
				}
				var tried []string
				for _, w := range f.written() {
					if strings.HasPrefix(w, "AT+CNMI=") {
						tried = append(tried, strings.TrimSpace(w))
					}
				}
				want := cnmiFallbacks[:min(accepted+1, len(cnmiFallbacks))]
				if !slices.Equal(tried, want) {
					t.Errorf("tried %q, want %q", tried, want)
				}
			})
		})
	}
}

func TestInit_SIM(t *testing.T) {
	tests := []struct {
		name    string
		pin     string
		replies [][]string // successive answers to AT+CPIN?
		pinOK   string     // answer to AT+CPIN="<pin>"
		wantErr error
		check   func(t *testing.T, f *fakeModem, err error)
	}{
		{name: "Ready", replies: [][]string{{"\r\n+CPIN: READY\r\n\r\nOK\r\n"}}},
		{name: "PINRequiredNoPIN", replies: [][]string{{"\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n"}}, wantErr: ErrPINRequired},
		{
			name: "PINEntered", pin: "4321", pinOK: "\r\nOK\r\n",
			replies: [][]string{{"\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n"}, {"\r\n+CME ERROR: 14\r\n"}, {"\r\n+CPIN: READY\r\n\r\nOK\r\n"}},
			check: func(t *testing.T, f *fakeModem, err error) {
				if n := strings.Count(strings.Join(f.written(), "|"), `AT+CPIN="4321"`); n != 1 {
					t.Errorf("PIN sent %d times", n)
				}
			},
		},
		{
			name: "PINRejected", pin: "4321", pinOK: "\r\n+CME ERROR: 16\r\n",
			replies: [][]string{{"\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n"}},
			wantErr: ErrPINRequired,
			check: func(t *testing.T, f *fakeModem, err error) {
				if !errors.Is(err, CMEError{Code: 16}) {
					t.Errorf("err = %v, want CME 16 inside", err)
				}
				if strings.Contains(err.Error(), "4321") {
					t.Errorf("PIN in error text: %v", err)
				}
			},
		},
		{
			name: "PINNeverAcceptedIsNotRetried", pin: "4321", pinOK: "\r\nOK\r\n",
			replies: [][]string{{"\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n"}},
			wantErr: ErrPINRequired,
			check: func(t *testing.T, f *fakeModem, err error) {
				if n := strings.Count(strings.Join(f.written(), "|"), `AT+CPIN="4321"`); n != 1 {
					t.Errorf("PIN sent %d times", n)
				}
			},
		},
		{name: "PUK", replies: [][]string{{"\r\n+CPIN: SIM PUK\r\n\r\nOK\r\n"}}, wantErr: ErrPUKRequired},
		{name: "NoSIM", replies: [][]string{{"\r\n+CME ERROR: 10\r\n"}}, wantErr: ErrNoSIM},
		{name: "NoSIMVerbose", replies: [][]string{{"\r\n+CME ERROR: SIM not inserted\r\n"}}, wantErr: ErrNoSIM},
		{
			name:    "BusyThenReady",
			replies: [][]string{{"\r\n+CME ERROR: 14\r\n"}, {"\r\n+CME ERROR: SIM busy\r\n"}, {"\r\n+CPIN: READY\r\n\r\nOK\r\n"}},
		},
		{name: "BusyForever", replies: [][]string{{"\r\n+CME ERROR: 14\r\n"}}, wantErr: CMEError{Code: 14}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := initFake(t)
				for _, r := range tt.replies {
					f.on("AT+CPIN?\r\n", r...)
				}
				if tt.pinOK != "" {
					f.on(fmt.Sprintf("AT+CPIN=\"%s\"\r\n", tt.pin), tt.pinOK)
				}
				f.on("AT+CNMI=2,1,0,2,0\r\n", "\r\nOK\r\n")
				m := New(f, Config{PIN: tt.pin})
				defer m.Close()
				err := m.Init(t.Context())
				if tt.wantErr == nil && err != nil {
					t.Fatal(err)
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if tt.wantErr != nil && f.wrote("AT+CMGF=0\r\n") {
					t.Error("init went on after a SIM error")
				}
				if tt.check != nil {
					tt.check(t, f, err)
				}
			})
		})
	}
}

func TestInit_NoAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(t) // stays silent for every sync marker
		for marker := range markerAnswers {
			f.on(marker, "")
		}
		m := New(f, Config{})
		defer m.Close()
		err := m.Init(t.Context())
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("err = %v, want ErrTimeout", err)
		}
		n := 0
		for _, w := range f.written() {
			if _, ok := markerAnswers[w]; ok {
				n++
			}
		}
		if n != syncTries {
			t.Errorf("%d sync markers sent, want %d: %q", n, syncTries, f.written())
		}
	})
}

// A read storage left at SR (a process killed inside ReadStatusReport) goes
// back to the receive storage, else ME, else SM: reading what +CMTI
// announces must work again.
func TestInit_ReadStorageLeftAtSR(t *testing.T) {
	const (
		srME = `+CPMS: "SR",1,20,"SM",0,30,"ME",2,23`
		srSR = `+CPMS: "SR",1,20,"SR",1,20,"SR",1,20`
	)
	tests := []struct {
		name    string
		cpms    string
		refused []string // AT+CPMS set commands answered with +CMS ERROR: 302
		want    []string // every AT+CPMS command Init writes
		mem     string
	}{
		{"NotSR", `+CPMS: "SM",1,30,"SM",1,30,"SM",1,30`, nil, []string{`AT+CPMS?`}, "SM"},
		{"BackToMem3", srME, nil, []string{`AT+CPMS?`, `AT+CPMS="ME"`}, "ME"},
		{"Mem3Refused", `+CPMS: "SR",1,20,"SM",0,30,"SM",0,30`, []string{`AT+CPMS="SM"`},
			[]string{`AT+CPMS?`, `AT+CPMS="SM"`, `AT+CPMS="ME"`}, "ME"},
		{"Mem3IsSR", srSR, []string{`AT+CPMS="ME"`}, []string{`AT+CPMS?`, `AT+CPMS="ME"`, `AT+CPMS="SM"`}, "SM"},
		{"NoneAccepted", srSR, []string{`AT+CPMS="ME"`, `AT+CPMS="SM"`},
			[]string{`AT+CPMS?`, `AT+CPMS="ME"`, `AT+CPMS="SM"`}, "SR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := initFake(t)
				f.on("AT+CPIN?\r\n", "\r\n+CPIN: READY\r\n\r\nOK\r\n")
				f.on("AT+CNMI=2,1,0,2,0\r\n", "\r\nOK\r\n")
				f.on("AT+CPMS?\r\n", "\r\n"+tt.cpms+"\r\n\r\nOK\r\n")
				for _, mem := range []string{"SM", "ME"} {
					c := `AT+CPMS="` + mem + `"`
					if slices.Contains(tt.refused, c) {
						f.on(c+"\r\n", "\r\n+CMS ERROR: 302\r\n")
					} else {
						f.on(c+"\r\n", "\r\n+CPMS: 2,23,0,30,2,23\r\n\r\nOK\r\n")
					}
				}
				m := New(f, Config{})
				defer m.Close()
				if err := m.Init(t.Context()); err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, w := range f.written() {
					if strings.HasPrefix(w, "AT+CPMS") {
						got = append(got, strings.TrimSpace(w))
					}
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("storage commands %q, want %q", got, tt.want)
				}
				if m.mem != tt.mem {
					t.Errorf("mem = %q, want %q", m.mem, tt.mem)
				}
			})
		})
	}
}
