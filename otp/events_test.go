package otp_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/simgate/simgate/events"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/otp"
)

// timedMailer records when each mail was handed over: the test measures
// how soon after the SMS failed the fallback went out.
type timedMailer struct{ sent chan time.Time }

func (m *timedMailer) SendMail(context.Context, gateway.Mail) error {
	m.sent <- time.Now()
	return nil
}

// TestOTP_ReactsToFailedSMS: the SMS of a code with email fallback is
// refused by the network; the fallback mail goes out. Run's timer is an
// hour away and the clock does not move, so only the event stream can have
// told it. How soon is logged, not asserted: speed belongs to benchmarks.
func TestOTP_ReactsToFailedSMS(t *testing.T) {
	mail := &timedMailer{sent: make(chan time.Time, 4)}
	r := newOTPRig(t, otpRigOptions{mailer: mail, cfg: otp.Config{WatchEvery: time.Hour}})

	ctx, cancel := context.WithCancel(t.Context())
	runDone := make(chan error, 1)
	go func() { runDone <- r.otp.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-runDone; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	// Run's first round (the catch-up at start) looks at every watched SMS;
	// let it pass before there is one, so that the next is an hour away.
	time.Sleep(200 * time.Millisecond)

	log, err := events.FromNow(ctx, r.st, 0) // no settle: it times the failure
	if err != nil {
		t.Fatal(err)
	}
	// Five codes: should Run's first round come late on a busy machine and
	// catch the first failure itself, the later ones are past it.
	var lags []time.Duration
	for i := range 5 {
		// A number of its own each time (the abuse limits count sends per
		// number), refused as unassigned: a permanent failure.
		to := fmt.Sprintf("+1202555017%d", i)
		r.net.SetFailure(to, 1)
		v := r.send(otp.Request{To: to, Email: "user@example.org", Fallback: true})
		failedAt := waitEvent(t, log, gateway.EventMessageFailed, v.MessageID)
		select {
		case mailedAt := <-mail.sent:
			lags = append(lags, mailedAt.Sub(failedAt))
		case <-time.After(10 * time.Second):
			t.Fatal("no fallback mail: OTP did not react to the failed SMS")
		}
		wantChannels(t, r, v.ID)
	}
	slices.Sort(lags)
	t.Logf("fallback mail after the SMS failed: %v", lags)
}

// wantChannels waits until verification id records its SMS failed and the
// email sent (the mail is recorded once the mailer has returned).
func wantChannels(t *testing.T, r *otpRig, id string) {
	t.Helper()
	var got *gateway.Verification
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		var err error
		if got, err = r.otp.Get(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		if len(got.Channels) == 2 || time.Now().After(deadline) {
			break
		}
	}
	if len(got.Channels) != 2 || got.Channels[0].Status != gateway.AttemptFailed || got.Channels[1].Channel != gateway.ChannelEmail {
		t.Errorf("channels %+v, want the SMS failed then the email", got.Channels)
	}
}

// waitEvent reads log until an event of typ about subject and returns when
// it was read.
func waitEvent(t *testing.T, log *events.Reader, typ, subject string) time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for {
		evs, err := log.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for %s of %s: %v", typ, subject, err)
		}
		for _, ev := range evs {
			if ev.Type == typ && ev.Subject == subject {
				return time.Now()
			}
		}
	}
}
