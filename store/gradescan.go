package store

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Bulk reads for evaluation: labelers' ok grades, the pairs, and the
// external ids of queries and documents, packed by SQLite into text, a
// range of ids per query, so that millions of rows are read in well under
// a second, without a join or a sort in SQL.

// ScanOKGrades calls fn for each current ok judgment of the given labelers,
// with the labeler's position in labelerIDs (each position, for a labeler
// listed twice), its grade and, when it has one, its expected grade
// (exact: SQLite writes a REAL as text with the shortest digits that read
// back to the same double; TestScanOKGradesBothWays holds it to that).
//
// fn is called from several goroutines at once, in no particular order,
// never twice for the same labeler and pair: the id ranges are read in
// parallel on the pool's connections, one core each.
//
// How the rows are found matters more than anything else here. Through the
// judgments_labeler index, every row costs a lookup in the table's b-tree
// (about 1 µs: 3M grades took 4.2 s of CPU); reading the table itself in
// rowid ranges and skipping other labelers' rows costs about 0.05 µs per
// row skipped, so the table is scanned unless the labelers' rows are under
// a sixteenth of it (counting them in the index is an index-only range
// scan, ~20 ms per million). A covering index (labeler_id, pair_id, grade,
// expected) WHERE status = 'ok' would make the index path as fast, but it
// would cost every workspace a migration on its next open (building it took
// 2.3 s of CPU at 1M pairs, so half a minute or more at 10M, and 60 MB per
// million pairs) and every judgment write another index entry.
func (s *Store) ScanOKGrades(ctx context.Context, labelerIDs []int64, fn func(which int, pairID int64, grade int, expected float64, hasExpected bool)) error {
	if len(labelerIDs) == 0 {
		return nil
	}
	args := int64Args(labelerIDs)
	in := "(" + placeholders(len(labelerIDs)) + ")"
	var needed, lo, hi int64
	// min and max in subqueries: both in one SELECT would scan the table.
	err := s.h.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM judgments WHERE labeler_id IN `+in+`),
		COALESCE((SELECT min(id) FROM judgments), 0), COALESCE((SELECT max(id) FROM judgments), -1)`, args...).Scan(&needed, &lo, &hi)
	if err != nil || needed == 0 {
		return err
	}
	// Each record is "labeler pair grade[ expected]".
	const record = `labeler_id || ' ' || pair_id || ' ' || grade || COALESCE(' ' || CAST(expected AS TEXT), '')`
	var spans []span
	if needed*16 >= hi-lo+1 {
		q := `SELECT COALESCE(group_concat(` + record + `, ';'), '') FROM judgments NOT INDEXED
			WHERE labeler_id IN ` + in + ` AND status = 'ok' AND id BETWEEN ? AND ?`
		spans = spansOf(q, args, lo, hi)
	} else {
		q := `SELECT COALESCE(group_concat(` + record + `, ';'), '') FROM judgments
			WHERE labeler_id = ? AND status = 'ok' AND pair_id BETWEEN ? AND ?`
		for i, id := range labelerIDs {
			if slices.Index(labelerIDs, id) < i {
				continue // read once, given to each of its positions
			}
			var plo, phi int64
			if err := s.h.QueryRowContext(ctx, `SELECT COALESCE((SELECT min(pair_id) FROM judgments WHERE labeler_id = ?1), 0),
				COALESCE((SELECT max(pair_id) FROM judgments WHERE labeler_id = ?1), -1)`, id).Scan(&plo, &phi); err != nil {
				return err
			}
			spans = append(spans, spansOf(q, []any{id}, plo, phi)...)
		}
	}
	return s.scanParallel(ctx, spans, func(packed string) error {
		return parseGrades(packed, func(labelerID, pairID int64, grade int, exp float64, hasExp bool) error {
			found := false
			for i, id := range labelerIDs {
				if id == labelerID { // every position: a labeler may be asked for twice
					fn(i, pairID, grade, exp, hasExp)
					found = true
				}
			}
			if !found {
				return fmt.Errorf("reading grades: labeler %d was not asked for", labelerID)
			}
			return nil
		})
	})
}

// PairIDRange is the smallest and the greatest pair id (0 and -1 when there
// is no pair).
func (s *Store) PairIDRange(ctx context.Context) (lo, hi int64, err error) {
	return s.pairRange(ctx, 0)
}

// ScanPairsParallel is ScanPairIDs(ctx, 0, fn) for bulk readers: the id
// ranges are read in parallel, and fn is called concurrently, in no order.
func (s *Store) ScanPairsParallel(ctx context.Context, fn func(id, queryID, docID int64)) error {
	lo, hi, err := s.pairRange(ctx, 0)
	if err != nil {
		return err
	}
	return s.scanParallel(ctx, spansOf(pairsQuery, nil, lo, hi), func(packed string) error { return parsePairs(packed, fn) })
}

// parsePairs reads pairsQuery's records.
func parsePairs(packed string, fn func(id, queryID, docID int64)) error {
	for i := 0; i < len(packed); {
		id, i1, ok1 := readInt(packed, i, ' ')
		q, i2, ok2 := readInt(packed, i1, ' ')
		d, i3, ok3 := readInt(packed, i2, 0)
		if !ok1 || !ok2 || !ok3 || (i3 < len(packed) && packed[i3] != ';') {
			return fmt.Errorf("reading pairs: bad record at %.40q", packed[i:])
		}
		fn(id, q, d)
		i = i3 + 1
	}
	return nil
}

// span is one query of a scan, its last two arguments an id range.
type span struct {
	query string
	args  []any
}

// spanLen is the width of the id range one query packs: ~4 MB of text for
// a labeler's grades (a variable so that tests can cross many spans).
var spanLen int64 = 1 << 18

func spansOf(query string, args []any, lo, hi int64) []span {
	var out []span
	for start := lo; start <= hi; start += spanLen {
		out = append(out, span{query, append(args[:len(args):len(args)], start, start+spanLen-1)})
	}
	return out
}

// scanParallel runs the spans' queries on up to GOMAXPROCS connections at
// once (each with scanConn's small page cache) and calls fn with each one's
// text, concurrently; the first error stops the rest. Inside a transaction
// the spans share its connection.
func (s *Store) scanParallel(ctx context.Context, spans []span, fn func(packed string) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		next     int
		firstErr error
		wg       sync.WaitGroup
	)
	take := func() (span, bool) {
		mu.Lock()
		defer mu.Unlock()
		if next >= len(spans) || firstErr != nil {
			return span{}, false
		}
		next++
		return spans[next-1], true
	}
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	work := func(c *Store) error {
		for {
			sp, ok := take()
			if !ok {
				return nil
			}
			var packed string
			if err := c.h.QueryRowContext(ctx, sp.query, sp.args...).Scan(&packed); err != nil {
				return err
			}
			if err := fn(packed); err != nil {
				return err
			}
		}
	}
	for range min(runtime.GOMAXPROCS(0), len(spans)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.scanConn(ctx, work); err != nil {
				fail(err)
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// parseGrades reads ScanOKGrades' records by hand: strings.Cut and
// strconv per field took a third of the scan's time.
func parseGrades(packed string, fn func(labelerID, pairID int64, grade int, exp float64, hasExp bool) error) error {
	for i := 0; i < len(packed); {
		start := i
		lab, i1, ok1 := readInt(packed, i, ' ')
		pair, i2, ok2 := readInt(packed, i1, ' ')
		grade, i3, ok3 := readInt(packed, i2, 0)
		if !ok1 || !ok2 || !ok3 {
			return badGradeRecord(packed, start)
		}
		i = i3
		exp, hasExp := 0.0, false
		if i < len(packed) && packed[i] == ' ' {
			end := strings.IndexByte(packed[i+1:], ';')
			if end < 0 {
				end = len(packed) - i - 1
			}
			var err error
			if exp, err = strconv.ParseFloat(packed[i+1:i+1+end], 64); err != nil {
				return badGradeRecord(packed, start)
			}
			hasExp = true
			i += 1 + end
		}
		if i < len(packed) {
			if packed[i] != ';' {
				return badGradeRecord(packed, start)
			}
			i++
		}
		if err := fn(lab, pair, int(grade), exp, hasExp); err != nil {
			return err
		}
	}
	return nil
}

func badGradeRecord(packed string, at int) error {
	return fmt.Errorf("reading grades: bad record at %.40q", packed[at:])
}

// readInt reads a decimal integer at s[i:], followed by sep (0: by ' ',
// ';' or the end), and returns the index after the separator (before it
// when sep is 0).
func readInt(s string, i int, sep byte) (int64, int, bool) {
	neg := i < len(s) && s[i] == '-'
	if neg {
		i++
	}
	var v int64
	j := i
	for ; j < len(s) && s[j] >= '0' && s[j] <= '9' && j-i < 18; j++ {
		v = v*10 + int64(s[j]-'0')
	}
	if j == i || (j < len(s) && s[j] >= '0' && s[j] <= '9') {
		return 0, j, false
	}
	if neg {
		v = -v
	}
	if sep == 0 {
		return v, j, j == len(s) || s[j] == ' ' || s[j] == ';'
	}
	if j >= len(s) || s[j] != sep {
		return 0, j, false
	}
	return v, j + 1, true
}

// ScanExtIDs calls fn with the id and external id of every row of table,
// which is "queries" or "documents", in pages of external ids in
// increasing order (byte order, as Go compares strings), and says whether
// fn saw them all in that order (SQLite gives no guarantee of it, so a
// caller that needs the order checks this rather than sorting again).
// It reads the table's unique index on ext_id, which holds the id too:
// the documents table is many times bigger (it has the texts).
func (s *Store) ScanExtIDs(ctx context.Context, table string, fn func(id int64, extID string)) (sorted bool, err error) {
	if table != "queries" && table != "documents" {
		return false, fmt.Errorf("ScanExtIDs: no table %q", table)
	}
	// Each record is "id length:ext_id" with the external id's length in
	// bytes, so any text (separators included) reads back as it was. A
	// page ends at its greatest external id, whatever order group_concat
	// took the rows in.
	page := func(cmp string) string {
		return `SELECT COALESCE(group_concat(id || ' ' || octet_length(ext_id) || ':' || ext_id, ''), ''), count(*), COALESCE(max(ext_id), '')
		FROM (SELECT id, ext_id FROM ` + table + ` WHERE ext_id ` + cmp + ` ? ORDER BY ext_id LIMIT ?)`
	}
	q := page(">=") // the first page from '', which every text is at least
	sorted, after, prev, first := true, "", "", true
	for {
		var packed, last string
		var n int64
		if err := s.h.QueryRowContext(ctx, q, after, spanLen).Scan(&packed, &n, &last); err != nil {
			return false, err
		}
		for i := 0; i < len(packed); {
			id, i1, ok1 := readInt(packed, i, ' ')
			size, i2, ok2 := readInt(packed, i1, ':')
			if !ok1 || !ok2 || size < 0 || size > int64(len(packed)-i2) {
				return false, fmt.Errorf("reading %s ids: bad record at %.40q", table, packed[i:])
			}
			ext := packed[i2 : i2+int(size)]
			sorted = sorted && (first || ext > prev)
			prev, first = ext, false
			fn(id, ext)
			i = i2 + int(size)
		}
		if n < spanLen {
			return sorted, nil
		}
		after, q = last, page(">")
	}
}
