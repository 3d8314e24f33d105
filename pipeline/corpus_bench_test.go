package pipeline

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/qrelbench/qrelbench/store"
	"github.com/qrelbench/qrelbench/store/synthetic"
)

// BenchmarkLabelLexicalCorpus is the built-in lexical labeler, end to end,
// on 10,000 imported pairs (1,000 queries × 10 documents, no BM25 score
// stored by mining) while the corpus grows: the cost of a pair must not
// grow with the number of documents that match its query. Corpus sizes
// come from $QRELBENCH_BENCH_CORPUS (default 10000,100000; add 1000000 to
// check the 1M-document figure, whose workspace takes minutes to build
// once). Each size's workspace is cached and copied before it is written.
func BenchmarkLabelLexicalCorpus(b *testing.B) {
	sizes := os.Getenv("QRELBENCH_BENCH_CORPUS")
	if sizes == "" {
		sizes = "10000,100000"
	}
	for _, s := range strings.Split(sizes, ",") {
		docs, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			b.Fatalf("QRELBENCH_BENCH_CORPUS: %v", err)
		}
		b.Run(fmt.Sprintf("docs=%d", docs), func(b *testing.B) {
			ctx := context.Background()
			cached, err := synthetic.Cached(ctx, os.TempDir(), synthetic.Params{Queries: 1000, PerQuery: 10, Docs: docs}, nil)
			if err != nil {
				b.Fatal(err)
			}
			path, cleanup, err := synthetic.Scratch(cached, b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer cleanup()
			st, err := store.Open(ctx, path)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			// The first run is cold (page cache, statement and corpus
			// caches): it is not one of the timed ones.
			if _, err := Label(ctx, st, LabelOptions{Labeler: "lexical", All: true}); err != nil {
				b.Fatal(err)
			}
			benchRegrade(b, st, "lexical", 10000)
		})
	}
}
