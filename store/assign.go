package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/qrelbench/qrelbench/store/quote"
)

// This file assigns pairs to many annotators grading at once (the SSH
// server runs one workbench per annotator), and holds the store side of
// agreement and adjudication.
//
// Each pair should get ok grades from K humans (the workspace setting
// "assign.k", default 1). NextPair draws the next pair for one annotator and
// takes a short lease on it, so that no more than K annotators are ever shown
// the same pair at once: a pair is served while its human ok grades plus the
// live leases of other annotators are fewer than K. Any verdict releases the
// annotator's lease (a trigger on judgments), leases expire (default two
// minutes; RenewLease extends one) and ReleaseLeases drops them when an
// annotator leaves.
//
// The counts NextPair walks are kept in assign_pairs by triggers, with
// indexes in serving order, so a draw is a few index seeks whatever the size
// of the workspace (see BenchmarkNextPair).

// DefaultLease is how long a drawn pair stays reserved for its annotator.
const DefaultLease = 2 * time.Minute

// maxSkips bounds the skip list NextPair honours (the most recent ones).
const maxSkips = 500

// GoldLabeler is the labeler that holds adjudicated grades.
const GoldLabeler = "human:gold"

// ErrNotAdjudicator is returned by Adjudicate for a labeler that is not
// marked as an adjudicator.
var ErrNotAdjudicator = errors.New("not an adjudicator")

// AssignOptions tune NextPair.
type AssignOptions struct {
	// K is how many humans should grade each pair (0: the workspace setting).
	K int
	// QueryID is the query of the previous pair: NextPair stays on it while
	// it has a pair to serve (0: none).
	QueryID int64
	// Skip are pairs the annotator skipped recently (only the last 500 count).
	Skip []int64
	// Keep are pairs whose leases the annotator keeps (the pair on screen,
	// when drawing ahead); they are never drawn. Every other lease of the
	// annotator is released by NextPair: one annotator, one pair at a time.
	Keep []int64
	// Priority serves first, within the least-graded pairs, those where the
	// teacher and the student disagree most or are least certain (see
	// RefreshPriority). Off: by query, then pair.
	Priority bool
	// Lease is how long the drawn pair is reserved (0: DefaultLease).
	Lease time.Duration
	// Now replaces the clock (tests). Zero: time.Now().
	Now time.Time
}

func (o AssignOptions) now() time.Time {
	if o.Now.IsZero() {
		return time.Now()
	}
	return o.Now
}

func (o AssignOptions) lease() time.Duration {
	if o.Lease <= 0 {
		return DefaultLease
	}
	return o.Lease
}

// AssignK is the number of humans each pair should be graded by: the
// workspace setting "assign.k", 1 when unset.
func (s *Store) AssignK(ctx context.Context) (int, error) {
	var v string
	err := s.queryRow(ctx, `SELECT value FROM workspace WHERE key = 'assign.k'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 1, nil
	}
	if err != nil {
		return 0, err
	}
	k, err := strconv.Atoi(v)
	if err != nil || k < 1 {
		return 1, nil
	}
	return k, nil
}

// SetAssignK stores the number of humans each pair should be graded by.
func (s *Store) SetAssignK(ctx context.Context, k int) error {
	if k < 1 || k > 100 {
		return fmt.Errorf("k = %d: each pair needs between 1 and 100 human grades", k)
	}
	_, err := s.exec(ctx, `INSERT INTO workspace(key, value) VALUES ('assign.k', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, strconv.Itoa(k))
	return err
}

// NextPair draws the next pair for an annotator and leases it to them, in
// one immediate transaction. It never returns a pair the annotator has
// judged (any status), skipped (opt.Skip) or keeps (opt.Keep), nor one whose
// human ok grades plus the live leases of other annotators reach K. Among
// the rest it serves the least-graded first, staying on opt.QueryID while
// that query has a pair to serve; a fresh query is one no other annotator is
// working on when there is one. ok is false when nothing is left to serve
// this annotator now.
func (s *Store) NextPair(ctx context.Context, annotatorLabelerID int64, opt AssignOptions) (v PairView, ok bool, err error) {
	k := opt.K
	if k <= 0 {
		if k, err = s.AssignK(ctx); err != nil {
			return v, false, err
		}
	}
	now := opt.now()
	nowMS := now.UnixMilli()
	skips := opt.Skip
	if len(skips) > maxSkips {
		skips = skips[len(skips)-maxSkips:]
	}
	if opt.Priority {
		if err := s.refreshPriorityIfStale(ctx); err != nil {
			return v, false, err
		}
	}
	err = s.Tx(ctx, func(tx *Store) error {
		// Expired leases go first (an index range), then this annotator's
		// other leases: one pair at a time.
		if _, err := tx.exec(ctx, `DELETE FROM leases WHERE expires_at <= ?`, nowMS); err != nil {
			return err
		}
		rel := `DELETE FROM leases WHERE labeler_id = ?`
		args := []any{annotatorLabelerID}
		if len(opt.Keep) > 0 {
			rel += ` AND pair_id NOT IN (` + placeholders(len(opt.Keep)) + `)`
			for _, id := range opt.Keep {
				args = append(args, id)
			}
		}
		if _, err := tx.h.ExecContext(ctx, rel, args...); err != nil {
			return err
		}

		// The conditions every served pair meets (besides humans < K).
		cond := `
			AND NOT EXISTS (SELECT 1 FROM judgments j WHERE j.pair_id = a.pair_id AND j.labeler_id = ?)
			AND a.humans + (SELECT count(*) FROM leases l WHERE l.pair_id = a.pair_id AND l.expires_at > ? AND l.owner = '') < ?`
		cargs := []any{annotatorLabelerID, nowMS, k}
		if excl := len(skips) + len(opt.Keep); excl > 0 {
			cond += ` AND a.pair_id NOT IN (` + placeholders(excl) + `)`
			for _, id := range skips {
				cargs = append(cargs, id)
			}
			for _, id := range opt.Keep {
				cargs = append(cargs, id)
			}
		}
		pick := func(q string, args ...any) (int64, int64, bool, error) {
			var id, qid int64
			err := tx.h.QueryRowContext(ctx, q, append(args, cargs...)...).Scan(&id, &qid)
			if errors.Is(err, sql.ErrNoRows) {
				return 0, 0, false, nil
			}
			return id, qid, err == nil, err
		}
		var id, qid int64
		var found bool
		var err error
		if opt.QueryID != 0 {
			order := ` ORDER BY a.humans, a.pair_id LIMIT 1`
			if opt.Priority {
				order = ` ORDER BY a.humans, a.priority DESC, a.pair_id LIMIT 1`
			}
			id, qid, found, err = pick(`SELECT a.pair_id, a.query_id FROM assign_pairs a INDEXED BY assign_query WHERE a.query_id = ? AND a.humans < ?`+cond+order, opt.QueryID, k)
			if err != nil {
				return err
			}
		}
		// Then tier by tier, least-graded first: each tier is one index range.
		for h := 0; h < k && !found; h++ {
			if opt.Priority {
				id, qid, found, err = pick(`SELECT a.pair_id, a.query_id FROM assign_pairs a INDEXED BY assign_priority WHERE a.humans = ?`+cond+` ORDER BY a.priority DESC, a.pair_id LIMIT 1`, h)
			} else {
				id, qid, found, err = tx.pickFreshQuery(ctx, annotatorLabelerID, nowMS, h, cond, pick)
			}
			if err != nil {
				return err
			}
		}
		if !found {
			return nil
		}
		if _, err := tx.exec(ctx, `INSERT INTO leases(pair_id, labeler_id, query_id, expires_at) VALUES (?,?,?,?)
			ON CONFLICT(pair_id, labeler_id) DO UPDATE SET expires_at = excluded.expires_at`,
			id, annotatorLabelerID, qid, now.Add(opt.lease()).UnixMilli()); err != nil {
			return err
		}
		v, err = scanPairView(tx.h.QueryRowContext(ctx, pairViewSelect+` WHERE p.id = ?`, id))
		ok = err == nil
		return err
	})
	return v, ok, err
}

// Workload is what the pool holds for one annotator at K: the pairs NextPair
// can still serve them, and those it will not because they already have K
// human grades (imported ones count: a benchmark imported with its human
// grades is full at K = 1).
type Workload struct {
	K    int
	Left int // pairs they have not judged with fewer than K human ok grades
	Full int // pairs they have not judged that already have K or more
	// FullBy is whose grades fill those pairs, most first (at most three;
	// filled only when nothing is left to serve).
	FullBy []LabelerCount
}

// LabelerCount is a number of pairs attributed to a labeler.
type LabelerCount struct {
	Labeler string
	Pairs   int
}

// Workload counts what NextPair can still serve an annotator at k (0: the
// workspace setting). The counts leave out live leases, which come and go.
// Its cost is one index range over the pairs with K or more human grades
// and one over the annotator's own judgments, whatever the workspace size.
func (s *Store) Workload(ctx context.Context, labelerID int64, k int) (Workload, error) {
	var w Workload
	var err error
	if k <= 0 {
		if k, err = s.AssignK(ctx); err != nil {
			return w, err
		}
	}
	w.K = k
	var pairs, full, mineLow, mineFull int
	if err := s.queryRow(ctx, `SELECT count(*) FROM assign_pairs`).Scan(&pairs); err != nil {
		return w, err
	}
	if err := s.queryRow(ctx, `SELECT count(*) FROM assign_pairs INDEXED BY assign_order WHERE humans >= ?`, k).Scan(&full); err != nil {
		return w, err
	}
	if err := s.queryRow(ctx, `SELECT coalesce(sum(a.humans < ?), 0), coalesce(sum(a.humans >= ?), 0)
		FROM judgments j JOIN assign_pairs a ON a.pair_id = j.pair_id WHERE j.labeler_id = ?`, k, k, labelerID).Scan(&mineLow, &mineFull); err != nil {
		return w, err
	}
	w.Left = max(pairs-full-mineLow, 0)
	w.Full = max(full-mineFull, 0)
	if w.Left > 0 || w.Full == 0 {
		return w, nil
	}
	w.FullBy, err = queryAll(ctx, s.h, func(sc scanner) (LabelerCount, error) {
		var c LabelerCount
		err := sc.Scan(&c.Labeler, &c.Pairs)
		return c, err
	},
		`SELECT l.name, count(*) FROM assign_pairs a INDEXED BY assign_order
		JOIN judgments j ON j.pair_id = a.pair_id JOIN labelers l ON l.id = j.labeler_id
		WHERE a.humans >= ? AND j.status = 'ok' AND l.kind = 'human' AND j.labeler_id != ?
		AND NOT EXISTS (SELECT 1 FROM judgments m WHERE m.pair_id = a.pair_id AND m.labeler_id = ?)
		GROUP BY l.id ORDER BY count(*) DESC, l.name LIMIT 3`, k, labelerID, labelerID)
	return w, err
}

// pickFreshQuery walks the pairs with h human grades in (query, pair) order
// and jumps over queries another annotator holds a lease in, so annotators
// spread over queries; when every candidate query is taken it serves the
// first candidate anyway. Each jump is one index seek.
func (s *Store) pickFreshQuery(ctx context.Context, me, nowMS int64, h int, cond string,
	pick func(q string, args ...any) (int64, int64, bool, error)) (int64, int64, bool, error) {
	const jumps = 32
	q := `SELECT a.pair_id, a.query_id FROM assign_pairs a INDEXED BY assign_order
		WHERE a.humans = ? AND a.query_id > ?` + cond + ` ORDER BY a.query_id, a.pair_id LIMIT 1`
	var firstID, firstQ, after int64
	for i := 0; i < jumps; i++ {
		id, cq, found, err := pick(q, h, after)
		if err != nil || !found {
			return firstID, firstQ, firstID != 0, err
		}
		if firstID == 0 {
			firstID, firstQ = id, cq
		}
		var busy int
		err = s.queryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM leases WHERE query_id = ? AND labeler_id != ? AND expires_at > ? AND owner = '' LIMIT 1)`, cq, me, nowMS).Scan(&busy)
		if err != nil {
			return 0, 0, false, err
		}
		if busy == 0 {
			return id, cq, true, nil
		}
		after = cq // the next query of this tier
	}
	return firstID, firstQ, true, nil
}

// RenewLease extends the annotator's lease on a pair by ttl (0:
// DefaultLease). When the lease has lapsed it is taken again if the pair can
// still be served to them; ok is false when it cannot (others took it).
func (s *Store) RenewLease(ctx context.Context, pairID, labelerID int64, ttl time.Duration, now time.Time) (ok bool, err error) {
	if ttl <= 0 {
		ttl = DefaultLease
	}
	if now.IsZero() {
		now = time.Now()
	}
	nowMS, exp := now.UnixMilli(), now.Add(ttl).UnixMilli()
	err = s.Tx(ctx, func(tx *Store) error {
		res, err := tx.exec(ctx, `UPDATE leases SET expires_at = ? WHERE pair_id = ? AND labeler_id = ? AND expires_at > ?`, exp, pairID, labelerID, nowMS)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			ok = true
			return nil
		}
		k, err := tx.AssignK(ctx)
		if err != nil {
			return err
		}
		var humans, others, mine int
		var qid int64
		err = tx.queryRow(ctx, `SELECT a.query_id, a.humans,
			(SELECT count(*) FROM leases l WHERE l.pair_id = a.pair_id AND l.labeler_id != ? AND l.expires_at > ? AND l.owner = ''),
			(SELECT count(*) FROM judgments j WHERE j.pair_id = a.pair_id AND j.labeler_id = ?)
			FROM assign_pairs a WHERE a.pair_id = ?`, labelerID, nowMS, labelerID, pairID).Scan(&qid, &humans, &others, &mine)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil || mine > 0 || humans+others >= k {
			return err
		}
		_, err = tx.exec(ctx, `INSERT INTO leases(pair_id, labeler_id, query_id, expires_at) VALUES (?,?,?,?)
			ON CONFLICT(pair_id, labeler_id) DO UPDATE SET expires_at = excluded.expires_at`, pairID, labelerID, qid, exp)
		ok = err == nil
		return err
	})
	return ok, err
}

// ReleaseLease gives back one pair (skipped, or the annotator moved on).
func (s *Store) ReleaseLease(ctx context.Context, pairID, labelerID int64) error {
	_, err := s.exec(ctx, `DELETE FROM leases WHERE pair_id = ? AND labeler_id = ?`, pairID, labelerID)
	return err
}

// ReleaseLeases gives back every pair leased to an annotator (they left).
func (s *Store) ReleaseLeases(ctx context.Context, labelerID int64) error {
	_, err := s.exec(ctx, `DELETE FROM leases WHERE labeler_id = ?`, labelerID)
	return err
}

// Lease is one live claim on a pair.
type Lease struct {
	PairID    int64
	LabelerID int64
	QueryID   int64
	ExpiresAt time.Time
}

// Leases lists annotators' leases alive at now (zero: time.Now()), by
// pair; model runs' claims (see ClaimPairs) are not among them.
func (s *Store) Leases(ctx context.Context, now time.Time) ([]Lease, error) {
	if now.IsZero() {
		now = time.Now()
	}
	rows, err := s.h.QueryContext(ctx, `SELECT pair_id, labeler_id, query_id, expires_at FROM leases WHERE expires_at > ? AND owner = '' ORDER BY pair_id, labeler_id`, now.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Lease
	for rows.Next() {
		var l Lease
		var exp int64
		if err := rows.Scan(&l.PairID, &l.LabelerID, &l.QueryID, &exp); err != nil {
			return nil, err
		}
		l.ExpiresAt = time.UnixMilli(exp)
		out = append(out, l)
	}
	return out, rows.Err()
}

// HumanGrades is how many humans gave the pair an ok grade (what NextPair
// compares with K).
func (s *Store) HumanGrades(ctx context.Context, pairID int64) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT humans FROM assign_pairs WHERE pair_id = ?`, pairID).Scan(&n)
	return n, err
}

// ---- priority -------------------------------------------------------------

// teacherStudent finds the teacher (role "teacher") and the student (role
// "student", else kind student) of the workspace; 0 when there is none.
// With several, the first created wins.
func (s *Store) teacherStudent(ctx context.Context) (teacher, student int64, err error) {
	pickOne := func(where string) (int64, error) {
		var id int64
		err := s.queryRow(ctx, `SELECT l.id FROM labelers l WHERE `+where+` ORDER BY l.id LIMIT 1`).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil
		}
		return id, err
	}
	if teacher, err = pickOne(`l.role = 'teacher'`); err != nil {
		return
	}
	if student, err = pickOne(`l.role = 'student'`); err != nil || student != 0 {
		return
	}
	student, err = pickOne(`l.kind = 'student'`)
	return
}

// priorityMark is what the priorities were computed from: the last history
// rows of the teacher and the student.
func (s *Store) priorityMark(ctx context.Context, teacher, student int64) (string, error) {
	var a, b sql.NullInt64
	if err := s.queryRow(ctx, `SELECT max(id) FROM judgment_history WHERE labeler_id = ?`, teacher).Scan(&a); err != nil {
		return "", err
	}
	if err := s.queryRow(ctx, `SELECT max(id) FROM judgment_history WHERE labeler_id = ?`, student).Scan(&b); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d/%d/%d/%d", teacher, a.Int64, student, b.Int64), nil
}

func (s *Store) refreshPriorityIfStale(ctx context.Context) error {
	t, st, err := s.teacherStudent(ctx)
	if err != nil {
		return err
	}
	mark, err := s.priorityMark(ctx, t, st)
	if err != nil {
		return err
	}
	var stored string
	err = s.queryRow(ctx, `SELECT value FROM workspace WHERE key = 'assign.priority_mark'`).Scan(&stored)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if stored == mark {
		return nil
	}
	_, err = s.RefreshPriority(ctx)
	return err
}

// Priority is how much a human grade on a pair is worth given what the
// teacher and the student said: their disagreement (|teacher − student| over
// the scale's range, using expected grades when known) plus the larger of
// their uncertainties (1 − the top grade probability). 0 when neither has
// judged the pair; at most 2.
func Priority(scale Scale, teacher, student *Judgment) float64 {
	span := float64(scale.Max() - scale.Min())
	value := func(j *Judgment) (float64, bool) {
		switch {
		case j == nil:
			return 0, false
		case j.HasExpected:
			return j.Expected, true
		case j.Status == StatusOK:
			return float64(j.Grade), true
		}
		return 0, false
	}
	uncertainty := func(j *Judgment) float64 {
		if j == nil || len(j.Probs) == 0 {
			return 0
		}
		top := 0.0
		for _, p := range j.Probs {
			top = math.Max(top, p)
		}
		return math.Max(0, 1-top)
	}
	d := 0.0
	tv, tok := value(teacher)
	sv, sok := value(student)
	if tok && sok && span > 0 {
		d = math.Abs(tv-sv) / span
	}
	return d + math.Max(uncertainty(teacher), uncertainty(student))
}

// RefreshPriority recomputes every pair's priority from the current teacher
// and student judgments (one pass; NextPair with Priority calls it when
// either has graded anything since). It returns the pairs updated.
func (s *Store) RefreshPriority(ctx context.Context) (int, error) {
	t, st, err := s.teacherStudent(ctx)
	if err != nil {
		return 0, err
	}
	mark, err := s.priorityMark(ctx, t, st)
	if err != nil {
		return 0, err
	}
	// Stream one labeler's judgments with only what Priority reads.
	each := func(id int64, fn func(j *Judgment)) error {
		if id == 0 {
			return nil
		}
		rows, err := s.h.QueryContext(ctx, `SELECT pair_id, COALESCE(grade, -1), status, probs, expected FROM judgments WHERE labeler_id = ?`, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var j Judgment
			var probs string
			var exp sql.NullFloat64
			if err := rows.Scan(&j.PairID, &j.Grade, &j.Status, &probs, &exp); err != nil {
				return err
			}
			if probs != "" {
				json.Unmarshal([]byte(probs), &j.Probs)
			}
			j.Expected, j.HasExpected = exp.Float64, exp.Valid
			fn(&j)
		}
		return rows.Err()
	}
	// The teacher's judgments, reduced to what Priority needs (a few words
	// a pair, not whole judgments: a million pairs fit in tens of MB).
	type brief struct {
		grade, status    int8 // status 1: ok
		hasExp, hasProbs bool
		exp, top         float64
	}
	tj := map[int64]brief{}
	err = each(t, func(j *Judgment) {
		b := brief{grade: int8(j.Grade), hasExp: j.HasExpected, exp: j.Expected}
		if j.Status == StatusOK {
			b.status = 1
		}
		for _, p := range j.Probs {
			b.top, b.hasProbs = math.Max(b.top, p), true
		}
		tj[j.PairID] = b
	})
	if err != nil {
		return 0, err
	}
	unbrief := func(id int64, b brief) *Judgment {
		j := &Judgment{PairID: id, Grade: int(b.grade), Expected: b.exp, HasExpected: b.hasExp, Status: StatusError}
		if b.status == 1 {
			j.Status = StatusOK
		}
		if b.hasProbs {
			j.Probs = []float64{b.top}
		}
		return j
	}
	pr := map[int64]float64{}
	err = each(st, func(j *Judgment) {
		var tt *Judgment
		if b, ok := tj[j.PairID]; ok {
			tt = unbrief(j.PairID, b)
			delete(tj, j.PairID)
		}
		if p := Priority(s.scale, tt, j); p != 0 {
			pr[j.PairID] = p
		}
	})
	if err != nil {
		return 0, err
	}
	for id, b := range tj {
		if p := Priority(s.scale, unbrief(id, b), nil); p != 0 {
			pr[id] = p
		}
	}
	n := 0
	err = s.Tx(ctx, func(tx *Store) error {
		if _, err := tx.exec(ctx, `UPDATE assign_pairs SET priority = 0 WHERE priority != 0`); err != nil {
			return err
		}
		for id, p := range pr {
			if _, err := tx.exec(ctx, `UPDATE assign_pairs SET priority = ? WHERE pair_id = ?`, p, id); err != nil {
				return err
			}
			n++
		}
		_, err := tx.exec(ctx, `INSERT INTO workspace(key, value) VALUES ('assign.priority_mark', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, mark)
		return err
	})
	return n, err
}

// ---- agreement and adjudication ------------------------------------------

// HumanGrade is one human's ok grade on a pair, with their note.
type HumanGrade struct {
	LabelerID int64
	Labeler   string // "human:alice"
	Grade     int
	Note      string
	UpdatedAt time.Time
}

// Disagreement is a pair on which humans gave different ok grades.
type Disagreement struct {
	PairID     int64
	QueryID    int64
	QueryExtID string
	QueryText  string
	DocExtID   string
	DocTitle   string
	Grades     []HumanGrade // by labeler name; human:gold excluded
	Spread     int          // max − min grade
	// Gold is the adjudicated grade (human:gold) when there is one.
	Gold        int
	Adjudicated bool
	GoldNote    string
	GoldBy      string // who adjudicated
}

// DisagreementOptions filter Disagreements.
type DisagreementOptions struct {
	QueryID int64 // only this query (0: all)
	// Unresolved leaves out pairs already adjudicated.
	Unresolved bool
	// AfterPairID pages: only pairs with a larger id.
	AfterPairID int64
	Limit       int // 0: all
}

// Disagreements lists the pairs whose human grades disagree (at least two
// humans other than human:gold with different ok grades), in pair id order,
// each with every human grade and note and the adjudication if any. It walks
// only pairs with two or more human grades (an index range).
func (s *Store) Disagreements(ctx context.Context, opt DisagreementOptions) ([]Disagreement, error) {
	q := `SELECT a.pair_id, p.query_id, q.ext_id, q.text, d.ext_id, d.title FROM assign_pairs a
		JOIN pairs p ON p.id = a.pair_id JOIN queries q ON q.id = p.query_id JOIN documents d ON d.id = p.doc_id
		WHERE a.humans >= 2 AND a.pair_id > ?
		AND (SELECT count(DISTINCT j.grade) FROM judgments j JOIN labelers l ON l.id = j.labeler_id
		     WHERE j.pair_id = a.pair_id AND j.status = 'ok' AND l.kind = 'human' AND l.name != ?) >= 2`
	args := []any{opt.AfterPairID, GoldLabeler}
	if opt.QueryID != 0 {
		q += ` AND a.query_id = ?`
		args = append(args, opt.QueryID)
	}
	if opt.Unresolved {
		q += ` AND NOT EXISTS (SELECT 1 FROM judgments g JOIN labelers gl ON gl.id = g.labeler_id WHERE g.pair_id = a.pair_id AND gl.name = ? AND g.status = 'ok')`
		args = append(args, GoldLabeler)
	}
	q += ` ORDER BY a.pair_id`
	if opt.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, opt.Limit)
	}
	rows, err := s.h.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	var out []Disagreement
	for rows.Next() {
		var d Disagreement
		if err := rows.Scan(&d.PairID, &d.QueryID, &d.QueryExtID, &d.QueryText, &d.DocExtID, &d.DocTitle); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		d := &out[i]
		rows, err := s.h.QueryContext(ctx, `SELECT j.labeler_id, l.name, j.grade, j.note, j.reason, j.updated_at FROM judgments j JOIN labelers l ON l.id = j.labeler_id
			WHERE j.pair_id = ? AND j.status = 'ok' AND l.kind = 'human' ORDER BY l.name`, d.PairID)
		if err != nil {
			return nil, err
		}
		lo, hi := math.MaxInt, math.MinInt
		for rows.Next() {
			var g HumanGrade
			var reason, at string
			if err := rows.Scan(&g.LabelerID, &g.Labeler, &g.Grade, &g.Note, &reason, &at); err != nil {
				rows.Close()
				return nil, err
			}
			g.UpdatedAt, _ = time.Parse(time.RFC3339Nano, at)
			if g.Labeler == GoldLabeler {
				d.Gold, d.Adjudicated, d.GoldNote, d.GoldBy = g.Grade, true, g.Note, adjudicatorFromReason(reason)
				continue
			}
			lo, hi = min(lo, g.Grade), max(hi, g.Grade)
			d.Grades = append(d.Grades, g)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		d.Spread = hi - lo
	}
	return out, nil
}

const adjudicatedBy = "adjudicated by "

func adjudicatorFromReason(r string) string {
	if len(r) > len(adjudicatedBy) && r[:len(adjudicatedBy)] == adjudicatedBy {
		return r[len(adjudicatedBy):]
	}
	return ""
}

// SetAdjudicator marks (or unmarks) a labeler as allowed to adjudicate.
func (s *Store) SetAdjudicator(ctx context.Context, labelerName string, on bool) error {
	return s.Tx(ctx, func(tx *Store) error {
		l, err := tx.Labeler(ctx, labelerName)
		if err != nil {
			return err
		}
		if l.Kind != KindHuman {
			return fmt.Errorf("labeler %s is a %s labeler: only humans adjudicate", quote.Input(labelerName), l.Kind)
		}
		if l.Name == GoldLabeler {
			return fmt.Errorf("%s holds adjudicated grades and cannot adjudicate", GoldLabeler)
		}
		l.Config.Adjudicator = on
		return tx.UpdateLabeler(ctx, l)
	})
}

// Adjudicate records the final grade of a disputed pair as the judgment of
// the labeler human:gold (kind human, created when missing), with the note
// and "adjudicated by NAME" as its reason, and appends the decision to the
// adjudications table. Only labelers marked as adjudicators (Config.
// Adjudicator, see SetAdjudicator) may do so. It returns the decision's id,
// which UndoAdjudication takes back.
func (s *Store) Adjudicate(ctx context.Context, pairID, adjudicatorLabelerID int64, grade int, note string) (int64, error) {
	if err := s.scale.Check(grade); err != nil {
		return 0, err
	}
	var id int64
	err := s.Tx(ctx, func(tx *Store) error {
		adj, err := scanLabeler(tx.queryRow(ctx, `SELECT `+labelerColumns+` FROM labelers WHERE id = ?`, adjudicatorLabelerID))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w with id %d", ErrNoLabeler, adjudicatorLabelerID)
		}
		if err != nil {
			return err
		}
		if !adj.Config.Adjudicator || adj.Kind != KindHuman || adj.Name == GoldLabeler {
			return fmt.Errorf("%s: %w (mark them with `qrelbench serve --adjudicators NAME`)", adj.Name, ErrNotAdjudicator)
		}
		gold, err := tx.EnsureLabeler(ctx, GoldLabeler, KindHuman)
		if err != nil {
			return err
		}
		if gold.Kind != KindHuman {
			return fmt.Errorf("labeler %s exists but is not a human labeler", GoldLabeler)
		}
		j := Judgment{PairID: pairID, LabelerID: gold.ID, Grade: grade, Status: StatusOK, Note: note, Reason: adjudicatedBy + adj.Name}
		if err := tx.PutJudgment(ctx, &j); err != nil {
			return err
		}
		res, err := tx.exec(ctx, `INSERT INTO adjudications(pair_id, adjudicator_id, adjudicator, grade, note, at, history_id) VALUES (?,?,?,?,?,?,?)`,
			pairID, adj.ID, adj.Name, grade, note, now(), j.HistoryID)
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	return id, err
}

// UndoAdjudication takes back one decision of an adjudicator (the id
// Adjudicate returned): the pair's human:gold judgment goes back to what it
// was before (none: the disagreement is open again; an earlier decision:
// that one, with its adjudicator as the reason), and the decision stays on
// record marked undone. It refuses, changing nothing, another adjudicator's
// decision, one already undone (ErrUndone) and one decided again since
// (ErrChangedSince: the later decision stands).
func (s *Store) UndoAdjudication(ctx context.Context, adjudicatorLabelerID, adjudicationID int64) (Adjudication, error) {
	var a Adjudication
	err := s.Tx(ctx, func(tx *Store) error {
		var adjID, hist sql.NullInt64
		var at, undoneAt string
		err := tx.queryRow(ctx, `SELECT id, pair_id, adjudicator_id, adjudicator, grade, note, at, history_id, undone_at FROM adjudications WHERE id = ?`, adjudicationID).
			Scan(&a.ID, &a.PairID, &adjID, &a.Adjudicator, &a.Grade, &a.Note, &at, &hist, &undoneAt)
		if errors.Is(err, sql.ErrNoRows) || err == nil && adjID.Int64 != adjudicatorLabelerID {
			return fmt.Errorf("adjudication %d: no such decision by labeler %d", adjudicationID, adjudicatorLabelerID)
		}
		if err != nil {
			return err
		}
		a.At, _ = time.Parse(time.RFC3339Nano, at)
		if undoneAt != "" {
			return ErrUndone
		}
		if !hist.Valid {
			return fmt.Errorf("adjudication %d was recorded before decisions could be undone", adjudicationID)
		}
		gold, err := tx.Labeler(ctx, GoldLabeler)
		if err != nil {
			return err
		}
		c, err := tx.undoChange(ctx, gold.ID, hist.Int64)
		if err != nil {
			return err
		}
		t := now()
		if _, err := tx.exec(ctx, `UPDATE adjudications SET undone_at = ? WHERE id = ?`, t, adjudicationID); err != nil {
			return err
		}
		a.Undone = true
		if !c.Had {
			return nil
		}
		// The gold grade restored is an earlier decision: its reason names
		// that decision's adjudicator again.
		var by string
		err = tx.queryRow(ctx, `SELECT adjudicator FROM adjudications WHERE pair_id = ? AND undone_at = '' ORDER BY id DESC LIMIT 1`, a.PairID).Scan(&by)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		_, err = tx.exec(ctx, `UPDATE judgments SET reason = ? WHERE pair_id = ? AND labeler_id = ?`, adjudicatedBy+by, a.PairID, gold.ID)
		return err
	})
	return a, err
}

// Adjudication is one recorded decision.
type Adjudication struct {
	ID          int64
	PairID      int64
	Adjudicator string
	Grade       int
	Note        string
	At          time.Time
	Undone      bool // taken back (UndoAdjudication)
}

// Adjudications lists the decisions made on a pair, oldest first, the
// undone ones included (marked).
func (s *Store) Adjudications(ctx context.Context, pairID int64) ([]Adjudication, error) {
	rows, err := s.h.QueryContext(ctx, `SELECT id, pair_id, adjudicator, grade, note, at, undone_at != '' FROM adjudications WHERE pair_id = ? ORDER BY id`, pairID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Adjudication
	for rows.Next() {
		var a Adjudication
		var at string
		if err := rows.Scan(&a.ID, &a.PairID, &a.Adjudicator, &a.Grade, &a.Note, &at, &a.Undone); err != nil {
			return nil, err
		}
		a.At, _ = time.Parse(time.RFC3339Nano, at)
		out = append(out, a)
	}
	return out, rows.Err()
}
