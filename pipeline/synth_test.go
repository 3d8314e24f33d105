package pipeline

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/qrelbench/qrelbench/store"
)

var synthDocs = []tdoc{
	{"wiki-1", "Falcon payments retry design", "The falcon payments service retries failed card charges with exponential backoff. Owned by the payments platform team."},
	{"wiki-2", "Onboarding checklist for new engineers", "Laptop setup, VPN access, the on-call rotation and the code review guidelines for new engineers."},
	{"wiki-3", "Quarterly security review 2024", "Findings of the quarterly security review: rotated credentials, patched the ingress proxy, audited vendor access."},
	{"wiki-4", "Kubernetes cluster upgrade runbook", "Steps to upgrade the production kubernetes cluster: drain nodes, upgrade the control plane, verify workloads."},
	{"wiki-5", "Falcon payments retry design", "The falcon payments service retries failed card charges with exponential backoff. Owned by the payments platform team."},
}

type synthQuery struct {
	ext, text, origin, generator, seed, pairSource string
	runID                                          int64
}

func synthQueries(t *testing.T, st *store.Store) []synthQuery {
	t.Helper()
	rows, err := st.DB().Query(`SELECT q.ext_id, q.text, q.origin, q.generator, COALESCE(d.ext_id, ''), COALESCE(p.source, ''), COALESCE(q.run_id, 0)
		FROM queries q LEFT JOIN documents d ON d.id = q.seed_doc_id LEFT JOIN pairs p ON p.query_id = q.id AND p.doc_id = q.seed_doc_id ORDER BY q.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []synthQuery
	for rows.Next() {
		var q synthQuery
		if err := rows.Scan(&q.ext, &q.text, &q.origin, &q.generator, &q.seed, &q.pairSource, &q.runID); err != nil {
			t.Fatal(err)
		}
		out = append(out, q)
	}
	return out
}

// checkNoDuplicates asserts no two queries of the workspace are equal
// ignoring case and punctuation.
func checkNoDuplicates(t *testing.T, qs []synthQuery) {
	t.Helper()
	seen := map[string]string{}
	for _, q := range qs {
		k := normaliseQuery(q.text)
		if prev, ok := seen[k]; ok {
			t.Errorf("queries %s and %s are duplicates: %q", prev, q.ext, q.text)
		}
		seen[k] = q.ext
	}
}

func TestSynthesizeOffline(t *testing.T) {
	ctx := context.Background()
	st := newWorkspace(t, "0-3")
	populate(t, st, synthDocs, nil)
	// An imported query that the offline synthesizer would also write for
	// wiki-1: learn it from a scratch workspace first.
	scratch := newWorkspace(t, "0-3")
	populate(t, scratch, synthDocs, nil)
	if _, err := Synthesize(ctx, scratch, SynthOptions{DocIDs: []string{"wiki-1"}, PerDoc: 3}); err != nil {
		t.Fatal(err)
	}
	dupText := synthQueries(t, scratch)[0].text
	imported := store.Query{ExtID: "imp-1", Text: strings.ToUpper(dupText) + "?"}
	if _, err := st.PutQuery(ctx, &imported, false); err != nil {
		t.Fatal(err)
	}

	var log progressLog
	run, err := Synthesize(ctx, st, SynthOptions{Docs: 3, PerDoc: 3, Progress: log.add})
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != store.RunDone || run.Done != 3 || run.Failed != 0 || run.CostUSD != 0 {
		t.Fatalf("run %+v", run)
	}
	log.checkMonotone(t, 3, store.RunDone)
	qs := synthQueries(t, st)
	seeds := map[string]int{}
	for _, q := range qs[1:] {
		if q.origin != store.OriginSynthetic || q.generator != OfflineSynthesizer || q.pairSource != store.SourceSeed || q.runID != run.ID ||
			!strings.HasPrefix(q.ext, "syn-offline-"+q.seed+"-") {
			t.Errorf("query %+v", q)
		}
		seeds[q.seed]++
	}
	if len(seeds) != 3 || seeds["wiki-1"] == 0 || seeds["wiki-2"] == 0 || seeds["wiki-3"] == 0 {
		t.Fatalf("seeds %v", seeds)
	}
	for s, n := range seeds {
		if n > 3 {
			t.Errorf("%s seeded %d queries, asked for 3", s, n)
		}
	}
	checkNoDuplicates(t, qs)
	if pairs := countRows(t, st, "pairs"); pairs != len(qs)-1 {
		t.Fatalf("%d pairs for %d synthetic queries", pairs, len(qs)-1)
	}

	// The next two documents (wiki-5 duplicates wiki-1 word for word), then
	// nothing left.
	run2, err := Synthesize(ctx, st, SynthOptions{Docs: 3, PerDoc: 3})
	if err != nil || run2.ID == run.ID || run2.Done != 2 {
		t.Fatalf("second run %+v %v", run2, err)
	}
	qs = synthQueries(t, st)
	checkNoDuplicates(t, qs)
	nq, np := len(qs), countRows(t, st, "pairs")
	for i := 0; i < 2; i++ {
		r, err := Synthesize(ctx, st, SynthOptions{Docs: 3, PerDoc: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(synthQueries(t, st)) != nq || countRows(t, st, "pairs") != np {
			t.Fatalf("rerun %d added queries or pairs: %+v", i, r)
		}
	}
}

func TestSynthesizeModel(t *testing.T) {
	ctx := context.Background()
	st := newWorkspace(t, "0-3")
	var docs []tdoc
	for i := 0; i < 6; i++ {
		docs = append(docs, tdoc{fmt.Sprintf("d%d", i), fmt.Sprintf("Falcon plan %d", i), fmt.Sprintf("The falcon plan. DOC=d%d\n", i)})
	}
	populate(t, st, docs, nil)
	imported := store.Query{ExtID: "imp", Text: "Company handbook."}
	if _, err := st.PutQuery(ctx, &imported, false); err != nil {
		t.Fatal(err)
	}
	f := newFakeLLM(t, grades03)
	f.synthAns = func(doc string, attempt int) string {
		if doc == "d3" && attempt == 1 {
			return "Sure! Here are some queries: falcon plan" // not JSON: the seed fails
		}
		return fmt.Sprintf(`{"queries":[
			{"text":"falcon plan for %[1]s","style":"keyword"},
			{"text":"Falcon plan for %[1]s!","style":"keyword"},
			{"text":"company handbook","style":"file"},
			{"text":"who wrote the %[1]s falcon plan","style":"person"}]}`, doc)
	}
	addModelLabeler(t, st, "gpt", f, store.LabelerConfig{Concurrency: 3})

	run, err := Synthesize(ctx, st, SynthOptions{Labeler: "gpt", PerDoc: 3})
	if err != nil {
		t.Fatal(err)
	}
	one := usage{in: 1000, out: 50}
	if run.Done != 6 || run.Failed != 1 || run.TokensIn != 6000 || run.TokensOut != 300 || !approx(run.CostUSD, 6*one.cost()) || !approx(run.CostUSD, f.paidCost) {
		t.Fatalf("run %+v (server charged %g)", run, f.paidCost)
	}
	if run.Status != store.RunDone {
		t.Fatalf("run status %s", run.Status)
	}
	qs := synthQueries(t, st)
	checkNoDuplicates(t, qs)
	// Each document but d3 got exactly "falcon plan for dN": the model's
	// fourth query is beyond PerDoc, the second a duplicate of the first,
	// the third a duplicate of the imported query.
	got := map[string]string{}
	for _, q := range qs[1:] {
		if q.generator != "gpt" || q.origin != store.OriginSynthetic || q.pairSource != store.SourceSeed || q.runID != run.ID {
			t.Errorf("query %+v", q)
		}
		if _, dup := got[q.seed]; dup {
			t.Errorf("%s seeded two queries", q.seed)
		}
		got[q.seed] = q.text
	}
	for i := 0; i < 6; i++ {
		d := fmt.Sprintf("d%d", i)
		want := "falcon plan for " + d
		if i == 3 {
			want = ""
		}
		if got[d] != want {
			t.Errorf("%s: %q, want %q", d, got[d], want)
		}
	}

	// The rerun asks only for the failed document.
	run2, err := Synthesize(ctx, st, SynthOptions{Labeler: "gpt", PerDoc: 3})
	if err != nil || run2.ID == run.ID || run2.Done != 1 || run2.Failed != 0 || !approx(run2.CostUSD, one.cost()) {
		t.Fatalf("rerun %+v %v", run2, err)
	}
	recv, _ := f.counts()
	for d, n := range recv {
		if want := map[bool]int{true: 2, false: 1}[d == "d3"]; n != want {
			t.Errorf("%s: %d requests, want %d", d, n, want)
		}
	}
	if qs := synthQueries(t, st); len(qs) != 7 {
		t.Fatalf("%d queries, want 7", len(qs))
	}
	before := f.total.Load()
	if r, err := Synthesize(ctx, st, SynthOptions{Labeler: "gpt", PerDoc: 3}); err != nil || r.ID != 0 || f.total.Load() != before {
		t.Fatalf("third run %+v, %d requests: %v", r, f.total.Load()-before, err)
	}
	// The offline synthesizer is a different generator: it seeds them all.
	if r, err := Synthesize(ctx, st, SynthOptions{PerDoc: 1}); err != nil || r.Done != 6 {
		t.Fatalf("offline after model: %+v %v", r, err)
	}
}
