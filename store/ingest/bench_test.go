package ingest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/qrelbench/qrelbench/store"
)

const (
	benchQueries     = 2000
	benchDocsPerQ    = 50
	benchPairs       = benchQueries * benchDocsPerQ
	benchVocabSize   = 20000
	benchPassageLen  = 50
	benchQueryLength = 4
)

var (
	benchOnce sync.Once
	benchFile string
	benchErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchFile != "" {
		os.RemoveAll(filepath.Dir(benchFile))
	}
	os.Exit(code)
}

// pairsFile writes, once per test binary, a 100,000-pair JSONL file: 2,000
// queries x 50 documents, ~50-word passages with Zipf-distributed words from
// a 20,000-word vocabulary, each with a human_grade.
func pairsFile(b *testing.B) string {
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "qrelbench-import-bench-")
		if err != nil {
			benchErr = err
			return
		}
		benchFile = filepath.Join(dir, "pairs.jsonl")
		f, err := os.Create(benchFile)
		if err != nil {
			benchErr = err
			return
		}
		syl := strings.Fields("ka lo mi ne ru sa te vo zi pa de fu go hi ja ol er an")
		vocab := make([]string, benchVocabSize)
		for i := range vocab {
			w := ""
			for n := i; ; n /= len(syl) {
				w += syl[n%len(syl)]
				if n < len(syl) {
					break
				}
			}
			vocab[i] = w
		}
		rng := rand.New(rand.NewSource(1))
		z := rand.NewZipf(rng, 1.1, 2, benchVocabSize-1)
		words := func(n int) string {
			w := make([]string, n)
			for i := range w {
				w[i] = vocab[z.Uint64()]
			}
			return strings.Join(w, " ")
		}
		bw := bufio.NewWriterSize(f, 1<<20)
		enc := json.NewEncoder(bw)
		for q := 0; q < benchQueries; q++ {
			qtext := words(2 + rng.Intn(benchQueryLength-1))
			for d := 0; d < benchDocsPerQ; d++ {
				benchErr = enc.Encode(map[string]any{
					"query_id": fmt.Sprintf("q%d", q), "query_text": qtext,
					"doc_id": fmt.Sprintf("p%d", q*benchDocsPerQ+d), "doc_text": words(benchPassageLen/2 + rng.Intn(benchPassageLen)),
					"human_grade": rng.Intn(4),
				})
				if benchErr != nil {
					return
				}
			}
		}
		if benchErr = bw.Flush(); benchErr == nil {
			benchErr = f.Close()
		}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchFile
}

// BenchmarkImportPairs100k imports 100,000 graded pairs into a fresh
// workspace per iteration (`-benchtime 1x` for one import).
func BenchmarkImportPairs100k(b *testing.B) {
	path := pairsFile(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		st, err := store.Create(ctx, filepath.Join(b.TempDir(), fmt.Sprintf("ws%d.db", i)), store.Scales["0-3"])
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		sum, err := ImportPairs(ctx, st, path, "human:imported", false)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if sum.Inserted["pairs"] != benchPairs || sum.Inserted["judgments"] != benchPairs {
			b.Fatalf("summary %s", sum)
		}
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(benchPairs)*float64(b.N)/b.Elapsed().Seconds(), "pairs/s")
}
