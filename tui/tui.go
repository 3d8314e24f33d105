// Package tui is qrelbench's workbench: a terminal UI to grade
// query–document pairs, browse every labeler's grades over a million pairs,
// watch agreement statistics and run the pipeline in the background.
//
// Architecture: one root Model with a plain sub-state per screen. Update
// never does I/O: every database read and write is a tea.Cmd that returns a
// message, and background runs report through a channel read by a tea.Cmd.
// All per-session state lives in the Model (nothing global), so a server can
// run one program per SSH session with New.
package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/user"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"github.com/qrelbench/qrelbench/internal/words"
	"github.com/qrelbench/qrelbench/store"
)

// Options configure a workbench session.
type Options struct {
	// Annotator names the person grading; grades are stored under the
	// labeler "human:"+Annotator. Empty: the login name.
	Annotator string
	// Blind hides other labelers' grades on a pair until the annotator has
	// graded it.
	Blind bool
	// Priority draws first, among the least-graded pairs, those where the
	// teacher and the student disagree most or are least certain (see
	// store.AssignOptions.Priority).
	Priority bool
	// Jobs are the background runs the Runs screen can start (see package
	// tui/jobs for the pipeline's). None: the Runs screen only lists runs.
	Jobs []Job

	// Input, Output and Environ replace the process's terminal, e.g. an SSH
	// session's channel and its environment. Nil: stdin, stdout, os.Environ.
	Input   io.Reader
	Output  io.Writer
	Environ []string
	// Profile forces a color profile (0: detect from Output and Environ).
	Profile colorprofile.Profile
	// Relaunch is the command that opens this workbench again (e.g.
	// "qrelbench --db team.db tui --as alice"), for hints such as how to
	// grade pairs that already have K human grades ("… --k 2"). Empty in a
	// served session, where the server's operator sets K.
	Relaunch string
	// Command is how qrelbench is run from a shell on this workspace (e.g.
	// "qrelbench --db team.db"): hints that say what to type start with it.
	Command string
	// ProgramOptions are passed on to tea.NewProgram after the above.
	ProgramOptions []tea.ProgramOption
}

// Run runs the workbench until the user quits or ctx is canceled. Every
// grade given is committed before it returns.
func Run(ctx context.Context, st *store.Store, opts Options) error {
	m := newModel(ctx, st, opts)
	popts := []tea.ProgramOption{tea.WithContext(ctx)}
	if opts.Input != nil {
		popts = append(popts, tea.WithInput(opts.Input))
	}
	if opts.Output != nil {
		popts = append(popts, tea.WithOutput(opts.Output))
	}
	if opts.Environ != nil {
		popts = append(popts, tea.WithEnvironment(opts.Environ))
	}
	if opts.Profile != 0 {
		popts = append(popts, tea.WithColorProfile(opts.Profile))
	}
	popts = append(popts, opts.ProgramOptions...)
	_, err := tea.NewProgram(m, popts...).Run()
	m.cancelRuns()
	return err
}

// New returns the workbench model for one session, for callers that run
// their own tea.Program (an SSH server).
func New(st *store.Store, opts Options) tea.Model {
	return newModel(context.Background(), st, opts)
}

// screen is one of the workbench's screens, in tab order.
type screen int

const (
	scrGrade screen = iota
	scrBrowse
	scrPair
	scrStats
	scrSystems
	scrAdjudicate // adjudicators only
	scrRuns
	scrHelp
	scrGuidelines // not a tab: i opens it from anywhere
	numScreens
)

var screenNames = [...]string{"Grade", "Browse", "Pair", "Stats", "Systems", "Adjudicate", "Runs", "Help", "Guidelines"}

// tabs are the screens in tab order: Adjudicate only for adjudicators.
func (m *Model) tabs() []screen {
	out := make([]screen, 0, numScreens)
	for s := screen(0); s < numScreens; s++ {
		if s == scrAdjudicate && !m.isAdjudicator() || s == scrGuidelines || s == scrSystems && !m.systems.any {
			continue
		}
		out = append(out, s)
	}
	return out
}

// overlay screens are opened over another one, where esc goes back to.
func overlay(s screen) bool { return s == scrHelp || s == scrPair || s == scrGuidelines }

// tab is the screen d tabs away from the current one.
func (m *Model) tab(d int) screen {
	ts := m.tabs()
	i := 0
	for j, s := range ts {
		if s == m.screen {
			i = j
		}
	}
	return ts[(i+d+len(ts))%len(ts)]
}

// Model is the root model of one session.
type Model struct {
	ctx       context.Context
	st        *store.Store
	opts      Options
	scale     store.Scale
	annotator string
	now       func() time.Time
	ticks     bool // periodic refresh (off in tests)

	me         store.Labeler
	labelers   []store.Labeler
	booted     bool
	fatal      error
	helpScroll int

	width, height int
	sty           styles
	screen        screen
	back          screen // where esc on Pair returns
	blind         bool
	flash         string // one-line status message
	flashBad      bool

	// Writes are applied one at a time in order (grade, then its undo).
	writes      []writeOp
	writing     bool
	writingPair int64 // the pair of the write in flight
	committed   int   // writes committed (or given up) so far
	quitting    bool
	confirmQuit bool   // "quit and stop the run?" is asked
	released    bool   // leases given back on the way out
	banner      string // shown over the tabs (server shutting down)

	input     *lineInput // modal one-line input (note, search), or nil
	keys      keyMap     // every key, with its help text
	help      help.Model // renders the footer and the Help screen from keys
	footCache footCache

	// undos are each screen's own actions, newest last (see change).
	undos [numScreens][]*change

	grade   gradeState
	browse  browseState
	pair    pairState
	stats   statsState
	systems systemsState
	adj     adjState
	runs    runsState
	guide   guidelinesState
	live    live // the workspace's change markers, polled every tick
}

func newModel(ctx context.Context, st *store.Store, opts Options) *Model {
	name := opts.Annotator
	if name == "" {
		if u, err := user.Current(); err == nil && u.Username != "" {
			name = u.Username
		} else {
			name = "annotator"
		}
	}
	// Labeler names cannot hold spaces or commas.
	name = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == ',' || r == '\n' {
			return '_'
		}
		return r
	}, name)
	m := &Model{
		ctx:       ctx,
		st:        st,
		opts:      opts,
		scale:     st.Scale(),
		annotator: name,
		now:       time.Now,
		ticks:     true,
		width:     80,
		height:    24,
		blind:     opts.Blind,
		back:      scrGrade,
	}
	m.keys = newKeyMap(m.scale.Min(), m.scale.Max())
	m.setStyles(true)
	m.grade.init()
	m.browse.init()
	m.runs.init(opts.Jobs)
	return m
}

// LabelerName is the labeler under which this annotator's grades are stored.
func (m *Model) LabelerName() string { return "human:" + m.annotator }

// Init loads what the first frame needs and, concurrently, the browse index.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(tea.RequestBackgroundColor, m.bootCmd(), m.tickCmd(), m.leaseTickCmd(), m.systems.probeCmd(m))
}

// tickMsg drives the live refresh (see live.go): what others, other
// processes and background runs changed appears by itself.
type tickMsg struct{}

func (m *Model) tickCmd() tea.Cmd {
	if !m.ticks {
		return nil
	}
	return tea.Tick(2*time.Second, func(time.Time) tea.Msg { return tickMsg{} })
}

// ShutdownMsg tells the workbench that it must end (the SSH server is
// shutting down): it shows Reason over the tabs, commits every pending
// write, then quits. (tui/sshserve sends it when serve sets it as the
// Config's ShutdownMsg.)
type ShutdownMsg struct{ Reason string }

// errMsg reports a failed read.
type errMsg struct {
	what string
	err  error
}

func (m *Model) setFlash(s string, bad bool) { m.flash, m.flashBad = s, bad }

// Update handles one message. It never blocks on I/O.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = max(msg.Width, 20), max(msg.Height, 6)
		m.grade.wrapFor = 0
		m.pair.wrapFor = 0
		if m.input != nil {
			m.input.setWidth(m)
		}
		return m, m.browse.ensureTitles(m)
	case tea.BackgroundColorMsg:
		m.setStyles(msg.IsDark())
		return m, nil
	case bootMsg:
		return m, m.onBoot(msg)
	case ShutdownMsg:
		m.banner = msg.Reason
		if m.banner == "" {
			m.banner = "server shutting down — your grades are saved"
		}
		return m, m.quit()
	case errMsg:
		m.setFlash(msg.what+": "+msg.err.Error(), true)
		return m, nil
	case tickMsg:
		return m, tea.Batch(m.tickCmd(), m.pollCmd(), m.systems.probeCmd(m))
	case polledMsg:
		return m, m.onPolled(msg)
	case writeDoneMsg:
		return m, m.onWriteDone(msg)
	case tea.KeyPressMsg:
		return m, m.onKey(msg)
	case tea.PasteMsg:
		if m.input != nil {
			return m, m.input.update(m, msg)
		}
		return m, nil
	}
	if cmd, ok := m.grade.update(m, msg); ok {
		return m, cmd
	}
	if cmd, ok := m.browse.update(m, msg); ok {
		return m, cmd
	}
	if cmd, ok := m.pair.update(m, msg); ok {
		return m, cmd
	}
	if cmd, ok := m.stats.update(m, msg); ok {
		return m, cmd
	}
	if cmd, ok := m.systems.update(m, msg); ok {
		return m, cmd
	}
	if cmd, ok := m.adj.update(m, msg); ok {
		return m, cmd
	}
	if cmd, ok := m.guide.update(m, msg); ok {
		return m, cmd
	}
	if cmd, ok := m.runs.update(m, msg); ok {
		return m, m.maybeQuit(cmd)
	}
	return m, nil
}

func (m *Model) onKey(k tea.KeyPressMsg) tea.Cmd {
	km := &m.keys
	if m.confirmQuit {
		return m.answerQuit(k)
	}
	if key.Matches(k, km.forceQuit) {
		return m.askQuit()
	}
	if m.input != nil {
		return m.input.key(m, k)
	}
	if m.quitting {
		return nil
	}
	m.flash = ""
	// Screen-specific keys first (forms and prompts capture everything).
	var cmd tea.Cmd
	handled := false
	switch m.screen {
	case scrGrade:
		cmd, handled = m.grade.key(m, k)
	case scrBrowse:
		cmd, handled = m.browse.key(m, k)
	case scrPair:
		cmd, handled = m.pair.key(m, k)
	case scrStats:
		cmd, handled = m.stats.key(m, k)
	case scrSystems:
		cmd, handled = m.systems.key(m, k)
	case scrAdjudicate:
		cmd, handled = m.adj.key(m, k)
	case scrRuns:
		cmd, handled = m.runs.key(m, k)
	case scrHelp:
		cmd, handled = m.helpKey(k)
	case scrGuidelines:
		cmd, handled = m.guide.key(m, k)
	}
	if handled {
		return cmd
	}
	switch {
	case key.Matches(k, km.quit):
		return m.askQuit()
	case key.Matches(k, km.next):
		return m.show(m.tab(1))
	case key.Matches(k, km.prev):
		return m.show(m.tab(-1))
	case key.Matches(k, km.help):
		if m.screen == scrHelp {
			return m.show(m.back)
		}
		return m.show(scrHelp)
	case key.Matches(k, km.guidelines):
		if m.screen == scrGuidelines {
			return m.show(m.back)
		}
		return m.show(scrGuidelines)
	case key.Matches(k, km.blind):
		m.blind = !m.blind
		m.pair.wrapFor = 0 // the Pair table shows or hides grades
		if m.blind {
			m.setFlash("blind: other grades hidden until you grade a pair", false)
		} else {
			m.setFlash("blind off: all grades shown", false)
		}
		return nil
	case key.Matches(k, km.undo):
		return m.undo()
	case key.Matches(k, km.back):
		if overlay(m.screen) {
			return m.show(m.back)
		}
	// Direct screen keys: F-keys are unreliable in terminals.
	case key.Matches(k, km.goGrade):
		return m.show(scrGrade)
	case key.Matches(k, km.goBrowse):
		return m.show(scrBrowse)
	case key.Matches(k, km.goStats):
		return m.show(scrStats)
	case key.Matches(k, km.goRuns):
		return m.show(scrRuns)
	}
	return nil
}

// setStyles picks the styles for the terminal's background, for the
// workbench and the bubbles it uses.
func (m *Model) setStyles(dark bool) {
	m.sty = newStyles(dark, len(m.scale.Levels))
	m.help = newHelp(m.sty)
	m.footCache = footCache{}
	if m.input != nil {
		m.input.setStyles(m.sty)
	}
	m.runs.setStyles(m.sty)
}

// show switches screens and loads what the new screen needs.
func (m *Model) show(s screen) tea.Cmd {
	if !overlay(s) {
		m.back = s
	} else if s != scrPair && !overlay(m.screen) {
		m.back = m.screen
	}
	m.screen = s
	switch s {
	case scrGrade:
		if g := &m.grade; g.cur != nil && g.recent[g.cur.view.ID] {
			// Graded meanwhile on another screen: on to the next.
			return g.advance(m)
		}
	case scrBrowse:
		return m.browse.ensureTitles(m)
	case scrPair:
		if m.pair.id == 0 && m.grade.cur != nil {
			return m.openPair(m.grade.cur.view.ID)
		}
		if m.pair.id != 0 {
			return m.pair.loadCmd(m, m.pair.id)
		}
	case scrStats:
		return m.stats.recompute(m)
	case scrSystems:
		return m.systems.onShow(m)
	case scrAdjudicate:
		// Read again on every visit: others decide too.
		m.adj.after, m.adj.end, m.adj.loading = 0, false, false
		return m.adj.loadCmd(m, true)
	case scrRuns:
		return m.runs.historyCmd(m)
	case scrGuidelines:
		return m.guide.loadCmd(m)
	}
	return nil
}

// openPair shows the Pair screen for one pair, opened from the screen on
// now (whose list j/k walk there).
func (m *Model) openPair(id int64) tea.Cmd {
	from := m.screen
	if overlay(from) {
		from = m.back
	}
	return m.openPairFrom(id, from)
}

// openPairFrom shows the Pair screen for a pair of the list of screen from.
func (m *Model) openPairFrom(id int64, from screen) tea.Cmd {
	m.back = from
	m.screen = scrPair
	if m.pair.id != id {
		m.pair = pairState{id: id}
	}
	m.pair.list = from
	m.pair.follow = from == scrGrade && m.grade.cur != nil && m.grade.cur.view.ID == id
	if from == scrBrowse {
		m.browseSelect(id)
	}
	return m.pair.loadCmd(m, id)
}

// askQuit quits, asking first when a run started here is still going:
// quitting stops it.
func (m *Model) askQuit() tea.Cmd {
	if m.runs.active() > 0 && !m.quitting {
		m.confirmQuit = true
		return nil
	}
	return m.quit()
}

// answerQuit takes the answer to "quit and stop the run?": y (or ctrl+c
// again) quits, anything else keeps working.
func (m *Model) answerQuit(k tea.KeyPressMsg) tea.Cmd {
	m.confirmQuit = false
	if key.Matches(k, m.keys.confirmYes, m.keys.forceQuit) {
		return m.quit()
	}
	m.setFlash("still working: the run goes on", false)
	return nil
}

// quitQuestion is the question askQuit puts on the status line; the
// footer says how the run is taken up again (resumeHint).
func (m *Model) quitQuestion() string {
	first := m.firstActiveRun()
	if first == nil {
		return ""
	}
	what := "a " + first.job.Title + " run"
	if p := first.last; p.Total > 0 {
		what += " is at " + words.Int(p.Done) + "/" + words.Int(p.Total)
	} else {
		what += " is going"
	}
	if n := m.runs.active(); n > 1 {
		what += fmt.Sprintf(" (and %s more)", words.Count(n-1, "run"))
	}
	return what + " — quit and stop it?  y yes · n no"
}

func (m *Model) firstActiveRun() *liveRun {
	for _, lr := range m.runs.live {
		if !lr.finished {
			return lr
		}
	}
	return nil
}

// resumeHint says how a stopped run is taken up again from a shell.
func (m *Model) resumeHint(lr *liveRun) string {
	cmd := m.opts.Command
	if cmd == "" {
		cmd = "qrelbench"
	}
	switch lr.job.Kind {
	case store.RunLabeling:
		return fmt.Sprintf("it resumes with `%s label --labeler %s`", cmd, lr.labeler)
	case store.RunSynthesis:
		return fmt.Sprintf("it resumes with `%s synth --labeler %s`", cmd, lr.labeler)
	case store.RunMining:
		return fmt.Sprintf("it resumes with `%s mine`", cmd)
	case store.RunPooling:
		return fmt.Sprintf("it resumes with `%s pool --depth K` at the same depth", cmd)
	}
	return "it starts over when run again"
}

// quit stops once every grade is committed and every run has stopped.
func (m *Model) quit() tea.Cmd {
	m.quitting = true
	m.confirmQuit = false
	m.input = nil
	m.stopRuns(errQuitStopped)
	return m.maybeQuit(nil)
}

func (m *Model) maybeQuit(cmd tea.Cmd) tea.Cmd {
	if !m.quitting {
		return cmd
	}
	if m.writing || len(m.writes) > 0 || m.runs.active() > 0 || m.grade.flying > 0 {
		return cmd
	}
	// Every grade is committed and no draw is in flight: the pairs held
	// go back to the pool.
	var release []tea.Cmd
	if !m.released && m.me.ID != 0 {
		m.released = true
		ids := m.grade.dropped
		for _, p := range []*pairData{m.grade.cur, m.grade.ahead} {
			if p != nil && p.leased {
				ids = append(ids, p.view.ID)
			}
		}
		for _, id := range ids {
			release = append(release, m.releaseCmd(id))
		}
	}
	return tea.Batch(cmd, tea.Sequence(append(release, tea.Quit)...))
}

// errQuitStopped is why a run stops when the workbench is quit: the cause
// its context carries (see stopRuns).
var errQuitStopped = errors.New("stopped because the workbench was closed while it ran; finished work is kept and a rerun takes up the rest")

// stopRuns stops every run of this session, telling why.
func (m *Model) stopRuns(why error) {
	for _, r := range m.runs.live {
		if r.stop != nil {
			r.stop(why)
		}
	}
}

func (m *Model) cancelRuns() { m.stopRuns(errQuitStopped) }

// ---- writes -------------------------------------------------------------

type writeKind int

const (
	writePut writeKind = iota
	writeUndo
	writeAdjudicate // j: the pair, grade and note decided; LabelerID the adjudicator
)

type writeOp struct {
	kind  writeKind
	j     store.Judgment
	tries int
	// change: for a put or a decision, the undo entry it records; for an
	// undo, the entry it takes back.
	change *change
	from   screen // the screen the write came from
}

// change is one action a screen took (a grade, a mark, a note, a
// decision), kept on that screen's undo stack: `u` takes back exactly the
// last one of the screen it is pressed on.
type change struct {
	kind      writeKind // writePut or writeAdjudicate
	pairID    int64
	historyID int64 // the judgment_history row, once committed
	adjID     int64 // the adjudication, once committed
	failed    bool  // never saved: nothing to undo
}

// undone is what an undo took back, said in words on the status line.
type undone struct {
	view   store.PairView
	change store.Change        // writePut
	adj    store.Adjudication  // writeAdjudicate
	gold   *store.Judgment     // the gold grade restored (an earlier decision)
	reopen *store.Disagreement // the disagreement open again
}

type writeDoneMsg struct {
	op     writeOp
	pairID int64 // the pair it touched
	ok     bool
	hist   int64 // put: the judgment_history row; decision: the adjudication id
	undo   *undone
	err    error
}

// maxUndo bounds each screen's undo stack.
const maxUndo = 1000

// enqueue schedules a write; writes run one at a time in order. A put or a
// decision is pushed on its screen's undo stack.
func (m *Model) enqueue(op writeOp) tea.Cmd {
	if op.kind != writeUndo && op.change == nil {
		op.from = m.screen
		op.change = &change{kind: op.kind, pairID: op.j.PairID}
		st := append(m.undos[op.from], op.change)
		if len(st) > maxUndo {
			st = st[len(st)-maxUndo:]
		}
		m.undos[op.from] = st
	}
	m.writes = append(m.writes, op)
	return m.nextWrite()
}

func (m *Model) nextWrite() tea.Cmd {
	if m.writing || len(m.writes) == 0 {
		return nil
	}
	op := m.writes[0]
	m.writes = m.writes[1:]
	m.writing = true
	m.writingPair = op.j.PairID
	st, ctx := m.st, context.WithoutCancel(m.ctx)
	if op.kind == writeUndo {
		// The write it takes back ran before it (writes go in order), so
		// its history row is known now.
		c := *op.change
		return func() tea.Msg { return undoWrite(ctx, st, op, c) }
	}
	return func() tea.Msg {
		switch op.kind {
		case writeAdjudicate:
			id, err := st.Adjudicate(ctx, op.j.PairID, op.j.LabelerID, op.j.Grade, op.j.Note)
			return writeDoneMsg{op: op, pairID: op.j.PairID, ok: err == nil, hist: id, err: err}
		default:
			j := op.j
			err := st.PutJudgment(ctx, &j)
			return writeDoneMsg{op: op, pairID: j.PairID, ok: err == nil, hist: j.HistoryID, err: err}
		}
	}
}

// undoWrite takes back one change and reads what the pair is now, to say
// so in words.
func undoWrite(ctx context.Context, st *store.Store, op writeOp, c change) tea.Msg {
	msg := writeDoneMsg{op: op, pairID: c.pairID}
	if c.failed || c.historyID == 0 && c.adjID == 0 {
		return msg // never saved: nothing to take back
	}
	u := &undone{}
	var err error
	if c.kind == writeAdjudicate {
		if u.adj, err = st.UndoAdjudication(ctx, op.j.LabelerID, c.adjID); err == nil {
			err = u.goldNow(ctx, st, c.pairID)
		}
	} else {
		u.change, err = st.UndoChange(ctx, op.j.LabelerID, c.historyID)
	}
	if errors.Is(err, store.ErrChangedSince) || errors.Is(err, store.ErrUndone) {
		msg.undo, msg.err = u, err
		u.view, _ = st.PairView(ctx, c.pairID)
		return msg
	}
	if err == nil {
		u.view, err = st.PairView(ctx, c.pairID)
	}
	msg.ok, msg.undo, msg.err = err == nil, u, err
	return msg
}

// goldNow reads the pair's gold grade after a decision was taken back: an
// earlier decision, or none (then the disagreement is open again).
func (u *undone) goldNow(ctx context.Context, st *store.Store, pairID int64) error {
	gold, err := st.Labeler(ctx, store.GoldLabeler)
	if err != nil {
		return err
	}
	if j, ok, err := st.Judgment(ctx, pairID, gold.ID); err != nil {
		return err
	} else if ok && j.Status == store.StatusOK {
		u.gold = &j
		return nil
	}
	ds, err := st.Disagreements(ctx, store.DisagreementOptions{Unresolved: true, AfterPairID: pairID - 1, Limit: 1})
	if err == nil && len(ds) == 1 && ds[0].PairID == pairID {
		u.reopen = &ds[0]
	}
	return err
}

func (m *Model) onWriteDone(msg writeDoneMsg) tea.Cmd {
	m.writing = false
	m.writingPair = 0
	m.committed++
	var cmds []tea.Cmd
	switch {
	case msg.op.kind == writeUndo:
		cmds = append(cmds, m.onUndone(msg))
	case msg.err != nil:
		if msg.op.kind == writeAdjudicate && errors.Is(msg.err, store.ErrNotAdjudicator) {
			msg.op.change.failed = true
			m.setFlash("NOT SAVED: "+msg.err.Error(), true)
		} else if msg.op.tries < 3 {
			msg.op.tries++
			m.writes = append([]writeOp{msg.op}, m.writes...)
			m.setFlash("retrying a write: "+msg.err.Error(), true)
		} else {
			msg.op.change.failed = true
			m.setFlash("NOT SAVED: "+msg.err.Error(), true)
		}
	default:
		switch msg.op.kind {
		case writeAdjudicate:
			msg.op.change.adjID = msg.hist
			cmds = append(cmds, m.adjudicated(msg.op))
		case writePut:
			msg.op.change.historyID = msg.hist
			m.browse.applyMine(m, msg.op.j)
			if m.pair.id == msg.op.j.PairID {
				cmds = append(cmds, m.pair.loadCmd(m, m.pair.id))
			}
		}
		cmds = append(cmds, m.gradesChanged())
	}
	cmds = append(cmds, m.nextWrite())
	if g := &m.grade; g.recount && !m.writing && len(m.writes) == 0 {
		g.recount = false
		cmds = append(cmds, g.progressCmd(m))
	}
	return m.maybeQuit(tea.Batch(cmds...))
}

// undoScreen is the screen whose undo stack u uses here: the Help screen
// undoes on the screen it was opened from.
func (m *Model) undoScreen() screen {
	if m.screen == scrHelp || m.screen == scrGuidelines {
		return m.back
	}
	return m.screen
}

// undo takes back the last action of the screen it is pressed on.
func (m *Model) undo() tea.Cmd {
	if m.me.ID == 0 {
		return nil
	}
	from := m.undoScreen()
	st := m.undos[from]
	if len(st) == 0 {
		m.setFlash(fmt.Sprintf("nothing to undo on %s in this session", screenNames[from]), false)
		return nil
	}
	c := st[len(st)-1]
	m.undos[from] = st[:len(st)-1]
	return m.enqueue(writeOp{kind: writeUndo, j: store.Judgment{PairID: c.pairID, LabelerID: m.me.ID}, change: c, from: from})
}

func (m *Model) onUndone(msg writeDoneMsg) tea.Cmd {
	u := msg.undo
	switch {
	case msg.err != nil && u != nil && errors.Is(msg.err, store.ErrChangedSince):
		what := "your grade"
		if msg.op.change.kind == writeAdjudicate {
			what = "this gold grade"
		}
		m.setFlash(fmt.Sprintf("not undone: %s on %s was changed again since — the later change stands", what, pairWords(u.view)), true)
		return nil
	case msg.err != nil && u != nil && errors.Is(msg.err, store.ErrUndone):
		m.setFlash("already undone: "+pairWords(u.view), false)
		return nil
	case msg.err != nil:
		m.setFlash("NOT UNDONE: "+msg.err.Error(), true)
		return nil
	case !msg.ok:
		m.setFlash("nothing to undo: that change was never saved", false)
		return nil
	}
	if msg.op.change.kind == writeAdjudicate {
		return m.adj.onUndone(m, u)
	}
	m.setFlash("undone: "+changeWords(m, u.change)+" · "+pairWords(u.view), false)
	m.browse.invalidate(msg.pairID)
	cmds := []tea.Cmd{m.grade.progressCmd(m), m.browse.refreshCmd(m), m.gradesChanged()}
	switch msg.op.from {
	case scrGrade:
		cmds = append(cmds, m.grade.reopen(m, msg.pairID))
	case scrPair:
		// The pair comes back on the Pair screen; one the Grade screen
		// served comes back there too, as its current pair.
		// (Only when the undo left it without a grade of mine: a regrade
		// taken back leaves the earlier grade, and the pair stays done.)
		served := slices.Contains(m.grade.trail, msg.pairID) && !u.change.Had
		if served {
			cmds = append(cmds, m.grade.reopen(m, msg.pairID))
		} else {
			delete(m.grade.recent, msg.pairID)
		}
		if m.screen == scrPair {
			cmds = append(cmds, m.openPairFrom(msg.pairID, m.pair.list))
			m.pair.follow = served && m.pair.list == scrGrade
		}
	default:
		delete(m.grade.recent, msg.pairID)
		if m.pair.id == msg.pairID {
			cmds = append(cmds, m.pair.loadCmd(m, msg.pairID))
		}
	}
	return tea.Batch(cmds...)
}

// pairWords names a pair as a person knows it: “query” · “document title”.
func pairWords(v store.PairView) string {
	title := v.Doc.Title
	if title == "" {
		title = v.Doc.ExtID
	}
	return "“" + clip(v.QueryText, 36) + "” · “" + clip(title, 36) + "”"
}

// changeWords says what an undo removed and what is back.
func changeWords(m *Model, c store.Change) string {
	was := func(status string, grade int) string {
		switch {
		case status == store.StatusOK:
			return fmt.Sprintf("grade %d", grade)
		case status == store.StatusUnsure:
			return "unsure mark"
		}
		return status
	}
	now := was(c.Status, c.Grade)
	if c.Had && c.PrevStatus == c.Status && c.PrevGrade == c.Grade && c.PrevNote != c.Note {
		return "your note (" + now + " kept)"
	}
	if !c.Had {
		return now + " (now ungraded)"
	}
	return now + " (back to " + was(c.PrevStatus, c.PrevGrade) + ")"
}

// ---- view ---------------------------------------------------------------

// View renders the whole screen: header, body, status line and footer,
// exactly width × height cells.
func (m *Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "qrelbench"
	return v
}

// render is the screen as a string (tests and goldens use it).
func (m *Model) render() string {
	w, h := m.width, m.height
	bodyH := h - 3
	var body []string
	switch {
	case m.fatal != nil:
		body = []string{"", m.sty.bad.Render("  " + m.fatal.Error())}
	case !m.booted:
		body = []string{"", m.sty.muted.Render("  opening workspace…")}
	default:
		switch m.screen {
		case scrGrade:
			body = m.grade.view(m, w, bodyH)
		case scrBrowse:
			body = m.browse.view(m, w, bodyH)
		case scrPair:
			body = m.pair.view(m, w, bodyH)
		case scrStats:
			body = m.stats.view(m, w, bodyH)
		case scrSystems:
			body = m.systems.view(m, w, bodyH)
		case scrAdjudicate:
			body = m.adj.view(m, w, bodyH)
		case scrRuns:
			body = m.runs.view(m, w, bodyH)
		case scrHelp:
			body = m.helpView(w, bodyH)
		case scrGuidelines:
			body = m.guide.view(m, w, bodyH)
		}
	}
	var b strings.Builder
	b.Grow(w * h * 2)
	b.WriteString(fit(m.headerLine(w), w))
	for i := 0; i < bodyH; i++ {
		b.WriteByte('\n')
		if i < len(body) {
			b.WriteString(fit(body[i], w))
		} else {
			b.WriteString(strings.Repeat(" ", w))
		}
	}
	b.WriteByte('\n')
	b.WriteString(fit(m.statusLine(), w))
	b.WriteByte('\n')
	if lr := m.firstActiveRun(); m.confirmQuit && lr != nil {
		b.WriteString(fit(m.sty.muted.Render(" "+m.resumeHint(lr)), w))
	} else {
		b.WriteString(fit(m.footerLine(w), w))
	}
	return b.String()
}

func (m *Model) headerLine(w int) string {
	var b strings.Builder
	b.WriteString(m.sty.title.Render(" qrelbench "))
	if m.banner != "" {
		return m.sty.warn.Render(" ⚠ " + m.banner)
	}
	tabs := m.tabs()
	if !slices.Contains(tabs, m.screen) {
		tabs = append(tabs, m.screen) // a screen off the tab order, shown while open
	}
	for _, i := range tabs {
		name := screenNames[i]
		if i == m.screen {
			b.WriteString(" " + m.sty.tabActive.Render(name) + " ")
		} else {
			b.WriteString(" " + m.sty.tab.Render(name) + " ")
		}
	}
	right := m.annotator
	if m.blind {
		right += " · blind"
	}
	if n := m.runs.active(); n > 0 {
		right += fmt.Sprintf(" · %d running", n)
	}
	left := b.String()
	gap := w - ansi.StringWidth(left) - len([]rune(right)) - 1
	if gap < 1 {
		return left
	}
	return left + strings.Repeat(" ", gap) + m.sty.muted.Render(right)
}

func (m *Model) statusLine() string {
	if m.input != nil {
		return m.input.render(m)
	}
	if m.confirmQuit {
		return m.sty.warn.Render(" " + m.quitQuestion())
	}
	if m.quitting {
		n := len(m.writes)
		if m.writing {
			n++
		}
		parts := []string{}
		if n > 0 {
			parts = append(parts, "saving "+words.Count(n, "change"))
		}
		if a := m.runs.active(); a > 0 {
			parts = append(parts, "stopping "+words.Count(a, "run"))
		}
		return m.sty.warn.Render(" quitting: " + strings.Join(parts, ", ") + "…")
	}
	if m.flash != "" {
		if m.flashBad {
			return m.sty.bad.Render(" " + m.flash)
		}
		return m.sty.accent.Render(" " + m.flash)
	}
	if g := &m.grade; m.screen == scrGrade && g.cur != nil && g.reassigned == g.cur.view.ID {
		return m.sty.warn.Render(" reassigned: your hold on this pair lapsed and others took it — your grade still counts")
	}
	return " " + m.grade.progressText(m)
}

// levelIndex maps a grade to its position on the scale.
func (m *Model) levelIndex(g int) int { return g - m.scale.Min() }

// labeler returns the labeler with this id (and whether it is known).
func (m *Model) labeler(id int64) (store.Labeler, bool) {
	for _, l := range m.labelers {
		if l.ID == id {
			return l, true
		}
	}
	return store.Labeler{}, false
}

// digit parses a grade key of the scale.
func (m *Model) digit(k tea.KeyPressMsg) (int, bool) {
	if !key.Matches(k, m.keys.grade) {
		return 0, false
	}
	return int(k.String()[0] - '0'), true
}
