package store

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qrelbench/qrelbench/internal/cputime"
)

func TestMain(m *testing.M) {
	code := m.Run()
	searchCorpora.Range(func(_, v any) bool {
		if c := v.(*searchCorpusEntry); c.st != nil {
			c.st.Close()
		}
		return true
	})
	os.Exit(code)
}

// The search benchmarks' corpora: docs ~50-word documents of
// Zipf-distributed words from a 20,000-word vocabulary (corpusDoc), built
// once per size and schema version, cached in the user cache folder and
// only ever opened read-only, so that no measurement changes what the next
// one measures.
const searchCorpusVersion = "v1"

var searchCorpora sync.Map // docs -> *searchCorpusEntry

type searchCorpusEntry struct {
	once sync.Once
	st   *Store
	err  error
}

// need1MSearch skips the 1M-document figures unless asked for: their
// corpus takes minutes to build once and a pass of FTS5 over it minutes.
func need1MSearch(tb testing.TB) {
	if os.Getenv("QRELBENCH_BENCH_1M") == "" {
		tb.Skip("set QRELBENCH_BENCH_1M=1 for the 1M-document search corpus")
	}
}

func searchCorpus(tb testing.TB, docs int) *Store {
	v, _ := searchCorpora.LoadOrStore(docs, &searchCorpusEntry{})
	c := v.(*searchCorpusEntry)
	c.once.Do(func() {
		var path string
		if path, c.err = cachedSearchCorpus(docs); c.err == nil {
			c.st, c.err = OpenReadOnly(context.Background(), path)
		}
	})
	if c.err != nil {
		tb.Fatal(c.err)
	}
	return c.st
}

func cachedSearchCorpus(docs int) (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	dir = filepath.Join(dir, "qrelbench")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, fmt.Sprintf("qrelbench-search-bench-%s-s%d-d%d.db", searchCorpusVersion, SchemaVersion(), docs))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	tmp := path + ".building"
	if err := RemoveFiles(tmp); err != nil {
		return "", err
	}
	if err := buildSearchCorpus(tmp, docs); err != nil {
		RemoveFiles(tmp)
		return "", err
	}
	os.Remove(tmp + "-writers")
	return path, os.Rename(tmp, path)
}

func buildSearchCorpus(path string, docs int) error {
	ctx := context.Background()
	st, err := Create(ctx, path, Scales["0-3"])
	if err != nil {
		return err
	}
	defer st.Close()
	z := newZipf(rand.New(rand.NewSource(1)))
	const batch = 100_000
	for start := 0; start < docs; start += batch {
		err := st.Tx(ctx, func(tx *Store) error {
			for i := start; i < min(start+batch, docs); i++ {
				d := corpusDoc(z, i, 50)
				if _, err := tx.PutDocument(ctx, &d, false); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	// One file, no WAL beside it: the cache is then opened read-only.
	_, err = st.DB().ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	return err
}

// searchQueries are the benchmark's n queries of 2–4 words: "uniform"
// draws each word uniformly from the vocabulary (mostly rare, specific
// words); "zipf" draws them like document words, so most queries hold a
// very common word that matches most of the corpus (the slow, worst
// realistic case).
func searchQueries(mode string, n int) []string {
	rng := rand.New(rand.NewSource(2))
	z := newZipf(rng)
	queries := make([]string, n)
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
	return queries
}

// searchBenchQueries is how many queries a pass holds: every operation
// of the search benchmarks is one whole pass, so the figures do not depend
// on b.N.
const searchBenchQueries = 200

// searchMethods are the ways of taking the top k compared here: FTS5's
// `ORDER BY rank LIMIT k` alone (searchFTS5), and Search, which tries
// MaxScore first (maxScoreSearch).
var searchMethods = []struct {
	name   string
	search func(s *Store, ctx context.Context, text string, k int, exclude ...int64) ([]Hit, error)
}{
	{"fts5", (*Store).searchFTS5},
	{"maxscore", (*Store).Search},
}

// BenchmarkSearchTop10 is BM25 top-10 retrieval (see searchQueries) over
// 100,000 documents and, with QRELBENCH_BENCH_1M=1, 1,000,000: one
// operation is a pass over 200 queries, reported as queries/s of wall time
// and CPU milliseconds per query. "cold" passes start on a fresh
// connection pool with the process' BM25 statistics forgotten (a new
// `qrelbench mine`); "warm" ones follow an untimed pass. Each method is
// one way of computing the same top 10 (TestTopKMethodsAgree).
func BenchmarkSearchTop10(b *testing.B) {
	for _, docs := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("docs=%d", docs), func(b *testing.B) {
			if docs > 100_000 {
				need1MSearch(b)
			}
			st := searchCorpus(b, docs)
			for _, mode := range []string{"uniform", "zipf"} {
				queries := searchQueries(mode, searchBenchQueries)
				for _, m := range searchMethods {
					for _, temp := range []string{"cold", "warm"} {
						b.Run(mode+"/"+m.name+"/"+temp, func(b *testing.B) {
							benchSearchPasses(b, st, queries, temp == "cold", func(s *Store, q string) ([]Hit, error) {
								return m.search(s, context.Background(), q, 10)
							})
						})
					}
				}
			}
		})
	}
}

// benchSearchPasses times b.N passes of search over queries on st (a
// fresh read-only Store of its file before each pass when cold, after one
// untimed pass when warm).
func benchSearchPasses(b *testing.B, st *Store, queries []string, cold bool, search func(*Store, string) ([]Hit, error)) {
	ctx := context.Background()
	pass := func(s *Store) {
		hits := 0
		for _, q := range queries {
			h, err := search(s, q)
			if err != nil {
				b.Fatal(err)
			}
			hits += len(h)
		}
		if hits == 0 {
			b.Fatal("no hits")
		}
	}
	if !cold {
		pass(st)
	}
	var cpu, wall time.Duration
	for b.Loop() {
		s := st
		if cold {
			b.StopTimer()
			forgetBM25Corpus(st.path)
			var err error
			if s, err = OpenReadOnly(ctx, st.path); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		c0, t0 := cputime.Process(), time.Now()
		pass(s)
		cpu += cputime.Process() - c0
		wall += time.Since(t0)
		if cold {
			b.StopTimer()
			s.Close()
			b.StartTimer()
		}
	}
	n := float64(b.N * len(queries))
	b.ReportMetric(n/wall.Seconds(), "queries/s")
	if cpu > 0 {
		b.ReportMetric(cpu.Seconds()*1000/n, "cpu-ms/query")
	}
}

// forgetBM25Corpus drops this process' cached BM25 statistics of the
// workspace at path, as a new process starts without them.
func forgetBM25Corpus(path string) {
	if abs, err := filepath.Abs(path); err == nil {
		bm25Corpora.Delete(abs)
	}
}

// BenchmarkBM25Scores300 scores 300 documents for each of 100 queries
// drawn like document words (what the lexical grader asks per query) over
// the 100,000-document corpus: one operation is the pass over the 100
// queries. "cold" passes start with the process' BM25 statistics forgotten
// (every term's document count is read from the index again), "warm" ones
// follow an untimed pass.
func BenchmarkBM25Scores300(b *testing.B) {
	st := searchCorpus(b, 100_000)
	ctx := context.Background()
	rng := rand.New(rand.NewSource(3))
	z := newZipf(rng)
	queries := make([]string, 100)
	for i := range queries {
		queries[i] = randomQuery(rng, z)
	}
	ids := make([]int64, 300)
	for i := range ids {
		ids[i] = int64(1 + rng.Intn(100_000))
	}
	pass := func() {
		for _, q := range queries {
			if _, err := st.BM25Scores(ctx, q, ids); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, temp := range []string{"cold", "warm"} {
		b.Run(temp, func(b *testing.B) {
			if temp == "warm" {
				pass()
			}
			cpu := time.Duration(0)
			for b.Loop() {
				if temp == "cold" {
					b.StopTimer()
					forgetBM25Corpus(st.path)
					b.StartTimer()
				}
				c0 := cputime.Process()
				pass()
				cpu += cputime.Process() - c0
			}
			n := float64(b.N * len(queries))
			b.ReportMetric(n/b.Elapsed().Seconds(), "queries/s")
			if cpu > 0 {
				b.ReportMetric(cpu.Seconds()*1000/n, "cpu-ms/query")
			}
		})
	}
}
