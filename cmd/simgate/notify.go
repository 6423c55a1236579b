package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// systemd's service notification protocol (sd_notify(3)), for the packaged
// unit (Type=notify, WatchdogSec=): READY=1 once the database is open and the
// HTTP port listens, WATCHDOG=1 while the database answers, STOPPING=1 when
// shutdown begins. Outside systemd (no NOTIFY_SOCKET) every call is a no-op.
// The protocol lives in the process's environment, so these read it
// directly rather than through run's getenv.

// notifySystemd sends one state line; a failure is logged and otherwise
// ignored, since serving matters more than telling systemd about it.
func notifySystemd(log *slog.Logger, state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		log.Warn("systemd notification failed", "state", state, "err", err)
	}
}

// notifyLifecycle says READY=1, then pings systemd's watchdog at half its
// interval for as long as ctx lives and ping (the database) answers within
// that half, and says STOPPING=1 when ctx ends (shutdown begins). A gateway
// whose database hangs stops pinging, and systemd restarts it.
func notifyLifecycle(ctx context.Context, log *slog.Logger, ping func(context.Context) error) error {
	notifySystemd(log, daemon.SdNotifyReady)
	defer notifySystemd(log, daemon.SdNotifyStopping)
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		log.Warn("systemd watchdog settings unreadable; not pinging", "err", err)
		return nil
	}
	if interval <= 0 {
		<-ctx.Done()
		return nil
	}
	every := interval / 2
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, every)
		err := ping(pctx)
		cancel()
		if err == nil {
			notifySystemd(log, daemon.SdNotifyWatchdog)
		} else if ctx.Err() == nil {
			log.Error("database does not answer; withholding the systemd watchdog ping", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
