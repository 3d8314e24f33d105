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
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"
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

	gate       *writeGate // shared by the Stores of this file in this process
	background bool       // transactions give way to interactive ones
}

// stmt returns a prepared statement, cached for the life of a transaction so
// that bulk imports and labeling batches parse each statement once.
func (s *Store) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if !s.inTx {
		return s.db.PrepareContext(ctx, query)
	}
	if st, ok := s.stmts[query]; ok {
		return st, nil
	}
	st, err := s.h.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
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
	return "file:" + path + "?_journal_mode=WAL&_busy_timeout=10000&_foreign_keys=on&_synchronous=NORMAL&_txlock=immediate&_cache_size=-65536"
}

// Create makes a new workspace file with the given scale. It refuses to
// overwrite an existing file.
func Create(ctx context.Context, path string, scale Scale) (*Store, error) {
	if _, err := os.Stat(path); err == nil {
		return nil, fmt.Errorf("%s already exists: refusing to overwrite a workspace", path)
	}
	if err := scale.Validate(); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite3", dsn(path))
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, h: db, path: path, gate: gateFor(path)}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		os.Remove(path)
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	err = s.Tx(ctx, func(tx *Store) error {
		if _, err := tx.h.ExecContext(ctx, `INSERT INTO workspace(key, value) VALUES ('created_at', ?), ('scale', ?)`, now(), scale.Name); err != nil {
			return err
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
	return s, nil
}

// Open opens an existing workspace, applying pending migrations. A missing
// file or a file that is not a qrelbench workspace gives a clear error.
func Open(ctx context.Context, path string) (*Store, error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w at %s: run `qrelbench init` (or `qrelbench demo`) first, or pass --db", ErrNoWorkspace, path)
	}
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a directory, not a workspace file", path)
	}
	if err := checkApplicationID(ctx, path); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite3", dsn(path))
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, h: db, path: path, gate: gateFor(path)}
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
		return nil, err
	}
	return s, nil
}

// checkApplicationID looks at the file read-only first, so that opening
// something that is not a workspace (another SQLite database, an empty or
// random file) reports it without changing a byte of it.
func checkApplicationID(ctx context.Context, path string) error {
	ro, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		return err
	}
	defer ro.Close()
	var appID int64
	if err := ro.QueryRowContext(ctx, `PRAGMA application_id`).Scan(&appID); err != nil {
		return notWorkspace(path, err)
	}
	if appID != applicationID {
		return fmt.Errorf("%s is not a qrelbench workspace (a SQLite file of something else, or empty)", path)
	}
	return nil
}

func notWorkspace(path string, err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) && (se.Code == sqlite3.ErrNotADB || se.Code == sqlite3.ErrCorrupt) {
		return fmt.Errorf("%s is not a readable qrelbench workspace (corrupt or not SQLite): %v", path, err)
	}
	return fmt.Errorf("open %s: %w", path, err)
}

// Close closes the pool. Closing a transaction-bound Store is a no-op.
func (s *Store) Close() error {
	if s.inTx {
		return nil
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
		return err
	}
	ts := *s
	ts.h, ts.inTx, ts.stmts = tx, true, map[string]*sql.Stmt{}
	defer func() {
		for _, st := range ts.stmts {
			st.Close()
		}
	}()
	if err := fn(&ts); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
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
