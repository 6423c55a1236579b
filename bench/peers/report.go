package main

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// report is the run's markdown table.
type report struct {
	machine string
	lim     limits
	rows    []row
}

type row struct {
	peer, mode string
	cells      []string
}

func (r *report) write(w io.Writer) {
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(w, "Machine: %s; load average at the end %s.\n", r.machine, strings.Join(strings.Fields(string(load))[:3], " "))
	fmt.Fprintf(w, "Limits: %d idle OTPs or %v, whichever first; any other scenario stops after %v.\n\n", r.lim.idle, r.lim.idleCap, r.lim.cap)
	fmt.Fprint(w, "| peer | config |")
	for _, sc := range scenarios {
		fmt.Fprintf(w, " %s |", sc.title)
	}
	fmt.Fprint(w, "\n|---|---|")
	for range scenarios {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w)
	for _, row := range r.rows {
		fmt.Fprintf(w, "| %s | %s |", row.peer, row.mode)
		for _, c := range row.cells {
			fmt.Fprintf(w, " %s |", strings.ReplaceAll(c, "|", "/"))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "\nTuned means:")
	for _, k := range peerKinds {
		fmt.Fprintf(w, "- %s: %s\n", k.name, k.tuned)
	}
}
