package powercut

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

// mount mounts a new FS on a temporary directory; tests skip where FUSE
// cannot be mounted (not root, no /dev/fuse).
func mount(t *testing.T) (*FS, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("powercut mounts with mount(2): needs root")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skipf("no FUSE: %v", err)
	}
	f, dir := New(), t.TempDir()
	if err := f.Mount(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Unmount(); err != nil {
			t.Error(err)
		}
	})
	return f, dir
}

// powerCut unmounts, cuts and mounts again, as a reboot after a power cut.
func powerCut(t *testing.T, f *FS, dir string) Loss {
	t.Helper()
	if err := f.Unmount(); err != nil {
		t.Fatal(err)
	}
	loss, err := f.Cut()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Mount(dir); err != nil {
		t.Fatal(err)
	}
	return loss
}

func mustWrite(t *testing.T, file *os.File, s string, off int64) {
	t.Helper()
	if _, err := file.WriteAt([]byte(s), off); err != nil {
		t.Fatal(err)
	}
}

func mustSync(t *testing.T, file interface{ Sync() error }) {
	t.Helper()
	if err := file.Sync(); err != nil {
		t.Fatal(err)
	}
}

func mustCreate(t *testing.T, p string) *os.File {
	t.Helper()
	file, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	return file
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func TestCut_DataRollsBackToLastSync(t *testing.T) {
	f, dir := mount(t)
	p := filepath.Join(dir, "db")
	file := mustCreate(t, p)
	mustWrite(t, file, "hello, ", 0)
	mustSync(t, file)
	mustWrite(t, file, "world", 7)
	mustWrite(t, file, "J", 0)
	if got := readFile(t, p); got != "Jello, world" {
		t.Fatalf("before the cut: %q", got)
	}
	if err := syscall.Fdatasync(int(file.Fd())); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, file, "unsynced tail", 12)
	mustWrite(t, file, "X", 1)
	file.Close()

	if _, err := f.Cut(); !errors.Is(err, ErrMounted) {
		t.Errorf("Cut while mounted: %v, want ErrMounted", err)
	}
	loss := powerCut(t, f, dir)
	if got := readFile(t, p); got != "Jello, world" {
		t.Errorf("after the cut: %q, want the content as of the fdatasync", got)
	}
	if !slices.Equal(loss.Files, []string{"/db"}) || loss.Pages != 1 {
		t.Errorf("loss %+v, want /db rolled back, one page", loss)
	}
	// A second cut with nothing written since loses nothing.
	if loss := powerCut(t, f, dir); len(loss.Files) != 0 || loss.Records != 0 {
		t.Errorf("second cut lost %+v", loss)
	}
}

func TestCut_TruncateAndPagesRollBack(t *testing.T) {
	f, dir := mount(t)
	p := filepath.Join(dir, "wal")
	file := mustCreate(t, p)
	big := bytes.Repeat([]byte("0123456789abcdef"), 3*pageSize/16+7) // three pages and a bit
	if _, err := file.WriteAt(big, 0); err != nil {
		t.Fatal(err)
	}
	mustSync(t, file)
	if err := file.Truncate(100); err != nil {
		t.Fatal(err)
	}
	if err := file.Truncate(2 * pageSize); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if len(b) != 2*pageSize || !bytes.Equal(b[:100], big[:100]) || bytes.ContainsFunc(b[100:], func(r rune) bool { return r != 0 }) {
		t.Fatalf("after truncate down and up: %d bytes, want the first 100 then zeros", len(b))
	}
	mustWrite(t, file, "page two", pageSize+5)
	file.Close()
	powerCut(t, f, dir)
	if got := readFile(t, p); got != string(big) {
		t.Errorf("after the cut: %d bytes, want the %d synced ones", len(got), len(big))
	}
}

func TestCut_NamesFollowTheJournal(t *testing.T) {
	f, dir := mount(t)
	// Synced: the file's fsync commits its creation, and the earlier mkdir.
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	kept := mustCreate(t, filepath.Join(dir, "data", "kept"))
	mustWrite(t, kept, "k", 0)
	mustSync(t, kept)
	kept.Close()
	// Created before a file that is synced: the journal is ordered, so it
	// stays, with its name but without its unsynced data.
	early := mustCreate(t, filepath.Join(dir, "data", "early"))
	mustWrite(t, early, "e", 0)
	early.Close()
	later := mustCreate(t, filepath.Join(dir, "data", "later"))
	mustSync(t, later)
	later.Close()
	// Unlinked and renamed without a sync after: undone.
	if err := os.Remove(filepath.Join(dir, "data", "later")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "data", "kept"), filepath.Join(dir, "moved")); err != nil {
		t.Fatal(err)
	}
	// A directory fsync commits what came before it.
	d2 := mustCreate(t, filepath.Join(dir, "d2"))
	d2.Close()
	root, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	mustSync(t, root)
	root.Close()
	// Created after the last commit and never synced: gone, name and data.
	lost := mustCreate(t, filepath.Join(dir, "data", "lost"))
	mustWrite(t, lost, "l", 0)
	lost.Close()

	loss := powerCut(t, f, dir)
	for p, want := range map[string]bool{
		"data/kept": false, "moved": true, // the rename was committed by the directory fsync
		"data/lost": false, "data/early": true, "data/later": false, "d2": true,
	} {
		if got := exists(filepath.Join(dir, p)); got != want {
			t.Errorf("%s exists %v after the cut, want %v", p, got, want)
		}
	}
	if got := readFile(t, filepath.Join(dir, "moved")); got != "k" {
		t.Errorf("moved: %q, want k", got)
	}
	if got := readFile(t, filepath.Join(dir, "data", "early")); got != "" {
		t.Errorf("early: %q, want empty (its data was never synced)", got)
	}
	if loss.Records == 0 && len(loss.Files) == 0 {
		t.Errorf("loss %+v, want something lost", loss)
	}

	// Without the directory fsync, an unlink and a rename come back undone.
	if err := os.Remove(filepath.Join(dir, "d2")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "moved"), filepath.Join(dir, "data", "kept")); err != nil {
		t.Fatal(err)
	}
	loss = powerCut(t, f, dir)
	if !exists(filepath.Join(dir, "d2")) || !exists(filepath.Join(dir, "moved")) || exists(filepath.Join(dir, "data", "kept")) {
		t.Errorf("an unsynced unlink and rename survived the cut")
	}
	if loss.Records != 2 {
		t.Errorf("loss %+v, want 2 name changes undone", loss)
	}
	if s := f.Stats(); s.FileSyncs != 2 || s.DirSyncs != 1 {
		t.Errorf("stats %+v, want 2 file syncs and 1 directory sync", s)
	}
}
