package smsgate

import "testing"

func TestGroupState(t *testing.T) {
	tests := []struct {
		recipients []string
		want       string
	}{
		{[]string{statePending}, statePending},
		{[]string{statePending, statePending}, statePending},
		{[]string{statePending, stateSent}, stateProcessed},
		{[]string{stateProcessed, stateFailed}, stateProcessed},
		{[]string{stateSent, stateSent}, stateSent},
		{[]string{stateSent, stateDelivered}, stateSent},
		{[]string{stateDelivered, stateDelivered}, stateDelivered},
		{[]string{stateDelivered, stateFailed}, stateFailed},
		{[]string{stateCancelled, stateCancelled}, stateCancelled},
		{[]string{stateCancelled, stateDelivered}, stateSent},
	}
	for _, tt := range tests {
		if got := groupState(tt.recipients); got != tt.want {
			t.Errorf("groupState(%v) = %s, want %s", tt.recipients, got, tt.want)
		}
	}
}
