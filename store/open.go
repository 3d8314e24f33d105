package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/qrelbench/qrelbench/store/quote"
)

// OpenReadOnly opens an existing workspace for reading only, for commands
// that never write (stats, export, eval, labeler list): it works on a file,
// folder or file system this process cannot write to. It applies no
// migration, creates nothing and never switches the journal mode; a write
// through it fails with an error naming the file. When the folder cannot
// hold SQLite's -shm file either, the file is opened as immutable (nobody
// can be writing it then).
//
// A workspace whose schema is older than this qrelbench's needs a
// migration: when the file is writable it is opened with Open (which
// migrates), otherwise it is refused with a message saying why.
func OpenReadOnly(ctx context.Context, path string) (*Store, error) {
	if err := checkFile(path); err != nil {
		return nil, err
	}
	if err := checkApplicationID(ctx, path); err != nil {
		return nil, err
	}
	db, version, err := openRO(ctx, path)
	if err != nil {
		return nil, err
	}
	switch n := migrationCount(); {
	case version > n:
		db.Close()
		return nil, fmt.Errorf("%s: workspace schema version %d is newer than this qrelbench (%d): upgrade qrelbench", quote.Path(path), version, n)
	case version < n:
		db.Close()
		if checkWritable(path) == nil {
			return Open(ctx, path)
		}
		return nil, fmt.Errorf("%s is read-only and its schema (version %d) is older than this qrelbench's (%d): it needs a migration, which needs write access once", quote.Path(path), version, n)
	}
	s := &Store{db: db, h: db, path: path, readOnly: true}
	if s.scale, err = s.loadScale(ctx); err != nil {
		db.Close()
		return nil, notWorkspace(path, err)
	}
	return s, nil
}

// openRO opens a read-only pool on the file and reads its schema version.
func openRO(ctx context.Context, path string) (*sql.DB, int, error) {
	var last error
	for _, params := range []string{"?mode=ro", "?mode=ro&immutable=1"} {
		db, err := sql.Open("sqlite3", fileURI(path)+params+"&_busy_timeout=10000&_foreign_keys=on&_cache_size=-65536")
		if err != nil {
			return nil, 0, err
		}
		var version int
		if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
			db.Close()
			if isCode(err, sqlite3.ErrCantOpen, sqlite3.ErrReadonly) {
				last = err // no -shm and no way to make one: try immutable
				continue
			}
			return nil, 0, notWorkspace(path, err)
		}
		return db, version, nil
	}
	return nil, 0, notWorkspace(path, last)
}

// SchemaVersion is the schema version this build creates and migrates
// to: the number of embedded migrations. Caches of built workspaces key on
// it, so that a new migration never migrates a cached copy in place.
func SchemaVersion() int { return migrationCount() }

func migrationCount() int {
	entries, _ := fs.ReadDir(migrations, "migrations")
	return len(entries)
}

// checkWritable refuses, before SQLite tries, a workspace this process
// cannot write: the file itself, or the folder where SQLite keeps the
// workspace's -wal and -shm files.
func checkWritable(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
			return readOnlyError(path, "the file is read-only")
		}
		return err
	}
	f.Close()
	dir := filepath.Dir(path)
	if !canWriteDir(dir) {
		// SQLite can still write when both sidecars exist and are writable.
		for _, side := range []string{"-wal", "-shm"} {
			g, err := os.OpenFile(path+side, os.O_RDWR, 0)
			if err != nil {
				return readOnlyError(path, "its folder "+quote.Path(dir)+" is read-only (SQLite keeps the workspace's -wal and -shm files beside it)")
			}
			g.Close()
		}
	}
	return nil
}

func readOnlyError(path, why string) error {
	return &WorkspaceError{Path: path, Err: fmt.Errorf("%s: this command writes to the workspace; reading commands (stats, export, eval, labeler list) work on a read-only workspace", why), ReadOnly: true}
}

// ErrReadOnly is matched (errors.Is) by every error of writing to a
// read-only workspace.
var ErrReadOnly = errors.New("read-only workspace")

// WorkspaceError is a failure of the workspace file itself, not of the
// input being imported or the command's arguments: it is read-only,
// corrupt, full, or the disk failed. Its message names the workspace.
type WorkspaceError struct {
	Path     string
	Err      error
	ReadOnly bool
}

func (e *WorkspaceError) Error() string {
	switch {
	case e.ReadOnly:
		return fmt.Sprintf("workspace %s is read-only: %v", quote.Path(e.Path), e.Err)
	case isCode(e.Err, sqlite3.ErrCorrupt, sqlite3.ErrNotADB):
		return fmt.Sprintf("workspace %s is damaged: %v (restore it from a backup; `sqlite3 %s .recover` may save what is left)", quote.Path(e.Path), e.Err, quote.Path(e.Path))
	case isCode(e.Err, sqlite3.ErrFull):
		return fmt.Sprintf("workspace %s: the disk is full: %v", quote.Path(e.Path), e.Err)
	default:
		return fmt.Sprintf("workspace %s: %v", quote.Path(e.Path), e.Err)
	}
}

func (e *WorkspaceError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrReadOnly) true for a read-only workspace.
func (e *WorkspaceError) Is(target error) bool { return target == ErrReadOnly && e.ReadOnly }

// Blame returns err as a *WorkspaceError naming the workspace at path when
// its cause is the workspace file (read-only, corrupt, full, I/O), so that
// it is never blamed on an input file's line; any other error is returned
// as it is.
func Blame(path string, err error) error {
	if err == nil {
		return nil
	}
	var we *WorkspaceError
	if errors.As(err, &we) {
		return we
	}
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code {
	case sqlite3.ErrReadonly:
		return &WorkspaceError{Path: path, Err: se, ReadOnly: true}
	case sqlite3.ErrCorrupt, sqlite3.ErrNotADB, sqlite3.ErrFull, sqlite3.ErrIoErr, sqlite3.ErrCantOpen, sqlite3.ErrPerm:
		return &WorkspaceError{Path: path, Err: se}
	}
	return err
}

func isCode(err error, codes ...sqlite3.ErrNo) bool {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return false
	}
	for _, c := range codes {
		if se.Code == c {
			return true
		}
	}
	return false
}

// IsDemo reports whether the file at path is a workspace built by
// `qrelbench demo` (marked by CreateDemo), reading it without changing it.
func IsDemo(ctx context.Context, path string) (bool, error) {
	if err := checkFile(path); err != nil {
		return false, err
	}
	if err := checkApplicationID(ctx, path); err != nil {
		return false, err
	}
	// Without a -wal file nobody has changes that are not in the main file
	// yet, and reading it as immutable creates no -wal or -shm beside a
	// file that may not be ours to touch.
	params := "?mode=ro"
	if _, err := os.Stat(path + "-wal"); errors.Is(err, fs.ErrNotExist) {
		params += "&immutable=1"
	}
	db, err := sql.Open("sqlite3", fileURI(path)+params)
	if err != nil {
		return false, err
	}
	defer db.Close()
	var n int
	err = db.QueryRowContext(ctx, `SELECT count(*) FROM workspace WHERE key = ?`, demoKey).Scan(&n)
	return n > 0, Blame(path, err)
}

// RemoveDemo deletes the demo workspace at path with its -wal, -shm and
// -writers files, so that `demo --fresh` can build it again. Anything else is
// refused and left exactly as it was: a symlink, a directory, a device, a
// file that is not SQLite, another program's database, a workspace that
// CreateDemo did not make. A path that does not exist is not an error.
func RemoveDemo(ctx context.Context, path string) error {
	st, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	refuse := func(what string) error {
		return fmt.Errorf("--fresh deletes only a demo workspace, and %s is %s: refusing to touch it (pass --db with a new file name for the demo)", quote.Path(path), what)
	}
	switch {
	case st.Mode()&fs.ModeSymlink != 0:
		return refuse("a symlink")
	case st.IsDir():
		return refuse("a directory")
	case !st.Mode().IsRegular():
		return refuse("not a regular file")
	}
	demo, err := IsDemo(ctx, path)
	if err != nil {
		return fmt.Errorf("%w\n%v", refuse("not a demo workspace"), err)
	}
	if !demo {
		return refuse("a workspace that `qrelbench demo` did not build")
	}
	return RemoveFiles(path)
}

// RemoveFiles deletes a workspace file and the files SQLite and the write
// gate keep beside it (-wal, -shm, -writers); missing ones are no error.
func RemoveFiles(path string) error {
	for _, suffix := range []string{"", "-wal", "-shm", "-writers"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}
