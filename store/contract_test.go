package store

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
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
	{"TestEventTail", TestEventTail},
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
	{"TestClaimNext_Invalid", TestClaimNext_Invalid}, {"TestClaimNext_Parts", TestClaimNext_Parts}, {"TestClaimNext_Race", TestClaimNext_Race},
	{"TestTransitions", TestTransitions}, {"TestExpireDue", TestExpireDue}, {"TestNextDue", TestNextDue},
	{"TestRecoverLeases", TestRecoverLeases}, {"TestSameNumber", TestSameNumber}, {"TestApplyReport", TestApplyReport},
	{"TestPurgeMessageTexts", TestPurgeMessageTexts}, {"TestPurgeInboundTexts", TestPurgeInboundTexts},
	{"TestPruneWebhookDeliveries", TestPruneWebhookDeliveries}, {"TestPruneIdempotency_Batches", TestPruneIdempotency_Batches},
	{"TestRouteSamples", TestRouteSamples}, {"TestTimeRoundTrip", TestTimeRoundTrip},
	{"TestOwnerKey_Messages", TestOwnerKey_Messages}, {"TestOwnerKey_WebhookFanOut", TestOwnerKey_WebhookFanOut},
	{"TestWebhookOutbox", TestWebhookOutbox}, {"TestEnqueueEventsOnce", TestEnqueueEventsOnce},
	{"TestWebhookChecks", TestWebhookChecks}, {"TestDueWebhooksPerEndpoint", TestDueWebhooksPerEndpoint},
	{"TestWebhookSecrets", TestWebhookSecrets}, {"TestLease_StaleOwnerIsFenced", TestLease_StaleOwnerIsFenced},
	{"TestGroups_CreateReadList", TestGroups_CreateReadList},
	{"TestGroups_DuplicateIDWritesNothing", TestGroups_DuplicateIDWritesNothing},
	{"TestCallbacks_CommittedWithTheMessageAndPruned", TestCallbacks_CommittedWithTheMessageAndPruned},
	{"TestRecordBalance", TestRecordBalance}, {"TestPartLateMR", TestPartLateMR},
	{"TestPartsSentAgainByAnotherModem", TestPartsSentAgainByAnotherModem},
	{"TestDataMessage_RoundTrip", TestDataMessage_RoundTrip}, {"TestDataMessage_CheckStillRefuses", TestDataMessage_CheckStillRefuses},
	{"TestInbox_Data", TestInbox_Data}, {"TestPurgeMessageTexts_BlanksData", TestPurgeMessageTexts_BlanksData},
	{"TestHeartbeat", TestHeartbeat}, {"TestMessageTimes", TestMessageTimes},
}

// sqliteOnly are the store's tests that are not in the contract, each for
// what only SQLite has. TestContractComplete fails on a test in neither
// list (nor PostgreSQL's own, TestPostgres*), so that a new store test
// runs on both stores unless it says why not.
var sqliteOnly = []string{
	// Files, pragmas and opening a path; the schema's upgrade of an old
	// file (PostgreSQL's migrations: TestPostgresMigrationsTwinSQLite, and
	// every contract test migrates a fresh schema).
	"TestOpen_BadPath", "TestOpen_Concurrent", "TestOpen_MigrateAndReopen", "TestOpen_Pragmas",
	"TestOpen_Upgrade", "TestOpen_RefusesNewerSchema", "TestMigration0050_Owners",
	// Backups (on PostgreSQL, the operator's).
	"TestBackupFile", "TestBackup_WhileWriting", "TestCheckBackup_Refuses", "TestOpen_BackupBeforeMigrate",
	// The group-commit writer, lazy commits and the WAL syncer.
	"TestGroupCommit", "TestGroupCommit_DiskFull", "TestGroupCommit_SignalAfterCommit",
	"TestLazyCommit_WithoutSyncer", "TestClose_FinishesQueuedWrites", "TestSyncer", "TestSyncer_Fails",
	"TestSyncer_WakesAtCommit",
	// The dispatcher woken at the commit, per pin; on PostgreSQL the wake
	// comes by NOTIFY, from any host, without the pin (TestPostgres_WakeAcrossHosts).
	"TestWakesAtCommit_ForEachPin",
	// SQLITE_FULL (max_page_count) and SQLite's query plan of the claim.
	"TestDiskFull", "TestClaimNext_Plan",
	// Opens both stores itself: SQLite into PostgreSQL.
	"TestCopyTo",
	// This file's.
	"TestContractComplete",
}

// Every Test function of the package is in the contract, in sqliteOnly, or
// PostgreSQL's own.
func TestContractComplete(t *testing.T) {
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, c := range contract {
		known[c.name] = true
	}
	for _, name := range sqliteOnly {
		if known[name] {
			t.Errorf("%s is in the contract and in sqliteOnly", name)
		}
		known[name] = true
	}
	found := map[string]bool{}
	fset := token.NewFileSet()
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Test") || fn.Name.Name == "TestMain" {
				continue
			}
			name := fn.Name.Name
			found[name] = true
			if !known[name] && !strings.HasPrefix(name, "TestPostgres") {
				t.Errorf("%s (%s) is neither in the contract (contract_test.go) nor in sqliteOnly with a reason", name, f)
			}
		}
	}
	for name := range known {
		if !found[name] {
			t.Errorf("%s is listed but no test of the package", name)
		}
	}
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
