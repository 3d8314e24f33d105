package tui

import (
	"fmt"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"github.com/charmbracelet/x/ansi"
)

// keyMap is every key of the workbench as key.Binding values. The handlers
// match keys with key.Matches against these bindings, and both the footer
// (ShortHelp) and the Help screen (FullHelp) are rendered from them, so the
// two never disagree. These keys are stable: scripts and users rely on them.
type keyMap struct {
	// Everywhere.
	next, prev, goGrade, goBrowse, goStats, goRuns, help, guidelines, blind, undo, quit, forceQuit, back key.Binding

	// grade: the scale's digits (Grade, Browse, Pair, Adjudicate).
	grade key.Binding

	// Grade screen.
	unsure, skip, note, down, up, pageDown, pageUp, top, open, again key.Binding

	// Browse screen.
	bDown, bUp, bPageDown, bPageUp, bTop, bBottom, bOpen, filter, filterPrev, search,
	colLeft, colRight, sort, gradeIs, clear, reapply key.Binding

	// Pair screen.
	pNext, pPrev, pDown, pUp, pPageDown, pPageUp, pBack key.Binding

	// Stats screen.
	rowPrev, rowNext, colPrev, colNext, sDown, sUp, recompute key.Binding

	// Adjudicate screen.
	later, reload key.Binding

	// Runs screen and its form.
	newRun, cancelRun, refresh                                                         key.Binding
	formPrev, formNext, formLeft, formRight, formDel, formStart, formCancel, formDigit key.Binding

	// The note and search inputs.
	inputSave, inputCancel key.Binding

	// The answer to "quit and stop the run?".
	confirmYes key.Binding

	// Help lines that cover several of the bindings above.
	screens, goTo, quitBoth, gradeScroll, moveAll, filters, columns, gradeEq,
	pairGrade, pairMove, scrollAll, statsRows, statsCols, statsJK key.Binding

	sections []helpSection             // the Help screen (FullHelp)
	short    [numScreens][]key.Binding // each screen's footer (ShortHelp)
	global   []key.Binding             // the footer's tail, on every screen
}

// helpSection is one titled group of the Help screen.
type helpSection struct {
	title string
	keys  []key.Binding
}

// bind makes a binding with the Help screen's key text and description.
func bind(helpKey, desc string, keys ...string) key.Binding {
	return key.NewBinding(key.WithKeys(keys...), key.WithHelp(helpKey, desc))
}

// combine makes one help line for several bindings: their keys, one text.
func combine(helpKey, desc string, bs ...key.Binding) key.Binding {
	var keys []string
	for _, b := range bs {
		keys = append(keys, b.Keys()...)
	}
	return bind(helpKey, desc, keys...)
}

// short is a binding as the footer shows it: a shorter text for the same
// keys (helpKey "": the binding's own key text).
func short(b key.Binding, helpKey, desc string) key.Binding {
	if helpKey == "" {
		helpKey = b.Help().Key
	}
	b.SetHelp(helpKey, desc)
	return b
}

func newKeyMap(minGrade, maxGrade int) keyMap {
	var k keyMap
	var digits []string
	for g := max(minGrade, 0); g <= min(maxGrade, 9); g++ {
		digits = append(digits, fmt.Sprint(g)) // one key per grade
	}
	d := fmt.Sprintf("%d-%d", minGrade, maxGrade)

	k.next = bind("tab", "next screen", "tab")
	k.prev = bind("shift+tab", "previous screen", "shift+tab")
	k.goGrade = bind("ctrl+g", "go to Grade", "ctrl+g")
	k.goBrowse = bind("ctrl+b", "go to Browse", "ctrl+b")
	k.goStats = bind("ctrl+s", "go to Stats", "ctrl+s")
	k.goRuns = bind("ctrl+r", "go to Runs", "ctrl+r")
	k.help = bind("?", "this help (again: back)", "?")
	k.guidelines = bind("i", "the guidelines and the grade scale (again: back)", "i")
	k.blind = bind("b", "blind mode on/off (hide others' grades until you grade)", "b")
	k.undo = bind("u", "undo this screen's last change (repeat: older)", "u")
	k.quit = bind("q", "quit", "q")
	k.forceQuit = bind("ctrl+c", "quit", "ctrl+c")
	k.back = bind("esc", "back", "esc")
	k.screens = combine("tab / shift+tab", "next / previous screen", k.next, k.prev)
	k.goTo = combine("ctrl+g ctrl+b ctrl+s ctrl+r", "go to Grade, Browse, Stats, Runs", k.goGrade, k.goBrowse, k.goStats, k.goRuns)
	k.quitBoth = combine("q / ctrl+c", "quit (saves all; asks while a run goes)", k.quit, k.forceQuit)

	k.grade = bind(d, "grade the pair and go to the next", digits...)
	k.unsure = bind("x", "unsure / judge later (no grade; it comes back at the end)", "x")
	k.skip = bind("s", "skip (comes back after the others)", "s")
	k.note = bind("n", "note on this pair (saved with the grade)", "n")
	k.down = bind("j/↓", "scroll down", "j", "down")
	k.up = bind("k/↑", "scroll up", "k", "up")
	k.pageDown = bind("space", "page down", "space", "pgdown", "f")
	k.pageUp = bind("pgup", "page up", "pgup")
	k.top = bind("g", "top", "g", "home")
	k.gradeScroll = combine("j/k ↑/↓ space pgup", "scroll the document", k.down, k.up, k.pageDown, k.pageUp, k.top)
	k.open = bind("enter", "open the pair's details (Pair screen)", "enter")
	k.again = bind("r", "look again for pairs to grade", "r")

	k.bDown = bind("j", "down", "j", "down")
	k.bUp = bind("k", "up", "k", "up")
	k.bPageDown = bind("pgdn", "page down", "pgdown", "space", "ctrl+f")
	k.bPageUp = bind("pgup", "page up", "pgup", "ctrl+u")
	k.bTop = bind("g", "first", "g", "home")
	k.bBottom = bind("G", "last", "G", "end")
	k.moveAll = combine("j/k ↑/↓ pgup/pgdn g/G", "move", k.bDown, k.bUp, k.bPageDown, k.bPageUp, k.bTop, k.bBottom)
	k.bOpen = bind("enter", "open the pair", "enter")
	k.filter = bind("f", "next filter", "f")
	k.filterPrev = bind("F", "previous filter", "F")
	k.filters = combine("f / F", "next / previous filter", k.filter, k.filterPrev)
	k.search = bind("/", "search words: query, title, body (esc clears)", "/")
	k.colLeft = bind("←", "previous column", "left", "h")
	k.colRight = bind("→", "next column", "right", "l")
	k.columns = combine("←/→ h/l", "select a column", k.colLeft, k.colRight)
	k.sort = bind("o", "sort by the selected column (again: reverse)", "o")
	k.gradeIs = bind("=", "grade is", "=")
	k.gradeEq = combine("= then "+d, "only pairs the selected labeler graded so", k.gradeIs)
	k.clear = bind("esc", "clear search, filters and sort", "esc")
	k.reapply = bind("r", "re-apply filters (live keeps the selected row)", "r")

	k.pNext = bind("j", "next pair of the list it came from (Grade, Browse, Adjudicate)", "j")
	k.pPrev = bind("k", "previous pair of that list", "k")
	k.pDown = bind("↓", "scroll down", "down")
	k.pUp = bind("↑", "scroll up", "up")
	k.pPageDown = bind("space", "page down", "space", "pgdown")
	k.pPageUp = bind("pgup", "page up", "pgup")
	k.pBack = bind("backspace", "back", "backspace")
	k.pairGrade = combine(d+" x", "grade (or unsure) and go to the next pair, as on Grade", k.grade, k.unsure)
	k.pairMove = combine("j / k", "next / previous pair of the list it came from", k.pNext, k.pPrev)
	k.scrollAll = combine("↑/↓ space pgup", "scroll", k.pDown, k.pUp, k.pPageDown, k.pPageUp)

	k.rowPrev = bind("←", "previous row labeler", "left", "h")
	k.rowNext = bind("→", "next row labeler", "right", "l")
	k.colPrev = bind("↑", "previous column labeler", "up")
	k.colNext = bind("↓", "next column labeler", "down")
	k.sDown = bind("j", "scroll down", "j")
	k.sUp = bind("k", "scroll up", "k")
	k.statsRows = combine("←/→", "labeler on the heatmap's rows", k.rowPrev, k.rowNext)
	k.statsCols = combine("↑/↓", "labeler on the heatmap's columns", k.colPrev, k.colNext)
	k.statsJK = combine("j/k", "scroll", k.sDown, k.sUp)
	k.recompute = bind("r", "recompute now", "r")

	k.later = bind("s", "leave this disagreement for later", "s")
	k.reload = bind("r", "read the open disagreements again", "r")

	k.newRun = bind("n", "new run: ↑/↓ field, ←/→ choose, type a number or name, enter start, esc cancel; each field says what it needs", "n")
	k.cancelRun = bind("c", "cancel the selected run", "c")
	k.refresh = bind("r", "refresh the list", "r")
	k.formPrev = bind("↑", "previous field", "up", "k", "shift+tab")
	k.formNext = bind("↓", "next field", "down", "j", "tab")
	k.formLeft = bind("←", "previous choice", "left", "h")
	k.formRight = bind("→", "next choice", "right", "l")
	k.formDel = bind("backspace", "delete a digit", "backspace")
	k.formStart = bind("enter", "start", "enter")
	k.formCancel = bind("esc", "cancel", "esc")
	k.formDigit = bind("0-9", "limit", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9")

	k.confirmYes = bind("y", "yes", "y", "Y")
	k.inputSave = bind("enter", "save", "enter")
	k.inputCancel = bind("esc", "cancel", "esc")

	adjGrade := k.grade
	adjGrade.SetHelp(d, "decide the final (gold) grade and go to the next")
	adjNote := bind("n", "note for the decision (before the digit)", "n")
	adjOpen := bind("enter", "open the pair's details", "enter")
	adjUndo := k.undo
	adjUndo.SetHelp("u", "take back the last decision made here (the pair is open again)")
	adjScroll := combine("j/k", "scroll the document", k.down, k.up)
	browseGrade := k.grade
	browseGrade.SetHelp(d, "grade the selected pair, cursor stays on it")
	runsSel := combine("j/k", "select a run", k.down, k.up)
	helpScroll := combine("j/k", "scroll this help", k.down, k.up)
	guideScrollHelp := combine("j/k space pgup", "scroll the guidelines", k.down, k.up, k.pageDown, k.pageUp)

	k.sections = []helpSection{
		{"Everywhere", []key.Binding{k.screens, k.goTo, k.help, k.guidelines, k.blind, k.undo, k.quitBoth}},
		{"Grade", []key.Binding{k.grade, k.unsure, k.skip, k.note, k.gradeScroll, k.open, k.again}},
		{"Browse", []key.Binding{k.moveAll, k.bOpen, browseGrade, k.filters, k.search, k.columns, k.sort, k.gradeEq, k.clear, k.reapply}},
		{"Pair", []key.Binding{k.pairGrade, k.pairMove, k.note, k.undo, k.scrollAll, k.back}},
		{"Stats", []key.Binding{k.statsRows, k.statsCols, k.statsJK, k.recompute}},
		{"Systems", sysKeys.help(d)},
		{"Adjudicate (adjudicators only)", []key.Binding{adjGrade, adjNote, k.later, adjUndo, adjScroll, adjOpen, k.reload}},
		{"Runs", []key.Binding{k.newRun, runsSel, k.cancelRun, k.refresh}},
		{"Guidelines (i)", []key.Binding{guideScrollHelp, k.back}},
		{"Help", []key.Binding{helpScroll, k.back}},
	}

	k.short[scrGrade] = []key.Binding{short(k.grade, "", "grade"), short(k.skip, "", "skip"), short(k.unsure, "", "unsure"),
		short(k.undo, "", "undo"), short(k.guidelines, "", "guidelines"), short(k.note, "", "note"), short(k.gradeScroll, "j/k", "scroll"), short(k.blind, "", "blind"),
		short(k.open, "", "details")}
	k.short[scrBrowse] = []key.Binding{short(k.moveAll, "j/k", "move"), short(k.bOpen, "", "open"), short(k.filters, "f", "filter"),
		short(k.search, "", "search"), short(k.columns, "←/→", "column"), short(k.sort, "", "sort"), short(k.gradeEq, "=", "grade is"),
		short(k.clear, "", "clear")}
	k.short[scrPair] = []key.Binding{short(k.grade, "", "grade"), short(k.pairMove, "j/k", "next/prev"), short(k.unsure, "", "unsure"),
		short(k.note, "", "note"), short(k.undo, "", "undo"), short(k.scrollAll, "↑/↓", "scroll"), short(k.back, "", "back")}
	k.short[scrStats] = []key.Binding{short(k.statsRows, "", "row labeler"), short(k.statsCols, "", "column labeler"),
		short(k.statsJK, "", "scroll"), short(k.recompute, "", "recompute")}
	k.short[scrSystems] = sysKeys.short()
	k.short[scrAdjudicate] = []key.Binding{short(adjGrade, "", "decide"), short(adjNote, "", "note"), short(k.later, "", "later"),
		short(adjScroll, "", "scroll"), short(adjOpen, "", "details"), short(k.reload, "", "reload")}
	k.short[scrRuns] = []key.Binding{short(k.newRun, "", "new run"), short(runsSel, "", "select"), short(k.cancelRun, "", "cancel"),
		short(k.refresh, "", "refresh")}
	k.short[scrHelp] = []key.Binding{short(helpScroll, "", "scroll"), short(k.back, "", "back")}
	guideScroll := combine("j/k space pgup", "scroll", k.down, k.up, k.pageDown, k.pageUp)
	k.short[scrGuidelines] = []key.Binding{short(guideScroll, "j/k", "scroll"), short(k.back, "", "back"), short(k.guidelines, "", "back")}
	k.global = []key.Binding{short(k.screens, "tab", "screens"), short(k.help, "", "help"), short(k.quitBoth, "q", "quit")}
	return k
}

// helpKeys is the help.KeyMap of one screen: its keys in the footer, every
// screen's on the Help screen.
type helpKeys struct {
	k      *keyMap
	screen screen
}

func (h helpKeys) ShortHelp() []key.Binding { return h.k.short[h.screen] }

func (h helpKeys) FullHelp() [][]key.Binding {
	out := make([][]key.Binding, len(h.k.sections))
	for i, s := range h.k.sections {
		out[i] = s.keys
	}
	return out
}

var _ help.KeyMap = helpKeys{}

// helpKeyWidth is the width of the key column on the Help screen.
const helpKeyWidth = 28

// newHelp returns the help bubble styled like the rest of the workbench.
func newHelp(s styles) help.Model {
	h := help.New()
	h.ShortSeparator = " · "
	h.Styles = help.Styles{
		Ellipsis:       s.footer,
		ShortKey:       s.key,
		ShortDesc:      s.footer,
		ShortSeparator: s.footer,
		FullKey:        s.key.Width(helpKeyWidth),
		FullDesc:       s.text,
		FullSeparator:  s.footer,
	}
	return h
}

// footerLine is the current screen's keys, then the global ones. The
// global ones are always shown; the screen's are cut to fit, an ellipsis
// telling that more are on the Help screen.
func (m *Model) footerLine(w int) string {
	if c := &m.footCache; c.text != "" && c.screen == m.screen && c.width == w {
		return c.text
	}
	h := m.help
	h.SetWidth(0) // we cut: help.Model lets an item overflow when its ellipsis does not fit
	tail := h.Styles.ShortSeparator.Render(h.ShortSeparator) + h.ShortHelpView(m.keys.global)
	room := w - 1 - ansi.StringWidth(tail)
	bs := helpKeys{k: &m.keys, screen: m.screen}.ShortHelp()
	n, used := 0, 0
	for i, b := range bs {
		iw := ansi.StringWidth(b.Help().Key) + 1 + ansi.StringWidth(b.Help().Desc)
		if i > 0 {
			iw += ansi.StringWidth(h.ShortSeparator)
		}
		if used+iw > room {
			break
		}
		n, used = n+1, used+iw
	}
	text := " " + h.ShortHelpView(bs[:n])
	if ell := " " + h.Ellipsis; n < len(bs) && used+ansi.StringWidth(ell) <= room {
		text += h.Styles.Ellipsis.Render(ell)
	}
	text += tail
	m.footCache = footCache{screen: m.screen, width: w, text: text}
	return text
}

// footCache is the footer last rendered (it changes with the screen only).
type footCache struct {
	screen screen
	width  int
	text   string
}

// helpLines renders the Help screen: every section's keys from FullHelp,
// each description wrapped to the width (nothing is cut).
func (m *Model) helpLines(w int) []string {
	hk := helpKeys{k: &m.keys, screen: m.screen}
	s := m.sty
	dw := max(w-3-helpKeyWidth-1, 16)
	var lines []string
	for i, group := range hk.FullHelp() {
		lines = append(lines, " "+s.header.Render(m.keys.sections[i].title))
		for _, b := range group {
			for j, ln := range wrapText(b.Help().Desc, dw) {
				k := ""
				if j == 0 {
					k = b.Help().Key
				}
				lines = append(lines, "   "+s.key.Render(pad(k, helpKeyWidth))+" "+s.text.Render(ln))
			}
		}
		lines = append(lines, "")
	}
	return lines
}
