package store

import (
	"context"
	"fmt"

	"github.com/qrelbench/qrelbench/store/quote"
)

// Level is one grade of a scale with its name and the definition shown to
// annotators and written into model prompts.
type Level struct {
	Grade       int    `json:"grade"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Scale is a workspace's contiguous grade scale.
type Scale struct {
	Name   string  `json:"name"` // "0-3", "0-2", "0-4"
	Levels []Level `json:"levels"`
}

// Min is the lowest grade.
func (s Scale) Min() int { return s.Levels[0].Grade }

// Max is the highest grade.
func (s Scale) Max() int { return s.Levels[len(s.Levels)-1].Grade }

// Contains reports whether g is a grade of this scale.
func (s Scale) Contains(g int) bool { return len(s.Levels) > 0 && g >= s.Min() && g <= s.Max() }

// Check returns a clear error for a grade outside the scale.
func (s Scale) Check(g int) error {
	if !s.Contains(g) {
		return fmt.Errorf("grade %d is outside the workspace scale %d–%d", g, s.Min(), s.Max())
	}
	return nil
}

// Validate checks that levels are contiguous from their minimum.
func (s Scale) Validate() error {
	if len(s.Levels) < 2 {
		return fmt.Errorf("a scale needs at least two levels")
	}
	for i, l := range s.Levels {
		if l.Grade != s.Levels[0].Grade+i {
			return fmt.Errorf("scale levels must be contiguous")
		}
	}
	return nil
}

// Scales are the scales a workspace can be created with. 0-3 follows the TREC
// Deep Learning / UMBRELA definitions.
var Scales = map[string]Scale{
	"0-3": {Name: "0-3", Levels: []Level{
		{0, "Irrelevant", "The document has nothing to do with the query."},
		{1, "Related", "The document seems related to the query but does not answer it."},
		{2, "Highly relevant", "The document has some answer for the query, but the answer may be a bit unclear, or hidden amongst extraneous information."},
		{3, "Perfectly relevant", "The document is dedicated to the query and contains the exact answer."},
	}},
	"0-2": {Name: "0-2", Levels: []Level{
		{0, "Not relevant", "The document does not help with the query."},
		{1, "Partially relevant", "The document is on topic and helps in part, but does not fully answer the query."},
		{2, "Relevant", "The document answers the query or is what the searcher was looking for."},
	}},
	"0-4": {Name: "0-4", Levels: []Level{
		{0, "Bad", "The document is unrelated to the query, spam, or unusable."},
		{1, "Fair", "The document is on the topic of the query but of little use."},
		{2, "Good", "The document partly satisfies the need behind the query."},
		{3, "Excellent", "The document satisfies the need behind the query well."},
		{4, "Perfect", "The document is exactly what the searcher wanted: the definitive answer or the very file they named."},
	}},
}

// ScaleByName returns one of Scales or an error listing the choices.
func ScaleByName(name string) (Scale, error) {
	s, ok := Scales[name]
	if !ok {
		return Scale{}, fmt.Errorf("unknown scale %s: choose 0-3 (default), 0-2 or 0-4", quote.Input(name))
	}
	return s, nil
}

func (s *Store) loadScale(ctx context.Context) (Scale, error) {
	var sc Scale
	if err := s.h.QueryRowContext(ctx, `SELECT value FROM workspace WHERE key = 'scale'`).Scan(&sc.Name); err != nil {
		return sc, err
	}
	rows, err := s.h.QueryContext(ctx, `SELECT grade, name, description FROM scale ORDER BY grade`)
	if err != nil {
		return sc, err
	}
	defer rows.Close()
	for rows.Next() {
		var l Level
		if err := rows.Scan(&l.Grade, &l.Name, &l.Description); err != nil {
			return sc, err
		}
		sc.Levels = append(sc.Levels, l)
	}
	if err := rows.Err(); err != nil {
		return sc, err
	}
	return sc, sc.Validate()
}
