package tui

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/progress"
	tea "charm.land/bubbletea/v2"

	"github.com/qrelbench/qrelbench/pipeline"
	"github.com/qrelbench/qrelbench/store"
)

// Progress is a background run's snapshot, as package pipeline reports it.
type Progress = pipeline.Progress

// Job is a kind of background run the Runs screen can start.
type Job struct {
	Kind  string // store.RunSynthesis, store.RunMining, store.RunLabeling, …
	Title string // shown in the form
	// Labelers lists the choices for the labeler field (nil: no field).
	Labelers func(ls []store.Labeler) []string
	// LimitName names the number field ("" for none), Limit its default.
	LimitName string
	Limit     int
	// Start runs the job until it ends or ctx is canceled, reporting
	// progress (the callback never blocks).
	Start func(ctx context.Context, st *store.Store, labeler string, limit int, progress func(Progress)) error
}

// liveRun is a run started in this session.
type liveRun struct {
	key      int
	job      Job
	labeler  string
	cancel   context.CancelFunc
	stop     context.CancelCauseFunc // cancel, saying why
	ch       chan Progress
	last     Progress
	notice   string
	err      error
	finished bool
	canceled bool
}

type runsState struct {
	jobs    []Job
	live    []*liveRun
	nextKey int
	history []store.Run
	sel     int
	form    *runForm
	bar     progress.Model // draws each live run's progress (static, no animation)
}

type runForm struct {
	field   int // 0 job, 1 labeler, 2 limit
	job     int
	labeler int
	limit   string
}

func (r *runsState) init(jobs []Job) { r.jobs = jobs }

// setStyles colors the progress bars like the rest of the workbench.
func (r *runsState) setStyles(s styles) {
	r.bar = progress.New(
		progress.WithFillCharacters('█', '░'),
		progress.WithColors(s.accent.GetForeground()),
		progress.WithoutPercentage(),
	)
	r.bar.EmptyColor = s.muted.GetForeground()
}

// active counts runs still going.
func (r *runsState) active() int {
	n := 0
	for _, l := range r.live {
		if !l.finished {
			n++
		}
	}
	return n
}

type runProgressMsg struct {
	key int
	p   Progress
	ok  bool // false: the channel closed
}

type runDoneMsg struct {
	key int
	err error
}

type runsHistoryMsg struct {
	runs []store.Run
	err  error
}

func (r *runsState) historyCmd(m *Model) tea.Cmd {
	st, ctx := m.st, m.ctx
	return func() tea.Msg {
		runs, err := st.Runs(ctx, "", 30)
		return runsHistoryMsg{runs: runs, err: err}
	}
}

// errCanceledHere is why a run canceled on the Runs screen stopped.
var errCanceledHere = errors.New("stopped on the Runs screen; finished work is kept and a rerun takes up the rest")

// start launches a job: one Cmd runs it to the end, another relays its
// progress through a channel.
func (r *runsState) start(m *Model, job Job, labeler string, limit int) tea.Cmd {
	ctx, stop := context.WithCancelCause(m.ctx)
	cancel := func() { stop(errCanceledHere) }
	lr := &liveRun{key: r.nextKey, job: job, labeler: labeler, cancel: cancel, stop: stop, ch: make(chan Progress, 64)}
	lr.last = Progress{Kind: job.Kind, Labeler: labeler}
	r.nextKey++
	r.live = append(r.live, lr)
	st := m.st
	ch := lr.ch
	send := func(p Progress) {
		for {
			select {
			case ch <- p:
				return
			default:
				select { // full: drop the oldest snapshot
				case <-ch:
				default:
				}
			}
		}
	}
	run := func() tea.Msg {
		err := job.Start(ctx, st, labeler, limit, send)
		close(ch)
		return runDoneMsg{key: lr.key, err: err}
	}
	return tea.Batch(run, waitProgress(lr.key, ch))
}

func waitProgress(key int, ch chan Progress) tea.Cmd {
	return func() tea.Msg {
		p, ok := <-ch
		return runProgressMsg{key: key, p: p, ok: ok}
	}
}

func (r *runsState) find(key int) *liveRun {
	for _, l := range r.live {
		if l.key == key {
			return l
		}
	}
	return nil
}

func (r *runsState) update(m *Model, msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case runProgressMsg:
		lr := r.find(msg.key)
		if lr == nil || !msg.ok {
			return nil, true
		}
		if msg.p.Notice != "" {
			lr.notice = msg.p.Notice
			if msg.p.Total == 0 && msg.p.Done == 0 && lr.last.Total > 0 {
				return waitProgress(lr.key, lr.ch), true
			}
		}
		lr.last = msg.p
		return waitProgress(lr.key, lr.ch), true
	case runDoneMsg:
		lr := r.find(msg.key)
		if lr == nil {
			return nil, true
		}
		lr.finished = true
		lr.err = msg.err
		if lr.cancel != nil {
			lr.cancel()
		}
		if msg.err != nil && !lr.canceled {
			m.setFlash(fmt.Sprintf("%s run failed: %v", lr.job.Title, msg.err), true)
		} else if !lr.canceled {
			m.setFlash(fmt.Sprintf("%s run finished", lr.job.Title), false)
		}
		// New grades: refresh the index, stats and progress.
		return tea.Batch(r.historyCmd(m), m.browse.refreshCmd(m), m.grade.progressCmd(m)), true
	case runsHistoryMsg:
		if msg.err == nil {
			r.history = msg.runs
		}
		return nil, true
	}
	return nil, false
}

// rows is the selectable list: live runs, then past ones.
func (r *runsState) rows() int {
	return len(r.live) + len(r.pastRuns())
}

func (r *runsState) pastRuns() []store.Run {
	live := map[int64]bool{}
	for _, l := range r.live {
		if l.last.RunID != 0 {
			live[l.last.RunID] = true
		}
	}
	var out []store.Run
	for _, h := range r.history {
		if !live[h.ID] {
			out = append(out, h)
		}
	}
	return out
}

func (r *runsState) choices(m *Model, job Job) []string {
	if job.Labelers == nil {
		return nil
	}
	return job.Labelers(m.labelers)
}

func (r *runsState) key(m *Model, k tea.KeyPressMsg) (tea.Cmd, bool) {
	km := &m.keys
	if f := r.form; f != nil {
		job := r.jobs[f.job]
		labs := r.choices(m, job)
		switch {
		case key.Matches(k, km.formCancel):
			r.form = nil
		case key.Matches(k, km.formPrev):
			f.field = (f.field + 2) % 3
		case key.Matches(k, km.formNext):
			f.field = (f.field + 1) % 3
		case key.Matches(k, km.formLeft, km.formRight):
			d := 1
			if key.Matches(k, km.formLeft) {
				d = -1
			}
			switch f.field {
			case 0:
				f.job = (f.job + len(r.jobs) + d) % len(r.jobs)
				f.labeler = 0
				f.limit = strconv.Itoa(r.jobs[f.job].Limit)
			case 1:
				if len(labs) > 0 {
					f.labeler = (f.labeler + len(labs) + d) % len(labs)
				}
			}
		case key.Matches(k, km.formDel):
			if f.field == 2 && len(f.limit) > 0 {
				f.limit = f.limit[:len(f.limit)-1]
			}
		case key.Matches(k, km.formStart):
			lab := ""
			if len(labs) > 0 {
				lab = labs[min(f.labeler, len(labs)-1)]
			} else if job.Labelers != nil {
				m.setFlash("no labeler can do this: add one with `qrelbench labeler add`", true)
				return nil, true
			}
			limit, _ := strconv.Atoi(f.limit)
			r.form = nil
			r.sel = len(r.live)
			return r.start(m, job, lab, limit), true
		case key.Matches(k, km.formDigit):
			if f.field == 2 && len(f.limit) < 9 {
				f.limit += k.String()
			}
		}
		return nil, true // the form captures every key
	}
	switch {
	case key.Matches(k, km.newRun):
		if len(r.jobs) == 0 {
			m.setFlash("this session cannot start runs (no jobs configured)", true)
			return nil, true
		}
		r.form = &runForm{limit: strconv.Itoa(r.jobs[0].Limit)}
		return nil, true
	case key.Matches(k, km.down):
		r.sel = min(r.sel+1, max(r.rows()-1, 0))
		return nil, true
	case key.Matches(k, km.up):
		r.sel = max(r.sel-1, 0)
		return nil, true
	case key.Matches(k, km.cancelRun):
		if r.sel < len(r.live) {
			lr := r.live[r.sel]
			if !lr.finished {
				lr.canceled = true
				lr.cancel()
				m.setFlash("canceling: finished work is kept", false)
			}
		}
		return nil, true
	case key.Matches(k, km.refresh):
		return r.historyCmd(m), true
	}
	return nil, false
}

func fmtDur(d time.Duration) string {
	d = d.Round(time.Second)
	if d >= time.Hour {
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	if d >= time.Minute {
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%ds", int(d.Seconds()))
}

func (r *runsState) view(m *Model, w, h int) []string {
	s := m.sty
	var out []string
	if f := r.form; f != nil {
		job := r.jobs[f.job]
		labs := r.choices(m, job)
		out = append(out, " "+s.header.Render("New run")+s.muted.Render("  ↑/↓ field · ←/→ choose · digits limit · enter start · esc cancel"))
		field := func(i int, name, val string) string {
			mark := "  "
			v := s.text.Render(val)
			if f.field == i {
				mark = s.accent.Render("▶ ")
				v = s.sel.Render(" " + val + " ")
			}
			return "  " + mark + s.muted.Render(pad(name, 10)) + v
		}
		out = append(out, field(0, "run", "‹ "+job.Title+" ›"))
		switch {
		case job.Labelers == nil:
			out = append(out, field(1, "labeler", "—"))
		case len(labs) == 0:
			out = append(out, field(1, "labeler", "(none available)"))
		default:
			out = append(out, field(1, "labeler", "‹ "+labs[min(f.labeler, len(labs)-1)]+" ›"))
		}
		lim := f.limit
		if lim == "" || lim == "0" {
			lim = "0 (no limit)"
		}
		if job.LimitName != "" {
			out = append(out, field(2, job.LimitName, lim))
		} else {
			out = append(out, field(2, "limit", "—"))
		}
		out = append(out, "")
	}
	out = append(out, " "+s.header.Render("This session"))
	if len(r.live) == 0 {
		msg := "  No runs started here. Press n to start one."
		if len(r.jobs) == 0 {
			msg = "  Starting runs is not available in this session."
		}
		out = append(out, s.muted.Render(msg))
	}
	bw := max(min(w-70, 30), 10)
	r.bar.SetWidth(bw)
	for i, lr := range r.live {
		p := lr.last
		mark := "  "
		if i == r.sel {
			mark = s.accent.Render("▌ ")
		}
		name := lr.job.Title
		if lr.labeler != "" {
			name += " " + lr.labeler
		}
		status := "running"
		st := s.accent
		switch {
		case lr.finished && lr.canceled:
			status, st = "canceled", s.warn
		case lr.finished && lr.err != nil:
			status, st = "failed", s.bad
		case lr.finished:
			status, st = "done", s.ok
		case lr.canceled:
			status, st = "canceling", s.warn
		}
		frac := 0.0
		if p.Total > 0 {
			frac = float64(p.Done) / float64(p.Total)
		}
		line := mark + pad(name, 22) + " " + st.Render(pad(status, 9)) + " " + r.bar.ViewAs(frac) + " " +
			fmt.Sprintf("%d/%d", p.Done, p.Total)
		if p.Failed > 0 {
			line += s.bad.Render(fmt.Sprintf(" %d failed", p.Failed))
		}
		if rt := p.Rate(); rt > 0 {
			line += s.muted.Render(fmt.Sprintf("  %.0f/s", rt))
		}
		if eta := p.ETA(); eta > 0 && !lr.finished {
			line += s.muted.Render("  ETA " + fmtDur(eta))
		}
		if p.TokensIn+p.TokensOut > 0 {
			line += s.muted.Render(fmt.Sprintf("  %d+%d tok $%.4f", p.TokensIn, p.TokensOut, p.CostUSD))
		}
		out = append(out, line)
		if lr.err != nil && !lr.canceled {
			out = append(out, "    "+s.bad.Render(clip(lr.err.Error(), w-6)))
		} else if p.LastError != "" {
			out = append(out, "    "+s.warn.Render(clip("last error: "+p.LastError, w-6)))
		} else if lr.notice != "" {
			out = append(out, "    "+s.muted.Render(clip(lr.notice, w-6)))
		}
	}
	out = append(out, "", " "+s.header.Render("Recent runs"))
	past := r.pastRuns()
	if len(past) == 0 {
		out = append(out, s.muted.Render("  none"))
	} else {
		out = append(out, s.header.Render("  "+pad("id", 6)+pad("kind", 11)+pad("labeler", 18)+pad("status", 12)+padLeft("done", 12)+padLeft("failed", 8)+padLeft("$", 9)))
	}
	var selErr string
	for i, run := range past {
		mark := "  "
		if len(r.live)+i == r.sel {
			mark = s.accent.Render("▌ ")
			selErr = run.Error
		}
		st := s.text
		switch run.Status {
		case store.RunFailed:
			st = s.bad
		case store.RunCanceled, store.RunInterrupted:
			st = s.warn
		case store.RunDone:
			st = s.ok
		}
		out = append(out, mark+pad(fmt.Sprint(run.ID), 6)+pad(run.Kind, 11)+pad(run.Labeler, 18)+st.Render(pad(run.Status, 12))+
			padLeft(fmt.Sprintf("%d/%d", run.Done, run.Total), 12)+padLeft(fmt.Sprint(run.Failed), 8)+padLeft(fmt.Sprintf("%.4f", run.CostUSD), 9))
	}
	if selErr != "" {
		out = append(out, "", " "+s.bad.Render("error: ")+s.text.Render(clip(selErr, w-10)))
	}
	if len(out) > h {
		out = out[:h]
	}
	return out
}
