package store

import "context"

// GoldSetters counts, per adjudicator (labeler name), the pairs whose
// current gold grade (the human:gold judgment) that adjudicator decided:
// the decisions in force, undone ones and ones decided again since left
// out. Scoring an adjudicator against these pairs' gold is circular.
func (s *Store) GoldSetters(ctx context.Context) (map[string]int, error) {
	rows, err := s.h.QueryContext(ctx, `SELECT a.adjudicator, count(*) FROM adjudications a
		WHERE a.undone_at = '' AND a.id = (SELECT max(b.id) FROM adjudications b WHERE b.pair_id = a.pair_id AND b.undone_at = '')
		GROUP BY a.adjudicator`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var name string
		var n int
		if err := rows.Scan(&name, &n); err != nil {
			return nil, err
		}
		out[name] = n
	}
	return out, rows.Err()
}
