package gateway

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
)

// Where a gateway's home region comes from (RegionInfo.Source).
const (
	RegionFromConfig  = "config"  // the region setting
	RegionFromSIM     = "sim"     // the home country of the SIMs' IMSIs
	RegionFromDefault = "default" // DefaultRegion: nothing better known yet
)

// RegionInfo is the home region and where it comes from: national numbers
// are read in it and, unless a policy names countries, messages and codes go
// to it only.
type RegionInfo struct {
	Region string // ISO 3166 alpha-2
	Source string // RegionFromConfig, RegionFromSIM or RegionFromDefault
	Modem  string // with RegionFromSIM: the IMEI of the modem whose SIM set it
	IMSI   string // and that SIM's IMSI
}

// RegionOfIMSI returns the home region of a SIM from its IMSI's mobile
// country code, "" when unknown (such as 001, the test network).
func RegionOfIMSI(imsi string) string {
	if len(imsi) < 3 {
		return ""
	}
	return mccRegions[imsi[:3]]
}

// homeRegion holds the current RegionInfo; it changes only when it follows
// the SIMs (no region configured).
type homeRegion struct {
	mu   sync.RWMutex
	info RegionInfo
}

func newHomeRegion(configured string) *homeRegion {
	if configured != "" {
		return &homeRegion{info: RegionInfo{Region: configured, Source: RegionFromConfig}}
	}
	return &homeRegion{info: RegionInfo{Region: DefaultRegion, Source: RegionFromDefault}}
}

func (h *homeRegion) get() RegionInfo {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.info
}

// DefaultRegion is the region national numbers are read in now.
func (s *Service) DefaultRegion() string { return s.region.get().Region }

// Region is the home region and where it comes from.
func (s *Service) Region() RegionInfo { return s.region.get() }

// LearnRegion sets the home region from the SIMs the store knows of, unless
// one is configured: the home country most of them share, a tie going to the
// modem with the lowest IMEI, so the choice is stable. Modems whose SIM has
// no known home country (virtual modems on the test network among them) do
// not count; when none is left the region stays as it was. Call it at start
// and whenever a modem comes online.
func (s *Service) LearnRegion(ctx context.Context) (RegionInfo, error) {
	if cur := s.region.get(); cur.Source == RegionFromConfig {
		return cur, nil
	}
	mods, err := s.store.Modems(ctx)
	if err != nil {
		return s.region.get(), fmt.Errorf("region: %w", err)
	}
	next, ok := regionOfSIMs(mods)
	if !ok {
		return s.region.get(), nil
	}
	s.region.mu.Lock()
	prev := s.region.info
	s.region.info = next
	s.region.mu.Unlock()
	if prev.Region != next.Region {
		s.log.Info("home region follows the SIM", "region", next.Region, "was", prev.Region,
			"modem", next.Modem, "mcc", next.IMSI[:3])
	}
	return next, nil
}

// regionOfSIMs picks the region of the modems' SIMs (see LearnRegion).
func regionOfSIMs(mods []ModemInfo) (RegionInfo, bool) {
	mods = slices.Clone(mods)
	slices.SortFunc(mods, func(a, b ModemInfo) int { return cmp.Compare(a.IMEI, b.IMEI) })
	count := map[string]int{}
	first := map[string]ModemInfo{}
	best := ""
	for _, m := range mods {
		r := RegionOfIMSI(m.IMSI)
		if r == "" {
			continue
		}
		if count[r] == 0 {
			first[r] = m
		}
		count[r]++
		if best == "" || count[r] > count[best] {
			best = r
		}
	}
	if best == "" {
		return RegionInfo{}, false
	}
	m := first[best]
	return RegionInfo{Region: best, Source: RegionFromSIM, Modem: m.IMEI, IMSI: m.IMSI}, true
}
