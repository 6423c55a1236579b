package gateway

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckUSSDCode(t *testing.T) {
	for _, ok := range []string{"*100#", "1", "*123*1*+4915112345678#", "#"} {
		if err := CheckUSSDCode(ok); err != nil {
			t.Errorf("CheckUSSDCode(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "balance", "*100# ", "AT+CUSD", `*100#"`, strings.Repeat("1", MaxUSSDCode+1)} {
		var ve *ValidationError
		if err := CheckUSSDCode(bad); !errors.As(err, &ve) || ve.Field != "code" {
			t.Errorf("CheckUSSDCode(%q) = %v, want a ValidationError on code", bad, err)
		}
	}
}
