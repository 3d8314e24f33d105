package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/qrelbench/qrelbench/store/quote"
)

// Query origins.
const (
	OriginImported  = "imported"
	OriginSynthetic = "synthetic"
	OriginHuman     = "human"
)

// Query is a search query with where it came from.
type Query struct {
	ID        int64  `json:"-"`
	ExtID     string `json:"id"`
	Text      string `json:"text"`
	Origin    string `json:"origin"`
	SeedDocID int64  `json:"-"`                   // 0 when not synthetic
	Generator string `json:"generator,omitempty"` // synthesizer that wrote it
	Style     string `json:"style,omitempty"`
	RunID     int64  `json:"-"`
}

// PutQuery inserts q or leaves an identical stored query alone; a different
// text under the same id is an ErrConflict unless update is set.
func (s *Store) PutQuery(ctx context.Context, q *Query, update bool) (Outcome, error) {
	if q.Origin == "" {
		q.Origin = OriginImported
	}
	if err := CheckID(q.ExtID); err != nil {
		return 0, fmt.Errorf("query: %w", err)
	}
	var id int64
	var text string
	err := s.queryRow(ctx, `SELECT id, text FROM queries WHERE ext_id = ?`, q.ExtID).Scan(&id, &text)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		res, err := s.exec(ctx, `INSERT INTO queries(ext_id, text, origin, seed_doc_id, generator, style, run_id, created_at) VALUES (?,?,?,?,?,?,?,?)`,
			q.ExtID, q.Text, q.Origin, nullID(q.SeedDocID), q.Generator, q.Style, nullID(q.RunID), now())
		if err != nil {
			return 0, err
		}
		q.ID, err = res.LastInsertId()
		return Inserted, err
	case err != nil:
		return 0, err
	}
	q.ID = id
	if text == q.Text {
		return Unchanged, nil
	}
	if !update {
		return 0, fmt.Errorf("query %s: different text than the stored query (%s): %w (use --update to replace it)", quote.Input(q.ExtID), quote.Input(text), ErrConflict)
	}
	_, err = s.exec(ctx, `UPDATE queries SET text = ? WHERE id = ?`, q.Text, id)
	return Updated, err
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

const queryColumns = `id, ext_id, text, origin, COALESCE(seed_doc_id, 0), generator, style, COALESCE(run_id, 0)`

func scanQuery(sc scanner) (Query, error) {
	var q Query
	err := sc.Scan(&q.ID, &q.ExtID, &q.Text, &q.Origin, &q.SeedDocID, &q.Generator, &q.Style, &q.RunID)
	return q, err
}

// Queries returns every query in id order.
func (s *Store) Queries(ctx context.Context) ([]Query, error) {
	return queryAll(ctx, s.h, scanQuery, `SELECT `+queryColumns+` FROM queries ORDER BY id`)
}

// QueryIDsOf returns the internal ids of the queries with these external ids
// (of every query when none is given), in id order, and the external ids
// that name no query.
func (s *Store) QueryIDsOf(ctx context.Context, extIDs []string) (ids []int64, missing []string, err error) {
	scan := func(sc scanner) (Query, error) {
		var q Query
		err := sc.Scan(&q.ID, &q.ExtID)
		return q, err
	}
	var qs []Query
	if len(extIDs) == 0 {
		qs, err = queryAll(ctx, s.h, scan, `SELECT id, ext_id FROM queries ORDER BY id`)
	} else {
		js, _ := json.Marshal(extIDs)
		qs, err = queryAll(ctx, s.h, scan, `SELECT id, ext_id FROM queries WHERE ext_id IN (SELECT value FROM json_each(?)) ORDER BY id`, string(js))
	}
	if err != nil {
		return nil, nil, err
	}
	found := make(map[string]bool, len(qs))
	ids = make([]int64, len(qs))
	for i, q := range qs {
		ids[i] = q.ID
		found[q.ExtID] = true
	}
	for _, e := range extIDs {
		if !found[e] {
			missing = append(missing, e)
		}
	}
	return ids, missing, nil
}

// QueryByExtID returns a query by its external id.
func (s *Store) QueryByExtID(ctx context.Context, ext string) (Query, error) {
	q, err := scanQuery(s.h.QueryRowContext(ctx, `SELECT `+queryColumns+` FROM queries WHERE ext_id = ?`, ext))
	if errors.Is(err, sql.ErrNoRows) {
		return q, fmt.Errorf("no query %s in the workspace", quote.Input(ext))
	}
	return q, err
}

// QueryIDs maps external ids to internal ids for every query.
func (s *Store) QueryIDs(ctx context.Context) (map[string]int64, error) {
	return idMap(ctx, s.h, `SELECT ext_id, id FROM queries`)
}

// SeededDocs returns the ids of documents that already seeded a query from
// the named generator, so synthesis can resume without paying twice.
func (s *Store) SeededDocs(ctx context.Context, generator string) (map[int64]bool, error) {
	list, err := ids(ctx, s.h, `SELECT doc_id FROM synth_seeds WHERE generator = ?`, generator)
	m := make(map[int64]bool, len(list))
	for _, id := range list {
		m[id] = true
	}
	return m, err
}

// MarkSeeded records that a generator has written queries for a document
// (n of them survived deduplication).
func (s *Store) MarkSeeded(ctx context.Context, docID int64, generator string, runID int64, n int) error {
	_, err := s.exec(ctx, `INSERT INTO synth_seeds(doc_id, generator, run_id, queries, at) VALUES (?,?,?,?,?)
		ON CONFLICT(doc_id, generator) DO UPDATE SET queries = queries + excluded.queries, run_id = excluded.run_id, at = excluded.at`,
		docID, generator, nullID(runID), n, now())
	return err
}
