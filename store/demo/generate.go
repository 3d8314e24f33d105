package demo

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DefaultSeed is the seed the embedded corpus was generated with.
const DefaultSeed uint64 = 20260314

// Generate builds the demo corpus from seed. The same seed always gives the
// same documents in the same order, with ids doc-0001, doc-0002, ... in
// order of modification time.
func Generate(seed uint64) []Doc {
	g := &gen{
		r:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		ticket: map[string]int{},
	}
	for i := range projects {
		g.project(&projects[i])
	}
	g.general()

	sort.SliceStable(g.docs, func(i, j int) bool { return g.docs[i].Modified.Before(g.docs[j].Modified) })
	for i := range g.docs {
		g.docs[i].ID = fmt.Sprintf("doc-%04d", i+1)
	}
	return g.docs
}

type gen struct {
	r      *rand.Rand
	docs   []Doc
	ticket map[string]int
	// window of the project being generated
	start time.Time
	span  int // days
}

var (
	corpusStart = time.Date(2025, 5, 5, 0, 0, 0, 0, time.UTC)
	corpusEnd   = time.Date(2026, 3, 27, 0, 0, 0, 0, time.UTC)
)

func (g *gen) add(d Doc) { g.docs = append(g.docs, d) }

func (g *gen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

// pickN returns n distinct elements of xs (all of them when n >= len(xs)).
func (g *gen) pickN(xs []string, n int) []string {
	idx := g.r.Perm(len(xs))
	if n > len(xs) {
		n = len(xs)
	}
	out := make([]string, n)
	for i := 0; i < n; i++ {
		out[i] = xs[idx[i]]
	}
	return out
}

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

// someone returns a random person index not in excl.
func (g *gen) someone(excl ...int) int {
	for {
		i := g.r.IntN(len(people))
		ok := true
		for _, e := range excl {
			if e == i {
				ok = false
			}
		}
		if ok {
			return i
		}
	}
}

func (g *gen) member(p *project, excl ...int) int {
	for tries := 0; tries < 50; tries++ {
		i := p.Members[g.r.IntN(len(p.Members))]
		ok := true
		for _, e := range excl {
			if e == i {
				ok = false
			}
		}
		if ok {
			return i
		}
	}
	return g.someone(excl...)
}

// workday clamps t to a weekday and gives it a business-hours time.
func (g *gen) workday(t time.Time) time.Time {
	for t.Weekday() == time.Saturday || t.Weekday() == time.Sunday {
		t = t.AddDate(0, 0, 1)
	}
	y, m, d := t.Date()
	t = time.Date(y, m, d, 7+g.r.IntN(10), g.r.IntN(60), 0, 0, time.UTC)
	if t.After(corpusEnd) {
		t = corpusEnd.Add(-time.Duration(g.r.IntN(72)+24) * time.Hour)
		return g.workday(t.Truncate(24 * time.Hour))
	}
	return t
}

// date returns a time inside the current project window, or anywhere in
// the corpus range when no window is set.
func (g *gen) date() time.Time {
	if g.span > 0 {
		return g.workday(g.start.AddDate(0, 0, g.r.IntN(g.span)))
	}
	days := int(corpusEnd.Sub(corpusStart).Hours() / 24)
	return g.workday(corpusStart.AddDate(0, 0, g.r.IntN(days)))
}

func (g *gen) after(t time.Time, minDays, maxDays int) time.Time {
	return g.workday(t.AddDate(0, 0, minDays+g.r.IntN(maxDays-minDays+1)))
}

func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteRune(c)
			dash = false
		case c == 'á':
			b.WriteByte('a')
		case c == 'í':
			b.WriteByte('i')
		default:
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
				dash = true
			}
		}
	}
	return strings.TrimRight(b.String(), "-")
}

func wikiTitle(s string) string { return strings.ReplaceAll(s, " ", "+") }

func names(idx []int) []string {
	out := make([]string, len(idx))
	for i, x := range idx {
		out[i] = people[x].Name
	}
	return out
}

func emails(idx []int) []string {
	out := make([]string, len(idx))
	for i, x := range idx {
		out[i] = people[x].Email()
	}
	return out
}

func list(xs []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	case 2:
		return xs[0] + " and " + xs[1]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}

func capFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func fmtNum(v float64, dec int) string {
	s := strconv.FormatFloat(v, 'f', dec, 64)
	if dec == 0 && v >= 10000 {
		// thousands separators for money-like values
		n := len(s)
		var b strings.Builder
		for i, c := range s {
			if i > 0 && (n-i)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(c)
		}
		return b.String()
	}
	return s
}

func (m metric) format(v float64) string {
	s := fmtNum(v, m.DecimalsToPrint)
	switch {
	case m.Unit == "":
		return s
	case strings.HasPrefix(m.Unit, "%"):
		return s + m.Unit
	}
	return s + " " + m.Unit
}

// progress returns a metric value a fraction f of the way to its goal,
// with a little noise.
func (g *gen) progress(m metric, f float64) float64 {
	v := m.Baseline + (m.Goal-m.Baseline)*f
	noise := (m.Goal - m.Baseline) * (g.r.Float64()*0.1 - 0.05)
	v += noise
	scale := 1.0
	for i := 0; i < m.DecimalsToPrint; i++ {
		scale *= 10
	}
	v = float64(int(v*scale+0.5)) / scale
	if v < 0 {
		v = 0
	}
	return v
}

func mailURL(owner person, t time.Time, r *rand.Rand) string {
	return fmt.Sprintf("https://mail.northwind.example/u/%s/thread/%x%04x", owner.Handle, t.Unix(), r.IntN(0x10000))
}

func chatURL(channel string, t time.Time) string {
	return fmt.Sprintf("https://chat.northwind.example/archives/%s/p%d", channel, t.Unix())
}

func fmtDay(t time.Time) string { return t.Format("Monday, January 2") }

func (g *gen) project(p *project) {
	// each project runs over a window of about seven months
	g.start = corpusStart.AddDate(0, 0, g.r.IntN(120))
	g.span = 150 + g.r.IntN(60)
	if end := g.start.AddDate(0, 0, g.span); end.After(corpusEnd) {
		g.span = int(corpusEnd.Sub(g.start).Hours()/24) - 1
	}

	g.designDoc(p)
	g.overviewPage(p)
	g.okrSheet(p)
	for i := 0; i < 4; i++ {
		g.statusMail(p, i)
	}
	for i := 0; i < 2; i++ {
		g.meetingNotes(p)
	}
	for i := 0; i < 5; i++ {
		g.chatThread(p)
	}
	used := map[int]string{}
	for i := 0; i < 6; i++ {
		g.bugTicket(p, used)
	}
	for i := 0; i < 2; i++ {
		g.taskTicket(p)
	}
	g.runbook(p)
	g.releaseNotes(p)
	g.postmortem(p)
	g.start, g.span = time.Time{}, 0
}

// ---------------------------------------------------------------- design docs

func (g *gen) designDoc(p *project) {
	lead := people[p.Lead]
	t := g.date()
	comps := g.pickN(p.Components, 4)
	decs := g.pickN(p.Decisions, 3)
	title := fmt.Sprintf("%s design doc: %s", p.Name, strings.ReplaceAll(p.DocSlug, "-", " "))
	reviewers := names([]int{g.member(p, p.Lead), 6})
	body := func(version int, decisions []string, extra string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "%s. Author: %s (%s). Reviewers: %s. Status: %s.\n\n",
			title, lead.Name, p.Team, list(reviewers), map[bool]string{true: "In review", false: "Approved"}[version == 1])
		if extra != "" {
			b.WriteString(extra + "\n\n")
		}
		fmt.Fprintf(&b, "Context. %s. Today %s.\n\n", p.Summary, p.Why)
		b.WriteString("Goals. ")
		for i, m := range p.Metrics[:2] {
			if i > 0 {
				b.WriteString(" ")
			}
			fmt.Fprintf(&b, "Move %s from %s to %s.", m.Name, m.format(m.Baseline), m.format(m.Goal))
		}
		fmt.Fprintf(&b, " Non-goals: rewriting the %s or changing anything customers see outside the %s.\n\n", comps[3], comps[0])
		fmt.Fprintf(&b, "Proposal. The %s becomes the single entry point; it hands work to the %s, which records every step so the %s can be replayed. ", comps[0], comps[1], comps[2])
		fmt.Fprintf(&b, "Key decisions: %s.\n\n", strings.Join(decisions, "; "))
		fmt.Fprintf(&b, "Alternatives considered. Extending the current %s in place was rejected because it couples %s to %s. Buying a product from %s for the whole scope was priced and rejected; we use %s only where the contract already covers it.\n\n",
			comps[2], p.Terms[0], p.Terms[1], p.Vendor, p.Vendor)
		fmt.Fprintf(&b, "Risks. %s.\n\n", capFirst(list(g.pickN(p.Risks, 2))))
		fmt.Fprintf(&b, "Rollout. %s.\n\n", capFirst(strings.Join(p.Milestones, ", then ")))
		fmt.Fprintf(&b, "Open questions: %s", strings.Join(g.pickN(p.Questions, 2), " "))
		return b.String()
	}
	path := fmt.Sprintf("/drive/Engineering/%s/Specs/%s.docx", p.Team, p.DocSlug)
	meta := map[string]any{"project": p.Name, "team": p.Team, "version": "v1", "doc_kind": "design doc"}
	g.add(Doc{Title: title, Text: body(1, decs, ""), URL: path, Author: lead.Name, Type: "file", Modified: t, Meta: meta})

	// an updated version: same skeleton, one decision changed, a change log
	t2 := g.after(t, 14, 45)
	decs2 := append([]string{}, decs...)
	for _, d := range p.Decisions {
		found := false
		for _, x := range decs {
			if x == d {
				found = true
			}
		}
		if !found {
			decs2[len(decs2)-1] = d
			break
		}
	}
	changes := fmt.Sprintf("Changes since v1: after review with %s we replaced the decision that %s with: %s. The rollout order is unchanged.",
		list(reviewers), decs[len(decs)-1], decs2[len(decs2)-1])
	path2 := strings.TrimSuffix(path, ".docx") + "-v2.docx"
	meta2 := map[string]any{"project": p.Name, "team": p.Team, "version": "v2", "doc_kind": "design doc"}
	text2 := strings.Replace(body(2, decs2, changes), "Status: Approved", "Status: Approved (v2)", 1)
	g.add(Doc{Title: title + " (v2)", Text: text2, URL: path2, Author: lead.Name, Type: "file", Modified: t2, Meta: meta2})
}

// ---------------------------------------------------------------- wiki pages

func (g *gen) overviewPage(p *project) {
	lead := people[p.Lead]
	t := g.date()
	var b strings.Builder
	fmt.Fprintf(&b, "%s is owned by the %s team and led by %s. %s.\n\n", p.Name, p.Team, lead.Name, p.Summary)
	fmt.Fprintf(&b, "Why we are doing this: %s.\n\n", p.Why)
	b.WriteString("Milestones:\n")
	for i, m := range p.Milestones {
		state := "planned"
		if i == 0 {
			state = "done"
		} else if i == 1 {
			state = "in progress"
		}
		fmt.Fprintf(&b, "- %s (%s)\n", capFirst(m), state)
	}
	fmt.Fprintf(&b, "\nPeople: %s. Questions go to #%s; bugs go to the %s project in the tracker.\n\n", list(names(p.Members)), p.Channel, p.Key)
	fmt.Fprintf(&b, "Glossary: %s. ", capFirst(strings.Join(p.Terms[:6], ", ")))
	fmt.Fprintf(&b, "Main components: %s. Vendor: %s.", strings.Join(p.Components, ", "), p.Vendor)
	url := fmt.Sprintf("https://wiki.northwind.example/display/%s/%s", p.Space, wikiTitle(p.Name+" Project Overview"))
	g.add(Doc{Title: p.Name + " project overview", Text: b.String(), URL: url, Author: lead.Name, Type: "page", Modified: t,
		Meta: map[string]any{"project": p.Name, "team": p.Team, "space": p.Space}})
}

func (g *gen) runbook(p *project) {
	comp := g.pick(p.Components)
	owner := people[g.member(p)]
	t := g.date()
	var b strings.Builder
	fmt.Fprintf(&b, "Runbook for the %s (%s). Owner: %s. Page severity: %s.\n\n", comp, p.Name, owner.Name, g.pick([]string{"SEV2", "SEV3"}))
	fmt.Fprintf(&b, "Symptoms: alerts about %s, a spike in errors from the %s, or customers reporting problems with %s.\n\n", p.Terms[g.r.IntN(len(p.Terms))], comp, p.Terms[g.r.IntN(len(p.Terms))])
	b.WriteString("Steps:\n")
	steps := []string{
		fmt.Sprintf("Check the %s dashboard for the last deploy and roll back if it lines up with the spike", comp),
		fmt.Sprintf("Look at the %s status page; if they report an incident, post the link in #%s", p.Vendor, p.Channel),
		fmt.Sprintf("Confirm whether %s is affected by checking %s", p.Metrics[0].Name, g.pick(p.Components)),
		"If customer data may be wrong, stop the job rather than letting it retry, and page the team lead",
		"Open an incident in #incidents with the template and assign a communications lead",
		"After mitigation, write down the timeline while it is fresh",
	}
	for i, s := range steps[:3+g.r.IntN(3)] {
		fmt.Fprintf(&b, "%d. %s.\n", i+1, s)
	}
	fmt.Fprintf(&b, "\nEscalation: %s, then %s.", people[p.Lead].Name, people[6].Name)
	url := fmt.Sprintf("https://wiki.northwind.example/display/%s/%s", p.Space, wikiTitle("Runbook "+capFirst(comp)))
	g.add(Doc{Title: "Runbook: " + comp, Text: b.String(), URL: url, Author: owner.Name, Type: "page", Modified: t,
		Meta: map[string]any{"project": p.Name, "team": p.Team, "space": p.Space}})
}

// ---------------------------------------------------------------- planning

func (g *gen) okrSheet(p *project) {
	t := g.date()
	q := fmt.Sprintf("Q%d %d", (int(t.Month())-1)/3+1, t.Year())
	var b strings.Builder
	fmt.Fprintf(&b, "Spreadsheet of %s OKRs for %s, one row per key result with columns Objective, Key result, Owner, Baseline, Target, Current and Confidence. ", p.Name, q)
	fmt.Fprintf(&b, "Objective 1: deliver %s (%s). ", p.Name, p.Summary)
	for i, m := range p.Metrics {
		f := 0.2 + g.r.Float64()*0.5
		fmt.Fprintf(&b, "KR%d: %s from %s to %s, owner %s, currently %s, confidence %s. ", i+1, m.Name, m.format(m.Baseline), m.format(m.Goal),
			people[g.member(p)].Name, m.format(g.progress(m, f)), g.pick([]string{"high", "medium", "low"}))
	}
	fmt.Fprintf(&b, "Objective 2: ship %s by the end of the quarter. A second tab tracks headcount and the %s spend against budget.", p.Milestones[1], p.Vendor)
	path := fmt.Sprintf("/drive/%s/Planning/%s-okrs-%s.xlsx", p.Team, strings.ToLower(p.Name), strings.ToLower(strings.ReplaceAll(q, " ", "-")))
	g.add(Doc{Title: fmt.Sprintf("%s OKRs %s", p.Name, q), Text: b.String(), URL: path, Author: people[p.Lead].Name, Type: "file", Modified: t,
		Meta: map[string]any{"project": p.Name, "team": p.Team, "quarter": q, "doc_kind": "spreadsheet"}})
}

// ---------------------------------------------------------------- mail

func (g *gen) statusMail(p *project, week int) {
	lead := people[p.Lead]
	t := g.workday(g.start.AddDate(0, 0, 14+week*g.span/5+g.r.IntN(5)))
	status := g.pick([]string{"green", "green", "yellow", "red"})
	m := p.Metrics[g.r.IntN(len(p.Metrics))]
	f := 0.15 + 0.2*float64(week) + g.r.Float64()*0.1
	ms := p.Milestones[min(week, len(p.Milestones)-1)]
	var b strings.Builder
	fmt.Fprintf(&b, "Hi all,\n\nHere is the %s update for the week of %s. Overall status: %s.\n\n", p.Name, t.Format("January 2"), strings.ToUpper(status))
	fmt.Fprintf(&b, "Progress: we are working on %s. %s is now at %s (baseline %s, goal %s). ",
		ms, capFirst(m.Name), m.format(g.progress(m, f)), m.format(m.Baseline), m.format(m.Goal))
	fmt.Fprintf(&b, "%s finished the %s changes and %s is reviewing the %s.\n\n",
		people[g.member(p)].First(), g.pick(p.Components), people[g.member(p)].First(), g.pick(p.Components))
	switch status {
	case "yellow":
		fmt.Fprintf(&b, "Risk: %s. We may slip the milestone by a week.\n\n", g.pick(p.Risks))
	case "red":
		fmt.Fprintf(&b, "Blocked: %s. We need a decision on this by Friday.\n\n", g.pick(p.Risks))
	default:
		fmt.Fprintf(&b, "No new risks. We decided that %s.\n\n", g.pick(p.Decisions))
	}
	fmt.Fprintf(&b, "Ask: %s\n\nThanks,\n%s", capFirst(g.pick(p.Questions)), lead.First())
	to := append(append([]int{}, p.Members...), 6)
	title := fmt.Sprintf("%s weekly update – week of %s", p.Name, t.Format("Jan 2"))
	text := b.String()
	toList := emails(dropIdx(to, p.Lead))
	g.add(Doc{Title: title, Text: text, URL: mailURL(lead, t, g.r), Author: lead.Name, Type: "mail", Modified: t,
		Meta: map[string]any{"project": p.Name, "team": p.Team, "to": toList}})

	// sometimes a reply that quotes the whole update: a near-duplicate
	if g.chance(0.3) {
		ri := g.member(p, p.Lead)
		if g.chance(0.4) {
			ri = 6
		}
		rp := people[ri]
		t2 := t.Add(time.Duration(30+g.r.IntN(300)) * time.Minute)
		reply := g.pick([]string{
			"Thanks %s. On the ask: I think we should keep it simple for now and revisit after the next milestone.",
			"Thanks for the update, %s. Can we get 20 minutes on Thursday to go through the risk? I am not comfortable slipping again.",
			"%s, one correction: the numbers above are from staging, production is a bit behind. Otherwise all good.",
		})
		rt := fmt.Sprintf(reply, lead.First()) + "\n\n" + rp.First() + "\n\nOn " + t.Format("Jan 2, 2006 at 15:04") + ", " + lead.Name + " wrote:\n> " + strings.ReplaceAll(text, "\n", "\n> ")
		g.add(Doc{Title: "Re: " + title, Text: rt, URL: mailURL(rp, t2, g.r), Author: rp.Name, Type: "mail", Modified: t2,
			Meta: map[string]any{"project": p.Name, "team": p.Team, "to": []string{lead.Email()}, "in_reply_to": title}})
	}
}

func dropIdx(xs []int, x int) []int {
	var out []int
	for _, v := range xs {
		if v != x {
			out = append(out, v)
		}
	}
	return out
}

// ---------------------------------------------------------------- meetings

func (g *gen) meetingNotes(p *project) {
	t := g.date()
	att := g.pickN(names(p.Members), 3+g.r.IntN(2))
	kind := g.pick([]string{"sync", "planning", "design review", "retro"})
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s, %s. Attendees: %s.\n\n", p.Name, kind, fmtDay(t), strings.Join(att, ", "))
	b.WriteString("Agenda: ")
	agenda := []string{
		"status of " + g.pick(p.Milestones),
		"open bugs in the " + g.pick(p.Components),
		g.pick(p.Questions),
		p.Vendor + " contract and support tickets",
	}
	b.WriteString(strings.Join(g.pickN(agenda, 3), "; ") + ".\n\n")
	switch kind {
	case "retro":
		fmt.Fprintf(&b, "Went well: the %s work landed without customer impact. Didn't go well: %s. Try next: smaller pull requests and a demo every Friday.\n\n", g.pick(p.Components), g.pick(p.Risks))
	default:
		fmt.Fprintf(&b, "Discussion: %s raised that %s. We agreed that %s.\n\n", strings.Split(att[0], " ")[0], g.pick(p.Risks), g.pick(p.Decisions))
	}
	b.WriteString("Action items:\n")
	for i := 0; i < 2+g.r.IntN(2); i++ {
		due := g.after(t, 3, 14)
		fmt.Fprintf(&b, "- %s: %s %s by %s\n", g.pick(att), g.pick([]string{"write up", "investigate", "fix", "check with " + p.Vendor + " about", "add a test for"}),
			"the "+g.pick(p.Components), due.Format("Jan 2"))
	}
	text := strings.TrimRight(b.String(), "\n")
	if g.chance(0.5) {
		path := fmt.Sprintf("/drive/%s/Meeting Notes/%s-%s-%s.docx", p.Team, strings.ToLower(p.Name), slug(kind), t.Format("2006-01-02"))
		g.add(Doc{Title: fmt.Sprintf("%s %s notes %s", p.Name, kind, t.Format("2006-01-02")), Text: text, URL: path,
			Author: att[0], Type: "file", Modified: t, Meta: map[string]any{"project": p.Name, "team": p.Team, "attendees": att, "doc_kind": "meeting notes"}})
		return
	}
	url := fmt.Sprintf("https://wiki.northwind.example/display/%s/%s", p.Space, wikiTitle(fmt.Sprintf("%s %s %s", t.Format("2006-01-02"), p.Name, kind)))
	g.add(Doc{Title: fmt.Sprintf("%s %s – %s", t.Format("2006-01-02"), p.Name, kind), Text: text, URL: url,
		Author: att[0], Type: "page", Modified: t, Meta: map[string]any{"project": p.Name, "team": p.Team, "space": p.Space, "attendees": att}})
}

// ---------------------------------------------------------------- chat

func (g *gen) chatThread(p *project) {
	t := g.date()
	a := g.member(p)
	bb := g.member(p, a)
	c := g.someone(a, bb)
	comp := g.pick(p.Components)
	term := g.pick(p.Terms)
	A, B, C := people[a].First(), people[bb].First(), people[c].First()
	var lines []string
	switch g.r.IntN(5) {
	case 0:
		lines = []string{
			fmt.Sprintf("%s: anyone else seeing errors from the %s since the deploy this morning?", A, comp),
			fmt.Sprintf("%s: yes, looks like %s. rolling back now", B, strings.ToLower(p.Bugs[g.r.IntN(len(p.Bugs))].Actual)),
			fmt.Sprintf("%s: thanks. do we need a ticket or is this known?", A),
			fmt.Sprintf("%s: filing %s-%d, will link the trace", B, p.Key, 100+g.r.IntN(300)),
			fmt.Sprintf("%s: rollback done, errors back to baseline", B),
		}
	case 1:
		lines = []string{
			fmt.Sprintf("%s: quick question on %s – %s", C, p.Name, g.pick(p.Questions)),
			fmt.Sprintf("%s: we discussed it in the last sync, the answer for now is that %s", A, g.pick(p.Decisions)),
			fmt.Sprintf("%s: ok, is that written down somewhere?", C),
			fmt.Sprintf("%s: it's in the design doc (v2) on the drive, section Proposal", A),
		}
	case 2:
		m := p.Metrics[g.r.IntN(len(p.Metrics))]
		lines = []string{
			fmt.Sprintf("%s: %s is at %s this week :tada:", A, m.Name, m.format(g.progress(m, 0.5+g.r.Float64()*0.3))),
			fmt.Sprintf("%s: nice! was that the %s change?", B, comp),
			fmt.Sprintf("%s: mostly, plus the fix for %s", A, strings.ToLower(p.Bugs[g.r.IntN(len(p.Bugs))].Title)),
		}
	case 3:
		lines = []string{
			fmt.Sprintf("%s: can someone explain %s vs %s? writing the onboarding notes for %s", C, term, g.pick(p.Terms), p.Name),
			fmt.Sprintf("%s: short version: %s matters for the %s, the other one only shows up in %s", B, term, comp, g.pick(p.Components)),
			fmt.Sprintf("%s: there's also a glossary on the %s overview page in the wiki", A, p.Name),
			fmt.Sprintf("%s: perfect, thanks both", C),
		}
	default:
		lines = []string{
			fmt.Sprintf("%s: %s support says the issue with the %s is on their side, ETA tomorrow", A, p.Vendor, comp),
			fmt.Sprintf("%s: that's the third time this month. can we raise it at the QBR?", B),
			fmt.Sprintf("%s: adding it to the vendor review notes. %s, do we have the incident numbers?", A, C),
			fmt.Sprintf("%s: I'll pull them from the tracker", C),
		}
	}
	text := strings.Join(lines, "\n")
	title := fmt.Sprintf("#%s: %s", p.Channel, strings.SplitN(lines[0], ": ", 2)[1])
	if len(title) > 90 {
		cut := strings.LastIndex(title[:90], " ")
		title = title[:cut] + "…"
	}
	g.add(Doc{Title: title, Text: text, URL: chatURL(p.Channel, t), Author: people[a].Name, Type: "chat", Modified: t,
		Meta: map[string]any{"project": p.Name, "team": p.Team, "channel": "#" + p.Channel, "participants": uniq(names([]int{a, bb, c}))}})
}

func uniq(xs []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// ---------------------------------------------------------------- tickets

func (g *gen) nextKey(prefix string) string {
	if g.ticket[prefix] == 0 {
		g.ticket[prefix] = 100 + g.r.IntN(200)
	}
	g.ticket[prefix] += 1 + g.r.IntN(12)
	return fmt.Sprintf("%s-%d", prefix, g.ticket[prefix])
}

func (g *gen) bugTicket(p *project, used map[int]string) {
	bi := g.r.IntN(len(p.Bugs))
	bg := p.Bugs[bi]
	key := g.nextKey(p.Key)
	rep := g.member(p)
	asg := g.member(p, rep)
	t := g.date()
	env := g.pick([]string{"staging", "production", "staging (eu-west)", "production (us-east)"})
	prio := g.pick([]string{"P1", "P2", "P2", "P3"})
	status := g.pick([]string{"Open", "In Progress", "In Review", "Done"})
	title := bg.Title
	var b strings.Builder
	if first, ok := used[bi]; ok {
		// a duplicate report of the same bug, worded by someone else
		title = g.pick([]string{"Possibly related: ", "Again: ", "Seeing this in " + env + ": "}) + strings.ToLower(bg.Title[:1]) + bg.Title[1:]
		status = "Closed"
		fmt.Fprintf(&b, "Reported by %s after a customer mentioned it. Closing as a duplicate of %s.\n\n", people[rep].Name, first)
	} else {
		used[bi] = key
	}
	fmt.Fprintf(&b, "Environment: %s. Component: %s. Priority: %s.\n\nSteps to reproduce:\n", env, g.pick(p.Components), prio)
	for i, s := range bg.Steps {
		fmt.Fprintf(&b, "%d. %s\n", i+1, s)
	}
	fmt.Fprintf(&b, "\nExpected: %s.\nActual: %s.", bg.Expected, bg.Actual)
	if g.chance(0.5) {
		fmt.Fprintf(&b, "\n\nNotes: %s", g.pick([]string{
			"Happens about one time in five. Logs attached.",
			"Started after the last release; not seen before.",
			fmt.Sprintf("Customer %s reported it through support.", g.pick(customers)),
			"Workaround: rerun manually, but that does not scale.",
			fmt.Sprintf("%s thinks this is related to the %s.", people[asg].First(), g.pick(p.Components)),
		}))
	}
	g.add(Doc{Title: key + ": " + title, Text: b.String(), URL: "https://tracker.northwind.example/browse/" + key,
		Author: people[rep].Name, Type: "ticket", Modified: t,
		Meta: map[string]any{"project": p.Name, "team": p.Team, "key": key, "status": status, "priority": prio,
			"assignee": people[asg].Name, "issue_type": "Bug"}})
}

func (g *gen) taskTicket(p *project) {
	key := g.nextKey(p.Key)
	rep := p.Lead
	asg := g.member(p, rep)
	t := g.date()
	comp := g.pick(p.Components)
	m := p.Metrics[g.r.IntN(len(p.Metrics))]
	tasks := []struct{ title, body string }{
		{fmt.Sprintf("Add a dashboard panel for %s", m.Name),
			fmt.Sprintf("We report %s in the weekly update by hand. Add a panel to the %s dashboard with the daily value, the baseline (%s) and the goal (%s). Acceptance: the panel loads in under 3 seconds and links to the query.", m.Name, p.Name, m.format(m.Baseline), m.format(m.Goal))},
		{fmt.Sprintf("Document the %s in the runbook", comp),
			fmt.Sprintf("The %s has no runbook entry. Write down how to restart it, where its logs are, which alerts fire and who to call at %s. Link it from the %s overview page.", comp, p.Vendor, p.Name)},
		{fmt.Sprintf("Load test the %s before %s", comp, p.Milestones[2]),
			fmt.Sprintf("Before %s we need a load test of the %s at 3x peak traffic. Record latency percentiles and error rate, and file bugs for anything over budget. Related risk: %s.", p.Milestones[2], comp, g.pick(p.Risks))},
		{fmt.Sprintf("Decide: %s", strings.TrimSuffix(capFirst(g.pick(p.Questions)), "?")),
			fmt.Sprintf("Open question from the design review. Options are listed in the %s design doc. Please comment with a recommendation by the next sync; %s will make the call.", p.Name, people[p.Lead].First())},
	}
	task := tasks[g.r.IntN(len(tasks))]
	status := g.pick([]string{"To Do", "In Progress", "Done"})
	g.add(Doc{Title: key + ": " + task.title, Text: task.body, URL: "https://tracker.northwind.example/browse/" + key,
		Author: people[rep].Name, Type: "ticket", Modified: t,
		Meta: map[string]any{"project": p.Name, "team": p.Team, "key": key, "status": status, "priority": g.pick([]string{"P2", "P3"}),
			"assignee": people[asg].Name, "issue_type": "Task"}})
}

// ---------------------------------------------------------------- releases and incidents

func (g *gen) releaseNotes(p *project) {
	t := g.date()
	ver := fmt.Sprintf("%d.%d", t.Year(), int(t.Month()))
	var b strings.Builder
	fmt.Fprintf(&b, "%s release %s. Highlights:\n", p.Name, ver)
	for _, c := range g.pickN(p.Components, 3) {
		fmt.Fprintf(&b, "- %s: %s\n", capFirst(c), g.pick([]string{
			"faster and now emits traces for every request",
			"new configuration flag, off by default",
			"handles " + g.pick(p.Terms) + " correctly",
			"rewritten error messages that say what to do next",
		}))
	}
	b.WriteString("Fixed:\n")
	for _, bg := range g.pickN(bugTitles(p), 2) {
		fmt.Fprintf(&b, "- %s\n", bg)
	}
	fmt.Fprintf(&b, "Known issues: %s. Questions to #%s.", g.pick(p.Risks), p.Channel)
	path := fmt.Sprintf("/drive/Engineering/%s/Releases/%s-release-notes-%s.md", p.Team, strings.ToLower(p.Name), ver)
	g.add(Doc{Title: fmt.Sprintf("%s release notes %s", p.Name, ver), Text: b.String(), URL: path, Author: people[g.member(p)].Name,
		Type: "file", Modified: t, Meta: map[string]any{"project": p.Name, "team": p.Team, "version": ver, "doc_kind": "release notes"}})
}

func bugTitles(p *project) []string {
	out := make([]string, len(p.Bugs))
	for i, b := range p.Bugs {
		out[i] = b.Title
	}
	return out
}

func (g *gen) postmortem(p *project) {
	t := g.date()
	ic := people[p.Lead]
	dur := 20 + g.r.IntN(160)
	affected := 30 + g.r.IntN(900)
	start := time.Date(t.Year(), t.Month(), t.Day(), 8+g.r.IntN(8), g.r.IntN(60), 0, 0, time.UTC)
	ts := func(min int) string { return start.Add(time.Duration(min) * time.Minute).Format("15:04") }
	sev := g.pick([]string{"SEV1", "SEV2"})
	var b strings.Builder
	fmt.Fprintf(&b, "Postmortem: %s (%s). Incident commander: %s. Blameless review held %s.\n\n", p.Incident, sev, ic.Name, g.after(t, 2, 6).Format("January 2"))
	fmt.Fprintf(&b, "Summary: for %d minutes on %s we had %s. About %d customers were affected.\n\n", dur, t.Format("January 2"), p.Incident, affected)
	fmt.Fprintf(&b, "Timeline (UTC): %s deploy of the %s; %s first customer report via support; %s on-call paged; %s mitigation applied; %s confirmed resolved.\n\n",
		ts(0), g.pick(p.Components), ts(dur/4), ts(dur/3), ts(dur*3/4), ts(dur))
	fmt.Fprintf(&b, "Root cause: %s.\n\n", p.RootCause)
	fmt.Fprintf(&b, "What went well: the rollback was quick once we knew where to look. What went badly: detection came from customers, not alerts.\n\n")
	b.WriteString("Action items: ")
	var items []string
	for i := 0; i < 3; i++ {
		items = append(items, fmt.Sprintf("%s %s (%s)", g.nextKey(p.Key), g.pick([]string{
			"add an alert on " + p.Metrics[0].Name,
			"add a test that covers " + p.Terms[g.r.IntN(len(p.Terms))],
			"document the " + g.pick(p.Components) + " rollback",
			"review config validation in the " + g.pick(p.Components),
		}), people[g.member(p)].First()))
	}
	b.WriteString(strings.Join(items, "; ") + ".")
	path := fmt.Sprintf("/drive/Engineering/Postmortems/%s-%s.docx", t.Format("2006-01-02"), slug(p.Incident))
	g.add(Doc{Title: "Postmortem: " + p.Incident, Text: b.String(), URL: path, Author: ic.Name, Type: "file", Modified: g.after(t, 2, 6),
		Meta: map[string]any{"project": p.Name, "team": p.Team, "severity": sev, "doc_kind": "postmortem"}})

	// the incident announcement mail
	var m strings.Builder
	fmt.Fprintf(&m, "Team,\n\nBetween %s and %s UTC today we had %s. It is resolved. ", ts(0), ts(dur), p.Incident)
	fmt.Fprintf(&m, "Customer Success has a list of the %d affected accounts and is reaching out. A blameless postmortem will follow this week; the short version is that %s.\n\n%s",
		affected, p.RootCause, ic.First())
	g.add(Doc{Title: fmt.Sprintf("[%s resolved] %s", sev, capFirst(p.Incident)), Text: m.String(), URL: mailURL(ic, t, g.r), Author: ic.Name,
		Type: "mail", Modified: start.Add(time.Duration(dur+15) * time.Minute),
		Meta: map[string]any{"project": p.Name, "team": p.Team, "to": []string{"engineering@northwind.example", "cs@northwind.example"}}})
}
