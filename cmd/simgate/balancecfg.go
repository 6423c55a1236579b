package main

import (
	"fmt"
	"regexp"
	"time"

	"github.com/simgate/simgate/balance"
)

// balanceConfig is one entry of the balance: list: a modem's scheduled
// balance check (package balance).
type balanceConfig struct {
	// Modem is an IMEI, or "*" (the default) for every modem without an
	// entry of its own.
	Modem    string        `yaml:"modem"`
	Code     string        `yaml:"code"`
	Interval time.Duration `yaml:"interval"`
	// Pattern is a regular expression that finds the amount in the reply:
	// its first group, else its whole match; empty finds the first number.
	Pattern string `yaml:"pattern"`
	// Threshold: below it, modem.balance_low goes out (once per crossing);
	// absent means none.
	Threshold *float64 `yaml:"threshold"`
}

// balanceChecks turns the balance: list into checks, validated as
// balance.New validates them.
func balanceChecks(cs []balanceConfig) ([]balance.Check, error) {
	out := make([]balance.Check, 0, len(cs))
	for i, c := range cs {
		ch := balance.Check{Modem: c.Modem, Code: c.Code, Interval: c.Interval}
		if c.Pattern != "" {
			re, err := regexp.Compile(c.Pattern)
			if err != nil {
				return nil, fmt.Errorf("balance[%d].pattern: %w", i, err)
			}
			ch.Pattern = re
		}
		if c.Threshold != nil {
			ch.Threshold, ch.HasThreshold = *c.Threshold, true
		}
		out = append(out, ch)
	}
	if _, err := balance.New(out, nil, nil, nil, nil); err != nil {
		return nil, err
	}
	return out, nil
}
