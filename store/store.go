// Package store is the qrelbench workspace: one SQLite file holding the
// corpus, queries, query–document pairs, every judgment ever given by any
// labeler, and the runs that produced them.
//
// The same methods work inside or outside a transaction: a *Store is bound to
// either the connection pool or one transaction (see Tx).
package store

import (
	"context"
	"database/sql"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/qrelbench/qrelbench/store/quote"
)

//go:embed migrations/*.sql
var migrations embed.FS

// applicationID marks a SQLite file as a qrelbench workspace ("qrlb").
const applicationID = 0x71726c62

// ErrNoWorkspace is returned by Open when the file does not exist.
var ErrNoWorkspace = errors.New("no workspace")

// handle is what both *sql.DB and *sql.Tx offer.
type handle interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// Store is a workspace bound to the pool or to one transaction.
type Store struct {
	db    *sql.DB
	h     handle
	inTx  bool
	path  string
	scale Scale
	stmts map[string]*sql.Stmt // prepared statements of this transaction
	prep  *stmtCache           // statements prepared on the pool, shared by every transaction

	gate       *writeGate // shared by the Stores of this file in this process
	background bool       // transactions give way to interactive ones
	readOnly   bool       // opened by OpenReadOnly
}

// stmtCache holds statements prepared on the pool. database/sql prepares
// each once per connection and a transaction reuses it (Tx.StmtContext), so
// many small transactions — a labeling run commits every answer as it
// arrives — do not parse the same SQL again each time.
type stmtCache struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func (c *stmtCache) get(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[query]; ok {
		return st, nil
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[query] = st
	return st, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
}

// stmt returns a prepared statement of this transaction, cached for its
// life and built on the pool's (see stmtCache).
func (s *Store) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if !s.inTx {
		return s.db.PrepareContext(ctx, query)
	}
	if st, ok := s.stmts[query]; ok {
		return st, nil
	}
	tx, ok := s.h.(*sql.Tx)
	if !ok || s.prep == nil {
		st, err := s.h.PrepareContext(ctx, query)
		if err != nil {
			return nil, err
		}
		s.stmts[query] = st
		return st, nil
	}
	ps, err := s.prep.get(ctx, s.db, query)
	if err != nil {
		return nil, err
	}
	st := tx.StmtContext(ctx, ps)
	s.stmts[query] = st
	return st, nil
}

// exec runs a statement through the transaction's statement cache.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if !s.inTx {
		return s.h.ExecContext(ctx, query, args...)
	}
	st, err := s.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// queryRow runs a one-row query through the transaction's statement cache.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if !s.inTx {
		return s.h.QueryRowContext(ctx, query, args...)
	}
	st, err := s.stmt(ctx, query)
	if err != nil {
		return s.h.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// Path is the workspace file.
func (s *Store) Path() string { return s.path }

// Scale is the workspace's grade scale.
func (s *Store) Scale() Scale { return s.scale }

// DB exposes the pool for read-heavy callers (the workbench's list queries).
func (s *Store) DB() *sql.DB { return s.db }

func dsn(path string) string {
	// WAL lets one background writer and many readers work at once; the busy
	// timeout makes a second writer wait instead of failing; immediate
	// transactions take the write lock up front so two writers never
	// deadlock upgrading from a read lock.
	return fileURI(path) + "?_journal_mode=WAL&_busy_timeout=10000&_foreign_keys=on&_synchronous=NORMAL&_txlock=immediate&_cache_size=-65536"
}

// fileURI is a SQLite URI filename for path: the characters that would end
// the path part ('?', '#') or start an escape ('%') are percent-encoded.
func fileURI(path string) string {
	return "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
}

// Create makes a new workspace file with the given scale. It refuses to
// overwrite an existing file.
func Create(ctx context.Context, path string, scale Scale) (*Store, error) {
	return create(ctx, path, scale, false)
}

// CreateDemo makes a new workspace marked as the demo's: only a workspace so
// marked may be deleted and rebuilt by `qrelbench demo --fresh` (see
// RemoveDemo).
func CreateDemo(ctx context.Context, path string, scale Scale) (*Store, error) {
	return create(ctx, path, scale, true)
}

// demoKey marks a demo workspace in the workspace table.
const demoKey = "demo"

func create(ctx context.Context, path string, scale Scale, demo bool) (*Store, error) {
	if _, err := os.Lstat(path); err == nil {
		return nil, fmt.Errorf("%s already exists: refusing to overwrite a workspace", quote.Path(path))
	}
	if err := scale.Validate(); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite3", dsn(path))
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, h: db, path: path, gate: gateFor(path), prep: &stmtCache{}}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		os.Remove(path)
		return nil, fmt.Errorf("create %s: %w", quote.Path(path), err)
	}
	err = s.Tx(ctx, func(tx *Store) error {
		if _, err := tx.h.ExecContext(ctx, `INSERT INTO workspace(key, value) VALUES ('created_at', ?), ('scale', ?)`, now(), scale.Name); err != nil {
			return err
		}
		if demo {
			if _, err := tx.h.ExecContext(ctx, `INSERT INTO workspace(key, value) VALUES (?, 'built by qrelbench demo: demo --fresh may delete and rebuild it')`, demoKey); err != nil {
				return err
			}
		}
		for _, l := range scale.Levels {
			if _, err := tx.h.ExecContext(ctx, `INSERT INTO scale(grade, name, description) VALUES (?, ?, ?)`, l.Grade, l.Name, l.Description); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		os.Remove(path)
		return nil, err
	}
	s.scale = scale
	if err := s.ensureBuiltins(ctx); err != nil {
		db.Close()
		return nil, err
	}
	// Put the header, with the application id that tells a workspace from
	// other files, into the main file now rather than at the first
	// checkpoint: Open reads it there without opening SQLite.
	if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Open opens an existing workspace, applying pending migrations. A missing
// file or a file that is not a qrelbench workspace gives a clear error.
//
// Open is for commands that write. A workspace this process cannot write to
// (a read-only file, folder or file system) is refused up front with an
// error saying so; reading commands use OpenReadOnly.
func Open(ctx context.Context, path string) (*Store, error) {
	if err := checkFile(path); err != nil {
		return nil, err
	}
	if err := checkApplicationID(ctx, path); err != nil {
		return nil, err
	}
	if err := checkWritable(path); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite3", dsn(path))
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, h: db, path: path, gate: gateFor(path), prep: &stmtCache{}}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, notWorkspace(path, err)
	}
	if s.scale, err = s.loadScale(ctx); err != nil {
		db.Close()
		return nil, notWorkspace(path, err)
	}
	if err := s.ensureBuiltins(ctx); err != nil {
		db.Close()
		return nil, Blame(path, err)
	}
	return s, nil
}

// checkFile refuses a path that cannot be a workspace file, before SQLite
// sees it.
func checkFile(path string) error {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w at %s: run `qrelbench init` (or `qrelbench demo`) first, or pass --db", ErrNoWorkspace, quote.Path(path))
	}
	if err != nil {
		return err
	}
	if st.IsDir() {
		return fmt.Errorf("%s is a directory, not a workspace file", quote.Path(path))
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file (a device, pipe or socket), not a workspace file", quote.Path(path))
	}
	return nil
}

// checkApplicationID looks at the file read-only first, so that opening
// something that is not a workspace (another SQLite database, an empty or
// random file) reports it without changing a byte of it.
func checkApplicationID(ctx context.Context, path string) error {
	appID, err := readApplicationID(path)
	if err != nil {
		return notWorkspace(path, err)
	}
	if appID == 0 {
		if wal, err := os.Stat(path + "-wal"); err == nil && wal.Size() > 0 {
			// The header may not be checkpointed yet (a workspace made by an
			// older qrelbench that has not closed it): ask SQLite, read-only.
			if appID, err = sqlApplicationID(ctx, path); err != nil {
				return notWorkspace(path, err)
			}
		}
	}
	if appID != applicationID {
		return fmt.Errorf("%s is not a qrelbench workspace (a SQLite file of something else, or empty)", quote.Path(path))
	}
	return nil
}

// readApplicationID reads the application id from the file's 100-byte
// SQLite header (offset 68) with a plain read: no SQLite connection is
// opened on a file that may be another program's, so nothing about it (its
// journal mode, its -wal and -shm files) can change. A file shorter than a
// header is an empty database to SQLite: id 0.
func readApplicationID(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var h [100]byte
	n, err := io.ReadFull(f, h[:])
	if n == 0 {
		return 0, nil
	}
	if err != nil {
		return 0, sqlite3.Error{Code: sqlite3.ErrNotADB}
	}
	if string(h[:16]) != "SQLite format 3\x00" {
		return 0, sqlite3.Error{Code: sqlite3.ErrNotADB}
	}
	return int64(binary.BigEndian.Uint32(h[68:72])), nil
}

func sqlApplicationID(ctx context.Context, path string) (int64, error) {
	ro, err := sql.Open("sqlite3", fileURI(path)+"?mode=ro")
	if err != nil {
		return 0, err
	}
	defer ro.Close()
	var appID int64
	err = ro.QueryRowContext(ctx, `PRAGMA application_id`).Scan(&appID)
	return appID, err
}

func notWorkspace(path string, err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) && (se.Code == sqlite3.ErrNotADB || se.Code == sqlite3.ErrCorrupt) {
		return fmt.Errorf("%s is not a readable qrelbench workspace (corrupt or not SQLite): %v", quote.Path(path), err)
	}
	return fmt.Errorf("open %s: %w", quote.Path(path), err)
}

// Close closes the pool. Closing a transaction-bound Store is a no-op.
func (s *Store) Close() error {
	if s.inTx {
		return nil
	}
	if s.prep != nil {
		s.prep.close()
	}
	return s.db.Close()
}

// Tx runs fn in one immediate (write-locking) transaction: every change fn
// makes is kept, or none is. Inside a transaction it simply calls fn.
func (s *Store) Tx(ctx context.Context, fn func(tx *Store) error) error {
	if s.inTx {
		return fn(s)
	}
	defer s.gate.enter(s.background)()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Blame(s.path, err)
	}
	ts, done := s.bound(tx)
	defer done()
	if err := fn(ts); err != nil {
		tx.Rollback()
		return Blame(s.path, err)
	}
	return Blame(s.path, tx.Commit())
}

// bound is s bound to the transaction tx, with its own statement cache;
// done closes the statements it prepared.
func (s *Store) bound(tx *sql.Tx) (ts *Store, done func()) {
	b := *s
	b.h, b.inTx, b.stmts = tx, true, map[string]*sql.Stmt{}
	return &b, func() {
		for _, st := range b.stmts {
			st.Close()
		}
	}
}

func (s *Store) migrate(ctx context.Context) error {
	entries, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		return err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	var version int
	if err := s.db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return err
	}
	if version > len(names) {
		return fmt.Errorf("workspace schema version %d is newer than this qrelbench (%d): upgrade qrelbench", version, len(names))
	}
	for i := version; i < len(names); i++ {
		body, err := migrations.ReadFile("migrations/" + names[i])
		if err != nil {
			return err
		}
		err = s.Tx(ctx, func(tx *Store) error {
			if _, err := tx.h.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", names[i], err)
			}
			if _, err := tx.h.ExecContext(ctx, `PRAGMA user_version = `+strconv.Itoa(i+1)); err != nil {
				return err
			}
			_, err := tx.h.ExecContext(ctx, `PRAGMA application_id = `+strconv.Itoa(applicationID))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func now() string { return time.Now().UTC().Format(time.RFC3339Nano) }

// placeholders returns "?,?,?" for n arguments.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?,", n-1) + "?"
}

// int64Args are ids as the arguments of an IN (placeholders(len(ids))) list.
func int64Args(ids []int64) []any {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return args
}
