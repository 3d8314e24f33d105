package store

import (
	"context"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The search benchmark's corpus is built once per test binary and removed
// when it exits.
var (
	benchOnce  sync.Once
	benchDir   string
	benchStore *Store
	benchErr   error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchStore != nil {
		benchStore.Close()
	}
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

const benchDocs = 100_000

func searchCorpus(b *testing.B) *Store {
	benchOnce.Do(func() {
		ctx := context.Background()
		if benchDir, benchErr = os.MkdirTemp("", "qrelbench-search-bench-"); benchErr != nil {
			return
		}
		if benchStore, benchErr = Create(ctx, filepath.Join(benchDir, "ws.db"), Scales["0-3"]); benchErr != nil {
			return
		}
		z := newZipf(rand.New(rand.NewSource(1)))
		benchErr = benchStore.Tx(ctx, func(tx *Store) error {
			for i := 0; i < benchDocs; i++ {
				d := corpusDoc(z, i, 50)
				if _, err := tx.PutDocument(ctx, &d, false); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchStore
}

// BenchmarkSearchTop10 is BM25 top-10 retrieval over 100,000 ~50-word
// documents (Zipf-distributed words from a 20,000-word vocabulary) with
// queries of 2–4 words: "uniform" draws each query word uniformly from the
// vocabulary (mostly rare, specific words); "zipf" draws them like document
// words, so most queries hold a very common word that matches most of the
// corpus and every match must be scored (the slow, worst realistic case).
func BenchmarkSearchTop10(b *testing.B) {
	st := searchCorpus(b)
	ctx := context.Background()
	for _, mode := range []string{"uniform", "zipf"} {
		b.Run(mode, func(b *testing.B) {
			rng := rand.New(rand.NewSource(2))
			z := newZipf(rng)
			queries := make([]string, 1000)
			for i := range queries {
				if mode == "zipf" {
					queries[i] = randomQuery(rng, z)
					continue
				}
				w := make([]string, 2+rng.Intn(3))
				for k := range w {
					w[k] = benchVocabulary[rng.Intn(len(benchVocabulary))]
				}
				queries[i] = strings.Join(w, " ")
			}
			b.ResetTimer()
			hits := 0
			for i := 0; i < b.N; i++ {
				h, err := st.Search(ctx, queries[i%len(queries)], 10)
				if err != nil {
					b.Fatal(err)
				}
				hits += len(h)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
			if hits == 0 {
				b.Fatal("no hits")
			}
		})
	}
}

// BenchmarkBM25Scores300 scores a query's 300 candidates (what the lexical
// grader asks per query) over the same corpus.
func BenchmarkBM25Scores300(b *testing.B) {
	st := searchCorpus(b)
	ctx := context.Background()
	rng := rand.New(rand.NewSource(3))
	z := newZipf(rng)
	queries := make([]string, 100)
	for i := range queries {
		queries[i] = randomQuery(rng, z)
	}
	ids := make([]int64, 300)
	for i := range ids {
		ids[i] = int64(1 + rng.Intn(benchDocs))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := st.BM25Scores(ctx, queries[i%len(queries)], ids); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
}
