package store

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"testing"

	"github.com/qrelbench/qrelbench/store/storetest"
)

// TestTopKMethodsAgree: every way of taking the top k (searchMethods)
// gives FTS5's documents (searchFTS5), in its order (score, then rowid),
// with its scores to 1e-9, on every query of the search benchmarks over their
// corpora, and on the real passages of ../shared/data.
func TestTopKMethodsAgree(t *testing.T) {
	ctx := context.Background()
	check := func(t *testing.T, st *Store, queries []string) {
		differ := 0
		for qi, q := range queries {
			k, exclude := 10, []int64(nil)
			if qi%10 == 9 {
				k = 100 // deeper lists, and a seed to leave out
			}
			want, err := st.searchFTS5(ctx, q, k)
			if err != nil {
				t.Fatal(err)
			}
			if qi%10 == 9 && len(want) > 3 {
				exclude = []int64{want[0].DocID, want[3].DocID}
				if want, err = st.searchFTS5(ctx, q, k, exclude...); err != nil {
					t.Fatal(err)
				}
			}
			for i := 1; i < len(want); i++ {
				if want[i].Score == want[i-1].Score && want[i].DocID < want[i-1].DocID {
					t.Fatalf("%q: FTS5 breaks a tie at %d by rowid descending", q, i)
				}
			}
			for _, m := range searchMethods[1:] {
				got, err := m.search(st, ctx, q, k, exclude...)
				if err != nil {
					t.Fatal(err)
				}
				same := len(got) == len(want)
				for i := 0; same && i < len(got); i++ {
					same = got[i].DocID == want[i].DocID && got[i].ExtID == want[i].ExtID && math.Abs(got[i].Score-want[i].Score) <= 1e-9
				}
				if !same {
					differ++
					if differ <= 3 {
						t.Errorf("%s, %q (k=%d, exclude %v):\n got %v\nwant %v", m.name, q, k, exclude, got, want)
					}
				}
			}
		}
		if differ > 0 {
			t.Errorf("%d of %d queries differ", differ, len(queries))
		}
	}
	for _, docs := range []int{100_000, 1_000_000} {
		t.Run(fmt.Sprintf("docs=%d", docs), func(t *testing.T) {
			if docs > 100_000 {
				need1MSearch(t)
			}
			st := searchCorpus(t, docs)
			for _, mode := range []string{"uniform", "zipf"} {
				t.Run(mode, func(t *testing.T) { check(t, st, searchQueries(mode, searchBenchQueries)) })
			}
		})
	}
	for _, file := range []string{"trecdl/dl19.jsonl", "llmjudge/test-visible.jsonl"} {
		t.Run(file, func(t *testing.T) {
			c := jsonlCandidates(t, filepath.Join(storetest.DataDir(t), file), 1<<30)
			var queries []string
			for q := range c.queries {
				queries = append(queries, q)
			}
			sort.Strings(queries)
			// Queries of a rare and common words: the words of each query
			// with "the information" (stopwords dropped by FTSQuery) and a
			// common word of the passages.
			for _, q := range queries[:len(queries)/2] {
				queries = append(queries, q+" information system")
			}
			check(t, c.st, queries)
		})
	}
}
