package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/store"
)

// runAPIKey is "simgate apikey create|list|revoke".
func runAPIKey(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		return usagef("apikey: want create, list or revoke")
	}
	verb, args := args[0], args[1:]
	fs := newFlagSet(e, "apikey "+verb, "--data DIR [--name NAME]")
	data := fs.String("data", "", "data directory (default $SIMGATE_DATA or ./data)")
	name := fs.String("name", "", "the key's name (create)")
	scopes := fs.String("scopes", "", "comma-separated scopes (create): "+strings.Join(gateway.Scopes, ", ")+
		"; default: every one but admin")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *data == "" {
		*data = e.getenv("SIMGATE_DATA")
	}
	if *data == "" {
		*data = defaultConfig().Data
	}
	if err := checkAPIKeyArgs(verb, pos, name); err != nil {
		return err
	}

	if err := ensureDataDir(*data); err != nil {
		return err
	}
	db, err := store.Open(ctx, databaseFor(*data, e), nil)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer db.Close()
	svc := gateway.NewService(gateway.ServiceConfig{}, db, nil, nil, nil)

	switch verb {
	case "create":
		return createAPIKey(ctx, e, svc, *name, *scopes)
	case "list":
		return listAPIKeys(ctx, e, svc)
	}
	if err := svc.RevokeAPIKey(ctx, *name); err != nil {
		return fmt.Errorf("revoke %q: %w", *name, err)
	}
	fmt.Fprintf(e.stdout, "revoked %s\n", *name)
	return nil
}

// checkAPIKeyArgs checks verb's arguments; revoke takes the name as its
// argument into *name.
func checkAPIKeyArgs(verb string, pos []string, name *string) error {
	switch verb {
	case "create":
		if *name == "" {
			return usagef("apikey create: --name is required")
		}
		if len(pos) != 0 {
			return usagef("apikey create: unexpected argument %q", pos[0])
		}
	case "list":
		if len(pos) != 0 {
			return usagef("apikey list: unexpected argument %q", pos[0])
		}
	case "revoke":
		if len(pos) == 1 && *name == "" {
			*name = pos[0]
		} else if len(pos) != 0 || *name == "" {
			return usagef("apikey revoke: want NAME")
		}
	default:
		return usagef("apikey: unknown subcommand %q (want create, list or revoke)", verb)
	}
	return nil
}

func createAPIKey(ctx context.Context, e env, svc *gateway.Service, name, scopes string) error {
	var sc []string
	if scopes != "" {
		sc = strings.Split(scopes, ",")
	}
	key, k, err := svc.CreateAPIKey(ctx, name, sc)
	var ve *gateway.ValidationError
	if errors.As(err, &ve) {
		return usagef("apikey create: --%s: %s", ve.Field, ve.Reason)
	}
	if err != nil {
		return fmt.Errorf("create api key: %w", err)
	}
	fmt.Fprintf(e.stderr, "created API key %q with scopes %s; it is shown once, store it now:\n", k.Name, strings.Join(k.Scopes, ","))
	fmt.Fprintln(e.stdout, key) // alone on the last stdout line, for scripts
	return nil
}

func listAPIKeys(ctx context.Context, e env, svc *gateway.Service) error {
	keys, err := svc.APIKeys(ctx)
	if err != nil {
		return fmt.Errorf("list api keys: %w", err)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSCOPES\tCREATED\tLAST USED\tREVOKED")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.Name, orDash(strings.Join(k.Scopes, ",")),
			fmtLocal(k.CreatedAt), fmtLocal(k.LastUsed), fmtLocal(k.RevokedAt))
	}
	return tw.Flush()
}

func fmtLocal(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
