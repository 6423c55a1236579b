// Command simgate is a self-hosted SMS gateway for USB GSM modems.
//
// Run "simgate help" for the subcommands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "simgate: %v\n", err)
		}
		os.Exit(exitCode(err))
	}
}

// exitCode is 2 for usage errors, as flag packages do, and 1 otherwise.
func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

// usageError is a command line the program cannot act on.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// env is what every subcommand receives from run: its arguments and the
// process's environment, so that tests can call subcommands with their own.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// command is one subcommand: its name, one line of help, and its body.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e env, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run the gateway: HTTP API, queue, modems", runServe},
		{"apikey", "create, list or revoke API keys (apikey create --name NAME)", runAPIKey},
		{"admin", "set the status page's admin password (admin set-password --data DIR < password)", runAdmin},
		{"send", "send an SMS through a running gateway", runSend},
		{"otp", "send or check a one-time code through a running gateway (otp send --to N | otp check ID CODE)", runOTP},
		{"inbox", "list received SMS from a running gateway", runInbox},
		{"modems", "list a running gateway's modems", runModems},
		{"sim", "run virtual modems on pseudo-terminals and print their device paths", runSim},
		{"probe", "open one modem and print its identity, SIM, network and signal", runProbe},
		{"ussd", "run a USSD code on one modem's port and print the decoded reply (ussd PORT '*100#')", runUSSD},
		{"pdu", "decode or encode SMS PDUs (pdu decode HEX | pdu encode --to N --text T)", runPDU},
		{"at", "interactive AT console on a serial port", runAT},
		{"ports", "list serial ports and the modems that answer AT on them", runPorts},
		{"backup", "copy the database while the gateway runs (backup --to FILE)", runBackup},
		{"migrate", "move a SQLite installation to PostgreSQL (migrate --from sqlite:DIR --to postgres://…)", runMigrate},
		{"restore", "put a backup in place of the database, the gateway stopped (restore FILE)", runRestore},
		{"doctor", "check this machine, its modems and the config; a one-line fix for each problem", runDoctor},
		{"config", "check a config file: every unknown key and bad value with its line and column (config check FILE)", runConfig},
		{"udev-rules", "print udev rules: ModemManager ignores the modems; stable /dev/simgate/ names", runUdevRules},
		{"version", "print the version, commit and build date", runVersion},
	}
}

// run is the whole program: main only adds the process's environment and
// turns the error into an exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) < 2 {
		printUsage(stderr)
		return usagef("no command given")
	}
	name, rest := args[1], args[2:]
	switch name {
	case "help", "-h", "--help":
		printUsage(stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, e, rest)
		}
	}
	printUsage(stderr)
	return usagef("unknown command %q", name)
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: simgate <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'simgate <command> -h' for a command's flags.")
}

// newFlagSet returns a flag set that reports errors instead of exiting and
// prints its usage to e.stderr.
func newFlagSet(e env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("simgate "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: simgate %s %s\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, allowing flags after positional arguments
// ("simgate probe /dev/ttyUSB2 --json"), which the flag package alone does not.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}
