package store

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qrelbench/qrelbench/store/demo"
	"github.com/qrelbench/qrelbench/store/storetest"
)

// candidateCase is a corpus and, per query text, the documents to score.
type candidateCase struct {
	st      *Store
	queries map[string][]int64
}

// demoCandidates loads the demo corpus and pairs each of a few hundred
// queries (built from the documents' own titles and words, so they match)
// with 40 documents.
func demoCandidates(t *testing.T) candidateCase {
	st := newTestStore(t, "0-3")
	ctx := context.Background()
	docs, err := demo.Docs()
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	var texts []string
	err = st.Tx(ctx, func(tx *Store) error {
		for _, d := range docs {
			doc := Document{ExtID: d.ID, Title: d.Title, Body: d.Text, URL: d.URL, Author: d.Author}
			if _, err := tx.PutDocument(ctx, &doc, false); err != nil {
				return err
			}
			ids = append(ids, doc.ID)
			texts = append(texts, d.Title+" "+d.Text)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c := candidateCase{st: st, queries: map[string][]int64{}}
	for i, text := range texts {
		w := strings.Fields(text)
		q := strings.Join(w[:min(len(w), 3+i%5)], " ") + " Policy VPN budget"
		cands := make([]int64, 0, 40)
		for k := 0; k < 40; k++ {
			cands = append(cands, ids[(i*7+k*13)%len(ids)])
		}
		c.queries[q] = cands
	}
	return c
}

// jsonlCandidates loads one of the shared data's pair files: every passage a
// document, every query scored against its judged passages.
func jsonlCandidates(t *testing.T, path string, maxPairs int) candidateCase {
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("%s: %v", path, err)
	}
	defer f.Close()
	st := newTestStore(t, "0-3")
	ctx := context.Background()
	c := candidateCase{st: st, queries: map[string][]int64{}}
	docIDs := map[string]int64{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	err = st.Tx(ctx, func(tx *Store) error {
		n := 0
		for sc.Scan() && n < maxPairs {
			var r struct {
				QueryText string `json:"query_text"`
				DocID     string `json:"doc_id"`
				DocText   string `json:"doc_text"`
			}
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				return err
			}
			id, ok := docIDs[r.DocID]
			if !ok {
				d := Document{ExtID: r.DocID, Body: r.DocText}
				if _, err := tx.PutDocument(ctx, &d, false); err != nil {
					return err
				}
				id = d.ID
				docIDs[r.DocID] = id
			}
			c.queries[r.QueryText] = append(c.queries[r.QueryText], id)
			n++
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCandidateBM25MatchesFTS5 checks that scoring only the candidates gives
// every pair the score FTS5's bm25() gives it when it ranks the corpus.
func TestCandidateBM25MatchesFTS5(t *testing.T) {
	cases := map[string]func(t *testing.T) candidateCase{
		"demo": demoCandidates,
		"dl19": func(t *testing.T) candidateCase {
			return jsonlCandidates(t, filepath.Join(storetest.DataDir(t), "trecdl", "dl19.jsonl"), 1<<30)
		},
		"test-visible": func(t *testing.T) candidateCase {
			return jsonlCandidates(t, filepath.Join(storetest.DataDir(t), "llmjudge", "test-visible.jsonl"), 1<<30)
		},
	}
	for name, load := range cases {
		t.Run(name, func(t *testing.T) {
			c := load(t)
			ctx := context.Background()
			pairs, matched, viaFTS5 := 0, 0, 0
			for q, cands := range c.queries {
				got, err := c.st.BM25Scores(ctx, q, cands)
				if err != nil {
					t.Fatal(err)
				}
				want := map[int64]float64{}
				if err := c.st.fts5BM25(ctx, FTSQuery(q), cands, want); err != nil {
					t.Fatal(err)
				}
				terms := ftsTerms(q)
				out := map[int64]float64{}
				rest, ok, err := c.st.candidateBM25(ctx, terms, cands, out)
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					viaFTS5 += len(cands)
				} else {
					viaFTS5 += len(rest)
				}
				for _, id := range cands {
					pairs++
					g, w := got[id], want[id]
					if w != 0 {
						matched++
					}
					if math.Abs(g-w) > 1e-9*math.Max(1, math.Abs(w)) {
						t.Fatalf("query %q doc %d: candidate BM25 %.12g, FTS5 %.12g", q, id, g, w)
					}
				}
			}
			if matched == 0 {
				t.Fatal("no candidate matched its query: the comparison proves nothing")
			}
			// The Go path must carry the load, or the speed-up is not there.
			if viaFTS5*10 > pairs {
				t.Errorf("%d of %d pairs fell back to FTS5", viaFTS5, pairs)
			}
			t.Logf("%d pairs (%d matching) equal to FTS5's bm25(); %d scored by FTS5 itself", pairs, matched, viaFTS5)
		})
	}
}

// TestCandidateBM25FollowsTheIndex checks that cached corpus statistics are
// dropped when documents are added: the scores stay equal to FTS5's.
func TestCandidateBM25FollowsTheIndex(t *testing.T) {
	st := newTestStore(t, "0-3")
	ctx := context.Background()
	add := func(ext, body string) int64 {
		d := Document{ExtID: ext, Body: body}
		if _, err := st.PutDocument(ctx, &d, false); err != nil {
			t.Fatal(err)
		}
		return d.ID
	}
	a := add("a", "vpn setup guide for laptops")
	b := add("b", "expense policy")
	check := func() {
		t.Helper()
		got, err := st.BM25Scores(ctx, "vpn laptop", []int64{a, b})
		if err != nil {
			t.Fatal(err)
		}
		want := map[int64]float64{}
		if err := st.fts5BM25(ctx, FTSQuery("vpn laptop"), []int64{a, b}, want); err != nil {
			t.Fatal(err)
		}
		if math.Abs(got[a]-want[a]) > 1e-12 || got[b] != 0 || want[b] != 0 {
			t.Fatalf("got %v, FTS5 %v", got, want)
		}
	}
	check()
	for i := range 20 {
		add(fmt.Sprint("n", i), "the vpn gateway list and other laptop notes")
	}
	check()
}

// TestPorterMatchesFTS5 stems every distinct ASCII word of real text with the
// Go port and with FTS5's porter tokenizer, and requires the same token.
func TestPorterMatchesFTS5(t *testing.T) {
	words := map[string]bool{}
	addText := func(s string) {
		for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
			return !('a' <= r && r <= 'z' || '0' <= r && r <= '9')
		}) {
			words[w] = true
		}
	}
	docs, err := demo.Docs()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		addText(d.Title + " " + d.Text)
	}
	// Hand-picked words that exercise each step's rules and conditions.
	addText(`caresses ponies ties caress cats feed agreed plastered bled motoring sing conflated troubled sized
		hopping tanned falling hissing fizzed failing filing happy sky relational conditional rational valenci
		hesitanci digitizer conformabli radicalli differentli vileli analogousli vietnamization predication
		operator feudalism decisiveness hopefulness callousness formaliti sensitiviti sensibiliti triplicate
		formative formalize electriciti electrical hopeful goodness revival allowance inference airliner
		gyroscopic adjustable defensible irritant replacement adjustment dependent adoption homologou
		communism activate angulariti homologous effective bowdlerize probate rate cease controll roll
		generalizations oscillators yyy aaa ied eed ing bing sing ying xing 123abc 4th abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzz`)
	if dir := storetest.FindDataDir(); dir != "" {
		f, err := os.Open(filepath.Join(dir, "llmjudge", "test-visible.jsonl"))
		if err == nil {
			sc := bufio.NewScanner(f)
			sc.Buffer(make([]byte, 1<<20), 1<<26)
			for sc.Scan() {
				addText(sc.Text())
			}
			f.Close()
		}
	} else {
		t.Log("shared data absent: stemming checked on the demo corpus only")
	}
	st := newTestStore(t, "0-3")
	db := st.DB()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	// The same tokenizer as documents_fts (0001_init.sql).
	if _, err := conn.ExecContext(ctx, `CREATE VIRTUAL TABLE temp.stem USING fts5(w, tokenize='porter unicode61 remove_diacritics 2');
		CREATE VIRTUAL TABLE temp.stem_v USING fts5vocab(temp, stem, instance)`); err != nil {
		t.Fatal(err)
	}
	list := make([]string, 0, len(words))
	for w := range words {
		list = append(list, w)
	}
	for i, w := range list {
		if _, err := conn.ExecContext(ctx, `INSERT INTO temp.stem(rowid, w) VALUES (?, ?)`, i+1, w); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := conn.QueryContext(ctx, `SELECT doc, term FROM temp.stem_v`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := 0
	for rows.Next() {
		var doc int
		var term string
		if err := rows.Scan(&doc, &term); err != nil {
			t.Fatal(err)
		}
		seen++
		if got := porterStem(list[doc-1]); got != term {
			t.Errorf("stem(%q) = %q, FTS5 %q", list[doc-1], got, term)
		}
	}
	if seen != len(list) {
		t.Fatalf("FTS5 gave %d tokens for %d words", seen, len(list))
	}
	t.Logf("%d distinct words stemmed as FTS5 does", len(list))
}
