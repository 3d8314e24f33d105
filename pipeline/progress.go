// Package pipeline runs the method's steps as resumable runs recorded in the
// workspace: query synthesis, BM25 hard-negative mining, labeling by models
// and built-in graders, and training the embedded student. Each run reports
// progress through a callback, so the CLI draws a progress bar and the
// workbench shows, and can cancel, runs in the background.
package pipeline

import (
	"time"
)

// Progress is a snapshot of a run, sent after every committed batch.
type Progress struct {
	RunID     int64
	Kind      string
	Labeler   string
	Total     int // items this invocation set out to do
	Done      int // finished with a result (ok or recorded failure)
	Failed    int // of Done, how many were failures (error, unparseable, refused)
	Retried   int // unparseable answers asked again at once (not in Done)
	TokensIn  int64
	TokensOut int64
	CostUSD   float64
	Elapsed   time.Duration
	Notice    string // a one-off message (resuming, fallback, …)
	LastError string
	Finished  bool
	Status    string // final status when Finished
}

// Rate is items per second so far.
func (p Progress) Rate() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Done) / p.Elapsed.Seconds()
}

// ETA estimates the time left.
func (p Progress) ETA() time.Duration {
	r := p.Rate()
	if r <= 0 || p.Total <= p.Done {
		return 0
	}
	return time.Duration(float64(p.Total-p.Done) / r * float64(time.Second))
}

// ProgressFunc receives progress; it must not block for long.
type ProgressFunc func(Progress)

func (f ProgressFunc) send(p Progress) {
	if f != nil {
		f(p)
	}
}
