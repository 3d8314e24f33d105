package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// This file holds the short, index-friendly queries of the workbench (the
// `tui` package): keyset pages of pairs to grade, compact per-pair grade
// summaries for a browse index of a million rows, and the changes since the
// last look. Every query here is meant to return in milliseconds even while a
// background run writes thousands of judgments a second.

// PairRef is a pair's position in grading order (query, then document).
type PairRef struct {
	ID      int64
	QueryID int64
	DocID   int64
}

// PairsWithStatus returns up to limit pairs on which the labeler's current
// judgment has the given status (e.g. StatusUnsure: "judge later"), in
// (query id, document id) order.
func (s *Store) PairsWithStatus(ctx context.Context, labelerID int64, status string, limit int) ([]PairRef, error) {
	return queryAll(ctx, s.h, scanRef, `SELECT p.id, p.query_id, p.doc_id FROM judgments j JOIN pairs p ON p.id = j.pair_id
		WHERE j.labeler_id = ? AND j.status = ? ORDER BY p.query_id, p.doc_id LIMIT ?`, labelerID, status, limit)
}

func scanRef(sc scanner) (PairRef, error) {
	var r PairRef
	err := sc.Scan(&r.ID, &r.QueryID, &r.DocID)
	return r, err
}

// LastSet returns the pair of the labeler's most recent change that is still
// in effect (not undone), so a session resumes where the last one stopped.
func (s *Store) LastSet(ctx context.Context, labelerID int64) (PairRef, bool, error) {
	r, err := scanRef(s.h.QueryRowContext(ctx, `SELECT p.id, p.query_id, p.doc_id FROM judgment_history h JOIN pairs p ON p.id = h.pair_id
		WHERE h.labeler_id = ? AND h.action = 'set' AND h.undone = 0 ORDER BY h.id DESC LIMIT 1`, labelerID))
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	return r, err == nil, err
}

// Progress counts one labeler's work against the whole workspace.
type Progress struct {
	Pairs  int // pairs in the workspace
	Graded int // pairs with a grade (status ok) by the labeler
	Unsure int // pairs the labeler marked "judge later"
	Other  int // other statuses (errors, refusals)
}

// Left is the number of pairs without any judgment by the labeler.
func (p Progress) Left() int { return max(p.Pairs-p.Graded-p.Unsure-p.Other, 0) }

// LabelerProgress counts the labeler's judgments by status.
func (s *Store) LabelerProgress(ctx context.Context, labelerID int64) (Progress, error) {
	var p Progress
	if err := s.h.QueryRowContext(ctx, `SELECT count(*) FROM pairs`).Scan(&p.Pairs); err != nil {
		return p, err
	}
	rows, err := s.h.QueryContext(ctx, `SELECT status, count(*) FROM judgments WHERE labeler_id = ? GROUP BY status`, labelerID)
	if err != nil {
		return p, err
	}
	defer rows.Close()
	for rows.Next() {
		var status string
		var n int
		if err := rows.Scan(&status, &n); err != nil {
			return p, err
		}
		switch status {
		case StatusOK:
			p.Graded += n
		case StatusUnsure:
			p.Unsure += n
		default:
			p.Other += n
		}
	}
	return p, rows.Err()
}

// Cell is one labeler's current verdict on one pair, compactly: Grade is -1
// unless Status is StatusOK; Probs is the raw JSON array ("" when none).
type Cell struct {
	PairID    int64
	LabelerID int64
	Grade     int
	Status    string
	Probs     string
}

// HistoryHead is the id of the newest judgment change (0 when none): a
// watermark for CellsChangedSince.
func (s *Store) HistoryHead(ctx context.Context) (int64, error) {
	var id int64
	err := s.h.QueryRowContext(ctx, `SELECT COALESCE(max(id), 0) FROM judgment_history`).Scan(&id)
	return id, err
}

// CellsChangedSince returns the current state of every (pair, labeler) whose
// judgment changed after the history id `after`, and the new watermark. A
// cell whose judgment was removed (undo of a first grade) comes back with
// Status "" and Grade -1. At most limit changes are read per call; more is
// true when there are more to read.
func (s *Store) CellsChangedSince(ctx context.Context, after int64, limit int, withProbs []int64) (cells []Cell, head int64, more bool, err error) {
	want := make(map[int64]bool, len(withProbs))
	for _, id := range withProbs {
		want[id] = true
	}
	head = after
	rows, err := s.h.QueryContext(ctx, `SELECT h.id, h.pair_id, h.labeler_id, j.status, COALESCE(j.grade, -1), COALESCE(j.probs, '')
		FROM judgment_history h LEFT JOIN judgments j ON j.pair_id = h.pair_id AND j.labeler_id = h.labeler_id
		WHERE h.id > ? ORDER BY h.id LIMIT ?`, after, limit+1)
	if err != nil {
		return nil, after, false, err
	}
	defer rows.Close()
	type key struct{ p, l int64 }
	seen := map[key]int{}
	n := 0
	for rows.Next() {
		n++
		if n > limit {
			more = true
			break
		}
		var id int64
		var c Cell
		var status sql.NullString
		if err := rows.Scan(&id, &c.PairID, &c.LabelerID, &status, &c.Grade, &c.Probs); err != nil {
			return nil, after, false, err
		}
		head = id
		c.Status = status.String
		if !want[c.LabelerID] {
			c.Probs = ""
		}
		k := key{c.PairID, c.LabelerID}
		if i, ok := seen[k]; ok {
			cells[i] = c
			continue
		}
		seen[k] = len(cells)
		cells = append(cells, c)
	}
	return cells, head, more, rows.Err()
}

// QueryTexts maps every query id above after (0: every query) to its text.
func (s *Store) QueryTexts(ctx context.Context, after int64) (map[int64]string, error) {
	rows, err := s.h.QueryContext(ctx, `SELECT id, text FROM queries WHERE id > ?`, after)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[int64]string{}
	for rows.Next() {
		var id int64
		var t string
		if err := rows.Scan(&id, &t); err != nil {
			return nil, err
		}
		m[id] = t
	}
	return m, rows.Err()
}

// DocTitles returns the titles (or, for untitled documents, external ids) of
// the given documents.
func (s *Store) DocTitles(ctx context.Context, ids []int64) (map[int64]string, error) {
	m := make(map[int64]string, len(ids))
	for start := 0; start < len(ids); start += 500 {
		part := ids[start:min(start+500, len(ids))]
		rows, err := s.h.QueryContext(ctx, `SELECT id, CASE WHEN title != '' THEN title ELSE ext_id END FROM documents WHERE id IN (`+placeholders(len(part))+`)`, int64Args(part)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id int64
			var t string
			if err := rows.Scan(&id, &t); err != nil {
				rows.Close()
				return nil, err
			}
			m[id] = t
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	return m, nil
}

// DocsByTitle returns every document id ordered by title (then id): the
// rank of a document in this list is its sort key in the browse table.
func (s *Store) DocsByTitle(ctx context.Context) ([]int64, error) {
	return ids(ctx, s.h, `SELECT id FROM documents ORDER BY CASE WHEN title != '' THEN title ELSE ext_id END COLLATE NOCASE, id`)
}

// Activity is one human annotator's work: how many pairs, how long on task.
type Activity struct {
	LabelerID int64
	Labeler   string
	Graded    int     // status ok
	Unsure    int     // judge later
	TotalMS   float64 // time on task summed over graded and unsure pairs
}

// HumanActivity returns every human labeler's progress and time on task.
func (s *Store) HumanActivity(ctx context.Context) ([]Activity, error) {
	rows, err := s.h.QueryContext(ctx, `SELECT l.id, l.name,
		COALESCE(sum(j.status = 'ok'), 0), COALESCE(sum(j.status = 'unsure'), 0), COALESCE(sum(j.latency_ms), 0)
		FROM labelers l LEFT JOIN judgments j ON j.labeler_id = l.id
		WHERE l.kind = 'human' GROUP BY l.id ORDER BY l.name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Activity
	for rows.Next() {
		var a Activity
		if err := rows.Scan(&a.LabelerID, &a.Labeler, &a.Graded, &a.Unsure, &a.TotalMS); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Cell codes of ScanLabelerCells besides grades (which are ≥ 0).
const (
	CodeUnsure = -2 // StatusUnsure
	CodeFailed = -3 // error, unparseable, refused
)

// ScanLabelerCells calls fn for each current judgment of one labeler, in
// pair id order, with a compact code: the grade, CodeUnsure or CodeFailed.
// probs is the raw JSON array of grade probabilities when withProbs is set
// ("" otherwise). One labeler per call, so callers can scan labelers in
// parallel. Rows are packed into text by SQLite in ranges of pair ids, which
// makes a million judgments several times faster to read than row by row.
func (s *Store) ScanLabelerCells(ctx context.Context, labelerID int64, withProbs bool, fn func(pairID int64, code int, probs string)) error {
	return s.scanConn(ctx, func(s *Store) error { return s.scanLabelerCells(ctx, labelerID, withProbs, fn) })
}

func (s *Store) scanLabelerCells(ctx context.Context, labelerID int64, withProbs bool, fn func(pairID int64, code int, probs string)) error {
	probs := `''`
	if withProbs {
		probs = `probs`
	}
	var lo, hi int64
	if err := s.h.QueryRowContext(ctx, `SELECT COALESCE(min(pair_id), 0), COALESCE(max(pair_id), -1) FROM judgments WHERE labeler_id = ?`, labelerID).Scan(&lo, &hi); err != nil {
		return err
	}
	q := `SELECT COALESCE(group_concat(pair_id || ' ' || CASE status WHEN 'ok' THEN grade WHEN 'unsure' THEN -2 ELSE -3 END || ' ' || ` + probs + `, ';'), '')
		FROM judgments WHERE labeler_id = ? AND pair_id BETWEEN ? AND ?`
	return s.scanPacked(ctx, lo, hi, q, []any{labelerID}, func(rec string) error {
		a, rest, _ := strings.Cut(rec, " ")
		b, p, _ := strings.Cut(rest, " ")
		id, err1 := strconv.ParseInt(a, 10, 64)
		code, err2 := strconv.Atoi(b)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("reading judgments of labeler %d: bad record %q", labelerID, rec)
		}
		fn(id, code, p)
		return nil
	})
}

// scanPacked runs query, a group_concat of ';'-separated records whose last
// two parameters bound an id range, over [lo, hi] in spans, and calls fn
// with each record.
func (s *Store) scanPacked(ctx context.Context, lo, hi int64, query string, args []any, fn func(rec string) error) error {
	return s.scanSpans(ctx, lo, hi, query, args, func(packed string) error {
		for rec := range strings.SplitSeq(packed, ";") {
			if rec == "" {
				continue
			}
			if err := fn(rec); err != nil {
				return err
			}
		}
		return nil
	})
}

// scanSpans runs query, whose last two parameters bound an id range, over
// [lo, hi] in spans (spansOf's, as the parallel scans cut them), one after
// the other, and calls fn with the one text each span returns.
func (s *Store) scanSpans(ctx context.Context, lo, hi int64, query string, args []any, fn func(packed string) error) error {
	for _, sp := range spansOf(query, args, lo, hi) {
		var packed string
		if err := s.h.QueryRowContext(ctx, sp.query, sp.args...).Scan(&packed); err != nil {
			return err
		}
		if err := fn(packed); err != nil {
			return err
		}
	}
	return nil
}

// ScanPairIDs calls fn for every pair whose id is above after (0: every
// pair), packed like ScanLabelerCells, in id order with its query and
// document ids.
func (s *Store) ScanPairIDs(ctx context.Context, after int64, fn func(id, queryID, docID int64)) error {
	return s.scanConn(ctx, func(s *Store) error { return s.scanPairIDs(ctx, after, fn) })
}

func (s *Store) scanPairIDs(ctx context.Context, after int64, fn func(id, queryID, docID int64)) error {
	lo, hi, err := s.pairRange(ctx, after)
	if err != nil {
		return err
	}
	return s.scanSpans(ctx, lo, hi, pairsQuery, nil, func(packed string) error { return parsePairs(packed, fn) })
}

// pairsQuery packs the pairs of an id range as "id query doc;…".
const pairsQuery = `SELECT COALESCE(group_concat(id || ' ' || query_id || ' ' || doc_id, ';'), '') FROM pairs WHERE id BETWEEN ? AND ?`

// pairRange is the smallest and greatest pair id above after (in
// subqueries: min and max in one SELECT scan the whole table).
func (s *Store) pairRange(ctx context.Context, after int64) (lo, hi int64, err error) {
	err = s.h.QueryRowContext(ctx, `SELECT COALESCE((SELECT min(id) FROM pairs WHERE id > ?1), 0), COALESCE((SELECT max(id) FROM pairs WHERE id > ?1), -1)`, after).Scan(&lo, &hi)
	return lo, hi, err
}

// scanCache is the page cache (KiB) of a connection while it scans a whole
// table for ScanPairIDs or ScanLabelerCells.
const scanCache = 2048

// scanConn runs fn on a Store bound to one connection of the pool whose
// page cache is small while fn runs. A scan reads every page once: in a
// connection's full-size cache (64 MB) the pages would stay resident after
// the scan, for as long as the pool keeps the connection, and a browse
// index load scans with one connection per labeler. Inside a transaction
// fn runs on it unchanged.
func (s *Store) scanConn(ctx context.Context, fn func(*Store) error) (err error) {
	if s.inTx {
		return fn(s)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var size int64
	if err := conn.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&size); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA cache_size = -`+strconv.Itoa(scanCache)); err != nil {
		return err
	}
	defer func() {
		// Back to the pool's size (the pages above it were freed).
		if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA cache_size = `+strconv.FormatInt(size, 10)); err == nil {
			err = rerr
		}
	}()
	c := *s
	c.h = conn
	return fn(&c)
}
