package demo

import (
	"fmt"
	"strings"
	"time"
)

// general generates the company-wide documents that belong to no project.
func (g *gen) general() {
	g.expensePolicy()
	g.policies()
	g.onboarding()
	for _, team := range teams {
		g.teamPage(team)
	}
	for _, v := range vendors {
		g.vendorContract(v)
	}
	for _, c := range customers {
		g.escalation(c)
	}
	for i := 0; i < 4; i++ {
		g.allHands(i)
	}
	g.ops()
	for i := 0; i < 9; i++ {
		g.itTicket()
	}
	for i := 0; i < 10; i++ {
		g.generalChat()
	}
	for _, c := range customers[:4] {
		g.qbrDeck(c)
	}
}

func pageURL(space, title string) string {
	return fmt.Sprintf("https://wiki.northwind.example/display/%s/%s", space, wikiTitle(title))
}

// ---------------------------------------------------------------- policies

func expenseText(year, mealLimit, hotelLimit, approvalLimit int, tool string, extra string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Northwind Labs expense policy, effective January 1, %d. Owner: Olivia Brennan, Finance.\n\n", year)
	b.WriteString("Scope: all employees and contractors who spend money on behalf of the company.\n\n")
	fmt.Fprintf(&b, "Meals: up to %d USD per person per day when travelling; team meals need your manager's approval in advance. Alcohol is not reimbursed except at approved client dinners.\n\n", mealLimit)
	fmt.Fprintf(&b, "Travel: book economy class through %s. Hotels up to %d USD per night in most cities, 300 USD in London, New York and Tokyo. Trains are preferred over flights under four hours.\n\n", tool, hotelLimit)
	fmt.Fprintf(&b, "Equipment and software: anything over %d USD needs approval from your manager and Finance. Software subscriptions must be requested through IT so we can review security and SSO.\n\n", approvalLimit)
	b.WriteString("Submitting: submit receipts within 30 days of the expense. Expenses are reimbursed with the next payroll run after approval. Lost receipts need a signed note explaining the expense.\n\n")
	b.WriteString("Not reimbursed: traffic fines, personal entertainment, upgrades to business class, first-class train tickets, and gifts to government officials.")
	if extra != "" {
		b.WriteString("\n\n" + extra)
	}
	return b.String()
}

func (g *gen) expensePolicy() {
	ol := people[16]
	t1 := g.workday(time.Date(2025, 5, 12, 0, 0, 0, 0, time.UTC))
	t1b := g.workday(time.Date(2025, 5, 14, 0, 0, 0, 0, time.UTC))
	t2 := g.workday(time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC))
	t2m := g.workday(time.Date(2026, 1, 6, 0, 0, 0, 0, time.UTC))
	old := expenseText(2025, 75, 220, 500, "TripDesk", "")
	g.add(Doc{Title: "Expense Policy 2025", Text: old, URL: "/drive/Finance/Policies/expense-policy-2025.pdf", Author: ol.Name, Type: "file", Modified: t1,
		Meta: map[string]any{"team": "Operations", "version": "2025", "doc_kind": "policy"}})
	// the wiki copy of the same policy: near-duplicate
	g.add(Doc{Title: "Expense policy", Text: "This page mirrors the PDF on the Finance drive; if they differ, the PDF wins.\n\n" + old,
		URL: pageURL("OPS", "Expense Policy"), Author: people[17].Name, Type: "page", Modified: t1b,
		Meta: map[string]any{"team": "Operations", "space": "OPS"}})
	// the updated version
	upd := "What changed from 2025: the meal limit went from 75 to 85 USD, the hotel limit from 220 to 250 USD, the approval threshold from 500 to 750 USD, and travel is now booked through Navi Travel instead of TripDesk."
	g.add(Doc{Title: "Expense Policy 2026", Text: expenseText(2026, 85, 250, 750, "Navi Travel", upd), URL: "/drive/Finance/Policies/expense-policy-2026.pdf",
		Author: ol.Name, Type: "file", Modified: t2, Meta: map[string]any{"team": "Operations", "version": "2026", "doc_kind": "policy"}})
	g.add(Doc{Title: "Updated expense policy for 2026", Text: "Hi everyone,\n\nThe 2026 expense policy is live on the Finance drive. " + upd +
		" Expenses submitted before January 15 can still follow the old limits. Questions to #ask-finance.\n\nOlivia",
		URL: mailURL(ol, t2m, g.r), Author: ol.Name, Type: "mail", Modified: t2m,
		Meta: map[string]any{"team": "Operations", "to": []string{"all@northwind.example"}}})
}

func (g *gen) policies() {
	grace := people[17]
	pages := []struct{ title, author, text string }{
		{"Paid time off policy", grace.Name, "Everyone gets 25 days of paid time off per year plus public holidays in their country of employment. Up to 5 unused days carry over to the next year and expire on March 31. Book time off in the HR system at least two weeks ahead for anything longer than three days, and add it to the team calendar. Sick days are separate and do not need a doctor's note for the first three days. Parental leave is 20 weeks at full pay for all parents, and can be split into two blocks within the first year. If you are on call, swap your shift before your time off starts."},
		{"Remote and hybrid work", grace.Name, "Northwind Labs is hybrid: teams agree on one or two anchor days per week in the Lisbon or Boston office. Fully remote contracts are possible in countries where we have an entity (Portugal, Germany, the UK, the US and Canada). Working from another country for more than 30 days a year needs approval from People Ops because of tax and insurance rules. The home office stipend is 600 USD once, plus 40 USD per month for internet, claimed through the expense tool."},
		{"Acceptable use and security policy", people[11].Name, "Company laptops are managed devices: disk encryption, automatic updates and the endpoint agent must stay on. Use your security key for SSO; never approve a login prompt you did not start. Customer data must stay in approved systems (the production databases, the data lakehouse, HelpLoop) and never in personal drives, chat messages or spreadsheets on your desktop. Report lost devices or suspicious emails to #security within one hour. Passwords for shared service accounts live in the team vault, never in wiki pages or code. Exceptions need written approval from the Head of Security."},
		{"Travel booking guide", people[16].Name, "Book flights, trains and hotels through Navi Travel so that Finance can see the spend and we can reach you in an emergency. Economy class for all flights; for flights longer than 9 hours, premium economy is allowed with manager approval. Add the project or customer code to every booking so the cost lands on the right budget. For customer visits, the account owner in Customer Success approves the trip. See the expense policy for meal and hotel limits."},
	}
	for _, p := range pages {
		t := g.date()
		g.add(Doc{Title: p.title, Text: p.text, URL: pageURL("OPS", p.title), Author: p.author, Type: "page", Modified: t,
			Meta: map[string]any{"team": "Operations", "space": "OPS"}})
	}
}

// ---------------------------------------------------------------- onboarding

var newHires = []struct{ name, role, team, buddy string }{
	{"Amara Osei", "Backend Engineer", "Payments", "Marcus Chen"},
	{"Felix Brandt", "Site Reliability Engineer", "Platform", "Noah Fischer"},
	{"Sofia Marchetti", "Data Analyst", "Data", "Jonas Weber"},
	{"Liam O'Connor", "Support Engineer", "Customer Success", "Lucía Romero"},
	{"Yuki Sato", "Security Analyst", "Security", "Hannah Lindqvist"},
}

func (g *gen) onboarding() {
	grace := people[17]
	guide := "Welcome to Northwind Labs! Your first week:\n" +
		"Day 1: pick up your laptop and security key from IT (Ethan Walsh), enroll the key at sso.northwind.example, and join #general, #announcements and your team channel. Your manager sets up a 30-minute welcome call.\n" +
		"Day 2: finish the security awareness training and the data protection module in the learning portal. Set up the expense tool and the HR system (bank details, emergency contact).\n" +
		"Day 3-5: meet your onboarding buddy daily, read your team's wiki space and the company OKRs, and shadow a customer call if you can.\n" +
		"First 30 days: agree on a 30-60-90 plan with your manager. Engineers ship a small change to production in the first two weeks.\n" +
		"Useful pages: Paid time off policy, Expense policy, Remote and hybrid work, Engineering onboarding. Questions go to People Ops in #ask-people."
	g.add(Doc{Title: "New hire onboarding guide", Text: guide, URL: pageURL("OPS", "New Hire Onboarding Guide"), Author: grace.Name, Type: "page",
		Modified: g.date(), Meta: map[string]any{"team": "Operations", "space": "OPS"}})

	eng := "Engineering onboarding checklist. Request access to GitHub, the tracker and the staging cluster through the access request form; production access needs your manager's approval and the security training. Clone the monorepo and run make dev, which starts PostgreSQL, the queue and the API locally. Read the architecture overview, the on-call handbook and the deploy guide. In week two, pair with your buddy on a starter ticket labelled good-first-issue. You join the on-call rotation as shadow after six weeks and as secondary after three months. Every service has an owner in the service catalog; if you are not sure who owns something, ask in #platform."
	g.add(Doc{Title: "Engineering onboarding", Text: eng, URL: pageURL("ENG", "Engineering Onboarding"), Author: people[6].Name, Type: "page",
		Modified: g.date(), Meta: map[string]any{"team": "Platform", "space": "ENG"}})

	laptop := "Setting up your laptop. Your MacBook arrives enrolled in device management; sign in with your SSO account and the security key. Install tools from the Self Service app, not from the web: the VPN client, the password manager, Docker and your editor are all there. Turn on FileVault if it is not already on; the endpoint agent will warn you within a day otherwise. Linux laptops are available for engineers on request, with the same disk encryption requirement. If something fails, open an IT ticket with a screenshot."
	g.add(Doc{Title: "Laptop setup", Text: laptop, URL: pageURL("IT", "Laptop Setup"), Author: people[12].Name, Type: "page",
		Modified: g.date(), Meta: map[string]any{"team": "Security", "space": "IT"}})

	vpn := "How to connect to the VPN. The VPN is only needed for the staging cluster and the old warehouse; everything else is behind SSO. Open the VPN client, choose the region closest to you (Lisbon, Frankfurt or Virginia), and log in with SSO. If the client says 'device not trusted', check that the endpoint agent is running and your OS is up to date. Split tunnelling is on: video calls do not go through the VPN. Known issue: on hotel Wi-Fi the client sometimes needs the TCP fallback, under Settings > Protocol."
	g.add(Doc{Title: "How to connect to the VPN", Text: vpn, URL: pageURL("IT", "How to connect to the VPN"), Author: people[12].Name, Type: "page",
		Modified: g.date(), Meta: map[string]any{"team": "Security", "space": "IT"}})

	for _, h := range newHires {
		t := g.date()
		mgr := people[teamMembers(h.team)[0]]
		text := fmt.Sprintf("Hi all,\n\nPlease welcome %s, who joins the %s team as %s on %s. %s will be %s's onboarding buddy for the first month. %s comes to us from %s and is based in %s.\n\nSay hello in #general!\n\n%s",
			h.name, h.team, h.role, fmtDay(t), h.buddy, strings.Split(h.name, " ")[0], strings.Split(h.name, " ")[0],
			g.pick([]string{"a logistics startup", "a large bank", "a university research group", "a games studio", "an e-commerce company"}),
			g.pick([]string{"Lisbon", "Boston", "Berlin", "Toronto", "remote from Porto"}), mgr.First())
		g.add(Doc{Title: "Welcome " + h.name + " to " + h.team, Text: text, URL: mailURL(mgr, t, g.r), Author: mgr.Name, Type: "mail", Modified: t,
			Meta: map[string]any{"team": h.team, "to": []string{"all@northwind.example"}}})
	}
}

func (g *gen) teamPage(team string) {
	mem := teamMembers(team)
	var projs []string
	for _, p := range projects {
		if p.Team == team {
			projs = append(projs, p.Name)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "The %s team. Members: ", team)
	var ms []string
	for _, i := range mem {
		ms = append(ms, people[i].Name+" ("+people[i].Role+")")
	}
	b.WriteString(strings.Join(ms, ", ") + ".\n\n")
	if len(projs) > 0 {
		fmt.Fprintf(&b, "Current projects: %s. ", strings.Join(projs, ", "))
		for _, p := range projects {
			if p.Team == team {
				fmt.Fprintf(&b, "%s: %s. ", p.Name, strings.TrimPrefix(p.Summary, p.Name+" "))
			}
		}
		b.WriteString("\n\n")
	} else {
		b.WriteString("Operations covers finance, people, recruiting and workplace. We run payroll, the expense process, hiring, benefits and the offices in Lisbon and Boston.\n\n")
	}
	fmt.Fprintf(&b, "How to work with us: ask in #%s, file requests in the tracker, and check the team calendar for the weekly sync on %s.", slug(team), g.pick([]string{"Mondays", "Tuesdays", "Wednesdays"}))
	g.add(Doc{Title: team + " team", Text: b.String(), URL: pageURL("TEAMS", team+" Team"), Author: people[mem[0]].Name, Type: "page",
		Modified: g.date(), Meta: map[string]any{"team": team, "space": "TEAMS"}})
}

// ---------------------------------------------------------------- vendors

func (g *gen) vendorContract(v vendor) {
	t := g.date()
	start := time.Date(t.Year()-1, t.Month(), 1, 0, 0, 0, 0, time.UTC)
	price := "a per-transaction fee of 2.4% plus 0.20 USD, with volume discounts above 5 million USD per month"
	if v.AnnualUSD > 0 {
		price = fmt.Sprintf("%s USD per year, invoiced quarterly in advance", fmtNum(float64(v.AnnualUSD), 0))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Master services agreement between Northwind Labs and %s for %s. Business owner: %s. Signed %s, term %s, renews automatically unless either party gives %d days' written notice.\n\n",
		v.Name, v.What, v.Owner, start.Format("January 2006"), v.Term, v.Notice)
	fmt.Fprintf(&b, "Pricing: %s. Service level: %s, with service credits of 10%% of the monthly fee for each full 0.1%% below target, capped at 30%%.\n\n", price, v.SLA)
	b.WriteString("Data protection: the vendor processes customer data only on our instructions under the data processing addendum, stores it in the EU or US regions we choose, and notifies us of a breach within 48 hours. Subprocessors are listed in Schedule 3.\n\n")
	fmt.Fprintf(&b, "Termination: for convenience with %d days' notice at the end of a term, or immediately for material breach not cured within 30 days. Data is returned or deleted within 30 days of termination.", v.Notice)
	path := fmt.Sprintf("/drive/Legal/Contracts/%s-msa-%d.pdf", slug(v.Name), start.Year())
	g.add(Doc{Title: v.Name + " master services agreement", Text: b.String(), URL: path, Author: people[16].Name, Type: "file", Modified: t,
		Meta: map[string]any{"team": "Operations", "vendor": v.Name, "doc_kind": "contract"}})

	if g.chance(0.6) {
		t2 := g.after(t, 20, 90)
		owner := v.Owner
		text := fmt.Sprintf("Hi %s,\n\nThe %s contract renews on %s and the notice period is %d days, so we need to decide by %s. Current spend is %s. Before then, can you send me: usage for the last 12 months, any SLA misses we could claim credits for, and whether we still need all the features we pay for? If you want to negotiate, I suggest we ask for a multi-year discount in exchange for a longer term.\n\nThanks,\nOlivia",
			strings.Split(owner, " ")[0], v.Name, t2.AddDate(0, 4, 0).Format("January 2"), v.Notice, t2.AddDate(0, 4, -v.Notice).Format("January 2"), price)
		g.add(Doc{Title: v.Name + " contract renewal", Text: text, URL: mailURL(people[16], t2, g.r), Author: people[16].Name, Type: "mail", Modified: t2,
			Meta: map[string]any{"team": "Operations", "vendor": v.Name, "to": []string{strings.ToLower(strings.ReplaceAll(strings.ReplaceAll(owner, "á", "a"), " ", ".")) + "@northwind.example"}}})
	}
}

// ---------------------------------------------------------------- customers

func (g *gen) escalation(customer string) {
	p := &projects[g.r.IntN(len(projects))]
	bg := g.pick(bugTitles(p))
	csm := people[13+g.r.IntN(3)]
	t := g.date()
	contact := g.pick([]string{"their CTO", "their VP of Operations", "the head of IT", "their finance director", "the account admin"})
	arr := 40 + g.r.IntN(400)
	var b strings.Builder
	fmt.Fprintf(&b, "Hi %s, hi %s,\n\nEscalating for %s (ARR %dk USD, renewal in %d months). %s emailed me this morning: they are hitting \"%s\" and it is blocking their %s. ",
		people[p.Lead].First(), people[6].First(), customer, arr, 2+g.r.IntN(9), capFirst(contact), bg,
		g.pick([]string{"month-end close", "rollout to 2,000 users", "security review", "go-live next week", "board reporting"}))
	fmt.Fprintf(&b, "This is the %s time they have raised it. They asked for a workaround today and a fix date by Friday.\n\n", g.pick([]string{"second", "third"}))
	fmt.Fprintf(&b, "What I need: someone from %s on a call tomorrow, and a clear statement I can send them. I have not promised any dates.\n\n%s", p.Team, csm.First())
	g.add(Doc{Title: fmt.Sprintf("Escalation: %s – %s", customer, strings.ToLower(bg[:1])+bg[1:]), Text: b.String(), URL: mailURL(csm, t, g.r),
		Author: csm.Name, Type: "mail", Modified: t,
		Meta: map[string]any{"team": "Customer Success", "project": p.Name, "customer": customer, "to": []string{people[p.Lead].Email(), people[6].Email()}}})

	if g.chance(0.5) {
		t2 := t.Add(time.Duration(2+g.r.IntN(20)) * time.Hour)
		lines := []string{
			fmt.Sprintf("%s: %s escalation is in your inbox, they are upset about %s", csm.First(), customer, strings.ToLower(bg)),
			fmt.Sprintf("%s: saw it. we have a fix in review, can share a workaround today", people[p.Lead].First()),
			fmt.Sprintf("%s: great, can you join the call at 10? I'll send the invite", csm.First()),
			fmt.Sprintf("%s: yes. please don't give them a date until the fix is deployed to staging", people[p.Lead].First()),
		}
		g.add(Doc{Title: "#cs-escalations: " + customer + " escalation", Text: strings.Join(lines, "\n"), URL: chatURL("cs-escalations", t2),
			Author: csm.Name, Type: "chat", Modified: t2,
			Meta: map[string]any{"team": "Customer Success", "project": p.Name, "customer": customer, "channel": "#cs-escalations",
				"participants": []string{csm.Name, people[p.Lead].Name}}})
	}
}

func (g *gen) qbrDeck(customer string) {
	t := g.date()
	csm := people[13]
	q := fmt.Sprintf("Q%d %d", (int(t.Month())-1)/3+1, t.Year())
	text := fmt.Sprintf("Slide deck for the %s quarterly business review, %s. Slide 1: agenda. Slide 2: adoption – active users up %d%% quarter over quarter, %d seats in use of %d purchased. Slide 3: support – %d tickets, median first response %.1f hours, CSAT %d%%. Slide 4: what shipped this quarter, including the new billing portal and SSO with SCIM. Slide 5: their open requests and our roadmap answer. Slide 6: renewal timeline and next steps. Speaker notes mention that the customer's sponsor changed in %s.",
		customer, q, 5+g.r.IntN(30), 200+g.r.IntN(800), 1000, 10+g.r.IntN(60), 1+g.r.Float64()*6, 80+g.r.IntN(18), t.AddDate(0, -2, 0).Format("January"))
	path := fmt.Sprintf("/drive/Customer Success/QBR/%s-qbr-%s.pptx", slug(customer), strings.ToLower(strings.ReplaceAll(q, " ", "-")))
	g.add(Doc{Title: customer + " QBR " + q, Text: text, URL: path, Author: csm.Name, Type: "file", Modified: t,
		Meta: map[string]any{"team": "Customer Success", "customer": customer, "doc_kind": "slides"}})
}

// ---------------------------------------------------------------- company

func (g *gen) allHands(i int) {
	t := g.workday(corpusStart.AddDate(0, 0, 40+i*80+g.r.IntN(10)))
	p1, p2 := projects[g.r.IntN(len(projects))], projects[g.r.IntN(len(projects))]
	var b strings.Builder
	fmt.Fprintf(&b, "All-hands notes, %s. Host: Viktor Novak.\n\n", t.Format("January 2, 2006"))
	fmt.Fprintf(&b, "Company: revenue grew %d%% year over year; we now have %d employees across Lisbon, Boston and remote. Net revenue retention is %d%%.\n\n", 18+g.r.IntN(20), 140+i*6, 104+g.r.IntN(12))
	fmt.Fprintf(&b, "Engineering: %s – %s. %s – %s.\n\n", p1.Name, p1.Milestones[min(i, 3)], p2.Name, p2.Milestones[min(i, 3)])
	fmt.Fprintf(&b, "People: %s. ", g.pick([]string{"benefits enrollment opens next month", "the Lisbon office moves to the new building in the spring", "we are hiring 12 engineers this half", "the engagement survey results are on the wiki"}))
	fmt.Fprintf(&b, "Q&A: someone asked about %s; Viktor said %s.", g.pick([]string{"remote work", "the hiring freeze rumour", "salary bands", "the on-call load", "AI tools at work"}),
		g.pick([]string{"there is no change planned", "People Ops will publish details next week", "he will follow up in writing", "it is on the agenda for the leadership offsite"}))
	g.add(Doc{Title: "All-hands notes " + t.Format("2006-01-02"), Text: b.String(), URL: pageURL("COMPANY", "All-hands "+t.Format("2006-01-02")), Author: people[17].Name,
		Type: "page", Modified: t, Meta: map[string]any{"team": "Operations", "space": "COMPANY"}})
}

func (g *gen) ops() {
	zara, grace, ol, sam, ethan, dan := people[19], people[17], people[16], people[18], people[12], people[11]
	mails := []struct {
		from  person
		title string
		text  string
		to    string
	}{
		{zara, "Lisbon office move – what you need to know", "Hi Lisbon team,\n\nWe move to the new office at Avenida da Liberdade on the weekend of March 7. Pack your desk into the labelled crates by Thursday evening; IT moves monitors and docks. The old office badge stops working on March 9. Parking is not included at the new building, but we cover a monthly transit pass through the expense tool. The first week there will be coffee and pastries on the 3rd floor every morning.\n\nZara", "lisbon@northwind.example"},
		{zara, "Team offsite in Sintra – save the date", "Hi all,\n\nThe company offsite is in Sintra on June 11-12. We cover travel, two nights at the hotel and meals. Please book travel through Navi Travel with the code OFFSITE26 by May 15 and fill in the dietary form. Agenda: strategy session with Viktor, team workshops, and a hike on day two (optional!).\n\nZara", "all@northwind.example"},
		{zara, "Sintra offsite – agenda and logistics", "Hi all,\n\nFinal details for Sintra on June 11-12. Buses leave the Lisbon office at 8:30. Day one: strategy session, team workshops and dinner. Day two: hike or spa, then lunch and buses back at 15:00. Remote colleagues flying in: the hotel shuttle meets flights arriving before 10:00. Travel booked outside Navi Travel is not reimbursed.\n\nZara", "all@northwind.example"},
		{grace, "Benefits enrollment opens November 3", "Hi everyone,\n\nAnnual benefits enrollment runs from November 3 to November 21 in the HR system. New this year: a mental health app for you and your family, higher dental coverage in Portugal, and a 401(k) match of 5% in the US. If you do nothing, your current choices roll over, except for the flexible spending account which you must renew. Office hours with our broker are on November 6 and 13.\n\nGrace", "all@northwind.example"},
		{ol, "Month-end close reminder", "Hi managers,\n\nMonth-end close starts on the last working day. Please approve all pending expenses and purchase orders by then, and send accruals for any services received but not invoiced (contractors, cloud usage above commitment). Late approvals move to next month's books.\n\nOlivia", "managers@northwind.example"},
		{sam, "Hiring update: open roles and referral bonus", "Hi all,\n\nWe have 9 open roles: 3 backend engineers (Payments, Platform), 2 data engineers, a security analyst, 2 support engineers and a finance analyst. Referral bonus is 3,000 USD for engineering roles and 1,500 USD for others, paid after the new hire's probation. Submit referrals in the recruiting tool, not by email. Interview training for new interviewers is on Thursday.\n\nSamuel", "all@northwind.example"},
		{ethan, "Laptop refresh: MacBooks older than 3 years", "Hi all,\n\nIf your laptop is older than three years you will get a replacement this quarter. IT will email you a slot; bring the old laptop and charger. Back up anything local first, although you should not keep work files outside the drive anyway. Old machines are wiped and donated.\n\nEthan", "all@northwind.example"},
		{dan, "Phishing test results and reminder", "Hi all,\n\nLast week's phishing simulation: 11% of people clicked the link and 4% entered credentials. That is better than last quarter, but still too high. Reminders: our SSO only ever asks for your security key, never your password in an email link; report suspicious messages with the Report button; and if you clicked, tell #security right away – no blame.\n\nDaniel", "all@northwind.example"},
		{dan, "Mandatory security training due March 31", "Hi all,\n\nThe annual security awareness and data protection training is due by March 31. It takes about 40 minutes in the learning portal. Completion is required for our SOC 2 audit and for production access, which will be suspended for anyone who has not finished by April 7.\n\nDaniel", "all@northwind.example"},
	}
	for _, m := range mails {
		t := g.date()
		g.add(Doc{Title: m.title, Text: m.text, URL: mailURL(m.from, t, g.r), Author: m.from.Name, Type: "mail", Modified: t,
			Meta: map[string]any{"team": m.from.Team, "to": []string{m.to}}})
	}

	sheets := []struct {
		title, path, author, text string
	}{
		{"Hiring plan FY2026", "/drive/People/Hiring/hiring-plan-fy2026.xlsx", sam.Name, "Spreadsheet with one row per planned hire for FY2026: role, team, level, location, target start quarter, hiring manager, budget code and status. 24 roles in total: 14 engineering (Payments 4, Platform 4, Data 4, Security 2), 5 Customer Success, 3 Operations and 2 sales engineers. A pivot tab shows hires per quarter against the approved headcount, and a chart compares time to hire by role, currently 52 days on average for engineering."},
		{"Engineering budget FY2026", "/drive/Finance/Budgets/engineering-budget-fy2026.xlsx", ol.Name, "Spreadsheet of the FY2026 engineering budget by team and month. Tabs: headcount cost, cloud infrastructure, vendors (Lumenstack, Stratos DB, Quarry Cloud, Vectorly, Keyforge), and travel. Cloud spend is planned at 2.1 million USD, down 8% after the database and warehouse migrations. Vendor renewals are highlighted in yellow with their notice dates. Variance against actuals is updated monthly after close."},
		{"Cloud cost report January", "/drive/Finance/Reports/cloud-cost-january.xlsx", ol.Name, "Monthly cloud cost report. Total January spend 184,000 USD, 6% over forecast. Largest lines: compute for the production Kubernetes clusters, the old warehouse running in parallel with the lakehouse during the Cedar migration, and egress from the tracing collector. Recommendations: turn off the old warehouse after the second parallel close, buy reserved capacity for the database clusters, and lower trace sampling for health checks."},
	}
	for _, s := range sheets {
		t := g.date()
		g.add(Doc{Title: s.title, Text: s.text, URL: s.path, Author: s.author, Type: "file", Modified: t,
			Meta: map[string]any{"team": "Operations", "doc_kind": "spreadsheet"}})
	}
}

var itIssues = []struct{ title, body string }{
	{"Security key not recognized after macOS update", "After updating macOS this morning my security key no longer works at the SSO prompt. Tried both USB-C ports and a different browser. Expected: tap to log in. Actual: the browser says 'no key found'. Blocking all work."},
	{"Need access to the staging cluster", "Starting on Atlas next week and need read access to the staging Kubernetes cluster and the payments namespace. Manager approval attached in the thread."},
	{"VPN disconnects every 10 minutes from home", "The VPN client drops the connection about every ten minutes. I am on the Frankfurt region. Steps: connect, open the staging dashboard, wait. It reconnects on its own but kills my SSH sessions."},
	{"Request: license for the diagram tool", "Could I get a seat for the diagram tool? I need it for the architecture review. The free tier does not allow shared folders."},
	{"Shared mailbox for billing not receiving mail", "billing@ has not received any mail since yesterday afternoon according to customers. The forwarding rule to HelpLoop may have been changed."},
	{"Lost laptop at the airport", "Left my laptop at the security check in Boston Logan. Reported to the airport. Please wipe it remotely; I have a backup of everything on the drive."},
	{"Monitor flickering at hot desk 3.14", "The external monitor at hot desk 3.14 in Lisbon flickers when connected through the dock. Works fine with a direct cable."},
	{"Cannot install Docker from Self Service", "Self Service shows Docker as 'pending' for two hours. Need it for the engineering onboarding steps."},
}

func (g *gen) itTicket() {
	is := itIssues[g.r.IntN(len(itIssues))]
	rep := g.someone(12)
	key := g.nextKey("IT")
	t := g.date()
	g.add(Doc{Title: key + ": " + is.title, Text: is.body + "\n\nReporter: " + people[rep].Name + ", " + people[rep].Team + ".", URL: "https://tracker.northwind.example/browse/" + key,
		Author: people[rep].Name, Type: "ticket", Modified: t,
		Meta: map[string]any{"team": "Security", "key": key, "status": g.pick([]string{"Open", "Waiting for customer", "Resolved"}),
			"priority": g.pick([]string{"P2", "P3", "P4"}), "assignee": people[12].Name, "issue_type": "IT Request"}})
}

func (g *gen) generalChat() {
	t := g.date()
	a, b := g.someone(), 0
	b = g.someone(a)
	A, B := people[a].First(), people[b].First()
	threads := []struct {
		channel string
		lines   []string
	}{
		{"ask-finance", []string{A + ": is the meal limit per day or per meal when travelling?", B + ": per person per day, 85 USD under the 2026 policy", A + ": and for team dinners?", B + ": needs your manager's approval beforehand, then it goes on one receipt"}},
		{"ask-people", []string{A + ": how many PTO days can I carry over?", B + ": up to 5, and they expire on March 31", A + ": thanks! and parental leave is 20 weeks?", B + ": yes, full pay, can be split into two blocks"}},
		{"it-help", []string{A + ": my security key stopped working after the update, anyone else?", B + ": yes, unplug it and re-enroll at sso.northwind.example, IT posted a fix", A + ": worked, thanks"}},
		{"general", []string{A + ": who has the keys to the Lisbon meeting room on the 3rd floor?", B + ": it's badge access now, ask Zara if yours doesn't work", A + ": 👍"}},
		{"platform", []string{A + ": what's the process to get a new service into the service catalog?", B + ": PR to the catalog repo with owner, tier and runbook link, Beacon alerts won't route without it", A + ": got it"}},
		{"security", []string{A + ": got an email asking me to re-enter my password for the payroll system, looks fishy", B + ": thanks for reporting, it's phishing. please use the Report button and delete it", A + ": done"}},
		{"announcements", []string{A + ": reminder: the all-hands is Thursday at 16:00 Lisbon time, questions in the form by Wednesday", B + ": will it be recorded?", A + ": yes, link goes on the wiki the same day"}},
	}
	th := threads[g.r.IntN(len(threads))]
	title := "#" + th.channel + ": " + strings.SplitN(th.lines[0], ": ", 2)[1]
	g.add(Doc{Title: title, Text: strings.Join(th.lines, "\n"), URL: chatURL(th.channel, t), Author: people[a].Name, Type: "chat", Modified: t,
		Meta: map[string]any{"channel": "#" + th.channel, "participants": uniq([]string{people[a].Name, people[b].Name})}})
}
