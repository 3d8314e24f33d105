package synth

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/qrelbench/qrelbench/store/demo"
)

var corpus = []Seed{
	{ID: "d1", Title: "Payments retry design", Author: "Priya Raman", Type: "file",
		URL:  "/drive/Engineering/Specs/atlas-retry-scheduler-v2.docx",
		Text: "The project retry scheduler uses an idempotency key for every payment intent. Soft declines are retried with exponential backoff; hard declines are never retried. We configure the idempotency key store so that duplicate charges cannot happen. The project team reviews the idempotency design weekly.",
		Meta: map[string]any{"project": "Atlas", "team": "Payments"}},
	{ID: "d2", Title: "Project weekly update", Author: "Marcus Chen", Type: "mail",
		URL:  "https://mail.northwind.example/u/marcus.chen/thread/1",
		Text: "The project is green this week. The project team finished the ledger backfill and the project review is on Friday.",
		Meta: map[string]any{"project": "Atlas"}},
	{ID: "d3", Title: "Expense policy", Author: "Olivia Brennan", Type: "page",
		URL:  "https://wiki.northwind.example/display/OPS/Expense+Policy",
		Text: "The project of updating the expense policy: meals up to 85 USD per day, hotels up to 250 USD per night. Submit receipts within 30 days."},
	{ID: "d4", Title: "VPN disconnects", Type: "ticket",
		URL:  "https://tracker.northwind.example/browse/IT-12",
		Text: "The project VPN client drops the connection every ten minutes from home. Steps: connect, open the staging dashboard, wait."},
}

func corpusDF() *MapDocFreq {
	df := &MapDocFreq{}
	for _, s := range corpus {
		df.AddSeed(s)
	}
	return df
}

func TestTokenize(t *testing.T) {
	got := Tokenize("The Retry-Scheduler is DOWN, and we're fixing it: INV-2024-0193!")
	want := []string{"retry", "scheduler", "fixing", "inv", "2024", "0193"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Tokenize = %q, want %q", got, want)
	}
	for _, sw := range []string{"the", "is", "and", "we", "it"} {
		if slices.Contains(got, sw) {
			t.Errorf("stopword %q kept", sw)
		}
	}
	if got := Tokenize("Müller Straße café 東京 Łódź naïve"); !reflect.DeepEqual(got, []string{"müller", "straße", "café", "東京", "łódź", "naïve"}) {
		t.Errorf("unicode: %q", got)
	}
	if got := Tokenize("  ... the of and  "); len(got) != 0 {
		t.Errorf("all stopwords: %q", got)
	}
}

func TestDedup(t *testing.T) {
	in := []Query{
		{"Payments retry design", StyleKeyword},
		{"payments  retry design!", StyleKeyword},   // case, space, punctuation
		{"design retry payments", StyleKeyword},     // same term set
		{"the payments retry design", StyleKeyword}, // only a stopword added
		{"   ", StyleKeyword},
		{"", StyleNatural},
		{"?!", StyleNatural},
		{"retry design from Priya", StylePerson},
		{"  retry   scheduler ", StyleKeyword},
	}
	got := Dedup(in)
	want := []Query{
		{"Payments retry design", StyleKeyword},
		{"retry design from Priya", StylePerson},
		{"retry scheduler", StyleKeyword},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Dedup = %q, want %q", got, want)
	}
	// stopword-only queries are compared by their normalized text
	if got := Dedup([]Query{{"to be", StyleKeyword}, {"To be.", StyleKeyword}, {"or not", StyleKeyword}}); len(got) != 2 {
		t.Errorf("stopword-only dedup: %q", got)
	}
}

func TestMapDocFreq(t *testing.T) {
	df := NewMapDocFreq("Retry the retry", "retry later", "nothing")
	if df.N() != 3 || df.DF("retry") != 2 || df.DF("RETRY") != 2 || df.DF("the") != 0 || df.DF("missing") != 0 {
		t.Fatalf("N=%d DF(retry)=%d", df.N(), df.DF("retry"))
	}
	var zero MapDocFreq
	if zero.N() != 0 || zero.DF("x") != 0 {
		t.Fatal("zero value")
	}
}

func TestOfflineDeterministic(t *testing.T) {
	df := corpusDF()
	for _, s := range corpus {
		a := Offline(s, 8, df)
		b := Offline(s, 8, corpusDF())
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%s: not deterministic:\n%q\n%q", s.ID, a, b)
		}
	}
}

func TestOfflineK(t *testing.T) {
	df := corpusDF()
	for _, s := range corpus {
		for _, k := range []int{0, 1, 2, 3, 5, 8, 50} {
			qs := Offline(s, k, df)
			if len(qs) > k {
				t.Errorf("%s k=%d: %d queries", s.ID, k, len(qs))
			}
			if k > 0 && len(qs) == 0 {
				t.Errorf("%s k=%d: no queries", s.ID, k)
			}
			if k >= 3 && len(qs) < 3 {
				t.Errorf("%s k=%d: only %d queries: %q", s.ID, k, len(qs), qs)
			}
			// a shorter list is a prefix of a longer one
			if k > 0 {
				long := Offline(s, 50, df)
				if !reflect.DeepEqual(qs, long[:len(qs)]) {
					t.Errorf("%s k=%d: not a prefix", s.ID, k)
				}
			}
		}
	}
}

func TestOfflineNoEmptyNoDuplicates(t *testing.T) {
	df := corpusDF()
	for _, s := range corpus {
		qs := Offline(s, 20, df)
		if !reflect.DeepEqual(Dedup(qs), qs) {
			t.Errorf("%s: duplicates in %q", s.ID, qs)
		}
		for _, q := range qs {
			if strings.TrimSpace(q.Text) == "" || len(Tokenize(q.Text)) == 0 {
				t.Errorf("%s: empty query %q", s.ID, q)
			}
			switch q.Style {
			case StyleKeyword, StyleNatural, StylePerson, StyleFile:
			default:
				t.Errorf("%s: bad style %q", s.ID, q.Style)
			}
		}
	}
}

func TestOfflineStylesFromMetadata(t *testing.T) {
	df := corpusDF()
	qs := Offline(corpus[0], 10, df)
	styles := map[string][]string{}
	for _, q := range qs {
		styles[q.Style] = append(styles[q.Style], q.Text)
	}
	for _, st := range []string{StyleKeyword, StyleNatural, StylePerson, StyleFile} {
		if len(styles[st]) == 0 {
			t.Errorf("no %s query in %q", st, qs)
		}
	}
	for _, p := range styles[StylePerson] {
		if !strings.Contains(p, "Priya") {
			t.Errorf("person query without the author's first name: %q", p)
		}
		if strings.Contains(p, "Raman") {
			t.Errorf("person query uses the last name: %q", p)
		}
	}
	if !slices.ContainsFunc(styles[StyleFile], func(s string) bool { return s == "atlas retry scheduler v2" }) {
		t.Errorf("no file-name query: %q", styles[StyleFile])
	}
	if !slices.Contains(styles[StyleNatural], "what is the status of Atlas") {
		t.Errorf("no project status question: %q", styles[StyleNatural])
	}

	// no author, no file name, no project: none of those styles
	qs = Offline(corpus[3], 10, df)
	for _, q := range qs {
		if q.Style == StylePerson || q.Style == StyleFile || strings.Contains(q.Text, "status of") {
			t.Errorf("unexpected %s query %q for a seed without metadata", q.Style, q.Text)
		}
	}
	// a wiki URL without a file extension gives no file query
	for _, q := range Offline(corpus[2], 10, df) {
		if q.Style == StyleFile {
			t.Errorf("file query from a wiki URL: %q", q.Text)
		}
	}
	// e-mail style authors give a capitalized first name
	s := corpus[3]
	s.Author = "lucia.romero@northwind.example"
	if !slices.ContainsFunc(Offline(s, 10, df), func(q Query) bool { return q.Style == StylePerson && strings.Contains(q.Text, "Lucia") }) {
		t.Errorf("no person query for an e-mail author: %q", Offline(s, 10, df))
	}
}

func TestOfflineSalientOverCommon(t *testing.T) {
	df := corpusDF()
	// "project" occurs in every document, "idempotency" only in d1
	if df.DF("project") != len(corpus) {
		t.Fatalf("DF(project) = %d", df.DF("project"))
	}
	qs := Offline(corpus[0], 10, df)
	var kw []string
	for _, q := range qs {
		if q.Style == StyleKeyword || q.Style == StylePerson {
			kw = append(kw, q.Text)
		}
	}
	joined := strings.ToLower(strings.Join(kw, " | "))
	if !strings.Contains(joined, "idempotency") {
		t.Errorf("salient term missing from keyword queries: %q", kw)
	}
	if strings.Contains(joined, "project") {
		t.Errorf("common term in keyword queries: %q", kw)
	}
	for _, q := range qs {
		for _, term := range Tokenize(q.Text) {
			if IsStopword(term) {
				t.Errorf("stopword %q in %q", term, q.Text)
			}
		}
		if q.Style == StyleKeyword {
			for _, w := range strings.Fields(q.Text) {
				if IsStopword(strings.ToLower(w)) {
					t.Errorf("stopword %q in keyword query %q", w, q.Text)
				}
			}
			if n := len(strings.Fields(q.Text)); n < 1 || n > 4 {
				t.Errorf("keyword query of %d terms: %q", n, q.Text)
			}
		}
	}
	// the person query pairs the first name with a salient term of d1
	if p := firstOf(qs, StylePerson); !strings.HasPrefix(p, "Priya ") || df.DF(strings.Fields(p)[1]) != 1 {
		t.Errorf("person query = %q", p)
	}
}

func firstOf(qs []Query, style string) string {
	for _, q := range qs {
		if q.Style == style {
			return q.Text
		}
	}
	return ""
}

func TestOfflineNotJustTheTitle(t *testing.T) {
	df := corpusDF()
	for _, s := range corpus {
		qs := Offline(s, 5, df)
		title := normKey(s.Title)
		for i, q := range qs {
			if normKey(q.Text) == title && i < len(qs)-1 {
				t.Errorf("%s: full title %q before other queries: %q", s.ID, q.Text, qs)
			}
		}
		if len(qs) == 1 && normKey(qs[0].Text) == title {
			t.Errorf("%s: only the title: %q", s.ID, qs)
		}
	}
}

func TestOfflineTitleGoesLast(t *testing.T) {
	s := corpus[0]
	s.URL = "/drive/Engineering/Specs/payments-retry-design.docx" // file name = title
	qs := Offline(s, 50, corpusDF())
	last := qs[len(qs)-1]
	if last.Style != StyleFile || last.Text != "payments retry design" {
		t.Errorf("title-like query not last: %q", qs)
	}
}

func TestOfflineUnicodeAndEdgeCases(t *testing.T) {
	s := Seed{ID: "u1", Title: "Überprüfung der Zahlungsabläufe – café Zürich",
		Author: "Tomás Herrera", Type: "file", URL: "/drive/Équipe/Notes/réunion-zürich-münchen.docx",
		Text: "Die Überprüfung der Zahlungsabläufe im Büro Zürich: Rückerstattungen dauern zu lange. 東京オフィス の 返金 処理 も 遅い。 Naïve retries cause doppelte Abbuchungen."}
	df := NewMapDocFreq(s.Title+" "+s.Text, "Zürich Büro Kaffee", "Zürich Wetter")
	qs := Offline(s, 10, df)
	if len(qs) < 3 {
		t.Fatalf("too few queries: %q", qs)
	}
	for _, q := range qs {
		if !utf8.ValidString(q.Text) || strings.TrimSpace(q.Text) == "" {
			t.Errorf("bad query %q", q.Text)
		}
	}
	if f := firstOf(qs, StyleFile); f != "réunion zürich münchen" {
		t.Errorf("file query = %q in %q", f, qs)
	}
	if p := firstOf(qs, StylePerson); !strings.HasPrefix(p, "Tomás ") {
		t.Errorf("person query = %q", p)
	}

	// degenerate seeds
	if got := Offline(Seed{}, 5, nil); len(got) != 0 {
		t.Errorf("empty seed: %q", got)
	}
	if got := Offline(Seed{Title: "The", Text: "of and the"}, 5, nil); len(got) > 1 {
		t.Errorf("stopword seed: %q", got)
	} else {
		for _, q := range got {
			if strings.TrimSpace(q.Text) == "" {
				t.Error("empty query")
			}
		}
	}
	// a title only and no corpus statistics still works
	if got := Offline(Seed{Title: "Quarterly budget review"}, 3, nil); len(got) == 0 {
		t.Error("title-only seed gave nothing")
	}
	// empty DocFreq (N = 0) behaves like nil
	if !reflect.DeepEqual(Offline(corpus[0], 6, &MapDocFreq{}), Offline(corpus[0], 6, nil)) {
		t.Error("empty DocFreq differs from nil")
	}
}

// TestOfflineOnDemoCorpus runs the synthesizer over the embedded demo corpus.
func TestOfflineOnDemoCorpus(t *testing.T) {
	docs, err := demo.Docs()
	if err != nil {
		t.Fatal(err)
	}
	df := &MapDocFreq{}
	seeds := make([]Seed, len(docs))
	for i, d := range docs {
		seeds[i] = Seed{ID: d.ID, Title: d.Title, Text: d.Text, Author: d.Author, Type: d.Type, URL: d.URL, Modified: d.Modified, Meta: d.Meta}
		df.AddSeed(seeds[i])
	}
	styles := map[string]int{}
	firstStyles := map[string]int{}
	for _, s := range seeds {
		qs := Offline(s, 6, df)
		if len(qs) < 4 {
			t.Errorf("%s: %d queries: %q", s.ID, len(qs), qs)
		}
		firstStyles[qs[0].Style]++
		for _, q := range qs {
			styles[q.Style]++
			if strings.TrimSpace(q.Text) == "" {
				t.Errorf("%s: empty query", s.ID)
			}
		}
	}
	for _, st := range []string{StyleKeyword, StyleNatural, StylePerson, StyleFile} {
		if styles[st] == 0 || firstStyles[st] == 0 {
			t.Errorf("style %s: %d queries, %d first", st, styles[st], firstStyles[st])
		}
	}
}
