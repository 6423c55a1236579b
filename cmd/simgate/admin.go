package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/simgate/simgate/gateway"
	"github.com/simgate/simgate/modem/modemsim"
	"github.com/simgate/simgate/store"
	"github.com/simgate/simgate/web/ui"
)

// Password bounds: bcrypt reads at most 72 bytes, and a longer password
// would be cut silently, so it is refused instead.
const (
	minPasswordLen = 8
	maxPasswordLen = 72
)

func runAdmin(ctx context.Context, e env, args []string) error {
	if len(args) == 0 || args[0] != "set-password" {
		return usagef("admin: want set-password")
	}
	fs := newFlagSet(e, "admin set-password", "--data DIR  (reads the password from stdin)")
	data := fs.String("data", "", "data directory (default $SIMGATE_DATA or ./data)")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("admin set-password: unexpected argument %q (the password is read from stdin)", pos[0])
	}
	if *data == "" {
		*data = e.getenv("SIMGATE_DATA")
	}
	if *data == "" {
		*data = defaultConfig().Data
	}
	pw, err := readPassword(e.stdin)
	if err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	if err := ensureDataDir(*data); err != nil {
		return err
	}
	db, err := store.Open(ctx, databaseFor(*data, e), nil)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer db.Close()
	if err := db.SetAdminPasswordHash(ctx, string(hash)); err != nil {
		return err
	}
	fmt.Fprintln(e.stderr, "admin password set; every status page session was logged out")
	return nil
}

// readPassword takes the first line of r, so that "echo pw |" and a typed
// line both work.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	switch {
	case len(pw) < minPasswordLen:
		return "", usagef("admin set-password: the password (first line of stdin) needs at least %d characters", minPasswordLen)
	case len(pw) > maxPasswordLen:
		return "", usagef("admin set-password: the password is longer than %d bytes", maxPasswordLen)
	}
	return pw, nil
}

// ensureAdminPassword makes up a password on the first start, so that the
// status page is never open without one, and prints it once.
func ensureAdminPassword(ctx context.Context, db *store.Store, dataDir string, stdout io.Writer) error {
	_, err := db.AdminPasswordHash(ctx)
	if err == nil {
		// The password itself was shown once; say how to get a new one.
		fmt.Fprintf(stdout, "Status page: log in with the admin password printed at the first start, or set a new one:\n  echo 'a long passphrase' | simgate admin set-password --data %s\n", dataDir)
		return nil
	}
	if !errors.Is(err, gateway.ErrNotFound) {
		return fmt.Errorf("read admin password: %w", err)
	}
	pw := rand.Text()
	hash, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	if err := db.SetAdminPasswordHash(ctx, string(hash)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Status page admin password (shown once; change it with \"simgate admin set-password\"):\n  %s\n", pw)
	return nil
}

// adminStore is the store with the admin password check the status page
// needs; the hashing lives here, not in web or store.
type adminStore struct{ *store.Store }

// CheckAdminPassword compares password with the stored bcrypt hash.
func (s adminStore) CheckAdminPassword(ctx context.Context, password string) error {
	hash, err := s.AdminPasswordHash(ctx)
	if err != nil {
		return err
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return gateway.ErrUnauthorized
	}
	return nil
}

// testHookSims, when set by a test, is given serve's virtual modems, so
// that the test can unplug one.
var testHookSims func([]*modemsim.Modem)

// newStatusPage sets up what the status page needs beyond uiCfg: a
// password, the virtual phones of "Try it", and the modem actions.
func newStatusPage(ctx context.Context, cfg config, uiCfg ui.Config, db *store.Store, modems ui.ModemActions, otp ui.OTPConsole,
	sims []*modemsim.Modem, stdout io.Writer, logger *slog.Logger) (*ui.UI, error) {
	if err := ensureAdminPassword(ctx, db, cfg.Data, stdout); err != nil {
		return nil, err
	}
	var phones []ui.VirtualPhone
	for _, m := range sims {
		phones = append(phones, ui.VirtualPhone{Number: m.Number(), IMEI: m.IMEI()})
	}
	if testHookSims != nil {
		testHookSims(sims)
	}
	uiCfg.DailyCap, uiCfg.Phones, uiCfg.Done, uiCfg.Events = cfg.DailyCap, phones, ctx.Done(), db
	return ui.New(uiCfg, adminStore{db}, modems, otp, logger), nil
}
