package balance_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simgate/simgate/balance"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/internal/testkit"
)

func TestAmount(t *testing.T) {
	tests := []struct {
		reply, pattern string
		want           float64
		ok             bool
	}{
		{"Your balance is 10.00 USD, valid until 31.12.2099.", "", 10, true},
		{"Ihr Guthaben beträgt 1.234,56 EUR", `Guthaben beträgt ([0-9.,]+)`, 1234.56, true},
		{"Balance: 1,234.56 USD", `Balance: ([0-9.,]+)`, 1234.56, true},
		{"Saldo: 12,5 zł", "", 12.5, true},
		{"Balance 1,000 NGN", "", 1000, true},
		{"Остаток 187.24 р.", "", 187.24, true},
		{"Баланс: -15,30 руб", "", -15.3, true},
		{"Solde 12 500 FCFA", `Solde ([0-9 ]+)`, 12500, true},
		{"Bonus 5, Main 42.10", `Main ([0-9.]+)`, 42.1, true},
		{"No credit information", "", 0, false},
		{"Main 42.10", `Bonus ([0-9.]+)`, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.reply, func(t *testing.T) {
			re := balance.DefaultPattern
			if tt.pattern != "" {
				re = regexp.MustCompile(tt.pattern)
			}
			got, ok := balance.Amount(tt.reply, re)
			if ok != tt.ok || got != tt.want {
				t.Errorf("Amount(%q) = %v, %v; want %v, %v", tt.reply, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func FuzzAmount(f *testing.F) {
	f.Add("Your balance is 10.00 USD", "")
	f.Add("1.234,56", `([0-9.,]+)`)
	f.Fuzz(func(t *testing.T, reply, pattern string) {
		re, err := regexp.Compile(pattern)
		if err != nil {
			return
		}
		balance.Amount(reply, re) // must not panic
	})
}

// network answers USSD codes with a reply per modem; it counts calls.
type network struct {
	mu      sync.Mutex
	replies map[string]string // by IMEI
	calls   map[string]int
	fail    error
}

func (n *network) USSD(_ context.Context, imei, code string) (gateway.USSDReply, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls[imei]++
	if n.fail != nil {
		return gateway.USSDReply{}, n.fail
	}
	if code != "*100#" {
		return gateway.USSDReply{}, gateway.ErrUSSDUnsupported
	}
	return gateway.USSDReply{Text: n.replies[imei], Status: gateway.USSDDone}, nil
}

const (
	modemA = "356938035643809"
	modemB = "356938035643817"
	modemC = "356938035643825" // offline
)

// TestChecker_Schedule: on a real store, each online modem is checked when
// due, by its own check or the one for any modem; the balance shows in
// Modems; modem.balance_low is appended once per crossing; a failure is
// tried again after RetryAfter.
func TestChecker_Schedule(t *testing.T) {
	ctx := t.Context()
	st := testkit.OpenStore(t)
	clock := testkit.NewClock(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))
	for imei, state := range map[string]gateway.ModemState{modemA: gateway.ModemOnline, modemB: gateway.ModemOnline, modemC: gateway.ModemOffline} {
		if err := st.UpsertModem(ctx, gateway.ModemInfo{IMEI: imei, State: state, UpdatedAt: clock.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	start, _ := st.LastEventSeq(ctx)
	net := &network{replies: map[string]string{modemA: "Balance 12.50 EUR", modemB: "Guthaben: 3,00 EUR"}, calls: map[string]int{}}
	c, err := balance.New([]balance.Check{
		{Modem: balance.AnyModem, Code: "*100#", Interval: time.Hour, Threshold: 5, HasThreshold: true},
		{Modem: modemB, Code: "*100#", Interval: 6 * time.Hour, Pattern: regexp.MustCompile(`Guthaben: ([0-9,]+)`), Threshold: 2, HasThreshold: true},
	}, net, st, clock, nil)
	if err != nil {
		t.Fatal(err)
	}

	c.Round(ctx)
	wantCalls(t, net, 1, 1, 0)
	clock.Add(30 * time.Minute)
	c.Round(ctx) // nothing due
	wantCalls(t, net, 1, 1, 0)

	net.replies[modemA] = "Balance 4.10 EUR"
	clock.Add(31 * time.Minute)
	c.Round(ctx) // A due (1 h), B not (6 h)
	wantCalls(t, net, 2, 1, 0)
	net.replies[modemA] = "Balance 3.00 EUR"
	clock.Add(61 * time.Minute)
	c.Round(ctx) // still low: no second balance_low
	wantCalls(t, net, 3, 1, 0)

	ms, err := st.Modems(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		switch m.IMEI {
		case modemA:
			if m.Balance == nil || m.Balance.Amount != 3 || !m.Balance.Low {
				t.Errorf("A's balance %+v, want 3, low", m.Balance)
			}
		case modemB:
			if m.Balance == nil || m.Balance.Amount != 3 || m.Balance.Low {
				t.Errorf("B's balance %+v, want 3 (its own pattern), not low (its own threshold)", m.Balance)
			}
		case modemC:
			if m.Balance != nil {
				t.Errorf("the offline modem was checked: %+v", m.Balance)
			}
		}
	}
	evs, _ := st.EventsAfter(ctx, start, 100)
	lows := 0
	for _, e := range evs {
		if e.Type == gateway.EventModemBalanceLow {
			lows++
			if e.Subject != modemA {
				t.Errorf("balance_low about %s", e.Subject)
			}
		}
	}
	if lows != 1 {
		t.Errorf("%d modem.balance_low events, want 1 (one crossing)", lows)
	}

	net.fail = errors.New("+CME ERROR: 30")
	clock.Add(61 * time.Minute)
	c.Round(ctx)
	wantCalls(t, net, 4, 1, 0)
	net.fail = nil
	clock.Add(balance.RetryAfter - time.Minute)
	c.Round(ctx)
	wantCalls(t, net, 4, 1, 0)
	clock.Add(2 * time.Minute)
	c.Round(ctx) // retried after RetryAfter, not the interval
	wantCalls(t, net, 5, 1, 0)
}

func wantCalls(t *testing.T, n *network, a, b, c int) {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.calls[modemA] != a || n.calls[modemB] != b || n.calls[modemC] != c {
		t.Fatalf("USSD calls A %d B %d C %d, want %d %d %d", n.calls[modemA], n.calls[modemB], n.calls[modemC], a, b, c)
	}
}

func TestNew_Refuses(t *testing.T) {
	tests := []struct {
		name   string
		checks []balance.Check
		want   string
	}{
		{"NoCode", []balance.Check{{Modem: modemA}}, "code"},
		{"ShortInterval", []balance.Check{{Code: "*100#", Interval: time.Second}}, "interval"},
		{"Twice", []balance.Check{{Code: "*100#"}, {Modem: "*", Code: "*101#"}}, "second check"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := balance.New(tt.checks, &network{}, nil, testkit.NewClock(time.Now()), nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an error naming %q", err, tt.want)
			}
		})
	}
}
