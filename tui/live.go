package tui

import (
	"slices"

	tea "charm.land/bubbletea/v2"

	"github.com/qrelbench/qrelbench/store"
)

// Live refresh: every tick the root model reads the workspace's change
// markers (store.Changes: a few index probes, whatever the size of the
// workspace, and correct across processes) and, for what moved, reloads
// only what the screens show, in commands: the browse index's new pairs
// and changed cells, the labelers, the run history. Keys are never blocked
// and the user's selection stays where it was.

// polledMsg is one reading of the change markers.
type polledMsg struct {
	c   store.Changes
	err error
}

// live is the root model's view of the workspace's change markers.
type live struct {
	seen    store.Changes
	started bool // seen holds a reading
	polling bool
}

func (m *Model) pollCmd() tea.Cmd {
	if m.live.polling || !m.booted || m.fatal != nil || m.quitting {
		return nil
	}
	m.live.polling = true
	st, ctx := m.st, m.ctx
	return func() tea.Msg {
		c, err := st.Changes(ctx)
		return polledMsg{c: c, err: err}
	}
}

// onPolled reloads what changed since the last reading.
func (m *Model) onPolled(msg polledMsg) tea.Cmd {
	l := &m.live
	l.polling = false
	if msg.err != nil {
		return nil // the next tick tries again
	}
	c, old, first := msg.c, l.seen, !l.started
	l.seen, l.started = c, true
	var cmds []tea.Cmd
	// Judgments and pairs: the browse index reads from its own watermarks,
	// so nothing between two readings is lost.
	grew := c.Pairs != old.Pairs || c.Queries != old.Queries
	if first || grew || c.History != old.History {
		cmds = append(cmds, m.browse.refreshCmd(m), m.grade.progressCmd(m))
	}
	if x := m.browse.idx; x != nil && x.corpus != c.Corpus {
		// Texts or titles edited, pairs removed: rebuild (rare).
		m.browse.titles = map[int64]string{}
		cmds = append(cmds, m.browse.loadCmd(m))
	}
	if (first || grew) && m.grade.done {
		// "Nothing left to grade" may no longer be true.
		m.grade.exhausted, m.grade.laterDone = false, false
		cmds = append(cmds, m.grade.fill(m))
	}
	if first || c.Labelers != old.Labelers {
		cmds = append(cmds, m.labelersCmd())
	}
	if (first || c.Runs != old.Runs) && m.screen == scrRuns {
		cmds = append(cmds, m.runs.historyCmd(m))
	}
	return tea.Batch(cmds...)
}

// onLabelers takes a new list of labelers; the browse index is rebuilt when
// one of its columns was removed or changed (a new labeler gets a column
// with its first judgment).
func (m *Model) onLabelers(ls []store.Labeler) tea.Cmd {
	m.labelers = ls
	if m.runs.form != nil {
		m.runs.defaultName(m) // the proposed name follows the labeler list
	}
	x := m.browse.idx
	if x == nil || m.browse.loading {
		return nil
	}
	for _, col := range x.labs {
		i := slices.IndexFunc(ls, func(l store.Labeler) bool { return l.ID == col.ID })
		if i < 0 || ls[i].Name != col.Name || ls[i].Kind != col.Kind || ls[i].Role != col.Role {
			return m.browse.loadCmd(m)
		}
	}
	return nil
}
