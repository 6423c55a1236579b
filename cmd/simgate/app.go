package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/simgate/simgate/balance"
	"github.com/simgate/simgate/dispatch"
	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/hooks"
	"github.com/simgate/simgate/metrics"
	"github.com/simgate/simgate/modem"
	"github.com/simgate/simgate/modem/modemsim"
	"github.com/simgate/simgate/modemdev"
	"github.com/simgate/simgate/otp"
	"github.com/simgate/simgate/retention"
	"github.com/simgate/simgate/routing"
	"github.com/simgate/simgate/session"
	"github.com/simgate/simgate/spool"
	"github.com/simgate/simgate/store"
	"github.com/simgate/simgate/web"
	"github.com/simgate/simgate/web/kannel"
	"github.com/simgate/simgate/web/smsgate"
	"github.com/simgate/simgate/web/ui"
	"github.com/simgate/simgate/webhook"
)

// app is the gateway assembled from its config: the one composition root.
// newApp builds every part and starts nothing; run starts them and stops
// them in order; close releases what newApp took.
//
// The parts and who feeds whom:
//
//	web (HTTP) ──▶ gateway.Service ──▶ store ◀── dispatch ◀── session (modems)
//	                     │ wake          │ events (appended with each change)
//	                     ▼               ▼
//	                 dispatch     webhook, otp follow-up, status page
type app struct {
	log      *slog.Logger
	db       *store.Store
	unlock   func()
	network  *modemsim.Network // --sim: the virtual modems' network; nil without
	sims     []*modemsim.Modem
	svc      *gateway.Service
	disp     *dispatch.Dispatcher
	sup      *session.Supervisor
	otp      *otp.Service
	router   *routing.Router // nil when routing is off
	notifier *webhook.Notifier
	pruner   *retention.Pruner
	balance  *balance.Checker
	backups  *backupScheduler
	spool    *spool.Spool // nil unless the spool: section is set
	hooks    *hooks.Hooks // nil without a hook
	metrics  *metrics.Metrics
	registry *prometheus.Registry // served at /metrics
	srv      *web.Server
	listen   string // the HTTP address
	data     string // the data directory
	otpKey   []byte // otp.key, from which the other keys are derived
	ports    int
	lease    time.Duration // the dispatcher's: a host silent for longer is unreachable

	// callbacks delivers the callback outbox (Kannel's DLRs); kannel
	// serves /cgi-bin/sendsms and fills that outbox from the events.
	callbacks *webhook.Callbacks
	kannel    *kannel.Kannel
}

// newApp opens the data directory and the database and builds the parts.
func newApp(ctx context.Context, cfg config, logger *slog.Logger, stdout io.Writer) (a *app, err error) {
	a = &app{log: logger, listen: cfg.Listen, data: cfg.Data}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	if err := a.openStore(ctx, cfg); err != nil {
		return nil, err
	}
	if err := a.buildCore(cfg); err != nil {
		return nil, err
	}
	if err := a.buildSpoolAndHooks(ctx, cfg); err != nil {
		return nil, err
	}
	// Unless configured, the home region is the SIMs' as last seen, until
	// the modems come online again (followRegion).
	if _, err := a.svc.LearnRegion(ctx); err != nil {
		return nil, err
	}
	supCfg, open, err := a.buildModems(ctx, cfg)
	if err != nil {
		return nil, err
	}
	open = a.metrics.Opener(open) // parts sent, +CMGS time, CMS errors
	// The supervisor owns each modem's session; the status page's modem
	// actions (re-init, USSD) go to it.
	a.sup = session.New(supCfg, a.db, a.disp, open, gateway.SystemClock{}, logger.With("component", "supervisor"))
	a.ports = len(supCfg.Ports)
	checks, err := balanceChecks(cfg.Balance)
	if err != nil {
		return nil, err
	}
	if a.balance, err = balance.New(checks, a.sup, a.db, gateway.SystemClock{}, logger.With("component", "balance")); err != nil {
		return nil, err
	}
	uiCfg := ui.Config{Region: a.svc.Region, Key: dataKey(a.otpKey, "simgate status page known clients v1")}
	if a.router != nil {
		uiCfg.Routes = a.router.Stats
	}
	page, err := newStatusPage(ctx, cfg, uiCfg, a.db, a.sup, a.otp, a.sims, stdout, logger.With("component", "ui"))
	if err != nil {
		return nil, err
	}
	sg := smsgate.New(smsgate.Config{Service: a.svc, Groups: a.db, Webhooks: a.notifier, Version: currentBuild().Version,
		Logger: logger.With("component", "smsgate")})
	a.srv = web.NewServer(web.Config{MaxBodyBytes: cfg.MaxBodyBytes, MetricsToken: cfg.MetricsToken, UI: page, OTP: a.otp,
		Webhooks: a.notifier, Modems: a.sup, Kannel: a.kannel, Registry: a.registry, SMSGate: sg},
		a.svc, logger.With("component", "web"))
	return a, nil
}

// openStore takes the data directory's lock, opens the database and gives
// back the leases a crash left.
func (a *app) openStore(ctx context.Context, cfg config) error {
	unlock, err := lockDataDir(cfg.Data)
	if err != nil {
		return err
	}
	a.unlock = unlock
	tightenDataDir(cfg.Data, a.log)
	a.db, err = store.Open(ctx, cfg.database(), a.log.With("component", "store"),
		store.WithDurability(store.Durability(cfg.Durability)), store.WithBackupDir(cfg.Backup.dir(cfg.Data)),
		store.WithHost(cfg.hostID()))
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	if a.db.Shared() {
		// Other hosts send from the same queue: their leases are theirs
		// until they run out (then any host claims the message again).
		return nil
	}
	// Holding the lock, no other gateway is sending: every lease in the
	// database was left by a crash, and its message may go again at once.
	n, err := a.db.RecoverLeases(ctx, time.Now())
	if err != nil {
		return fmt.Errorf("recover leases: %w", err)
	}
	if n > 0 {
		a.log.Warn("messages were being sent when the gateway stopped; they go again (a part in flight may be sent twice)", "messages", n)
	}
	return nil
}

// buildCore builds the service, the dispatcher, OTP, webhooks and the
// retention pruner.
func (a *app) buildCore(cfg config) error {
	// OTP texts are sealed in the database under the key file's key; the
	// dispatcher opens them as it claims them (docs/OTP.md).
	otpKey, err := loadOTPKey(cfg.Data)
	if err != nil {
		return err
	}
	a.otpKey = otpKey
	sealed := otp.SealedStore(a.db, otpKey)
	clock := gateway.SystemClock{}
	a.metrics, a.registry = newMetrics(a.db, a.log.With("component", "metrics"))
	hookKeys, err := webhookKeys(cfg.Data, otpKey)
	if err != nil {
		return err
	}
	a.notifier = webhook.New(webhook.Config{Keys: hookKeys,
		Formats: map[string]webhook.Formatter{gateway.WebhookSMSGate: smsgate.NewFormatter(a.db, a.db)}},
		a.metrics.WebhookStore(a.db), clock, a.log.With("component", "webhooks"))
	a.callbacks = webhook.NewCallbacks(webhook.Config{}, a.db, clock, a.log.With("component", "callbacks"))
	a.pruner = retention.New(cfg.Retention.gateway(), a.db, clock, a.log.With("component", "retention"))
	a.backups = &backupScheduler{cfg: cfg.Backup, dir: cfg.Backup.dir(cfg.Data), db: a.db, log: a.log.With("component", "backup"),
		written: a.metrics.BackupWritten}
	a.disp = dispatch.New(dispatch.Config{Lease: cfg.Lease, OnPause: pauseCounter(a.registry)}, sealed, clock,
		a.log.With("component", "dispatcher"))
	a.db.WakeOnEnqueue(a.disp) // another host's enqueue, on a shared database
	var router, msgRouter gateway.Router
	if cfg.Routing.Enabled {
		a.router = routing.New(cfg.Routing.gateway(), a.db, clock, a.log.With("component", "routing"))
		router = a.router
		if cfg.Routing.Messages {
			msgRouter = a.router
		}
	}
	limits, dest := cfg.Messages.gateway()
	a.svc = gateway.NewService(gateway.ServiceConfig{
		DefaultRegion:   strings.ToUpper(cfg.Region),
		AllowShortCodes: cfg.AllowShortCodes,
		MaxSegments:     cfg.MaxSegments,
		DefaultTTL:      cfg.DefaultTTL,
		Limits:          limits,
		Destinations:    dest,
		Router:          msgRouter,
		Pauses:          a.disp,
		HostTimeout:     hostLease(cfg), // on a shared database; see heartbeat.go
	}, sealed, a.disp, clock, a.log.With("component", "service"))
	a.lease = hostLease(cfg)
	a.kannel = kannel.New(kannel.Config{SMSC: cfg.Kannel.SMSC, Callbacks: a.callbacks}, a.svc, a.db, clock,
		a.log.With("component", "kannel"))
	a.otp, err = newOTP(cfg, otpKey, a.svc, a.metrics.OTPStore(a.db), router, clock, a.log.With("component", "otp"))
	return err
}

// buildModems says which ports the supervisor keeps open and how it opens
// them: the configured ports, the virtual modems of --sim, or discovery.
func (a *app) buildModems(ctx context.Context, cfg config) (session.Config, gateway.Opener, error) {
	modemCfg := modem.Config{PIN: cfg.PIN, Logger: a.log.With("component", "modem")}
	open := modemdev.Opener(modemCfg)
	supCfg := session.Config{
		Host:         a.modemHost(cfg),
		Ports:        cfg.Modems,
		PollInterval: cfg.PollInterval,
		Limits: func(string) gateway.ModemLimits {
			return gateway.ModemLimits{SendInterval: cfg.SendInterval, DailyCap: cfg.DailyCap}
		},
		// A hung modem's ladder: the USB reset where the OS allows it, and a
		// configured port's modem looked for by IMEI on every USB port
		// (discovery finds it by itself).
		ResetUSB:     resetUSB,
		OnEscalation: escalationCounter(a.registry),
	}
	if len(cfg.Modems) > 0 {
		supCfg.Locate = locateByIMEI(modemCfg)
	}
	if cfg.Sim > 0 {
		a.network = modemsim.NewNetwork(modemsim.WithLogger(a.log.With("component", "modemsim")))
		for i := range cfg.Sim {
			m := a.network.AddModem(modemsim.Config{})
			if _, err := m.OpenPTY(ctx); err != nil {
				return supCfg, nil, fmt.Errorf("virtual modem %d: %w", i+1, err)
			}
			a.sims = append(a.sims, m)
			supCfg.Ports = append(supCfg.Ports, simPortPrefix+strconv.Itoa(i+1))
		}
		open = simOpener(a.sims, open)
	}
	if len(supCfg.Ports) == 0 {
		supCfg.Discover = func(ctx context.Context, skip func(string) bool) ([]string, error) {
			found, err := modem.DiscoverSkipping(ctx, modemCfg, skip)
			var ports []string
			for _, f := range found {
				ports = append(ports, f.Port)
			}
			return ports, err
		}
	}
	return supCfg, open, nil
}

// run serves until ctx ends or a part fails, then stops the parts in this
// order (STYLE.md §6):
//
//  1. HTTP: no new request is accepted, those in flight finish;
//  2. the dispatcher, with OTP follow-up, webhooks, retention, the spool
//     and the hooks (a hook still running is killed; it runs again at the
//     next start): the part
//     in flight finishes or its lease is released, and what was not yet
//     followed or posted stays in the event log and the outbox for the next
//     start (a pruning batch cut short is rolled back);
//  3. the modems: each is detached, recorded offline and closed;
//  4. the database, last (close, deferred by serve).
func (a *app) run(ctx context.Context, stdout io.Writer) error {
	ln, err := a.openListener(ctx, stdout)
	if err != nil {
		return err
	}
	// The dispatcher and the modems outlive the HTTP server: they get their
	// own contexts, cancelled in order once it has stopped.
	dispCtx, stopDisp := context.WithCancel(context.WithoutCancel(ctx))
	supCtx, stopSup := context.WithCancel(context.WithoutCancel(ctx))
	httpCtx, stopHTTP := context.WithCancel(ctx)
	defer stopDisp()
	defer stopSup()
	defer stopHTTP()

	parts := newRunGroup(stopHTTP) // one part failing stops the whole gateway
	dispDone := parts.start("dispatcher", func() error { return a.disp.Run(dispCtx) })
	supDone := parts.start("supervisor", func() error { return a.sup.Run(supCtx) })
	// Once per cluster: on a shared database, on the host holding the job's lock.
	parts.start("otp", func() error { return a.db.Exclusive(dispCtx, "otp", a.otp.Run) })
	parts.start("webhooks", func() error { return a.db.Exclusive(dispCtx, "webhooks", a.notifier.Run) })
	parts.start("kannel", func() error { return a.db.Exclusive(dispCtx, "kannel", a.kannel.Run) })
	parts.start("callbacks", func() error { return a.db.Exclusive(dispCtx, "callbacks", a.callbacks.Run) })
	parts.start("retention", func() error { return a.db.Exclusive(dispCtx, "retention", a.pruner.Run) })
	parts.start("balance", func() error { return a.balance.Run(dispCtx) }) // this host's modems
	// PostgreSQL's backups are the operator's (pg_dump, replicas).
	if !a.db.Shared() {
		parts.start("backups", func() error { return a.backups.Run(dispCtx) })
	} else {
		parts.start("heartbeat", func() error { return heartbeat(dispCtx, a.db, a.lease, a.log.With("component", "heartbeat")) })
	}
	parts.start("metrics", func() error { return a.metrics.Run(dispCtx) })
	parts.start("region", func() error { return followRegion(dispCtx, a.svc, a.db, a.log.With("component", "region")) })
	if a.spool != nil {
		parts.start("spool", func() error { return a.spool.Run(dispCtx) })
	}
	if a.hooks != nil {
		parts.start("hooks", func() error { return a.hooks.Run(dispCtx) })
	}
	if a.router != nil {
		parts.start("routing", func() error {
			if err := a.router.Load(dispCtx); err != nil {
				return err
			}
			return a.router.Run(dispCtx)
		})
	}
	// The database is open and the port listens: systemd may call it ready.
	parts.start("systemd", func() error { return notifyLifecycle(httpCtx, a.log, a.db.Ping) })

	err = a.srv.Serve(httpCtx, ln)
	stopHTTP()
	a.log.Info("http stopped; stopping the dispatcher")
	stopDisp()
	<-dispDone
	a.log.Info("dispatcher stopped; closing the modems")
	stopSup()
	<-supDone
	if err = errors.Join(err, parts.wait()); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	a.log.Info("stopped")
	return nil
}

// openListener opens the HTTP port and tells the user where it is (and,
// with virtual modems, how to send a first message).
func (a *app) openListener(ctx context.Context, stdout io.Writer) (net.Listener, error) {
	ln, err := net.Listen("tcp", a.listen)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "simgate is listening on %s\n", url)
	if len(a.sims) > 0 {
		if err := printDemo(ctx, stdout, a.svc, url, a.sims); err != nil {
			ln.Close()
			return nil, err
		}
	}
	a.log.Info("gateway started", "listen", ln.Addr().String(), "data", a.data, "ports", a.ports, "virtual_modems", len(a.sims))
	return ln, nil
}

// close releases the virtual network, the database and the data
// directory's lock, in that order; it is safe on a partly built app.
func (a *app) close() {
	if a.network != nil {
		a.network.Close()
	}
	if a.db != nil {
		a.db.Close()
	}
	if a.unlock != nil {
		a.unlock()
	}
}

// runGroup runs the app's long-lived parts and collects their errors; the
// first error (other than cancellation) calls stop.
type runGroup struct {
	wg   sync.WaitGroup
	mu   sync.Mutex
	err  error
	stop func()
}

func newRunGroup(stop func()) *runGroup { return &runGroup{stop: stop} }

// start runs fn in a goroutine; the channel is closed when fn returns.
func (g *runGroup) start(name string, fn func() error) <-chan struct{} {
	done := make(chan struct{})
	g.wg.Go(func() {
		defer close(done)
		if err := fn(); err != nil && !errors.Is(err, context.Canceled) {
			g.mu.Lock()
			g.err = errors.Join(g.err, fmt.Errorf("%s: %w", name, err))
			g.mu.Unlock()
			g.stop()
		}
	})
	return done
}

// wait waits for every part and returns their errors.
func (g *runGroup) wait() error {
	g.wg.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// modemHost is the host the store records modems under: this host on a
// shared database, "" on SQLite.
func (a *app) modemHost(cfg config) string {
	if a.db != nil && a.db.Shared() {
		return cfg.hostID()
	}
	return ""
}
