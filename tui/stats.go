package tui

import (
	"context"
	"fmt"
	"math"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/qrelbench/qrelbench/benchmark"
	"github.com/qrelbench/qrelbench/internal/words"
	"github.com/qrelbench/qrelbench/store"
)

// statsState is the Stats screen. Figures are computed in a tea.Cmd from a
// copy of the browse index's grade columns, again whenever grades arrive.
type statsState struct {
	res       *statsResult
	computing bool
	again     bool // grades arrived while computing
	a, b      int  // labelers of the confusion heatmap
	scroll    int
}

type statsResult struct {
	labs     []store.Labeler // labelers with at least one grade
	kappa    [][]float64
	n        [][]int
	conf     [][][]int // conf[i][j]: k×k counts, rows labeler i
	dist     [][]int   // per labeler, count per level
	activity []store.Activity
	pairs    int
	// Krippendorff's ordinal alpha over the human annotators (human:gold
	// left out), missing grades allowed, over the pairs two or more graded.
	alpha       float64 // NaN: undefined
	alphaUnits  int
	alphaRaters int
	// setters: adjudicators by name, with the gold grades in force they
	// decided (their agreement with human:gold is circular).
	setters map[string]int
}

type statsMsg struct {
	res *statsResult
	err error
}

// dirty notes that grades changed; it recomputes when Stats is showing.
func (s *statsState) dirty(m *Model) tea.Cmd {
	if m.screen != scrStats {
		s.res = nilIfStale(s.res)
		return nil
	}
	return s.recompute(m)
}

func nilIfStale(r *statsResult) *statsResult { return r }

func (s *statsState) recompute(m *Model) tea.Cmd {
	x := m.browse.idx
	if x == nil {
		return nil
	}
	if s.computing {
		s.again = true
		return nil
	}
	s.computing = true
	labs, cols := x.gradesSnapshot()
	st, ctx, lo, hi := m.st, m.ctx, m.scale.Min(), m.scale.Max()
	return func() tea.Msg {
		res, err := computeStats(ctx, st, labs, cols, lo, hi)
		return statsMsg{res: res, err: err}
	}
}

func computeStats(ctx context.Context, st *store.Store, labs []store.Labeler, cols [][]int8, lo, hi int) (*statsResult, error) {
	k := hi - lo + 1
	res := &statsResult{}
	var keep [][]int8
	for i, c := range cols {
		dist := make([]int, k)
		total := 0
		for _, v := range c {
			if v >= 0 && int(v)-lo < k {
				dist[int(v)-lo]++
				total++
			}
		}
		if total == 0 {
			continue
		}
		res.labs = append(res.labs, labs[i])
		res.dist = append(res.dist, dist)
		keep = append(keep, c)
		res.pairs = len(c)
	}
	n := len(keep)
	res.kappa = make([][]float64, n)
	res.n = make([][]int, n)
	res.conf = make([][][]int, n)
	for i := range keep {
		res.kappa[i] = make([]float64, n)
		res.n[i] = make([]int, n)
		res.conf[i] = make([][]int, n)
	}
	// One pass per pair of labelers straight into the k×k table (no
	// per-pair slices: ten million pairs would take 160 MB).
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			ci, cj := keep[i], keep[j]
			conf := make([]int, k*k)
			both := 0
			for r := range ci {
				x, y := int(ci[r])-lo, int(cj[r])-lo
				if x >= 0 && y >= 0 && x < k && y < k {
					conf[x*k+y]++
					both++
				}
			}
			conf64 := make([]int64, len(conf))
			for t, c := range conf {
				conf64[t] = int64(c)
			}
			kv, ok := benchmark.KappaFromConfusion(conf64, k, benchmark.Unweighted)
			if !ok || both == 0 {
				kv = math.NaN()
			}
			res.kappa[i][j], res.kappa[j][i] = kv, kv
			res.n[i][j], res.n[j][i] = both, both
			res.conf[i][j] = conf
			tr := make([]int, k*k)
			for x := 0; x < k; x++ {
				for y := 0; y < k; y++ {
					tr[y*k+x] = conf[x*k+y]
				}
			}
			res.conf[j][i] = tr
		}
	}
	res.alpha, res.alphaUnits, res.alphaRaters = humanAlpha(labs, cols)
	var err error
	if res.activity, err = st.HumanActivity(ctx); err != nil {
		return nil, err
	}
	res.setters, err = st.GoldSetters(ctx)
	return res, err
}

// circular says whether labelers a and b are the gold labeler and an
// adjudicator who set some of its grades.
func (r *statsResult) circular(a, b int) bool {
	la, lb := r.labs[a], r.labs[b]
	return la.Name == store.GoldLabeler && r.setters[lb.Name] > 0 || lb.Name == store.GoldLabeler && r.setters[la.Name] > 0
}

// humanAlpha is Krippendorff's ordinal alpha over every human annotator
// (human:gold, the adjudicated grades, left out), with missing grades as
// NaN, over the pairs at least two of them graded: what
// benchmark.ComputeAgreement reports as the CLI's human alpha, computed from
// the grades the browse index already holds instead of re-reading the
// workspace.
func humanAlpha(labs []store.Labeler, cols [][]int8) (alpha float64, units, raters int) {
	var hc [][]int8
	for i, l := range labs {
		if l.Kind == store.KindHuman && l.Name != store.GoldLabeler {
			hc = append(hc, cols[i])
		}
	}
	raters = len(hc)
	if raters < 2 {
		return math.NaN(), 0, raters
	}
	var data [][]float64
	row := make([]float64, raters)
	for r := range hc[0] {
		n := 0
		for i, c := range hc {
			if v := c[r]; v >= 0 {
				row[i] = float64(v)
				n++
			} else {
				row[i] = math.NaN()
			}
		}
		if n >= 2 {
			data = append(data, append([]float64(nil), row...))
		}
	}
	v, ok := benchmark.KrippendorffAlpha(data, benchmark.Ordinal)
	if !ok {
		v = math.NaN()
	}
	return v, len(data), raters
}

func (s *statsState) update(m *Model, msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case statsMsg:
		s.computing = false
		if msg.err != nil {
			m.setFlash("stats: "+msg.err.Error(), true)
		} else {
			s.res = msg.res
			if n := len(s.res.labs); n > 0 {
				s.a, s.b = min(s.a, n-1), min(s.b, n-1)
				if s.a == s.b && n > 1 && s.b == 0 {
					s.b = 1
				}
			}
		}
		if s.again {
			s.again = false
			return s.recompute(m), true
		}
		return nil, true
	}
	return nil, false
}

func (s *statsState) key(m *Model, k tea.KeyPressMsg) (tea.Cmd, bool) {
	km := &m.keys
	n := 0
	if s.res != nil {
		n = len(s.res.labs)
	}
	switch {
	case key.Matches(k, km.rowPrev):
		if n > 0 {
			s.a = (s.a + n - 1) % n
		}
	case key.Matches(k, km.rowNext):
		if n > 0 {
			s.a = (s.a + 1) % n
		}
	case key.Matches(k, km.colPrev):
		if n > 0 {
			s.b = (s.b + n - 1) % n
		}
	case key.Matches(k, km.colNext):
		if n > 0 {
			s.b = (s.b + 1) % n
		}
	case key.Matches(k, km.sDown):
		s.scroll++
	case key.Matches(k, km.sUp):
		s.scroll = max(s.scroll-1, 0)
	case key.Matches(k, km.recompute):
		return s.recompute(m), true
	default:
		return nil, false
	}
	return nil, true
}

func fmtKappa(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return fmt.Sprintf("%.2f", v)
}

// statsLabel is the width of a labeler's label on Stats (the same
// abbreviations as Browse's at this width).
const statsLabel = 7

// gradeGlyphs draw the grade distribution so that it reads without colour:
// one shade per level, light to dark, for scales of up to five levels.
func gradeGlyphs(k int) []string {
	all := []string{"░", "▒", "▓", "█"}
	switch {
	case k <= 1:
		return []string{"█"}
	case k <= 4:
		return all[4-k:]
	}
	out := []string{"·", "░", "▒", "▓", "█"}
	for len(out) < k {
		out = append(out, "█")
	}
	return out
}

func (s *statsState) view(m *Model, w, h int) []string {
	st := m.sty
	if m.browse.idx == nil {
		return []string{"", st.muted.Render("  " + m.browse.loadingText(m))}
	}
	if s.res == nil {
		return []string{"", st.muted.Render("  computing…")}
	}
	r := s.res
	var out []string
	if len(r.labs) == 0 {
		return []string{"", st.muted.Render("  No grades yet: grade pairs (Grade), or start a labeling run (Runs).")}
	}
	names, abbrev := labelerLabels(r.labs, m.me.ID, statsLabel)
	small, circ := false, false
	// Agreement matrix.
	out = append(out, " "+st.header.Render("Agreement")+st.muted.Render("  Cohen's κ (unweighted) over the pairs both graded"))
	cw := statsLabel + 2
	head := " " + pad("", 10)
	for _, nm := range names {
		head += padLeft(nm, cw)
	}
	out = append(out, st.header.Render(head))
	for i := range r.labs {
		line := " " + st.header.Render(pad(names[i], 10))
		for j := range r.labs {
			v := r.kappa[i][j]
			var cell string
			switch {
			case i == j:
				cell = st.muted.Render(padLeft("·", cw))
			case r.n[i][j] == 0 || math.IsNaN(v):
				cell = st.muted.Render(padLeft("—", cw))
			default:
				t := fmtKappa(v)
				if r.n[i][j] < benchmark.MinReliableN {
					t += benchmark.UnreliableMark
					small = true
				}
				if r.circular(i, j) {
					t += "†"
					circ = true
				}
				cell = kappaStyle(m, v).Render(padLeft(t, cw))
				if r.n[i][j] < benchmark.MinReliableN {
					cell = st.muted.Render(padLeft(t, cw))
				}
			}
			line += cell
		}
		out = append(out, line)
	}
	notes := []string{"· itself", "— undefined (no pairs both graded, or one grade only)"}
	if small {
		notes = append(notes, fmt.Sprintf("%s unreliable: from fewer than %d pairs", benchmark.UnreliableMark, benchmark.MinReliableN))
	}
	if circ {
		notes = append(notes, "† circular: an adjudicator against the gold grades they set")
	}
	if abbrev != "" {
		notes = append(notes, abbrev)
	}
	for _, ln := range wrapParts(notes, w) {
		out = append(out, st.muted.Render(ln))
	}
	out = append(out, s.alphaLine(m))
	out = append(out, "")
	// Confusion heatmap.
	a, b := s.a, s.b
	k := len(m.scale.Levels)
	conf := r.conf[a][b]
	maxc := 1
	for _, c := range conf {
		maxc = max(maxc, c)
	}
	out = append(out, " "+st.header.Render("Confusion")+st.muted.Render(fmt.Sprintf("  rows %s (←/→) × columns %s (↑/↓), %s both graded", r.labs[a].Name, r.labs[b].Name, words.Count(r.n[a][b], "pair"))))
	hw := 8
	head = " " + pad(names[b]+" →", 10)
	for _, l := range m.scale.Levels {
		head += padLeft(fmt.Sprint(l.Grade), hw)
	}
	out = append(out, st.header.Render(head))
	for x := 0; x < k; x++ {
		line := " " + st.header.Render(pad(fmt.Sprintf("%s=%d", names[a], m.scale.Levels[x].Grade), 10))
		for y := 0; y < k; y++ {
			c := conf[x*k+y]
			lvl := 0
			if c > 0 {
				lvl = 1 + c*(len(st.heat)-2)/maxc
			}
			cs := lipgloss.NewStyle().Background(st.heat[min(lvl, len(st.heat)-1)]).Foreground(st.text.GetForeground())
			if x == y {
				cs = cs.Bold(true)
			}
			line += " " + cs.Render(padLeft(fmt.Sprint(c), hw-1))
		}
		out = append(out, line)
	}
	out = append(out, st.muted.Render(" pairs per cell; darker: more; the diagonal (bold) is where the two agree"))
	out = append(out, "")
	// Distributions: a shade per grade, so the bars read without colour.
	glyphs := gradeGlyphs(k)
	var key []string
	for g, l := range m.scale.Levels {
		key = append(key, st.gradeStyle(g).Render(glyphs[g])+st.muted.Render(fmt.Sprintf(" %d %s", l.Grade, l.Name)))
	}
	out = append(out, " "+st.header.Render("Grades")+st.muted.Render("  distribution per labeler, and pairs per grade"))
	out = append(out, " "+strings.Join(key, st.muted.Render("  ")))
	bw := max(min(w-12-k*8, 40), 10)
	for i := range r.labs {
		d := r.dist[i]
		tot := 0
		for _, c := range d {
			tot += c
		}
		line := " " + pad(names[i], 10)
		used := 0
		for g, c := range d {
			cells := c * bw / max(tot, 1)
			if g == len(d)-1 {
				cells = bw - used
			}
			used += cells
			line += st.gradeStyle(g).Render(strings.Repeat(glyphs[g], cells))
		}
		var counts []string
		for g, c := range d {
			counts = append(counts, fmt.Sprintf("%d:%d", m.scale.Levels[g].Grade, c))
		}
		line += st.muted.Render("  " + strings.Join(counts, " "))
		out = append(out, line)
	}
	out = append(out, "")
	out = append(out, estimateSection(m, w)...)
	// Annotators.
	out = append(out, " "+st.header.Render("Annotators")+st.muted.Render("  progress and speed (time on task)"))
	out = append(out, st.header.Render(" "+pad("annotator", 20)+padLeft("graded", 8)+padLeft("unsure", 8)+padLeft("done", 7)+padLeft("s/pair", 9)+padLeft("pairs/h", 10)))
	slow := false
	for _, act := range r.activity {
		n := act.Graded + act.Unsure
		spp, pph := "", ""
		if n > 0 && act.TotalMS > 0 {
			sec := act.TotalMS / 1000 / float64(n)
			spp = fmt.Sprintf("%.1f", sec)
			pph = fmt.Sprintf("%.0f", 3600/sec)
			if n < benchmark.MinReliableN {
				spp += benchmark.UnreliableMark
				pph += benchmark.UnreliableMark
				slow = true
			}
		}
		done := ""
		if r.pairs > 0 {
			done = fmt.Sprintf("%.0f%%", 100*float64(act.Graded)/float64(r.pairs))
		}
		out = append(out, " "+pad(act.Labeler, 20)+padLeft(fmt.Sprint(act.Graded), 8)+padLeft(fmt.Sprint(act.Unsure), 8)+padLeft(done, 7)+
			st.muted.Render(padLeft(spp, 9)+padLeft(pph, 10)))
	}
	if slow {
		out = append(out, st.muted.Render(fmt.Sprintf(" %s unreliable: speed from fewer than %d pairs", benchmark.UnreliableMark, benchmark.MinReliableN)))
	}
	s.scroll = min(s.scroll, max(len(out)-h, 0))
	return out[s.scroll:]
}

// wrapParts joins short notes (a legend's entries) into lines of at most w
// cells, three spaces apart (not " · ": · is a symbol of the tables).
func wrapParts(parts []string, w int) []string {
	var lines []string
	cur := ""
	for _, p := range parts {
		switch {
		case cur == "":
			cur = " " + p
		case ansi.StringWidth(cur)+3+ansi.StringWidth(p) <= w:
			cur += "   " + p
		default:
			lines = append(lines, cur)
			cur = " " + p
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

// alphaLine is the annotators' agreement: Krippendorff's ordinal alpha.
func (s *statsState) alphaLine(m *Model) string {
	st, r := m.sty, s.res
	label := " " + st.header.Render("Humans α") + " "
	switch {
	case r.alphaRaters < 2:
		return label + st.muted.Render("— (Krippendorff's ordinal α needs two human annotators)")
	case math.IsNaN(r.alpha):
		return label + st.muted.Render(fmt.Sprintf("— (undefined: %s graded by two or more of %s)", words.Count(r.alphaUnits, "pair"), words.Count(r.alphaRaters, "human")))
	}
	return label + kappaStyle(m, r.alpha).Render(fmt.Sprintf("%.2f", r.alpha)) +
		st.muted.Render(fmt.Sprintf("  Krippendorff's ordinal α, %s, %s graded by two or more", words.Count(r.alphaRaters, "human"), words.Count(r.alphaUnits, "pair")))
}

func kappaStyle(m *Model, v float64) lipgloss.Style {
	switch {
	case v >= 0.6:
		return m.sty.ok
	case v >= 0.3:
		return m.sty.warn
	default:
		return m.sty.bad
	}
}
