package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Judgment statuses. Only StatusOK carries a grade.
const (
	StatusOK          = "ok"
	StatusUnparseable = "unparseable"
	StatusRefused     = "refused"
	StatusError       = "error"
	StatusUnsure      = "unsure" // a human's "judge later": not the same as not relevant
)

// Judgment is one labeler's current verdict on one pair.
type Judgment struct {
	PairID        int64
	LabelerID     int64
	Grade         int // meaningful only when Status == StatusOK
	Status        string
	Probs         []float64 // probability per grade, index = grade - scale.Min()
	Expected      float64
	HasExpected   bool
	Reason        string
	Raw           string
	Note          string
	TokensIn      int
	TokensOut     int
	LatencyMS     float64
	CostUSD       float64
	Attempts      int
	PromptVersion string
	RunID         int64
	UpdatedAt     time.Time
}

func (s *Store) checkJudgment(j *Judgment) error {
	switch j.Status {
	case StatusOK:
		if err := s.scale.Check(j.Grade); err != nil {
			return err
		}
	case StatusUnparseable, StatusRefused, StatusError, StatusUnsure:
	default:
		return fmt.Errorf("unknown judgment status %q", j.Status)
	}
	if j.Probs != nil && len(j.Probs) != len(s.scale.Levels) {
		return fmt.Errorf("%d grade probabilities for a scale of %d levels", len(j.Probs), len(s.scale.Levels))
	}
	return nil
}

// PutJudgment records j as the current judgment of its labeler on its pair
// and appends the change to the history (with the previous value, for undo
// and audit). Grades outside the scale are rejected.
func (s *Store) PutJudgment(ctx context.Context, j *Judgment) error {
	if err := s.checkJudgment(j); err != nil {
		return err
	}
	return s.Tx(ctx, func(tx *Store) error { return tx.putJudgment(ctx, j) })
}

// PutJudgments records many judgments in one transaction.
func (s *Store) PutJudgments(ctx context.Context, js []Judgment) error {
	for i := range js {
		if err := s.checkJudgment(&js[i]); err != nil {
			return err
		}
	}
	return s.Tx(ctx, func(tx *Store) error {
		for i := range js {
			if err := tx.putJudgment(ctx, &js[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) putJudgment(ctx context.Context, j *Judgment) error {
	var prevGrade sql.NullInt64
	var prevStatus, prevNote sql.NullString
	err := s.queryRow(ctx, `SELECT grade, status, note FROM judgments WHERE pair_id = ? AND labeler_id = ?`, j.PairID, j.LabelerID).
		Scan(&prevGrade, &prevStatus, &prevNote)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	var grade, expected any
	if j.Status == StatusOK {
		grade = j.Grade
	}
	if j.HasExpected {
		expected = j.Expected
	}
	probs := ""
	if j.Probs != nil {
		b, _ := json.Marshal(j.Probs)
		probs = string(b)
	}
	t := now()
	if _, err := s.exec(ctx, `INSERT INTO judgments(pair_id, labeler_id, grade, status, probs, expected, reason, raw, note, tokens_in, tokens_out, latency_ms, cost_usd, attempts, prompt_version, run_id, created_at, updated_at)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(pair_id, labeler_id) DO UPDATE SET grade=excluded.grade, status=excluded.status, probs=excluded.probs, expected=excluded.expected,
			reason=excluded.reason, raw=excluded.raw, note=excluded.note, tokens_in=excluded.tokens_in, tokens_out=excluded.tokens_out,
			latency_ms=excluded.latency_ms, cost_usd=excluded.cost_usd, attempts=excluded.attempts, prompt_version=excluded.prompt_version,
			run_id=excluded.run_id, updated_at=excluded.updated_at`,
		j.PairID, j.LabelerID, grade, j.Status, probs, expected, j.Reason, j.Raw, j.Note, j.TokensIn, j.TokensOut, j.LatencyMS, j.CostUSD, j.Attempts, j.PromptVersion, nullID(j.RunID), t, t); err != nil {
		return err
	}
	_, err = s.exec(ctx, `INSERT INTO judgment_history(pair_id, labeler_id, action, grade, status, note, prev_grade, prev_status, prev_note, run_id, at) VALUES (?,?,'set',?,?,?,?,?,?,?,?)`,
		j.PairID, j.LabelerID, grade, j.Status, j.Note, prevGrade, prevStatus, prevNote, nullID(j.RunID), t)
	return err
}

// Undo reverts the labeler's most recent change that has not been undone
// yet, restoring the previous value (or removing the judgment when there was
// none). It returns the pair it touched, or ok=false when there is nothing
// left to undo. Repeated calls walk further back.
func (s *Store) Undo(ctx context.Context, labelerID int64) (pairID int64, ok bool, err error) {
	err = s.Tx(ctx, func(tx *Store) error {
		var hid int64
		var prevGrade sql.NullInt64
		var prevStatus, prevNote sql.NullString
		err := tx.h.QueryRowContext(ctx, `SELECT id, pair_id, prev_grade, prev_status, prev_note FROM judgment_history
			WHERE labeler_id = ? AND action = 'set' AND undone = 0 ORDER BY id DESC LIMIT 1`, labelerID).
			Scan(&hid, &pairID, &prevGrade, &prevStatus, &prevNote)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		ok = true
		t := now()
		if !prevStatus.Valid {
			if _, err := tx.h.ExecContext(ctx, `DELETE FROM judgments WHERE pair_id = ? AND labeler_id = ?`, pairID, labelerID); err != nil {
				return err
			}
		} else if _, err := tx.h.ExecContext(ctx, `UPDATE judgments SET grade = ?, status = ?, note = ?, updated_at = ? WHERE pair_id = ? AND labeler_id = ?`,
			prevGrade, prevStatus, prevNote.String, t, pairID, labelerID); err != nil {
			return err
		}
		if _, err := tx.h.ExecContext(ctx, `UPDATE judgment_history SET undone = 1 WHERE id = ?`, hid); err != nil {
			return err
		}
		_, err = tx.h.ExecContext(ctx, `INSERT INTO judgment_history(pair_id, labeler_id, action, grade, status, note, at) VALUES (?,?,'undo',?,?,?,?)`,
			pairID, labelerID, prevGrade, prevStatus.String, prevNote.String, t)
		return err
	})
	return pairID, ok, err
}

const judgmentColumns = `pair_id, labeler_id, COALESCE(grade, -1), status, probs, expected, reason, raw, note, tokens_in, tokens_out, latency_ms, cost_usd, attempts, prompt_version, COALESCE(run_id, 0), updated_at`

func scanJudgment(sc scanner) (Judgment, error) {
	var j Judgment
	var probs, updated string
	var expected sql.NullFloat64
	err := sc.Scan(&j.PairID, &j.LabelerID, &j.Grade, &j.Status, &probs, &expected, &j.Reason, &j.Raw, &j.Note,
		&j.TokensIn, &j.TokensOut, &j.LatencyMS, &j.CostUSD, &j.Attempts, &j.PromptVersion, &j.RunID, &updated)
	if probs != "" {
		json.Unmarshal([]byte(probs), &j.Probs)
	}
	j.Expected, j.HasExpected = expected.Float64, expected.Valid
	j.UpdatedAt, _ = time.Parse(time.RFC3339Nano, updated)
	return j, err
}

// Judgment returns the labeler's current judgment on a pair.
func (s *Store) Judgment(ctx context.Context, pairID, labelerID int64) (Judgment, bool, error) {
	j, err := scanJudgment(s.queryRow(ctx, `SELECT `+judgmentColumns+` FROM judgments WHERE pair_id = ? AND labeler_id = ?`, pairID, labelerID))
	if errors.Is(err, sql.ErrNoRows) {
		return j, false, nil
	}
	return j, err == nil, err
}

// PairJudgments returns every labeler's current judgment on a pair.
func (s *Store) PairJudgments(ctx context.Context, pairID int64) ([]Judgment, error) {
	return queryAll(ctx, s.h, scanJudgment, `SELECT `+judgmentColumns+` FROM judgments WHERE pair_id = ? ORDER BY labeler_id`, pairID)
}

// Grade is a compact current grade, for evaluation and exports.
type Grade struct {
	PairID   int64
	Query    string // query external id
	Doc      string // document external id
	Grade    int
	Expected float64
	HasExp   bool
}

// Grades returns the labeler's current ok grades, sorted by query then
// document external id.
func (s *Store) Grades(ctx context.Context, labelerID int64) ([]Grade, error) {
	rows, err := s.h.QueryContext(ctx, `SELECT j.pair_id, q.ext_id, d.ext_id, j.grade, j.expected FROM judgments j
		JOIN pairs p ON p.id = j.pair_id JOIN queries q ON q.id = p.query_id JOIN documents d ON d.id = p.doc_id
		WHERE j.labeler_id = ? AND j.status = 'ok' ORDER BY q.ext_id, d.ext_id`, labelerID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Grade
	for rows.Next() {
		var g Grade
		var exp sql.NullFloat64
		if err := rows.Scan(&g.PairID, &g.Query, &g.Doc, &g.Grade, &exp); err != nil {
			return nil, err
		}
		g.Expected, g.HasExp = exp.Float64, exp.Valid
		out = append(out, g)
	}
	return out, rows.Err()
}
