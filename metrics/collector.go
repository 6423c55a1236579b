package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/simgate/simgate/gateway"
)

// scrapeTimeout bounds the store reads of one scrape.
const scrapeTimeout = 5 * time.Second

var (
	queueDepthDesc = prometheus.NewDesc("simgate_queue_depth",
		"Messages queued or being sent, by lane (priority).", []string{"lane"}, nil)
	modemStateDesc = prometheus.NewDesc("simgate_modem_state",
		"1 for the modem's current state, 0 for the others.", []string{"modem", "state"}, nil)
	modemSignalDesc = prometheus.NewDesc("simgate_modem_signal_dbm",
		"The modem's received signal strength in dBm (absent while unknown).", []string{"modem"}, nil)
	modemRegDesc = prometheus.NewDesc("simgate_modem_registration",
		"1 for the modem's current network registration, 0 for the others.", []string{"modem", "registration"}, nil)
	scrapeErrDesc = prometheus.NewDesc("simgate_metrics_store_errors",
		"1 when this scrape could not read the store (its gauges are then missing).", nil, nil)
)

// modemStates and registrations are every value the enum gauges show, so
// that a state's series exists (at 0) before the modem is ever in it.
var (
	modemStates = []gateway.ModemState{gateway.ModemOnline, gateway.ModemOffline, gateway.ModemNoSIM,
		gateway.ModemPINRequired, gateway.ModemNotRegistered, gateway.ModemError}
	registrations = []string{"registered", "roaming", "searching", "denied", "not_registered", "unknown"}
	lanes         = []gateway.Priority{gateway.PriorityLow, gateway.PriorityNormal, gateway.PriorityHigh}
)

// collector reads the gauges from the store at each scrape: the queue by
// lane and each modem's state, signal and registration.
type collector struct{ m *Metrics }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{queueDepthDesc, modemStateDesc, modemSignalDesc, modemRegDesc, scrapeErrDesc} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	failed := 0.0
	if err := c.collectQueue(ctx, ch); err != nil {
		c.m.log.Warn("metrics: queue depth", "err", err)
		failed = 1
	}
	if err := c.collectModems(ctx, ch); err != nil {
		c.m.log.Warn("metrics: modems", "err", err)
		failed = 1
	}
	ch <- prometheus.MustNewConstMetric(scrapeErrDesc, prometheus.GaugeValue, failed)
}

func (c *collector) collectQueue(ctx context.Context, ch chan<- prometheus.Metric) error {
	counts, err := c.m.src.QueueCounts(ctx)
	if err != nil {
		return err
	}
	n := map[gateway.Priority]int{}
	for _, q := range counts {
		n[q.Priority] += q.N
	}
	for _, lane := range lanes {
		ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(n[lane]), lane.String())
	}
	return nil
}

func (c *collector) collectModems(ctx context.Context, ch chan<- prometheus.Metric) error {
	modems, err := c.m.src.Modems(ctx)
	if err != nil {
		return err
	}
	for _, md := range modems {
		for _, s := range modemStates {
			ch <- prometheus.MustNewConstMetric(modemStateDesc, prometheus.GaugeValue, is(md.State == s), md.IMEI, string(s))
		}
		reg := md.Registration
		if reg == "" {
			reg = "unknown"
		}
		for _, r := range registrations {
			ch <- prometheus.MustNewConstMetric(modemRegDesc, prometheus.GaugeValue, is(reg == r), md.IMEI, r)
		}
		if md.SignalKnown {
			ch <- prometheus.MustNewConstMetric(modemSignalDesc, prometheus.GaugeValue, float64(md.DBM), md.IMEI)
		}
	}
	return nil
}

func is(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
