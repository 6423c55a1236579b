package gateway_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"

	"github.com/simgate/simgate/gateway"
)

func TestRegionOfIMSI(t *testing.T) {
	for imsi, want := range map[string]string{
		"262011234567890": "DE", // Telekom Deutschland
		"234150123456789": "GB",
		"310260123456789": "US",
		"208011234567890": "FR",
		"001010000000001": "", // the test network: no home country
		"99":              "",
	} {
		if got := gateway.RegionOfIMSI(imsi); got != want {
			t.Errorf("RegionOfIMSI(%q) = %q, want %q", imsi, got, want)
		}
	}
}

// TestRegionOfIMSI_KnownToLibphonenumber: every region the MCC table names
// is one national numbers can be read in.
func TestRegionOfIMSI_KnownToLibphonenumber(t *testing.T) {
	for mcc := 200; mcc < 800; mcc++ {
		r := gateway.RegionOfIMSI(fmt.Sprintf("%03d%012d", mcc, 0))
		if r != "" && phonenumbers.GetCountryCodeForRegion(r) == 0 {
			t.Errorf("MCC %d maps to %q, which libphonenumber does not know", mcc, r)
		}
	}
}

// TestService_RegionFollowsTheSIMs: with no region configured the service
// reads national numbers and allows destinations in the US until it learns
// the SIMs' home country, then in that country; most SIMs win, a tie goes
// to the lowest IMEI, and SIMs of the test network do not count.
func TestService_RegionFollowsTheSIMs(t *testing.T) {
	ctx := t.Context()
	svc, _, _, st := newTestService(t, gateway.ServiceConfig{})
	if r := svc.Region(); r.Region != "US" || r.Source != gateway.RegionFromDefault {
		t.Fatalf("before any SIM: %+v, want US from the default", r)
	}
	upsert := func(imei, imsi string) {
		t.Helper()
		if err := st.UpsertModem(ctx, gateway.ModemInfo{IMEI: imei, IMSI: imsi, State: gateway.ModemOnline}); err != nil {
			t.Fatal(err)
		}
	}
	upsert(imeiA, "001010000000001") // a virtual modem's SIM
	if r, err := svc.LearnRegion(ctx); err != nil || r.Region != "US" || r.Source != gateway.RegionFromDefault {
		t.Fatalf("with a test-network SIM only: %+v, %v; want US from the default", r, err)
	}

	upsert(imeiB, "262011234567890")
	r, err := svc.LearnRegion(ctx)
	if err != nil || r.Region != "DE" || r.Source != gateway.RegionFromSIM || r.Modem != imeiB {
		t.Fatalf("with a German SIM: %+v, %v; want DE from %s", r, err, imeiB)
	}
	m, _, err := svc.Send(ctx, gateway.SendRequest{To: "0151 12345678", Text: "hallo"})
	if err != nil || m.To != "+4915112345678" {
		t.Fatalf("national German number: %+v, %v", m, err)
	}
	_, _, err = svc.Send(ctx, gateway.SendRequest{To: "+12025550123", Text: "hi"})
	var ve *gateway.ValidationError
	if !errors.As(err, &ve) || !strings.Contains(ve.Reason, "home region DE") {
		t.Fatalf("US number with a German home region: %v, want refused naming DE", err)
	}

	// A tie (one German, one French SIM) goes to the lowest IMEI: imeiA.
	upsert(imeiA, "208011234567890")
	if r, _ := svc.LearnRegion(ctx); r.Region != "FR" || r.Modem != imeiA {
		t.Fatalf("tie: %+v, want FR from %s (the lowest IMEI)", r, imeiA)
	}
	// Two French against one German: France, whatever the IMEIs.
	upsert("353490069873319", "208150000000001")
	if r, _ := svc.LearnRegion(ctx); r.Region != "FR" {
		t.Fatalf("majority: %+v, want FR", r)
	}
}

// TestService_ConfiguredRegionStays: a configured region never follows.
func TestService_ConfiguredRegionStays(t *testing.T) {
	ctx := t.Context()
	svc, _, _, st := newTestService(t, gateway.ServiceConfig{DefaultRegion: "gb"})
	if err := st.UpsertModem(ctx, gateway.ModemInfo{IMEI: imeiA, IMSI: "262011234567890", State: gateway.ModemOnline}); err != nil {
		t.Fatal(err)
	}
	if r, err := svc.LearnRegion(ctx); err != nil || r.Region != "GB" || r.Source != gateway.RegionFromConfig {
		t.Fatalf("configured GB with a German SIM: %+v, %v; want GB from the config", r, err)
	}
}
