package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set by the release build (make release) with -ldflags -X; a plain
// "go build" leaves them empty and version falls back to what the Go
// toolchain recorded in the binary.
var (
	version string
	commit  string
	date    string
)

// buildInfo is what "simgate version" prints.
type buildInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Date    string `json:"date"`
	Go      string `json:"go"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
}

func currentBuild() buildInfo {
	b := buildInfo{Version: version, Commit: commit, Date: date, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if info, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			b.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision" && b.Commit == "":
				b.Commit = s.Value
			case s.Key == "vcs.time" && b.Date == "":
				b.Date = s.Value
			}
		}
	}
	if b.Version == "" {
		b.Version = "devel"
	}
	return b
}

func runVersion(_ context.Context, e env, args []string) error {
	fs := newFlagSet(e, "version", "[--json]")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("version: unexpected argument %q", pos[0])
	}
	b := currentBuild()
	if *asJSON {
		return writeJSON(e.stdout, b)
	}
	or := func(s string) string {
		if s == "" {
			return "unknown"
		}
		return s
	}
	fmt.Fprintf(e.stdout, "simgate %s\ncommit %s\nbuilt  %s\n%s %s/%s\n", b.Version, or(b.Commit), or(b.Date), b.Go, b.OS, b.Arch)
	return nil
}
