package tui

import (
	"context"
	"errors"
	"fmt"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/progress"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/qrelbench/qrelbench/pipeline"
	"github.com/qrelbench/qrelbench/store"
)

// Progress is a background run's snapshot, as package pipeline reports it.
type Progress = pipeline.Progress

// Job is a kind of background run the Runs screen can start. The form
// shows each field's hint when it is selected: every field says what it
// needs.
type Job struct {
	Kind  string // store.RunSynthesis, store.RunMining, store.RunLabeling, …
	Title string // shown in the form
	About string // what the run does and what it needs

	// Labelers lists the choices for the labeler field (nil: no field),
	// LabelerName names the field ("" : labeler), LabelerHint says what a
	// choice must be, NoLabelers why the list can be empty and what to do.
	Labelers    func(ls []store.Labeler) []string
	NeedsGrades bool // offer only labelers that have graded pairs
	LabelerName string
	LabelerHint string
	NoLabelers  string

	// LimitName names the number field ("" for none), Limit is its
	// default, LimitHint what it counts.
	LimitName string
	Limit     int
	LimitHint string

	// NewName, when set, adds a field naming the labeler the run creates,
	// proposed from the chosen labeler and editable; NameHint explains it.
	NewName  func(labeler string) string
	NameHint string

	// Start runs the job until it ends or ctx is canceled, reporting
	// progress (the callback never blocks). A run with nothing to do ends
	// with a Progress whose Notice says why.
	Start func(ctx context.Context, st *store.Store, a JobArgs, progress func(Progress)) error
}

// liveRun is a run started in this session.
type liveRun struct {
	key      int
	job      Job
	labeler  string
	newName  string // the labeler the run creates, if any
	cancel   context.CancelFunc
	stop     context.CancelCauseFunc // cancel, saying why
	ch       chan Progress
	last     Progress
	notice   string
	err      error
	finished bool
	canceled bool
}

// title names a run: its job, labeler and the labeler it creates.
func (lr *liveRun) title() string {
	name := lr.job.Title
	if lr.labeler != "" {
		name += " " + lr.labeler
	}
	if lr.newName != "" {
		name += " → " + lr.newName
	}
	return name
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
func (r *runsState) start(m *Model, job Job, a JobArgs) tea.Cmd {
	labeler := a.Labeler
	ctx, stop := context.WithCancelCause(m.ctx)
	cancel := func() { stop(errCanceledHere) }
	lr := &liveRun{key: r.nextKey, job: job, labeler: labeler, newName: a.Name, cancel: cancel, stop: stop, ch: make(chan Progress, 64)}
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
		err := job.Start(ctx, st, a, send)
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
	ls := m.labelers
	if x := m.browse.idx; job.NeedsGrades && x != nil {
		// Only those with grades (the browse index has a column for every
		// labeler with a judgment, and follows the workspace).
		ls = nil
		for _, l := range m.labelers {
			if _, ok := x.colOf[l.ID]; ok && l.ID != m.me.ID {
				ls = append(ls, l)
			}
		}
	}
	return job.Labelers(ls)
}

func (r *runsState) key(m *Model, k tea.KeyPressMsg) (tea.Cmd, bool) {
	km := &m.keys
	if r.form != nil {
		return r.formKey(m, k), true // the form captures every key
	}
	switch {
	case key.Matches(k, km.newRun):
		if len(r.jobs) == 0 {
			m.setFlash("this session cannot start runs (no jobs configured)", true)
			return nil, true
		}
		r.newForm(m)
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
	if r.form != nil {
		out = append(out, r.formView(m, w)...)
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
	nameW := 22
	for _, lr := range r.live {
		nameW = max(nameW, ansi.StringWidth(lr.title()))
	}
	nameW = min(nameW, max(w-60, 22))
	for i, lr := range r.live {
		p := lr.last
		mark := "  "
		if i == r.sel {
			mark = s.accent.Render("▌ ")
		}
		name := lr.title()
		status := "running"
		st := s.accent
		idle := lr.finished && lr.err == nil && !lr.canceled && p.Total == 0 && p.Done == 0
		switch {
		case lr.finished && lr.canceled:
			status, st = "canceled", s.warn
		case lr.finished && lr.err != nil:
			status, st = "failed", s.bad
		case idle:
			status, st = "nothing to do", s.warn
		case lr.finished:
			status, st = "done", s.ok
		case lr.canceled:
			status, st = "canceling", s.warn
		}
		frac := 0.0
		if p.Total > 0 {
			frac = float64(p.Done) / float64(p.Total)
		}
		line := mark + pad(name, nameW) + " " + st.Render(pad(status, 13))
		if !idle {
			line += " " + r.bar.ViewAs(frac) + " " + fmt.Sprintf("%d/%d", p.Done, p.Total)
		}
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
		note, ns := "", s.muted
		switch {
		case lr.err != nil && !lr.canceled:
			note, ns = lr.err.Error(), s.bad
		case p.LastError != "":
			note, ns = "last error: "+p.LastError, s.warn
		case lr.notice != "":
			note = lr.notice
		}
		for _, l := range wrapText(note, max(w-6, 20)) {
			out = append(out, "    "+ns.Render(l))
		}
	}
	out = append(out, "", " "+s.header.Render("Recent runs"))
	past := r.pastRuns()
	var labW int
	if len(past) == 0 {
		out = append(out, s.muted.Render("  none"))
	} else {
		labW = 18
		for _, run := range past {
			labW = max(labW, ansi.StringWidth(run.Labeler)+2)
		}
		labW = min(labW, max(w-60, 18))
		out = append(out, s.header.Render("  "+pad("id", 6)+pad("kind", 11)+pad("labeler", labW)+pad("status", 12)+padLeft("done", 12)+padLeft("failed", 8)+padLeft("$", 9)))
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
		out = append(out, mark+pad(fmt.Sprint(run.ID), 6)+pad(run.Kind, 11)+pad(run.Labeler, labW)+st.Render(pad(run.Status, 12))+
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
