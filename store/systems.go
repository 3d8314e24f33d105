package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/qrelbench/qrelbench/store/quote"
)

// System is a search system whose ranked lists were imported from a TREC
// run. (Not to be confused with Run, a pipeline job.)
type System struct {
	ID            int64     `json:"-"`
	Name          string    `json:"system"`
	SourceFile    string    `json:"source_file,omitempty"`
	SourceSHA256  string    `json:"source_sha256,omitempty"` // hash of the file it came from
	ContentSHA256 string    `json:"content_sha256"`          // hash of its results, what re-imports compare
	Queries       int       `json:"queries"`                 // filled by Systems and System
	Results       int       `json:"results"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// SystemResult is one retrieved document of a system for a query.
type SystemResult struct {
	QueryID int64
	DocID   int64
	Score   float64
	Rank    int // the run file's rank column: kept for display, ignored by metrics
}

// ValidateSystemName accepts a single printable token.
func ValidateSystemName(name string) error {
	if name == "" {
		return errors.New("empty system name")
	}
	for _, r := range name {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return fmt.Errorf("system name %s: only printable characters without spaces", quote.Input(name))
		}
	}
	if len(name) > 200 {
		return fmt.Errorf("system name %s: longer than 200 bytes", quote.Input(name))
	}
	return nil
}

// PutSystem stores a system and its results. A new name is Inserted; a
// stored system with the same content hash is Unchanged; a different
// content is an ErrConflict unless replace is set, when its results are
// replaced (Updated) and the pool provenance it gave is dropped, since the
// positions it recorded no longer hold. The results must not repeat a
// (query, document).
func (s *Store) PutSystem(ctx context.Context, sys *System, results []SystemResult, replace bool) (Outcome, error) {
	if err := ValidateSystemName(sys.Name); err != nil {
		return 0, err
	}
	if sys.ContentSHA256 == "" {
		return 0, errors.New("PutSystem: no content hash")
	}
	var outcome Outcome
	err := s.Tx(ctx, func(tx *Store) error {
		var id int64
		var hash string
		err := tx.queryRow(ctx, `SELECT id, content_sha256 FROM systems WHERE name = ?`, sys.Name).Scan(&id, &hash)
		t := now()
		switch {
		case errors.Is(err, sql.ErrNoRows):
			res, err := tx.exec(ctx, `INSERT INTO systems(name, source_file, source_sha256, content_sha256, created_at, updated_at) VALUES (?,?,?,?,?,?)`,
				sys.Name, sys.SourceFile, sys.SourceSHA256, sys.ContentSHA256, t, t)
			if err != nil {
				return err
			}
			if sys.ID, err = res.LastInsertId(); err != nil {
				return err
			}
			outcome = Inserted
		case err != nil:
			return err
		case hash == sys.ContentSHA256:
			sys.ID, outcome = id, Unchanged
			return nil
		case !replace:
			return ConflictError("system %q is stored with different results (use --replace to replace them)", sys.Name)
		default:
			sys.ID, outcome = id, Updated
			for _, q := range []string{`DELETE FROM system_results WHERE system_id = ?`, `DELETE FROM pool_lists WHERE system_id = ?`} {
				if _, err := tx.exec(ctx, q, id); err != nil {
					return err
				}
			}
			if _, err := tx.exec(ctx, `UPDATE systems SET source_file = ?, source_sha256 = ?, content_sha256 = ?, updated_at = ? WHERE id = ?`,
				sys.SourceFile, sys.SourceSHA256, sys.ContentSHA256, t, id); err != nil {
				return err
			}
		}
		return tx.insertResults(ctx, sys.ID, results)
	})
	return outcome, err
}

// resultsPerInsert rows go in one INSERT: per-statement overhead dominates
// row-at-a-time inserts of millions of results.
const resultsPerInsert = 500

func (s *Store) insertResults(ctx context.Context, systemID int64, results []SystemResult) error {
	ranks := scoreRanks(results)
	const row = "(?,?,?,?,?,?)"
	full := `INSERT INTO system_results(system_id, query_id, doc_id, score, rank, score_rank) VALUES ` + strings.Repeat(row+",", resultsPerInsert-1) + row
	args := make([]any, 0, 6*resultsPerInsert)
	for start := 0; start < len(results); start += resultsPerInsert {
		part := results[start:min(start+resultsPerInsert, len(results))]
		args = args[:0]
		for i, r := range part {
			args = append(args, systemID, r.QueryID, r.DocID, r.Score, r.Rank, ranks[start+i])
		}
		q := full
		if len(part) < resultsPerInsert {
			q = `INSERT INTO system_results(system_id, query_id, doc_id, score, rank, score_rank) VALUES ` + strings.Repeat(row+",", len(part)-1) + row
		}
		if _, err := s.exec(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// scoreRanks gives each result 1 + the number of results of its query with
// a strictly higher score (see system_results.score_rank).
func scoreRanks(results []SystemResult) []int {
	byQuery := map[int64][]int{}
	for i, r := range results {
		byQuery[r.QueryID] = append(byQuery[r.QueryID], i)
	}
	ranks := make([]int, len(results))
	for _, idx := range byQuery {
		sort.Slice(idx, func(a, b int) bool { return results[idx[a]].Score > results[idx[b]].Score })
		for k, i := range idx {
			if k > 0 && results[i].Score == results[idx[k-1]].Score {
				ranks[i] = ranks[idx[k-1]]
			} else {
				ranks[i] = k + 1
			}
		}
	}
	return ranks
}

const systemColumns = `s.id, s.name, s.source_file, s.source_sha256, s.content_sha256, s.updated_at,
	(SELECT count(DISTINCT query_id) FROM system_results r WHERE r.system_id = s.id),
	(SELECT count(*) FROM system_results r WHERE r.system_id = s.id)`

func scanSystem(sc scanner) (System, error) {
	var v System
	var updated string
	err := sc.Scan(&v.ID, &v.Name, &v.SourceFile, &v.SourceSHA256, &v.ContentSHA256, &updated, &v.Queries, &v.Results)
	v.UpdatedAt, _ = time.Parse(time.RFC3339Nano, updated)
	return v, err
}

// Systems lists the stored systems by name, with their query and result
// counts.
func (s *Store) Systems(ctx context.Context) ([]System, error) {
	return queryAll(ctx, s.h, scanSystem, `SELECT `+systemColumns+` FROM systems s ORDER BY s.name`)
}

// CountSystems is the number of stored systems.
func (s *Store) CountSystems(ctx context.Context) (int, error) {
	var n int
	err := s.h.QueryRowContext(ctx, `SELECT count(*) FROM systems`).Scan(&n)
	return n, err
}

// System returns one system by name.
func (s *Store) System(ctx context.Context, name string) (System, error) {
	v, err := scanSystem(s.queryRow(ctx, `SELECT `+systemColumns+` FROM systems s WHERE s.name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("no system %q in the workspace (see `qrelbench system list`)", name)
	}
	return v, err
}

// SelectSystems returns the named systems in the order given, or every
// system by name when names is empty. An unknown name is an error.
func (s *Store) SelectSystems(ctx context.Context, names []string) ([]System, error) {
	if len(names) == 0 {
		all, err := s.Systems(ctx)
		if err == nil && len(all) == 0 {
			err = errors.New("no systems in the workspace: import a TREC run first (`qrelbench import run FILE`)")
		}
		return all, err
	}
	out := make([]System, 0, len(names))
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		v, err := s.System(ctx, n)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// RemoveSystem deletes a system, its results and the pool provenance it
// gave. Pooled pairs and their grades stay.
func (s *Store) RemoveSystem(ctx context.Context, name string) error {
	return s.Tx(ctx, func(tx *Store) error {
		res, err := tx.exec(ctx, `DELETE FROM systems WHERE name = ?`, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("no system %q in the workspace (see `qrelbench system list`)", name)
		}
		return nil
	})
}

// SystemResults returns every result of one system in (query id, document
// id) order: the bulk read behind evaluation, one indexed range scan.
func (s *Store) SystemResults(ctx context.Context, systemID int64) ([]SystemResult, error) {
	return queryAll(ctx, s.h, scanSystemResult,
		`SELECT query_id, doc_id, score, rank FROM system_results WHERE system_id = ? ORDER BY query_id, doc_id`, systemID)
}

// QueryResults returns one system's results for one query (in document id
// order; callers order them as the metrics do).
func (s *Store) QueryResults(ctx context.Context, systemID, queryID int64) ([]SystemResult, error) {
	return queryAll(ctx, s.h, scanSystemResult,
		`SELECT query_id, doc_id, score, rank FROM system_results WHERE system_id = ? AND query_id = ? ORDER BY doc_id`, systemID, queryID)
}

// TopCandidates calls fn, for one system, with the results that can be
// among the top depth of their query whatever the tie-break: those with
// fewer than depth results of the query scoring strictly higher. Ties at
// the cut make it give more than depth per query; the caller orders and
// cuts. Instead of the score it gives the score's rank within the query
// (1 + the number of higher scores), which orders the candidates exactly as
// their scores do, ties included, and travels exactly as an integer. Rows
// are packed by SQLite (see ScanLabelerCells): a pool reads millions.
func (s *Store) TopCandidates(ctx context.Context, systemID int64, depth int, fn func(queryID, docID int64, scoreRank int)) error {
	var lo, hi int64
	if err := s.h.QueryRowContext(ctx, `SELECT COALESCE(min(id), 0), COALESCE(max(id), -1) FROM queries`).Scan(&lo, &hi); err != nil {
		return err
	}
	q := `SELECT COALESCE(group_concat(query_id || ' ' || doc_id || ' ' || score_rank, ';'), '') FROM system_results
		WHERE system_id = ? AND score_rank <= ? AND query_id BETWEEN ? AND ?`
	return s.scanPacked(ctx, lo, hi, q, []any{systemID, depth}, func(rec string) error {
		a, rest, _ := strings.Cut(rec, " ")
		b, c, _ := strings.Cut(rest, " ")
		qid, err1 := strconv.ParseInt(a, 10, 64)
		did, err2 := strconv.ParseInt(b, 10, 64)
		r, err3 := strconv.Atoi(c)
		if err1 != nil || err2 != nil || err3 != nil {
			return fmt.Errorf("reading results of system %d: bad record %q", systemID, rec)
		}
		fn(qid, did, r)
		return nil
	})
}

func scanSystemResult(sc scanner) (SystemResult, error) {
	var r SystemResult
	err := sc.Scan(&r.QueryID, &r.DocID, &r.Score, &r.Rank)
	return r, err
}

// RankedDoc is one document of a system's ranking for a query, with what
// grading it needs: its pair (0 when it is not one) and each asked
// labeler's current verdict on it.
type RankedDoc struct {
	DocID  int64
	ExtID  string
	Title  string
	Score  float64
	Rank   int // the run file's rank column
	PairID int64
	// Codes per asked labeler, as ScanLabelerCells gives them: the grade,
	// CodeUnsure, CodeFailed, or CodeNone when it has no judgment.
	Codes []int
}

// CodeNone is a RankedDoc code: no judgment by that labeler.
const CodeNone = -1

// RankedList returns one system's results for one query with their
// documents, pairs and the given labelers' verdicts, in document id order
// (callers order them as the metrics do).
func (s *Store) RankedList(ctx context.Context, systemID, queryID int64, labelerIDs []int64) ([]RankedDoc, error) {
	docs, err := queryAll(ctx, s.h, func(sc scanner) (RankedDoc, error) {
		var d RankedDoc
		err := sc.Scan(&d.DocID, &d.ExtID, &d.Title, &d.Score, &d.Rank, &d.PairID)
		return d, err
	}, `SELECT r.doc_id, d.ext_id, d.title, r.score, r.rank, COALESCE(p.id, 0) FROM system_results r
		JOIN documents d ON d.id = r.doc_id LEFT JOIN pairs p ON p.query_id = r.query_id AND p.doc_id = r.doc_id
		WHERE r.system_id = ? AND r.query_id = ? ORDER BY r.doc_id`, systemID, queryID)
	if err != nil {
		return nil, err
	}
	byPair := map[int64]int{}
	for i := range docs {
		docs[i].Codes = make([]int, len(labelerIDs))
		for k := range docs[i].Codes {
			docs[i].Codes[k] = CodeNone
		}
		if docs[i].PairID != 0 {
			byPair[docs[i].PairID] = i
		}
	}
	for k, lab := range labelerIDs {
		type cell struct {
			pair int64
			code int
		}
		cells, err := queryAll(ctx, s.h, func(sc scanner) (cell, error) {
			var c cell
			err := sc.Scan(&c.pair, &c.code)
			return c, err
		}, `SELECT j.pair_id, CASE j.status WHEN 'ok' THEN j.grade WHEN 'unsure' THEN -2 ELSE -3 END FROM judgments j
			JOIN pairs p ON p.id = j.pair_id WHERE p.query_id = ? AND j.labeler_id = ?`, queryID, lab)
		if err != nil {
			return nil, err
		}
		for _, c := range cells {
			if i, ok := byPair[c.pair]; ok {
				docs[i].Codes[k] = c.code
			}
		}
	}
	return docs, nil
}
