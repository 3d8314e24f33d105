package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Bulk reads for evaluation: a labeler's ok grades, and the external ids of
// queries and documents, packed by SQLite into text in id ranges (see
// scanPacked) so that millions of rows are read in well under a second,
// without a join or a sort in SQL.

// ScanOKGrades calls fn for each current ok judgment of one labeler with its
// grade and, when it has one, its expected grade (exact: SQLite writes a
// REAL as text with the shortest digits that read back to the same double;
// TestEvaluateReadsWhatGradesSays in package benchmark holds it to that).
func (s *Store) ScanOKGrades(ctx context.Context, labelerID int64, fn func(pairID int64, grade int, expected float64, hasExpected bool)) error {
	var lo, hi int64
	if err := s.h.QueryRowContext(ctx, `SELECT COALESCE(min(pair_id), 0), COALESCE(max(pair_id), -1) FROM judgments WHERE labeler_id = ?`, labelerID).Scan(&lo, &hi); err != nil {
		return err
	}
	q := `SELECT COALESCE(group_concat(pair_id || ' ' || grade || ' ' || COALESCE(CAST(expected AS TEXT), ''), ';'), '')
		FROM judgments WHERE labeler_id = ? AND status = 'ok' AND pair_id BETWEEN ? AND ?`
	return s.scanPacked(ctx, lo, hi, q, []any{labelerID}, func(rec string) error {
		a, rest, _ := strings.Cut(rec, " ")
		b, e, _ := strings.Cut(rest, " ")
		id, err1 := strconv.ParseInt(a, 10, 64)
		grade, err2 := strconv.Atoi(b)
		var exp float64
		var err3 error
		if e != "" {
			exp, err3 = strconv.ParseFloat(e, 64)
		}
		if err1 != nil || err2 != nil || err3 != nil {
			return fmt.Errorf("reading grades of labeler %d: bad record %q", labelerID, rec)
		}
		fn(id, grade, exp, e != "")
		return nil
	})
}

// ScanExtIDs calls fn with the id and external id of every row of table,
// which is "queries" or "documents".
func (s *Store) ScanExtIDs(ctx context.Context, table string, fn func(id int64, extID string)) error {
	if table != "queries" && table != "documents" {
		return fmt.Errorf("ScanExtIDs: no table %q", table)
	}
	var lo, hi int64
	if err := s.h.QueryRowContext(ctx, `SELECT COALESCE(min(id), 0), COALESCE(max(id), -1) FROM `+table).Scan(&lo, &hi); err != nil {
		return err
	}
	// Each record is "id length:ext_id" with the external id's length in
	// bytes, so any text (separators included) reads back as it was.
	q := `SELECT COALESCE(group_concat(id || ' ' || octet_length(ext_id) || ':' || ext_id, ''), '') FROM ` + table + ` WHERE id BETWEEN ? AND ?`
	return s.scanSpans(ctx, lo, hi, q, nil, func(packed string) error {
		for packed != "" {
			a, rest, ok1 := strings.Cut(packed, " ")
			n, rest, ok2 := strings.Cut(rest, ":")
			id, err1 := strconv.ParseInt(a, 10, 64)
			size, err2 := strconv.Atoi(n)
			if !ok1 || !ok2 || err1 != nil || err2 != nil || size < 0 || size > len(rest) {
				return fmt.Errorf("reading %s ids: bad record at %.40q", table, packed)
			}
			fn(id, rest[:size])
			packed = rest[size:]
		}
		return nil
	})
}
