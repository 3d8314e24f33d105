package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Run kinds and statuses.
const (
	RunImport     = "import"
	RunSynthesis  = "synthesis"
	RunMining     = "mining"
	RunLabeling   = "labeling"
	RunTraining   = "training"
	RunEvaluation = "evaluation"
	RunFinetune   = "finetune"
	RunBatch      = "batch"
	RunPooling    = "pooling"

	RunRunning     = "running"
	RunDone        = "done"
	RunFailed      = "failed"
	RunCanceled    = "canceled"
	RunInterrupted = "interrupted"
)

// Run is one background job: what it was asked, how far it got, what it cost.
type Run struct {
	ID          int64           `json:"id"`
	Kind        string          `json:"kind"`
	LabelerID   int64           `json:"-"`
	Labeler     string          `json:"labeler,omitempty"`
	Status      string          `json:"status"`
	Params      json.RawMessage `json:"params"`
	ExternalID  string          `json:"external_id,omitempty"`
	Total       int             `json:"total"`
	Done        int             `json:"done"`
	Failed      int             `json:"failed"`
	Retried     int             `json:"retried,omitempty"` // unparseable answers asked again at once (not counted in Done)
	TokensIn    int64           `json:"tokens_in"`
	TokensOut   int64           `json:"tokens_out"`
	CostUSD     float64         `json:"cost_usd"`
	BusySeconds float64         `json:"busy_seconds"`
	Error       string          `json:"error,omitempty"`
	StartedAt   time.Time       `json:"started_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
	FinishedAt  time.Time       `json:"finished_at,omitzero"`
	// Owner is the process token of the process working on the run (see
	// NewOwner), AliveUntil how long it vouched to live: a running run whose
	// AliveUntil passed, or whose process is known to have ended, is not
	// being worked on by anyone.
	Owner      string    `json:"-"`
	AliveUntil time.Time `json:"-"`
}

// StartRun records a new running run.
func (s *Store) StartRun(ctx context.Context, r *Run) error {
	if len(r.Params) == 0 {
		r.Params = json.RawMessage("{}")
	}
	t := now()
	res, err := s.exec(ctx, `INSERT INTO runs(kind, labeler_id, status, params, external_id, total, owner, alive_until, started_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		r.Kind, nullID(r.LabelerID), RunRunning, string(r.Params), r.ExternalID, r.Total, r.Owner, unixMS(r.AliveUntil), t, t)
	if err != nil {
		return err
	}
	r.ID, err = res.LastInsertId()
	r.Status = RunRunning
	return err
}

// RunDelta is progress to add to a run.
type RunDelta struct {
	Done, Failed        int
	Retried             int
	TokensIn, TokensOut int64
	CostUSD             float64
	BusySeconds         float64
}

// AddRunProgress adds to a run's counters.
func (s *Store) AddRunProgress(ctx context.Context, id int64, d RunDelta) error {
	_, err := s.exec(ctx, `UPDATE runs SET done = done + ?, failed = failed + ?, retried = retried + ?, tokens_in = tokens_in + ?, tokens_out = tokens_out + ?,
		cost_usd = cost_usd + ?, busy_seconds = busy_seconds + ?, updated_at = ? WHERE id = ?`,
		d.Done, d.Failed, d.Retried, d.TokensIn, d.TokensOut, d.CostUSD, d.BusySeconds, now(), id)
	return err
}

// SetRunTotal sets how many items a run has in all.
func (s *Store) SetRunTotal(ctx context.Context, id int64, total int) error {
	_, err := s.exec(ctx, `UPDATE runs SET total = ?, updated_at = ? WHERE id = ?`, total, now(), id)
	return err
}

// SetRunExternalID records a remote id (batch, fine-tuning job) for resuming.
func (s *Store) SetRunExternalID(ctx context.Context, id int64, ext string) error {
	_, err := s.exec(ctx, `UPDATE runs SET external_id = ?, updated_at = ? WHERE id = ?`, ext, now(), id)
	return err
}

// SetRunStatus changes a run's status (e.g. back to running on resume).
func (s *Store) SetRunStatus(ctx context.Context, id int64, status string) error {
	_, err := s.exec(ctx, `UPDATE runs SET status = ?, updated_at = ? WHERE id = ?`, status, now(), id)
	return err
}

// FinishRun ends a run with a final status and, when it failed, the error.
func (s *Store) FinishRun(ctx context.Context, id int64, status string, runErr error) error {
	msg := ""
	if runErr != nil {
		msg = runErr.Error()
	}
	t := now()
	_, err := s.exec(ctx, `UPDATE runs SET status = ?, error = ?, updated_at = ?, finished_at = ? WHERE id = ?`, status, msg, t, t, id)
	return err
}

const runColumns = `r.id, r.kind, COALESCE(r.labeler_id, 0), COALESCE(l.name, ''), r.status, r.params, r.external_id, r.total, r.done, r.failed,
	r.tokens_in, r.tokens_out, r.cost_usd, r.busy_seconds, r.error, r.started_at, r.updated_at, r.finished_at, r.retried, r.owner, r.alive_until`

func scanRun(sc scanner) (Run, error) {
	var r Run
	var params, started, updated, finished string
	var alive int64
	err := sc.Scan(&r.ID, &r.Kind, &r.LabelerID, &r.Labeler, &r.Status, &params, &r.ExternalID, &r.Total, &r.Done, &r.Failed,
		&r.TokensIn, &r.TokensOut, &r.CostUSD, &r.BusySeconds, &r.Error, &started, &updated, &finished, &r.Retried, &r.Owner, &alive)
	if alive > 0 {
		r.AliveUntil = time.UnixMilli(alive)
	}
	r.Params = json.RawMessage(params)
	r.StartedAt, _ = time.Parse(time.RFC3339Nano, started)
	r.UpdatedAt, _ = time.Parse(time.RFC3339Nano, updated)
	r.FinishedAt, _ = time.Parse(time.RFC3339Nano, finished)
	return r, err
}

// Run returns one run.
func (s *Store) Run(ctx context.Context, id int64) (Run, error) {
	r, err := scanRun(s.h.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs r LEFT JOIN labelers l ON l.id = r.labeler_id WHERE r.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("no run %d", id)
	}
	return r, err
}

// Runs lists runs, newest first; kind "" means all kinds.
func (s *Store) Runs(ctx context.Context, kind string, limit int) ([]Run, error) {
	q := `SELECT ` + runColumns + ` FROM runs r LEFT JOIN labelers l ON l.id = r.labeler_id`
	var args []any
	if kind != "" {
		q += ` WHERE r.kind = ?`
		args = append(args, kind)
	}
	q += ` ORDER BY r.id DESC`
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	return queryAll(ctx, s.h, scanRun, q, args...)
}

// UnfinishedRun returns the newest run of this kind and labeler that did not
// finish (interrupted, canceled, failed, or still marked running after a
// crash), so a rerun can resume it instead of starting over.
func (s *Store) UnfinishedRun(ctx context.Context, kind string, labelerID int64) (Run, bool, error) {
	r, err := scanRun(s.h.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs r LEFT JOIN labelers l ON l.id = r.labeler_id
		WHERE r.kind = ? AND COALESCE(r.labeler_id, 0) = ? AND r.status != 'done' ORDER BY r.id DESC LIMIT 1`, kind, labelerID))
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	return r, err == nil, err
}
