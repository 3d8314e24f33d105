package store

import (
	"context"
	"strconv"
	"strings"
)

// PoolEntry records that a system brought a pair into the pool: the pair
// was at Position (1-based, in the metrics' order) of the system's ranking
// of its query, and a pooling run at Depth took it.
type PoolEntry struct {
	PairID   int64
	SystemID int64
	Position int
	Depth    int
	RunID    int64
}

// poolPerInsert rows go in one INSERT (see resultsPerInsert).
const poolPerInsert = 500

// AddPoolEntries records pool provenance; an entry for a (pair, system)
// already recorded keeps its first position and depth. It returns how many
// entries were new.
func (s *Store) AddPoolEntries(ctx context.Context, entries []PoolEntry) (int, error) {
	added := 0
	err := s.Tx(ctx, func(tx *Store) error {
		const row = "(?,?,?,?,?)"
		args := make([]any, 0, 5*poolPerInsert)
		for start := 0; start < len(entries); start += poolPerInsert {
			part := entries[start:min(start+poolPerInsert, len(entries))]
			args = args[:0]
			for _, e := range part {
				args = append(args, e.PairID, e.SystemID, e.Position, e.Depth, nullID(e.RunID))
			}
			q := `INSERT INTO pool_pairs(pair_id, system_id, position, depth, run_id) VALUES ` +
				strings.Repeat(row+",", len(part)-1) + row + ` ON CONFLICT(pair_id, system_id) DO NOTHING`
			res, err := tx.exec(ctx, q, args...)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			added += int(n)
		}
		return nil
	})
	return added, err
}

// PoolEntries returns the systems that brought a pair into the pool, by
// position.
func (s *Store) PoolEntries(ctx context.Context, pairID int64) ([]PoolEntry, error) {
	return queryAll(ctx, s.h, func(sc scanner) (PoolEntry, error) {
		var e PoolEntry
		err := sc.Scan(&e.PairID, &e.SystemID, &e.Position, &e.Depth, &e.RunID)
		return e, err
	}, `SELECT pair_id, system_id, position, depth, COALESCE(run_id, 0) FROM pool_pairs WHERE pair_id = ? ORDER BY position, system_id`, pairID)
}

// OKGradesAmong counts, per labeler name, how many of the given pairs the
// labeler has an ok grade for. Labelers with none are left out.
func (s *Store) OKGradesAmong(ctx context.Context, pairIDs []int64) (map[string]int, error) {
	// The ids travel as one JSON array: a pool has tens of thousands of
	// pairs, more than a statement's parameters.
	var b strings.Builder
	b.WriteByte('[')
	for i, id := range pairIDs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
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
