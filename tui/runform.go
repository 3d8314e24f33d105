package tui

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// The Runs screen's form for a new run: the job, then only the fields that
// job has (its labeler, its number, the name of the labeler it creates),
// each with a line saying what it needs, and, where a list is empty, why
// and what to do about it.

// JobArgs are what the form collected for a job's Start.
type JobArgs struct {
	Labeler string // the chosen labeler ("" when the job has no such field)
	Limit   int    // the number field (0: no limit)
	Name    string // the labeler the job creates ("" when it creates none)
}

// formField is one field of the form.
type formField int

const (
	fieldJob formField = iota
	fieldLabeler
	fieldLimit
	fieldName
)

type runForm struct {
	field      int // index into fields()
	job        int
	labeler    int
	limit      string
	name       string
	nameEdited bool // typed by the user: no longer follows the labeler
}

// fields are the form's fields for its job, in order.
func (f *runForm) fields(job Job) []formField {
	out := []formField{fieldJob}
	if job.Labelers != nil {
		out = append(out, fieldLabeler)
	}
	if job.LimitName != "" {
		out = append(out, fieldLimit)
	}
	if job.NewName != nil {
		out = append(out, fieldName)
	}
	return out
}

func (f *runForm) current(job Job) formField {
	fs := f.fields(job)
	return fs[min(f.field, len(fs)-1)]
}

// newForm opens the form on the first job.
func (r *runsState) newForm(m *Model) {
	r.form = &runForm{}
	r.setJob(m, 0)
}

// setJob selects a job and resets the fields to its defaults.
func (r *runsState) setJob(m *Model, i int) {
	f := r.form
	f.job, f.labeler, f.field = i, 0, 0
	job := r.jobs[i]
	f.limit = strconv.Itoa(job.Limit)
	f.nameEdited = false
	r.defaultName(m)
}

// defaultName proposes the new labeler's name from the chosen labeler,
// unless the user typed one.
func (r *runsState) defaultName(m *Model) {
	f := r.form
	job := r.jobs[f.job]
	if job.NewName == nil || f.nameEdited {
		return
	}
	f.name = job.NewName(r.chosen(m))
}

// chosen is the labeler the form has selected ("" when none).
func (r *runsState) chosen(m *Model) string {
	f := r.form
	labs := r.choices(m, r.jobs[f.job])
	if len(labs) == 0 {
		return ""
	}
	return labs[min(f.labeler, len(labs)-1)]
}

// validName is the rule for labeler names: no spaces or commas.
func validName(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == ',' })
}

// formKey handles a key while the form is open (it captures every key).
func (r *runsState) formKey(m *Model, k tea.KeyPressMsg) tea.Cmd {
	km := &m.keys
	f := r.form
	job := r.jobs[f.job]
	labs := r.choices(m, job)
	fs := f.fields(job)
	cur := f.current(job)
	// On the name field, letters are the name: only arrows and tab move.
	if cur == fieldName {
		switch {
		case key.Matches(k, km.formCancel, km.formStart):
		case k.String() == "up" || k.String() == "down" || k.String() == "tab" || k.String() == "shift+tab":
		case key.Matches(k, km.formDel):
			if f.name != "" {
				_, n := utf8.DecodeLastRuneInString(f.name)
				f.name, f.nameEdited = f.name[:len(f.name)-n], true
			}
			return nil
		default:
			if t := k.Text; t != "" && len(f.name) < 60 {
				f.name, f.nameEdited = f.name+t, true
			}
			return nil
		}
	}
	switch {
	case key.Matches(k, km.formCancel):
		r.form = nil
	case key.Matches(k, km.formPrev):
		f.field = (f.field + len(fs) - 1) % len(fs)
	case key.Matches(k, km.formNext):
		f.field = (f.field + 1) % len(fs)
	case key.Matches(k, km.formLeft, km.formRight):
		d := 1
		if key.Matches(k, km.formLeft) {
			d = -1
		}
		switch cur {
		case fieldJob:
			r.setJob(m, (f.job+len(r.jobs)+d)%len(r.jobs))
		case fieldLabeler:
			if len(labs) > 0 {
				f.labeler = (f.labeler + len(labs) + d) % len(labs)
				r.defaultName(m)
			}
		}
	case key.Matches(k, km.formDel):
		if cur == fieldLimit && len(f.limit) > 0 {
			f.limit = f.limit[:len(f.limit)-1]
		}
	case key.Matches(k, km.formDigit):
		if cur == fieldLimit && len(f.limit) < 9 {
			f.limit += k.String()
		}
	case key.Matches(k, km.formStart):
		a := JobArgs{Labeler: r.chosen(m)}
		if job.Labelers != nil && a.Labeler == "" {
			m.setFlash("cannot start: "+job.NoLabelers, true)
			return nil
		}
		a.Limit, _ = strconv.Atoi(f.limit)
		if job.NewName != nil {
			if !validName(f.name) {
				m.setFlash("cannot start: the new labeler needs a name without spaces or commas", true)
				return nil
			}
			a.Name = f.name
		}
		r.form = nil
		r.sel = len(r.live)
		return r.start(m, job, a)
	}
	return nil
}

// formView draws the form: one line per field, then what the selected
// field needs.
func (r *runsState) formView(m *Model, w int) []string {
	s := m.sty
	f := r.form
	job := r.jobs[f.job]
	labs := r.choices(m, job)
	cur := f.current(job)
	keysHint := "↑/↓ field · ←/→ choose · enter start · esc cancel"
	switch cur {
	case fieldLimit:
		keysHint = "↑/↓ field · digits, backspace · enter start · esc cancel"
	case fieldName:
		keysHint = "type the name · ↑/↓ field · enter start · esc cancel"
	}
	out := []string{" " + s.header.Render("New run") + s.muted.Render("  "+keysHint)}
	line := func(ff formField, name, val string, empty bool) string {
		mark := "  "
		v := s.text.Render(val)
		if empty {
			v = s.warn.Render(val)
		}
		if ff == cur {
			mark = s.accent.Render("▶ ")
			v = s.sel.Render(" " + val + " ")
		}
		return "  " + mark + s.muted.Render(pad(name, 12)) + v
	}
	for _, ff := range f.fields(job) {
		switch ff {
		case fieldJob:
			out = append(out, line(ff, "run", "‹ "+job.Title+" ›", false))
		case fieldLabeler:
			if len(labs) == 0 {
				out = append(out, line(ff, job.labelerField(), "none yet — see below", true))
			} else {
				sel := labs[min(f.labeler, len(labs)-1)]
				out = append(out, line(ff, job.labelerField(), "‹ "+sel+" ›", false))
				out = append(out, estimateNote(m, sel)...)
			}
		case fieldLimit:
			lim := f.limit
			if lim == "" || lim == "0" {
				lim = "0 (no limit)"
			}
			out = append(out, line(ff, job.LimitName, lim, false))
		case fieldName:
			v := f.name
			if ff == cur {
				v += "▏"
			}
			out = append(out, line(ff, "new labeler", v, !validName(f.name)))
		}
	}
	var hint string
	switch cur {
	case fieldJob:
		hint = job.About
	case fieldLabeler:
		hint = job.LabelerHint
		if len(labs) == 0 {
			hint = "none available: " + job.NoLabelers
		}
	case fieldLimit:
		hint = job.LimitHint
	case fieldName:
		hint = job.NameHint
	}
	for _, l := range wrapText(hint, max(w-6, 20)) {
		out = append(out, "    "+s.muted.Render(l))
	}
	return append(out, "")
}

// labelerField names the labeler field ("labeler" unless the job says).
func (j Job) labelerField() string {
	if j.LabelerName != "" {
		return j.LabelerName
	}
	return "labeler"
}
