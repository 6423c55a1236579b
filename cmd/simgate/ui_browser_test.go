package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/simgate/simgate/internal/testkit"
	"github.com/simgate/simgate/modem/modemsim"
)

// chromiumPath is Debian's chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// browserPassword is the admin password the browser test sets.
const browserPassword = "browser-test-password"

// TestStatusPage_Browser drives the status page in headless Chromium
// against the real server (serve, SQLite, two virtual modems): log in, see
// both modems, unplug one and watch its card go offline without a reload,
// send a test SMS and an OTP from "Try it", read the code on the virtual
// phone, approve it, and find the messages in the log. The overview's
// screenshot goes to the test's temp dir, and to $SIMGATE_SCREENSHOT_DIR
// when set (make screenshots).
func TestStatusPage_Browser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("chromium is required in CI: %v", err)
		}
		t.Skipf("no %s: install Debian's chromium to run the browser test", chromiumPath)
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")

	// The password goes in as an admin would set it.
	var out, errOut testkit.SyncBuffer
	if err := run(t.Context(), []string{"simgate", "admin", "set-password", "--data", data},
		func(string) string { return "" }, strings.NewReader(browserPassword+"\n"), &out, &errOut); err != nil {
		t.Fatalf("admin set-password: %v\n%s", err, errOut.String())
	}

	sims := make(chan []*modemsim.Modem, 1)
	testHookSims = func(s []*modemsim.Modem) { sims <- s }
	t.Cleanup(func() { testHookSims = nil })

	cfg := defaultConfig()
	cfg.Data, cfg.Listen, cfg.Sim, cfg.PollInterval, cfg.DailyCap = data, "127.0.0.1:0", 2, time.Second, 500
	stdout, logs := &testkit.SyncBuffer{}, &testkit.SyncBuffer{}
	srvCtx, stopSrv := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- serve(srvCtx, cfg, newLogger(logs, "info"), stdout) }()
	t.Cleanup(func() {
		stopSrv()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop in 30 s")
		}
		if t.Failed() {
			t.Logf("gateway log:\n%s", tail(logs.String(), 6000))
		}
	})
	var modems []*modemsim.Modem
	select {
	case modems = <-sims:
	case err := <-served:
		t.Fatalf("serve ended: %v\n%s", err, logs.String())
	case <-time.After(15 * time.Second):
		t.Fatal("serve built no virtual modems in 15 s")
	}
	if strings.Contains(stdout.String(), "admin password (shown once") {
		t.Error("serve generated a password although one was set")
	}
	listening := regexp.MustCompile(`listening on (http://\S+)`)
	waitFor(t, 15*time.Second, "the server", func() bool { return listening.MatchString(stdout.String()) })
	base := listening.FindStringSubmatch(stdout.String())[1]

	b := newBrowser(t, filepath.Join(dir, "chromium"))
	imei1, imei2 := modems[0].IMEI(), modems[1].IMEI()
	card := func(imei string) string { return `article[data-imei="` + imei + `"]` }
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }

	b.do("log in",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(css(`#password`)),
		chromedp.SendKeys(css(`#password`), browserPassword),
		chromedp.Submit(css(`#password`)),
		chromedp.WaitVisible(css(`#live`)),
	)
	for _, imei := range []string{imei1, imei2} {
		b.do("see modem "+imei+" online with its signal",
			chromedp.WaitVisible(css(card(imei)+`[data-state="online"]`)),
			voidOf(chromedp.Poll[bool](`document.querySelector('`+card(imei)+` .signal').textContent.includes('dBm')`,
				chromedp.WithPollingTimeout(20*time.Second))),
		)
		// Read in one evaluation: the live updates replace the cards, and a
		// node found before one and read after it is empty.
		if got := value(b, "read the IMEI", chromedp.Evaluate[string](`document.querySelector('`+card(imei)+` .imei').textContent`)); got != imei {
			t.Errorf("card of %s shows IMEI %q", imei, got)
		}
	}

	// Virtual SIMs are on the test network: the home region is the default.
	if got := value(b, "read the home region", chromedp.Evaluate[string](
		`(e => e ? e.dataset.region + "/" + e.dataset.source : "none")(document.querySelector("#region"))`)); got != "US/default" {
		t.Errorf("home region shown as %q, want US/default", got)
	}

	png := value(b, "screenshot", chromedp.FullScreenshot(100))
	writeScreenshot(t, filepath.Join(dir, "overview.png"), png)
	if d := os.Getenv("SIMGATE_SCREENSHOT_DIR"); d != "" {
		writeScreenshot(t, filepath.Join(d, "status-overview.png"), png)
	}

	// A marker on the window survives only if the page is not reloaded.
	b.do("mark the page", voidOf(chromedp.Evaluate[bool](`window.simgateNoReload = true`)))
	modems[1].Unplug()
	// The supervisor reports offline at once, and error after three failed
	// reopens: either is the card turning off.
	b.do("see modem 2 go offline",
		chromedp.WaitVisible(css(card(imei2)+`[data-state="offline"], `+card(imei2)+`[data-state="error"]`)))
	if !value(b, "check for a reload", chromedp.Evaluate[bool](`window.simgateNoReload === true`)) {
		t.Error("the overview was reloaded to show the unplugged modem")
	}
	if !value(b, "check modem 1", chromedp.Evaluate[bool](`!!document.querySelector('`+card(imei1)+`[data-state="online"]')`)) {
		t.Error("modem 1 is no longer shown online")
	}

	// A test SMS from the modem page, found in the message log.
	b.do("send a test SMS",
		chromedp.Navigate(base+"/modems/"+imei1),
		chromedp.WaitVisible(css(`#to`)),
		chromedp.SendKeys(css(`#to`), modems[0].Number()),
		chromedp.SetValue(css(`#text`), "browser test SMS"),
		chromedp.Submit(css(`#to`)),
		chromedp.WaitVisible(css(`.notice`)),
	)
	notice := value(b, "read the notice", chromedp.Text(css(`.notice`)))
	testID := regexp.MustCompile(`msg_\w+`).FindString(notice)
	if testID == "" {
		t.Fatalf("no message ID in the notice %q", notice)
	}
	b.do("find the test SMS in the log",
		chromedp.Navigate(base+"/messages?text=browser+test"),
		chromedp.WaitVisible(css(`tr[data-id="`+testID+`"]`)),
	)

	t.Run("TryIt", func(t *testing.T) {
		b := b.with(t)
		b.do("open Try it", chromedp.Navigate(base+"/try"), chromedp.WaitVisible(css(`main h1`)))
		if !value(b, "look for the form", chromedp.Evaluate[bool](`!!document.querySelector('#try-send')`)) {
			// The OTP service is issue 4's; until serve wires it, the page
			// says so and there is nothing to try.
			t.Skip("WAITING: serve runs no OTP service yet, so Try it is not available")
		}
		b.do("send a code to phone 1",
			chromedp.SetValue(css(`#phone`), "0"),
			chromedp.Submit(css(`#try-send`)),
			// The answer page first: a poll started on the page being left
			// loses its JavaScript context.
			chromedp.WaitVisible(css(`#try-check`)),
			voidOf(chromedp.Poll[bool](`[...document.querySelectorAll('#phone-screen .sms .body')].some(e => /\d{4}/.test(e.textContent))`,
				chromedp.WithPollingTimeout(20*time.Second))),
		)
		sms := value(b, "read the phone", chromedp.Evaluate[string](`[...document.querySelectorAll('#phone-screen .sms .body')].pop().textContent`))
		otpSMS := value(b, "read the SMS link", chromedp.Evaluate[string](
			`(document.querySelector('a[href^="/messages/msg_"]')||{}).textContent||''`))
		code := regexp.MustCompile(`\b\d{4,10}\b`).FindString(sms)
		if code == "" {
			t.Fatalf("no code in the SMS on the phone: %q", sms)
		}
		b.do("type the code",
			chromedp.SendKeys(css(`#code`), code),
			chromedp.Submit(css(`#code`)),
			chromedp.WaitVisible(css(`#try-result`)),
		)
		if got := value(b, "read the result", chromedp.Text(css(`#try-result`))); got != "approved" {
			t.Fatalf("result %q, want approved", got)
		}
		if otpSMS == "" {
			t.Fatal("the Try it page links no SMS")
		}
		b.do("find the OTP SMS in the log",
			chromedp.Navigate(base+"/messages"),
			chromedp.WaitVisible(css(`tr[data-id="`+otpSMS+`"]`)),
		)
	})

	b.checkConsole()
}

// browser is one headless Chromium tab and the console errors it logged.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu     *sync.Mutex
	errors *[]string
}

func newBrowser(t *testing.T, userData string) *browser {
	t.Helper()
	// Without these flags Chromium on a machine without network floods
	// refused connections (updates, sync, QUIC probes).
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(userData),
		chromedp.WindowSize(1280, 1000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	b := &browser{t: t, ctx: ctx, mu: &sync.Mutex{}, errors: new([]string)}
	console := chromedp.Console(ctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				b.mu.Lock()
				*b.errors = append(*b.errors, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line))
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// with is b reporting to another (sub)test.
func (b *browser) with(t *testing.T) *browser {
	c := *b
	c.t = t
	return &c
}

func (b *browser) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	value(b, step, chromedp.Steps(actions...))
}

// value runs a in b's tab, failing the test with the page's HTML if it
// does not succeed in 30 s.
func value[T any](b *browser, step string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		html, _ := chromedp.Run(b.ctx, chromedp.OuterHTML(chromedp.CSS("main")))
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("timed out: %w", err)
		}
		b.t.Fatalf("%s: %v\npage:\n%s", step, err, tail(html, 4000))
	}
	return v
}

// voidOf drops an action's value.
func voidOf[T any](a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := a(ctx, t)
		return chromedp.Void{}, err
	}
}

func (b *browser) checkConsole() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range *b.errors {
		b.t.Errorf("browser console: %s", e)
	}
}

func writeScreenshot(t *testing.T, path string, png []byte) {
	t.Helper()
	if len(png) == 0 {
		t.Fatal("empty screenshot")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}
