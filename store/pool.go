package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// PoolList is what one system put in the pool for one query: its top Depth
// documents in the metrics' order (Docs[i] at position i+1; fewer than
// Depth when the system ranked fewer).
type PoolList struct {
	SystemID int64
	QueryID  int64
	Depth    int
	Docs     []int64 // documents.id
	RunID    int64
}

// pairsPerInsert pairs go in one INSERT: per-statement overhead dominates
// row-at-a-time inserts of a pool's hundreds of thousands of pairs.
const pairsPerInsert = 500

// listsPerInsert pool lists go in one INSERT.
const listsPerInsert = 200

// AddToPool makes a pair (source "pool", run runID) of every listed
// (query, document) that is not one yet, and records the lists. A list
// replaces the stored one of its (system, query) only when it is deeper, so
// pooling again, or shallower, changes nothing. It returns how many pairs
// and lists were new or deeper.
func (s *Store) AddToPool(ctx context.Context, lists []PoolList, runID int64) (pairs, recorded int, err error) {
	// Per-query sets to find the distinct pairs: lists in query order.
	lists = slices.Clone(lists)
	slices.SortStableFunc(lists, func(a, b PoolList) int { return cmp.Compare(a.QueryID, b.QueryID) })
	err = s.Tx(ctx, func(tx *Store) error {
		seen := map[int64]bool{}
		var batch [][2]int64
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			// The run and time are bound once, ahead of the VALUES rows.
			args := make([]any, 0, 2+2*len(batch))
			args = append(args, nullID(runID), now())
			for _, k := range batch {
				args = append(args, k[0], k[1])
			}
			q := `INSERT INTO pairs(query_id, doc_id, source, run_id, created_at) SELECT column1, column2, '` + SourcePool + `', ?, ? FROM (VALUES ` +
				strings.Repeat("(?,?),", len(batch)-1) + `(?,?)) WHERE true ON CONFLICT(query_id, doc_id) DO NOTHING`
			res, err := tx.exec(ctx, q, args...)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			pairs += int(n)
			batch = batch[:0]
			return nil
		}
		for i, l := range lists {
			if i > 0 && l.QueryID != lists[i-1].QueryID {
				clear(seen)
			}
			for _, d := range l.Docs {
				if seen[d] {
					continue
				}
				seen[d] = true
				if batch = append(batch, [2]int64{l.QueryID, d}); len(batch) == pairsPerInsert {
					if err := flush(); err != nil {
						return err
					}
				}
			}
		}
		if err := flush(); err != nil {
			return err
		}
		const row = "(?,?,?,?,?)"
		for start := 0; start < len(lists); start += listsPerInsert {
			part := lists[start:min(start+listsPerInsert, len(lists))]
			args := make([]any, 0, 5*len(part))
			for _, l := range part {
				args = append(args, l.SystemID, l.QueryID, l.Depth, formatIDs(l.Docs), nullID(l.RunID))
			}
			res, err := tx.exec(ctx, `INSERT INTO pool_lists(system_id, query_id, depth, docs, run_id) VALUES `+strings.Repeat(row+",", len(part)-1)+row+`
				ON CONFLICT(system_id, query_id) DO UPDATE SET depth = excluded.depth, docs = excluded.docs, run_id = excluded.run_id
				WHERE excluded.depth > pool_lists.depth`, args...)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			recorded += int(n)
		}
		return nil
	})
	return pairs, recorded, err
}

func formatIDs(ids []int64) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	return b.String()
}

func scanPoolList(sc scanner) (PoolList, error) {
	var l PoolList
	var docs string
	if err := sc.Scan(&l.SystemID, &l.QueryID, &l.Depth, &docs, &l.RunID); err != nil {
		return l, err
	}
	for _, f := range strings.Fields(docs) {
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return l, fmt.Errorf("pool list of system %d query %d: bad document id %q", l.SystemID, l.QueryID, f)
		}
		l.Docs = append(l.Docs, id)
	}
	return l, nil
}

const poolListColumns = `system_id, query_id, depth, docs, COALESCE(run_id, 0)`

// SystemPool returns what a system has put in the pool, by query id.
func (s *Store) SystemPool(ctx context.Context, systemID int64) (map[int64]PoolList, error) {
	ls, err := queryAll(ctx, s.h, scanPoolList, `SELECT `+poolListColumns+` FROM pool_lists WHERE system_id = ?`, systemID)
	m := make(map[int64]PoolList, len(ls))
	for _, l := range ls {
		m[l.QueryID] = l
	}
	return m, err
}

// QueryPool returns every system's pool list for a query (by system id):
// which systems brought each of its pooled documents, at which position.
func (s *Store) QueryPool(ctx context.Context, queryID int64) ([]PoolList, error) {
	return queryAll(ctx, s.h, scanPoolList, `SELECT `+poolListColumns+` FROM pool_lists WHERE query_id = ? ORDER BY system_id`, queryID)
}

// OKGradesAmong counts, per labeler name, how many of the given pairs the
// labeler has an ok grade for. Labelers with none are left out.
func (s *Store) OKGradesAmong(ctx context.Context, pairIDs []int64) (map[string]int, error) {
	// The ids travel as one JSON array: a pool has tens of thousands of
	// pairs, more than a statement's parameters.
	var b strings.Builder
	b.WriteByte('[')
	b.WriteString(strings.ReplaceAll(formatIDs(pairIDs), " ", ","))
	b.WriteByte(']')
	type count struct {
		name string
		n    int
	}
	rows, err := queryAll(ctx, s.h, func(sc scanner) (count, error) {
		var c count
		err := sc.Scan(&c.name, &c.n)
		return c, err
	}, `SELECT l.name, count(*) FROM json_each(?) p JOIN judgments j ON j.pair_id = p.value JOIN labelers l ON l.id = j.labeler_id
		WHERE j.status = 'ok' GROUP BY l.name`, b.String())
	out := make(map[string]int, len(rows))
	for _, c := range rows {
		out[c.name] = c.n
	}
	return out, err
}
