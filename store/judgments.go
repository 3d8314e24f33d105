package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
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
	// Retrying marks a failed attempt that its run asks again at once: kept
	// in the history, but not the run's verdict on the pair, and the run
	// keeps its claim on the pair (see ClaimPairs).
	Retrying  bool
	UpdatedAt time.Time
	// HistoryID is the judgment_history row of the change PutJudgment just
	// recorded (0 on judgments read back): what UndoChange takes back.
	HistoryID int64
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

// PutJudgments records many judgments in one transaction, as PutJudgment
// would one after the other (each judgment's history row has the value
// before it, HistoryID is set), in multi-row statements: a labeling run
// commits thousands of judgments at a time.
func (s *Store) PutJudgments(ctx context.Context, js []Judgment) error {
	for i := range js {
		if err := s.checkJudgment(&js[i]); err != nil {
			return err
		}
	}
	return s.Tx(ctx, func(tx *Store) error {
		// A statement reads the previous values of all its rows before it
		// writes any, so a pair twice (a retried attempt, then its verdict)
		// starts a new segment.
		type key struct{ pair, labeler int64 }
		seen := map[key]bool{}
		start := 0
		for i := range js {
			k := key{js[i].PairID, js[i].LabelerID}
			if seen[k] {
				if err := tx.putJudgmentRows(ctx, js[start:i]); err != nil {
					return err
				}
				start = i
				clear(seen)
			}
			seen[k] = true
		}
		return tx.putJudgmentRows(ctx, js[start:])
	})
}

// judgmentRows are the sizes of putJudgmentRows' statements, largest
// first: a few statement texts to prepare once, whatever the batch size.
var judgmentRows = []int{256, 64, 16, 4, 1}

// judgmentUpsert is what a judgment of a pair the labeler has judged before
// replaces.
const judgmentUpsert = ` ON CONFLICT(pair_id, labeler_id) DO UPDATE SET grade=excluded.grade, status=excluded.status, probs=excluded.probs, expected=excluded.expected,
	reason=excluded.reason, raw=excluded.raw, note=excluded.note, tokens_in=excluded.tokens_in, tokens_out=excluded.tokens_out,
	latency_ms=excluded.latency_ms, cost_usd=excluded.cost_usd, attempts=excluded.attempts, prompt_version=excluded.prompt_version,
	run_id=excluded.run_id, retrying=excluded.retrying, updated_at=excluded.updated_at`

// judgmentSQL are putJudgmentRows' statements for n rows: the history
// rows, then the judgments. History comes first: it records what each
// judgment was before this change, in the order of the batch (the ids
// PutJudgment would give). The lean pair binds, per row, only what an
// in-process grader's judgments differ in (see leanJudgments).
type judgmentSQL struct{ history, current string }

var judgmentSQLs sync.Map // [2]int{lean, n} -> judgmentSQL

func judgmentStatements(lean bool, n int) judgmentSQL {
	k := [2]int{0, n}
	if lean {
		k[0] = 1
	}
	if q, ok := judgmentSQLs.Load(k); ok {
		return q.(judgmentSQL)
	}
	const cols = `INSERT INTO judgments(pair_id, labeler_id, grade, status, probs, expected, reason, raw, note, tokens_in, tokens_out, latency_ms, cost_usd, attempts, prompt_version, run_id, retrying, created_at, updated_at) `
	q := judgmentSQL{
		history: `INSERT INTO judgment_history(pair_id, labeler_id, action, grade, status, note, prev_grade, prev_status, prev_note, run_id, retrying, at)
			SELECT v.column2, v.column3, 'set', v.column4, v.column5, v.column6, j.grade, j.status, j.note, v.column7, v.column8, v.column9
			FROM (VALUES ` + rowsOf(n, "(?,?,?,?,?,?,?,?,?)") + `) v LEFT JOIN judgments j ON j.pair_id = v.column2 AND j.labeler_id = v.column3
			ORDER BY v.column1`,
		current: cols + `VALUES ` + rowsOf(n, "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)") + judgmentUpsert,
	}
	if lean {
		// parameters: labeler, run, time, the rows, labeler
		q.history = `INSERT INTO judgment_history(pair_id, labeler_id, action, grade, status, note, prev_grade, prev_status, prev_note, run_id, retrying, at)
			SELECT v.column2, ?1, 'set', v.column3, v.column4, '', j.grade, j.status, j.note, ?2, 0, ?3
			FROM (VALUES ` + rowsOf(n, "(?,?,?,?)") + `) v LEFT JOIN judgments j ON j.pair_id = v.column2 AND j.labeler_id = ?1
			ORDER BY v.column1`
		// parameters: labeler, prompt version, run, time, the rows
		q.current = cols + `SELECT v.column1, ?1, v.column2, v.column3, v.column4, v.column5, '', '', '', 0, 0, 0, 0, 0, ?2, ?3, 0, ?4, ?4
			FROM (VALUES ` + rowsOf(n, "(?,?,?,?,?)") + `) v WHERE true` + judgmentUpsert
	}
	judgmentSQLs.Store(k, q)
	return q
}

// leanJudgments reports whether js are all of one labeler, run and prompt
// version, and carry nothing but a status, grade, probabilities and
// expected grade (no reason, raw answer, note, tokens, latency, cost,
// attempts or retry): what in-process graders write, by the thousand.
func leanJudgments(js []Judgment) bool {
	for i := range js {
		j := &js[i]
		if j.LabelerID != js[0].LabelerID || j.RunID != js[0].RunID || j.PromptVersion != js[0].PromptVersion ||
			j.Reason != "" || j.Raw != "" || j.Note != "" || j.TokensIn != 0 || j.TokensOut != 0 || j.LatencyMS != 0 ||
			j.CostUSD != 0 || j.Attempts != 0 || j.Retrying {
			return false
		}
	}
	return true
}

// putJudgmentRows records judgments of distinct pairs (or labelers) with
// their history rows, in statements of judgmentRows rows each (inside a
// transaction).
func (s *Store) putJudgmentRows(ctx context.Context, js []Judgment) error {
	if len(js) == 0 {
		return nil
	}
	t := now()
	lean := leanJudgments(js)
	hist := make([]any, 0, 9*judgmentRows[0]+4)
	cur := make([]any, 0, 19*judgmentRows[0]+4)
	for len(js) > 0 {
		n := judgmentRows[len(judgmentRows)-1]
		for _, r := range judgmentRows {
			if r <= len(js) {
				n = r
				break
			}
		}
		part := js[:n]
		js = js[n:]
		hist, cur = hist[:0], cur[:0]
		if lean {
			j := &part[0]
			hist = append(hist, j.LabelerID, nullID(j.RunID), t)
			cur = append(cur, j.LabelerID, j.PromptVersion, nullID(j.RunID), t)
		}
		for i := range part {
			j := &part[i]
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
			if lean {
				hist = append(hist, i, j.PairID, grade, j.Status)
				cur = append(cur, j.PairID, grade, j.Status, probs, expected)
				continue
			}
			hist = append(hist, i, j.PairID, j.LabelerID, grade, j.Status, j.Note, nullID(j.RunID), j.Retrying, t)
			cur = append(cur, j.PairID, j.LabelerID, grade, j.Status, probs, expected, j.Reason, j.Raw, j.Note, j.TokensIn, j.TokensOut,
				j.LatencyMS, j.CostUSD, j.Attempts, j.PromptVersion, nullID(j.RunID), j.Retrying, t, t)
		}
		q := judgmentStatements(lean, n)
		res, err := s.exec(ctx, q.history, hist...)
		if err != nil {
			return err
		}
		last, err := res.LastInsertId()
		if err != nil {
			return err
		}
		for i := range part {
			part[i].HistoryID = last - int64(n-1-i) // rowids of one INSERT are consecutive
		}
		if _, err := s.exec(ctx, q.current, cur...); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) putJudgment(ctx context.Context, j *Judgment) error {
	js := []Judgment{*j}
	err := s.putJudgmentRows(ctx, js)
	j.HistoryID = js[0].HistoryID
	return err
}

// Change is one recorded change of a judgment (a row of judgment_history):
// what it set and what was there before.
type Change struct {
	ID        int64
	PairID    int64
	LabelerID int64
	Grade     int // meaningful only when Status == StatusOK
	Status    string
	Note      string
	// Had is false when the pair had no judgment of the labeler before;
	// otherwise PrevGrade, PrevStatus and PrevNote are what it was.
	Had        bool
	PrevGrade  int
	PrevStatus string
	PrevNote   string
}

// ErrUndone is returned by UndoChange for a change already taken back.
var ErrUndone = errors.New("already undone")

// ErrChangedSince is returned by UndoChange when the judgment was changed
// again after the change (the later change stands).
var ErrChangedSince = errors.New("changed again since")

// Undo reverts the labeler's most recent change that has not been undone
// yet, restoring the previous value (or removing the judgment when there was
// none). It returns the pair it touched, or ok=false when there is nothing
// left to undo. Repeated calls walk further back.
func (s *Store) Undo(ctx context.Context, labelerID int64) (pairID int64, ok bool, err error) {
	err = s.Tx(ctx, func(tx *Store) error {
		var hid int64
		err := tx.queryRow(ctx, `SELECT id FROM judgment_history
			WHERE labeler_id = ? AND action = 'set' AND undone = 0 ORDER BY id DESC LIMIT 1`, labelerID).Scan(&hid)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		c, err := tx.undoChange(ctx, labelerID, hid)
		pairID, ok = c.PairID, err == nil
		return err
	})
	return pairID, ok, err
}

// UndoChange takes back exactly one change of the labeler's (historyID, as
// PutJudgment set Judgment.HistoryID), restoring what the pair had before it
// (or removing the judgment when it had none), and returns the change. It
// refuses, changing nothing, a change of another labeler, one already
// undone (ErrUndone) and one whose judgment was changed again after it
// (ErrChangedSince): the later change stands.
func (s *Store) UndoChange(ctx context.Context, labelerID, historyID int64) (Change, error) {
	var c Change
	err := s.Tx(ctx, func(tx *Store) error {
		var err error
		c, err = tx.undoChange(ctx, labelerID, historyID)
		return err
	})
	return c, err
}

func (s *Store) undoChange(ctx context.Context, labelerID, historyID int64) (Change, error) {
	c := Change{ID: historyID}
	var grade, prevGrade sql.NullInt64
	var prevStatus, prevNote sql.NullString
	var action string
	var undone bool
	err := s.queryRow(ctx, `SELECT pair_id, labeler_id, action, grade, status, note, prev_grade, prev_status, prev_note, undone
		FROM judgment_history WHERE id = ?`, historyID).
		Scan(&c.PairID, &c.LabelerID, &action, &grade, &c.Status, &c.Note, &prevGrade, &prevStatus, &prevNote, &undone)
	if errors.Is(err, sql.ErrNoRows) || err == nil && (c.LabelerID != labelerID || action != "set") {
		return c, fmt.Errorf("change %d: no such change of labeler %d", historyID, labelerID)
	}
	if err != nil {
		return c, err
	}
	c.Grade = int(grade.Int64)
	c.Had, c.PrevGrade, c.PrevStatus, c.PrevNote = prevStatus.Valid, int(prevGrade.Int64), prevStatus.String, prevNote.String
	if undone {
		return c, ErrUndone
	}
	var later int
	if err := s.queryRow(ctx, `SELECT count(*) FROM judgment_history
		WHERE labeler_id = ? AND id > ? AND pair_id = ? AND action = 'set' AND undone = 0`, labelerID, historyID, c.PairID).Scan(&later); err != nil {
		return c, err
	}
	if later > 0 {
		return c, ErrChangedSince
	}
	t := now()
	if !c.Had {
		if _, err := s.exec(ctx, `DELETE FROM judgments WHERE pair_id = ? AND labeler_id = ?`, c.PairID, labelerID); err != nil {
			return c, err
		}
	} else if _, err := s.exec(ctx, `UPDATE judgments SET grade = ?, status = ?, note = ?, updated_at = ? WHERE pair_id = ? AND labeler_id = ?`,
		prevGrade, prevStatus, prevNote.String, t, c.PairID, labelerID); err != nil {
		return c, err
	}
	if _, err := s.exec(ctx, `UPDATE judgment_history SET undone = 1 WHERE id = ?`, historyID); err != nil {
		return c, err
	}
	_, err = s.exec(ctx, `INSERT INTO judgment_history(pair_id, labeler_id, action, grade, status, note, at) VALUES (?,?,'undo',?,?,?,?)`,
		c.PairID, labelerID, prevGrade, prevStatus.String, prevNote.String, t)
	return c, err
}

const judgmentColumns = `pair_id, labeler_id, COALESCE(grade, -1), status, probs, expected, reason, raw, note, tokens_in, tokens_out, latency_ms, cost_usd, attempts, prompt_version, COALESCE(run_id, 0), retrying, updated_at`

func scanJudgment(sc scanner) (Judgment, error) {
	var j Judgment
	var probs, updated string
	var expected sql.NullFloat64
	err := sc.Scan(&j.PairID, &j.LabelerID, &j.Grade, &j.Status, &probs, &expected, &j.Reason, &j.Raw, &j.Note,
		&j.TokensIn, &j.TokensOut, &j.LatencyMS, &j.CostUSD, &j.Attempts, &j.PromptVersion, &j.RunID, &j.Retrying, &updated)
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

// RecentLatencies are the times on task (milliseconds) of the labeler's
// last n ok grades that recorded one, oldest first: an annotator's own
// pace, for an estimate of their time left.
func (s *Store) RecentLatencies(ctx context.Context, labelerID int64, n int) ([]float64, error) {
	out, err := queryAll(ctx, s.h, func(sc scanner) (float64, error) {
		var ms float64
		err := sc.Scan(&ms)
		return ms, err
	},
		`SELECT latency_ms FROM judgments INDEXED BY judgments_labeler
		WHERE labeler_id = ? AND status = 'ok' AND latency_ms > 0 ORDER BY updated_at DESC LIMIT ?`, labelerID, n)
	slices.Reverse(out)
	return out, err
}

// JudgedLabeler says what one labeler's current judgments carry, so that an
// export knows its columns before it writes the first row.
type JudgedLabeler struct {
	LabelerID int64
	Notes     bool // some judgment has a note
	Expected  bool // some judgment has an expected grade
}

// JudgedLabelers lists the labelers with at least one current judgment, in
// labeler id order.
func (s *Store) JudgedLabelers(ctx context.Context) ([]JudgedLabeler, error) {
	return queryAll(ctx, s.h, func(sc scanner) (JudgedLabeler, error) {
		var j JudgedLabeler
		err := sc.Scan(&j.LabelerID, &j.Notes, &j.Expected)
		return j, err
	}, `SELECT labeler_id, max(note != ''), max(expected IS NOT NULL) FROM judgments GROUP BY labeler_id ORDER BY labeler_id`)
}
