package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/simgate/simgate/modem"
)

// cmgsRe matches the one command whose next input line is data, not a command.
var cmgsRe = regexp.MustCompile(`(?i)^AT\+CMGS=(\d+)$`)

func runAT(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "at", "PORT [--timeout D] [--debug]")
	timeout := fs.Duration("timeout", 30*time.Second, "time allowed for each command")
	debug := fs.Bool("debug", false, "trace raw AT traffic on stderr")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usagef("at: want exactly one PORT")
	}
	m, err := modem.Open(ctx, pos[0], modem.Config{Logger: traceLogger(e.stderr, *debug)})
	if err != nil {
		return fmt.Errorf("open %s: %w", pos[0], err)
	}
	defer m.Close()
	return atConsole(ctx, m, e.stdin, e.stdout, *timeout)
}

// atConsole reads commands from in, one per line, runs each on m and prints
// its response; unsolicited lines are printed as they come, marked "<".
// "AT+CMGS=<n>" takes the PDU hex on the next line, as after a real prompt.
func atConsole(ctx context.Context, m *modem.Modem, in io.Reader, out io.Writer, timeout time.Duration) error {
	var mu sync.Mutex // one writer at a time on out
	printf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, format, args...)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ev := range m.Events() {
			printf("< %s\n", describeEvent(ev))
		}
	}()
	defer wg.Wait()
	defer m.Close()

	printf("connected; type AT commands, 'quit' to leave\n")
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch strings.ToLower(line) {
		case "":
			continue
		case "quit", "exit":
			return nil
		}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		var lines []string
		var err error
		if g := cmgsRe.FindStringSubmatch(line); g != nil {
			n, _ := strconv.Atoi(g[1])
			printf("> ")
			if !sc.Scan() {
				cancel()
				return nil
			}
			var mr int
			mr, err = m.SendPDU(cctx, n, strings.TrimSpace(sc.Text()))
			if err == nil {
				lines = []string{fmt.Sprintf("+CMGS: %d", mr)}
			}
		} else {
			lines, err = m.Command(cctx, line)
		}
		cancel()
		for _, l := range lines {
			printf("%s\n", l)
		}
		switch {
		case err == nil:
			printf("OK\n")
		case errors.Is(err, modem.ErrClosed):
			return fmt.Errorf("modem went away: %w", err)
		default:
			printf("%s\n", finalResult(err))
		}
		if ctx.Err() != nil {
			return nil
		}
	}
	return sc.Err()
}

// finalResult shows an error as the modem's own final result code where it
// has one, since that is what an admin at an AT console expects to read.
func finalResult(err error) string {
	var cme modem.CMEError
	var cms modem.CMSError
	switch {
	case errors.As(err, &cme):
		return cme.Error()
	case errors.As(err, &cms):
		return fmt.Sprintf("%s [%s]", cms.Error(), cms.Class())
	case errors.Is(err, modem.ErrCommandFailed):
		return "ERROR"
	}
	return "error: " + err.Error()
}

// describeEvent renders an unsolicited result for a person at the console.
func describeEvent(ev modem.Event) string {
	if ev.PDU != "" {
		return ev.Line + " " + ev.PDU
	}
	return ev.Line
}
