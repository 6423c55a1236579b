package store

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/simgate/simgate/internal/pgtest"
)

// The contract suite: the tests below check the store through its ports,
// so they run twice, on SQLite (as themselves) and on PostgreSQL (as
// subtests of TestPostgres, where mustOpen opens a fresh schema on the
// package's one PostgreSQL server instead of a file). The tests left out
// check what only SQLite has: its files, pragmas, backups, query plans,
// group commit and fsyncs.
var contract = []struct {
	name string
	fn   func(*testing.T)
}{
	{"TestStore_AdminPassword", TestStore_AdminPassword}, {"TestStore_Session", TestStore_Session},
	{"TestAPIKeys", TestAPIKeys}, {"TestSettings", TestSettings},
	{"TestEventLog", TestEventLog}, {"TestStateChangesAppendEvents", TestStateChangesAppendEvents},
	{"TestStore_ModemSamples", TestStore_ModemSamples}, {"TestStore_RecentErrors", TestStore_RecentErrors},
	{"TestStore_HourlySendsAndDelivered", TestStore_HourlySendsAndDelivered},
	{"TestStore_MessagesFilter", TestStore_MessagesFilter},
	{"TestInboundParts", TestInboundParts}, {"TestStaleInboundParts_NewestPart", TestStaleInboundParts_NewestPart},
	{"TestInbox", TestInbox}, {"TestInbox_Undecodable", TestInbox_Undecodable},
	{"TestInbox_UndecodableOnce", TestInbox_UndecodableOnce},
	{"TestCreateMessage_RoundTrip", TestCreateMessage_RoundTrip}, {"TestCreateMessage_Invalid", TestCreateMessage_Invalid},
	{"TestCreateMessage_Idempotency", TestCreateMessage_Idempotency}, {"TestMessages_Pagination", TestMessages_Pagination},
	{"TestCancelMessage", TestCancelMessage}, {"TestPruneIdempotency", TestPruneIdempotency},
	{"TestModems", TestModems}, {"TestModemCounters", TestModemCounters},
	{"TestStore_Verification", TestStore_Verification}, {"TestStore_BlockedPrefixes", TestStore_BlockedPrefixes},
	{"TestStore_OTPStatsTimes", TestStore_OTPStatsTimes}, {"TestPartUnknown", TestPartUnknown},
	{"TestClaimNext_Order", TestClaimNext_Order}, {"TestClaimNext_Pin", TestClaimNext_Pin},
	{"TestClaimNext_Timers", TestClaimNext_Timers}, {"TestClaimNext_LeaseExpiry", TestClaimNext_LeaseExpiry},
	{"TestClaimNext_Invalid", TestClaimNext_Invalid}, {"TestClaimNext_Race", TestClaimNext_Race},
	{"TestTransitions", TestTransitions}, {"TestExpireDue", TestExpireDue}, {"TestNextDue", TestNextDue},
	{"TestRecoverLeases", TestRecoverLeases}, {"TestSameNumber", TestSameNumber}, {"TestApplyReport", TestApplyReport},
	{"TestPurgeMessageTexts", TestPurgeMessageTexts}, {"TestPurgeInboundTexts", TestPurgeInboundTexts},
	{"TestPruneWebhookDeliveries", TestPruneWebhookDeliveries}, {"TestPruneIdempotency_Batches", TestPruneIdempotency_Batches},
	{"TestRouteSamples", TestRouteSamples}, {"TestTimeRoundTrip", TestTimeRoundTrip},
	{"TestOwnerKey_Messages", TestOwnerKey_Messages}, {"TestOwnerKey_WebhookFanOut", TestOwnerKey_WebhookFanOut},
	{"TestWebhookOutbox", TestWebhookOutbox}, {"TestEnqueueEventsOnce", TestEnqueueEventsOnce},
	{"TestWebhookChecks", TestWebhookChecks}, {"TestDueWebhooksPerEndpoint", TestDueWebhooksPerEndpoint},
	{"TestWebhookSecrets", TestWebhookSecrets}, {"TestLease_StaleOwnerIsFenced", TestLease_StaleOwnerIsFenced},
}

// pg is the package's PostgreSQL server; nil without one.
var pg *pgtest.Server

func TestMain(m *testing.M) {
	var err error
	pg, err = pgtest.Start()
	if err != nil && pgtest.Required() {
		fmt.Fprintln(os.Stderr, "store tests:", err)
		os.Exit(1)
	}
	code := m.Run()
	if pg != nil {
		pg.Stop()
	}
	os.Exit(code)
}

func TestPostgres(t *testing.T) {
	if pg == nil {
		t.Skip(pgtest.ErrNoPostgres)
	}
	t.Parallel()
	for _, c := range contract {
		t.Run(c.name, c.fn)
	}
}

// onPostgres reports whether t runs in the contract suite on PostgreSQL.
func onPostgres(t testing.TB) bool { return strings.HasPrefix(t.Name(), "TestPostgres/") }

// Every SQLite migration has its PostgreSQL twin of the same name, and no
// twin is left without its SQLite migration; PostgreSQL's own migrations
// (what only a shared database needs) say so in their name, _pg_.
func TestPostgresMigrationsTwinSQLite(t *testing.T) {
	got := slices.DeleteFunc(pgKnownVersions(), func(v string) bool { return strings.Contains(v, "_pg_") })
	if want := knownVersions(); !slices.Equal(got, want) {
		t.Errorf("migrations/postgres has %v,\nwant the SQLite migrations' names %v", got, want)
	}
}
