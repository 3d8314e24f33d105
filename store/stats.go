package store

import "context"

// LabelerStats counts one labeler's current judgments.
type LabelerStats struct {
	Labeler  string         `json:"labeler"`
	Kind     string         `json:"kind"`
	Total    int            `json:"judgments"`
	ByGrade  map[int]int    `json:"by_grade"`
	ByStatus map[string]int `json:"by_status"`
}

// Stats summarises a workspace.
type Stats struct {
	Scale     string         `json:"scale"`
	Documents int            `json:"documents"`
	Queries   int            `json:"queries"`
	Pairs     int            `json:"pairs"`
	Runs      int            `json:"runs"`
	Labelers  []LabelerStats `json:"labelers"`
}

// Stats counts documents, queries, pairs and, per labeler, judgments by
// grade and by status.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	st := Stats{Scale: s.scale.Name}
	for _, c := range []struct {
		dst *int
		q   string
	}{
		{&st.Documents, `SELECT count(*) FROM documents`},
		{&st.Queries, `SELECT count(*) FROM queries`},
		{&st.Pairs, `SELECT count(*) FROM pairs`},
		{&st.Runs, `SELECT count(*) FROM runs`},
	} {
		if err := s.h.QueryRowContext(ctx, c.q).Scan(c.dst); err != nil {
			return st, err
		}
	}
	labelers, err := s.Labelers(ctx)
	if err != nil {
		return st, err
	}
	idx := map[int64]int{}
	for _, l := range labelers {
		idx[l.ID] = len(st.Labelers)
		st.Labelers = append(st.Labelers, LabelerStats{Labeler: l.Name, Kind: l.Kind, ByGrade: map[int]int{}, ByStatus: map[string]int{}})
	}
	rows, err := s.h.QueryContext(ctx, `SELECT labeler_id, status, COALESCE(grade, -1), count(*) FROM judgments GROUP BY labeler_id, status, grade`)
	if err != nil {
		return st, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var status string
		var grade, n int
		if err := rows.Scan(&id, &status, &grade, &n); err != nil {
			return st, err
		}
		ls := &st.Labelers[idx[id]]
		ls.Total += n
		ls.ByStatus[status] += n
		if status == StatusOK {
			ls.ByGrade[grade] += n
		}
	}
	return st, rows.Err()
}
