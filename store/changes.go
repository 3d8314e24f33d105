package store

import "context"

// Changes is where the workspace stands, as seen by any process: compare
// two readings to know what to read again. Appends show as higher ids;
// edits and removals, labelers and runs as higher counters (bumped by
// triggers, see migration 0005). One reading costs a handful of index
// probes however large the workspace.
type Changes struct {
	Pairs    int64 // highest pair id
	Queries  int64 // highest query id
	History  int64 // highest judgment_history id: every judgment change
	Labelers int64 // labelers added, edited or removed
	Runs     int64 // runs started, progressed or ended
	Corpus   int64 // query texts or document titles edited; pairs, queries or documents removed
}

// Changes reads the workspace's change markers.
func (s *Store) Changes(ctx context.Context) (Changes, error) {
	var c Changes
	err := s.h.QueryRowContext(ctx, `SELECT
		(SELECT COALESCE(max(id), 0) FROM pairs),
		(SELECT COALESCE(max(id), 0) FROM queries),
		(SELECT COALESCE(max(id), 0) FROM judgment_history),
		(SELECT n FROM changes WHERE topic = 'labelers'),
		(SELECT n FROM changes WHERE topic = 'runs'),
		(SELECT n FROM changes WHERE topic = 'corpus')`).
		Scan(&c.Pairs, &c.Queries, &c.History, &c.Labelers, &c.Runs, &c.Corpus)
	return c, err
}
