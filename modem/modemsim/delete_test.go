package modemsim

import (
	"slices"
	"sync"
	"testing"
)

// TestOnDelete: the witness hears of each message the host deletes, one
// at a time or by status, and of nothing else.
func TestOnDelete(t *testing.T) {
	n, ms := mustNetwork(t, 1)
	var (
		mu  sync.Mutex
		got []Deletion
	)
	ms[0].OnDelete(func(d Deletion) { mu.Lock(); got = append(got, d); mu.Unlock() })
	c := mustClient(t, ms[0])
	c.mustOK("AT+CNMI=2,1,0,0,0")
	for i, text := range []string{"one", "two", "three"} {
		if err := n.Deliver("+447700900123", ms[0].Number(), text); err != nil {
			t.Fatal(err)
		}
		c.expect(`+CMTI: "SM",` + string(rune('1'+i)))
	}
	stored := ms[0].Stored("SM")[:3]
	c.mustOK("AT+CMGR=3")   // read: stat 1
	c.mustOK("AT+CMGD=2")   // by index
	c.mustOK("AT+CMGD=1,1") // read ones: slot 3
	if _, final := c.cmd("AT+CMGD=2"); final != "OK" {
		t.Fatalf("deleting an empty slot: %s", final)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []Deletion{{"SM", 2, stored[1]}, {"SM", 3, stored[2]}}
	if !slices.Equal(got, want) {
		t.Errorf("deletions %+v, want %+v", got, want)
	}
	if s := ms[0].Stored("SM"); s[0] != stored[0] || s[1] != "" || s[2] != "" {
		t.Errorf("storage after: %q", s[:3])
	}
}
