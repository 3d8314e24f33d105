package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/qrelbench/qrelbench/store/quote"
)

// Document is one item of the corpus with the metadata enterprise search
// depends on.
type Document struct {
	ID       int64          `json:"-"`
	ExtID    string         `json:"id"`
	Title    string         `json:"title,omitempty"`
	Body     string         `json:"text"`
	URL      string         `json:"url,omitempty"`
	Author   string         `json:"author,omitempty"`
	Modified time.Time      `json:"modified,omitzero"`
	Type     string         `json:"type,omitempty"`
	Meta     map[string]any `json:"meta,omitempty"`
}

// Outcome says what a put did.
type Outcome int

const (
	Inserted Outcome = iota
	Unchanged
	Updated
)

// ErrConflict is returned when a record with the same id but different
// content exists and updating was not asked for.
var ErrConflict = errors.New("conflicts with the stored record")

func encodeMeta(m map[string]any) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	return string(b), err
}

func decodeMeta(s string) map[string]any {
	if s == "" || s == "{}" {
		return nil
	}
	var m map[string]any
	if json.Unmarshal([]byte(s), &m) != nil {
		return nil
	}
	return m
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t
}

// PutDocument inserts d, or leaves an identical stored document alone. A
// stored document with the same external id and different content is an
// ErrConflict unless update is set. The returned document has its ID.
func (s *Store) PutDocument(ctx context.Context, d *Document, update bool) (Outcome, error) {
	if err := CheckID(d.ExtID); err != nil {
		return 0, fmt.Errorf("document: %w", err)
	}
	meta, err := encodeMeta(d.Meta)
	if err != nil {
		return 0, fmt.Errorf("document %s: metadata: %w", quote.Input(d.ExtID), err)
	}
	var old Document
	var oldMod, oldMeta string
	err = s.queryRow(ctx, `SELECT id, title, body, url, author, modified, type, meta FROM documents WHERE ext_id = ?`, d.ExtID).
		Scan(&old.ID, &old.Title, &old.Body, &old.URL, &old.Author, &oldMod, &old.Type, &oldMeta)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		res, err := s.exec(ctx, `INSERT INTO documents(ext_id, title, body, url, author, modified, type, meta, created_at) VALUES (?,?,?,?,?,?,?,?,?)`,
			d.ExtID, d.Title, d.Body, d.URL, d.Author, formatTime(d.Modified), d.Type, meta, now())
		if err != nil {
			return 0, err
		}
		d.ID, err = res.LastInsertId()
		return Inserted, err
	case err != nil:
		return 0, err
	}
	d.ID = old.ID
	what := docDifference(old, oldMod, oldMeta, d, meta)
	if what == "" {
		return Unchanged, nil
	}
	if !update {
		return 0, docConflict(d.ExtID, what)
	}
	return Updated, s.updateDocument(ctx, d, meta)
}

// docDifference says what differs between a stored document (its modified
// and meta columns as stored) and d: "" when nothing, else "text", "title"
// or "metadata".
func docDifference(old Document, oldMod, oldMeta string, d *Document, meta string) string {
	switch {
	case old.Body != d.Body:
		return "text"
	case old.Title != d.Title:
		return "title"
	case old.URL != d.URL || old.Author != d.Author || oldMod != formatTime(d.Modified) || old.Type != d.Type || !sameMeta(oldMeta, meta):
		return "metadata"
	}
	return ""
}

func docConflict(ext, what string) error {
	return fmt.Errorf("document %s: different %s than the stored document: %w (use --update to replace it)", quote.Input(ext), what, ErrConflict)
}

func (s *Store) updateDocument(ctx context.Context, d *Document, meta string) error {
	_, err := s.exec(ctx, `UPDATE documents SET title=?, body=?, url=?, author=?, modified=?, type=?, meta=? WHERE id=?`,
		d.Title, d.Body, d.URL, d.Author, formatTime(d.Modified), d.Type, meta, d.ID)
	return err
}

func sameMeta(a, b string) bool {
	if a == b {
		return true
	}
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

const documentColumns = `id, ext_id, title, body, url, author, modified, type, meta`

func scanDocument(sc scanner) (Document, error) {
	var d Document
	var mod, meta string
	err := sc.Scan(&d.ID, &d.ExtID, &d.Title, &d.Body, &d.URL, &d.Author, &mod, &d.Type, &meta)
	d.Modified, d.Meta = parseTime(mod), decodeMeta(meta)
	return d, err
}

// DocumentByExtID returns a document by its external id.
func (s *Store) DocumentByExtID(ctx context.Context, ext string) (Document, error) {
	d, err := scanDocument(s.queryRow(ctx, `SELECT `+documentColumns+` FROM documents WHERE ext_id = ?`, ext))
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("no document %s in the workspace", quote.Input(ext))
	}
	return d, err
}

// DocumentIDs maps external ids to internal ids for every document.
func (s *Store) DocumentIDs(ctx context.Context) (map[string]int64, error) {
	return idMap(ctx, s.h, `SELECT ext_id, id FROM documents`)
}

// EachDocument calls fn for every document in id order.
func (s *Store) EachDocument(ctx context.Context, fn func(Document) error) error {
	rows, err := s.h.QueryContext(ctx, `SELECT `+documentColumns+` FROM documents ORDER BY id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		d, err := scanDocument(rows)
		if err != nil {
			return err
		}
		if err := fn(d); err != nil {
			return err
		}
	}
	return rows.Err()
}

func idMap(ctx context.Context, h handle, q string, args ...any) (map[string]int64, error) {
	rows, err := h.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]int64{}
	for rows.Next() {
		var k string
		var v int64
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, rows.Err()
}

// ConflictError formats an ErrConflict with details.
func ConflictError(format string, args ...any) error {
	return fmt.Errorf(format+": %w (use --update to replace it)", append(args, ErrConflict)...)
}
