package features

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func feat(t *testing.T, p Pair) []float64 {
	t.Helper()
	x := Extract(p, nil)
	if len(x) != NumFeatures || len(Names()) != NumFeatures {
		t.Fatalf("got %d features, %d names, want %d", len(x), len(Names()), NumFeatures)
	}
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("feature %s = %v", names[i], v)
		}
	}
	return x
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func check(t *testing.T, x []float64, idx int, want float64) {
	t.Helper()
	if !near(x[idx], want) {
		t.Errorf("%s = %v, want %v", names[idx], x[idx], want)
	}
}

func TestNamesStableAndUnique(t *testing.T) {
	seen := map[string]bool{}
	for i, n := range Names() {
		if n == "" || seen[n] {
			t.Fatalf("name %d %q empty or duplicate", i, n)
		}
		seen[n] = true
	}
	if Names()[0] != "bm25" || Names()[NumFeatures-1] != "answer_number" {
		t.Fatalf("order changed: %v", Names())
	}
}

func TestTokenize(t *testing.T) {
	got := Tokenize("Bounty-Hunter's MONEY, Café 2019 Ünïcode_x", nil)
	want := []string{"bounty", "hunter", "s", "money", "café", "2019", "ünïcode", "x"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Tokenize = %q, want %q", got, want)
	}
	if !IsStopword("the") || IsStopword("bounty") {
		t.Fatal("stopwords")
	}
	for w, s := range map[string]string{"hunters": "hunter", "hunter": "hunter", "houses": "hous", "house": "hous",
		"making": "mak", "make": "mak", "cities": "city", "named": "nam", "glass": "glass", "2019": "2019", "bus": "bus"} {
		if got := Stem(w); got != s {
			t.Errorf("Stem(%q) = %q, want %q", w, got, s)
		}
	}
}

func TestBM25Features(t *testing.T) {
	x := feat(t, Pair{Query: "q", BM25: 6, BM25Max: 12, BM25Rank: 4, NCandidates: 8})
	check(t, x, FBM25, 6)
	check(t, x, FBM25Log, math.Log1p(6))
	check(t, x, FBM25Norm, 0.5)
	check(t, x, FBM25RecipRank, 0.25)
	check(t, x, FBM25RankFrac, 0.5)
	x = feat(t, Pair{Query: "q"})
	check(t, x, FBM25Norm, 0)
	check(t, x, FBM25RecipRank, 0)
	check(t, x, FBM25RankFrac, 1)
}

func TestCoverage(t *testing.T) {
	p := Pair{
		Query: "How does a bounty hunter make money",
		Title: "Bounty hunters",
		Body:  "A bounty hunter is paid money when the fugitive returns.",
	}
	x := feat(t, p)
	// terms: bounty hunter make money (4)
	check(t, x, FQueryLen, 4)
	check(t, x, FCovTitle, 0.25)     // bounty
	check(t, x, FCovTitleStem, 0.5)  // bounty, hunter(s)
	check(t, x, FCovBody, 0.75)      // bounty hunter money
	check(t, x, FCovBodyStem, 0.75)  // same
	check(t, x, FCovAnyStem, 0.75)   // make missing everywhere
	check(t, x, FLongestRun, 2.0/4)  // "bounty hunter"
	check(t, x, FPhraseBody, 0)      // not the whole query
	check(t, x, FFirstPos, 0)        // first non-stop body token is "bounty"
	check(t, x, FTermDensity, 3.0/6) // bounty hunter paid money fugitive returns
	check(t, x, FLogDocLen, math.Log1p(10))

	// stemming lets "makes" match "make"
	p.Body = "bounty hunters makes money"
	x = feat(t, p)
	check(t, x, FCovBody, 0.5)
	check(t, x, FCovBodyStem, 1)
	check(t, x, FLongestRun, 1)
	check(t, x, FMinWindow, 1)
}

func TestPhrase(t *testing.T) {
	p := Pair{Query: "corn mash", Title: "Easy Corn Mash recipe", Body: "mash the corn"}
	x := feat(t, p)
	check(t, x, FPhraseTitle, 1)
	check(t, x, FPhraseBody, 0)
	check(t, x, FCovBody, 1)
	p.Body = "how to make a corn-mash at home"
	x = feat(t, p)
	check(t, x, FPhraseBody, 1)
	// stopwords are part of the phrase
	p = Pair{Query: "stand in your way", Body: "stand your way"}
	x = feat(t, p)
	check(t, x, FPhraseBody, 0)
	check(t, x, FLongestRun, 1) // stand, way are adjacent once stopwords are skipped
}

func TestProximity(t *testing.T) {
	q := "narwhal tusk made"
	close := feat(t, Pair{Query: q, Body: "the narwhal tusk is made of ivory"})
	far := feat(t, Pair{Query: q, Body: "narwhal alpha beta gamma delta epsilon tusk zeta eta theta iota kappa made"})
	check(t, close, FMinWindow, 1)    // narwhal tusk made (is, of stop)
	check(t, far, FMinWindow, 3.0/13) // window spans all 13 tokens
	check(t, far, FLongestRun, 1.0/3) // no two consecutive
	check(t, close, FLongestRun, 1)   // narwhal tusk made consecutive after stopwords
	mid := feat(t, Pair{Query: q, Body: "made in x y z then narwhal tusk narwhal q made"})
	// smallest window with narwhal, tusk, made: "tusk narwhal q made" = 4 tokens or "made x y z then narwhal tusk"
	check(t, mid, FMinWindow, 3.0/4)
	check(t, mid, FFirstPos, 0)
}

func TestMetadata(t *testing.T) {
	p := Pair{
		Query:    "smith quarterly report pdf 2023 march budget 42",
		URL:      "https://example.com/finance/reports/budget.pdf",
		Author:   "Jane Smith",
		Type:     "Report",
		Modified: time.Date(2023, time.March, 5, 0, 0, 0, 0, time.UTC),
		Body:     "Figure 42 shows it.",
	}
	x := feat(t, p)
	check(t, x, FMetaAuthor, 1)
	check(t, x, FMetaURL, 1)
	check(t, x, FMetaType, 1)
	check(t, x, FMetaDate, 1)
	check(t, x, FNumQuery, 1)
	check(t, x, FNumMatch, 0.5) // 42 found, 2023 not
	p.Modified = time.Date(2022, time.March, 5, 0, 0, 0, 0, time.UTC)
	p.Author, p.URL, p.Type = "Joe Bloggs", "https://a.org/x/y.html", "memo"
	x = feat(t, p)
	check(t, x, FMetaDate, 0.5)
	check(t, x, FMetaAuthor, 0)
	check(t, x, FMetaURL, 0)
	check(t, x, FMetaType, 0)
	// "may" alone is the verb, not the month
	x = feat(t, Pair{Query: "what may happen", Modified: time.Date(2022, time.May, 1, 0, 0, 0, 0, time.UTC)})
	check(t, x, FMetaDate, 0)
	x = feat(t, Pair{Query: "may 2022 minutes", Modified: time.Date(2022, time.May, 1, 0, 0, 0, 0, time.UTC)})
	check(t, x, FMetaDate, 1)
	x = feat(t, Pair{Query: "minutes 2022"})
	check(t, x, FMetaDate, 0) // zero Modified
}

func TestEmptyQueryAndDoc(t *testing.T) {
	x := feat(t, Pair{Body: "some words here"})
	for _, i := range []int{FCovBody, FCovTitle, FCovAnyStem, FLongestRun, FMinWindow, FPhraseBody, FQueryLen, FTermDensity, FMetaURL} {
		check(t, x, i, 0)
	}
	check(t, x, FFirstPos, 1)
	check(t, x, FLogDocLen, math.Log1p(3))
	x = feat(t, Pair{Query: "the of a"}) // stopwords only, empty doc
	check(t, x, FQueryLen, 0)
	check(t, x, FPhraseBody, 0)
	x = feat(t, Pair{Query: "  ,,, "})
	check(t, x, FLogDocLen, 0)
}

func TestUnicode(t *testing.T) {
	x := feat(t, Pair{Query: "Müller Straße", Body: "Die MÜLLER-straße in Zürich; 東京 tokyo"})
	check(t, x, FCovBody, 1)
	check(t, x, FLongestRun, 1)
	x = feat(t, Pair{Query: "東京", Body: "東京 tokyo"})
	check(t, x, FCovBody, 1)
	check(t, x, FPhraseBody, 1)
}

func hugeDoc(words int) string {
	var sb strings.Builder
	filler := []string{"alpha", "beta", "gamma", "delta", "the", "of"}
	for i := 0; i < words; i++ {
		if i == words-10 {
			sb.WriteString("narwhal tusk ")
			continue
		}
		sb.WriteString(filler[i%len(filler)])
		sb.WriteByte(' ')
	}
	return sb.String()
}

func TestHugeDoc(t *testing.T) {
	body := hugeDoc(22600)
	x := feat(t, Pair{Query: "narwhal tusk", Body: body})
	check(t, x, FBodyTruncated, 1)
	check(t, x, FCovBody, 1)                   // coverage sees the whole body
	check(t, x, FLongestRun, 0)                // but the terms lie beyond the scanned cap
	check(t, x, FFirstPos, 1)                  // not in the scanned part
	check(t, x, FLogDocLen, math.Log1p(22601)) // one filler word replaced by two terms
	start := time.Now()
	for i := 0; i < 20; i++ {
		Extract(Pair{Query: "narwhal tusk", Body: body}, x[:0])
	}
	if d := time.Since(start) / 20; d > 20*time.Millisecond {
		t.Fatalf("huge doc took %v per pair", d)
	}
	x = feat(t, Pair{Query: "narwhal tusk", Body: "narwhal tusk " + body})
	check(t, x, FLongestRun, 1)
}

func TestNoAllocSteadyState(t *testing.T) {
	p := Pair{Query: "how does a bounty hunter make money", Title: "Bounty hunters",
		Body: strings.Repeat("A bounty hunter is paid money when the fugitive returns to court. ", 5),
		URL:  "https://x.org/bounty/hunter.html", Author: "Ann Lee", Type: "web", BM25: 3, BM25Max: 5, BM25Rank: 2, NCandidates: 10}
	dst := make([]float64, 0, NumFeatures)
	Extract(p, dst)
	allocs := testing.AllocsPerRun(200, func() { dst = Extract(p, dst[:0]) })
	if allocs > 0.5 {
		t.Fatalf("Extract allocates %v per call", allocs)
	}
}

func TestDeterministic(t *testing.T) {
	p := Pair{Query: "corn mash whiskey", Body: "corn mash is the base of whiskey; mash corn slowly"}
	a := Extract(p, nil)
	b := Extract(p, nil)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("not deterministic")
	}
}

// BenchmarkExtract: one op extracts the features of a whole set of pairs
// (different queries, passages and ranks), so the figure is not that of one
// pair's hot caches; ns/pair is reported beside ns/op.
func BenchmarkExtract(b *testing.B) {
	body := "Other terms for this job are bail enforcement agent, fugitive recovery agent, and bail fugitive investigator. The job description is simple – a bounty hunter captures fugitives from justice in exchange for a monetary reward (the bounty)."
	queries := []string{"how does a bounty hunter make money", "what is a bail enforcement agent",
		"fugitive recovery agent salary", "how long do you blanch spinach", "who owns drs train fleet", "price of corn mash"}
	words := strings.Fields(body)
	var ps []Pair
	for q, query := range queries {
		for i := range 8 {
			k := (3*i + q) % len(words)
			ps = append(ps, Pair{Query: query, Body: strings.Join(append(append([]string{}, words[k:]...), words[:k]...), " "),
				BM25: 5 - float64(i)*0.5, BM25Max: 5, BM25Rank: i + 1, NCandidates: 8})
		}
	}
	dst := make([]float64, 0, NumFeatures)
	b.ReportAllocs()
	for b.Loop() {
		for _, p := range ps {
			dst = Extract(p, dst[:0])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ps)), "ns/pair")
}

func TestAnswerCues(t *testing.T) {
	x := feat(t, Pair{Query: "how long do you blanch spinach", Body: "Blanch spinach for 2 minutes, not too long."})
	check(t, x, FCovAllStem, 1)
	check(t, x, FDocNumber, 1)
	check(t, x, FAnswerNumber, 1)
	x = feat(t, Pair{Query: "how long do you blanch spinach", Body: "Spinach is green."})
	check(t, x, FCovAllStem, 0)
	check(t, x, FDocNumber, 0)
	check(t, x, FAnswerNumber, 0)
	x = feat(t, Pair{Query: "who owns drs train fleet", Body: "The fleet has 12 trains."})
	check(t, x, FDocNumber, 1)
	check(t, x, FAnswerNumber, 0) // not a quantity question
	x = feat(t, Pair{Query: "price of corn mash", Body: "Corn mash costs 4 dollars"})
	check(t, x, FAnswerNumber, 1)
}
