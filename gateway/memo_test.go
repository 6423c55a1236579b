package gateway

import "testing"

func TestMemo_StartsOverWhenFull(t *testing.T) {
	c := memo[int, string]{max: 3}
	for i := range 3 {
		c.put(i, "v")
	}
	if _, ok := c.get(2); !ok {
		t.Fatal("an entry kept below max is gone")
	}
	c.put(3, "w") // full: starts over with this one
	if _, ok := c.get(0); ok {
		t.Error("the memo went past its max")
	}
	if v, ok := c.get(3); !ok || v != "w" {
		t.Errorf("get(3) = %q, %v after starting over", v, ok)
	}
	c.clear()
	if _, ok := c.get(3); ok {
		t.Error("an entry outlived clear")
	}
}
