package modemsim

import "testing"

// TestFlowControl: AT+IFC (RTS/CTS at power-on) is kept and read back,
// as Kannel's AT driver sets it at start; values out of range are refused.
func TestFlowControl(t *testing.T) {
	_, ms := mustNetwork(t, 1)
	c := mustClient(t, ms[0])
	if got := c.mustInfo("AT+IFC?"); got != "+IFC: 2,2" {
		t.Errorf("AT+IFC? at power-on = %q", got)
	}
	c.mustOK("AT+IFC=0,0")
	if got := c.mustInfo("AT+IFC?"); got != "+IFC: 0,0" {
		t.Errorf("AT+IFC? after AT+IFC=0,0 = %q", got)
	}
	if _, final := c.cmd("AT+IFC=3,2"); final != "ERROR" {
		t.Errorf("AT+IFC=3,2 answered %q, want ERROR", final)
	}
	c.mustOK("AT+IFC=2,2")
	if got := c.mustInfo("AT+IFC?"); got != "+IFC: 2,2" {
		t.Errorf("AT+IFC? after AT+IFC=2,2 = %q", got)
	}
}
