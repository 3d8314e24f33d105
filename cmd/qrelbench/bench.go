package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/qrelbench/qrelbench/benchmark"
	"github.com/qrelbench/qrelbench/internal/peakrss"
	"github.com/qrelbench/qrelbench/internal/words"
	"github.com/qrelbench/qrelbench/pipeline"
	"github.com/qrelbench/qrelbench/store"
	"github.com/qrelbench/qrelbench/store/ingest"
	"github.com/qrelbench/qrelbench/store/synthetic"
)

func init() {
	register("bench", "size this machine: eval, search, in-process labeling and import on synthetic workspaces of 1M (and 10M) pairs", runBench)
}

// benchSizes are the workspaces `bench` knows, by name.
var benchSizes = map[string]synthetic.Params{
	"tiny": {Queries: 100, PerQuery: 20, Docs: 500}, // a quick check that everything runs
	"1m":   {Queries: 10_000, PerQuery: 100, Docs: 100_000},
	"10m":  {Queries: 100_000, PerQuery: 100, Docs: 1_000_000},
}

// benchFigure is one row of the table.
type benchFigure struct {
	Size    string  `json:"size"`
	Path    string  `json:"path"`
	Value   float64 `json:"value"`
	Unit    string  `json:"unit"`
	PeakRSS int64   `json:"peak_rss_bytes,omitempty"` // of the process during this path (Linux)
	Note    string  `json:"note,omitempty"`
}

func runBench(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "bench", "bench [--sizes 1m,10m] [--cache DIR] [--import-rows N] [--json]")
	sizes := fs.String("sizes", "1m", "workspaces to measure on: 1m, 10m or both (10m needs ~5 GB of disk and builds for a long while, once); tiny for a quick check")
	importRows := fs.Int("import-rows", 100_000, "rows of the generated pairs file the import is timed on")
	cacheDir := fs.String("cache", synthetic.CacheDir(), "where the synthetic workspaces are built once and kept")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	var figs []benchFigure
	add := func(f benchFigure) {
		figs = append(figs, f)
		if !*asJSON {
			fmt.Fprintf(e.stderr, "  %s %s: %s\n", f.Size, f.Path, formatFigure(f))
		}
	}
	for _, name := range strings.Split(*sizes, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		p, ok := benchSizes[name]
		if !ok {
			return fmt.Errorf("--sizes: unknown size %q (1m, 10m or tiny)", name)
		}
		if free, ok := freeBytes(*cacheDir); ok && free < 2*p.EstimatedBytes() {
			add(benchFigure{Size: name, Path: "all", Note: fmt.Sprintf("skipped: needs about %.1f GB free in %s, %.1f GB are", 2*float64(p.EstimatedBytes())/1e9, *cacheDir, float64(free)/1e9)})
			continue
		}
		path, err := synthetic.Cached(ctx, *cacheDir, p, e.stderr)
		if err != nil {
			return err
		}
		if err := benchOn(ctx, name, path, *cacheDir, p, add); err != nil {
			return err
		}
	}
	if err := benchImport(ctx, *cacheDir, *importRows, add); err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"cores": runtime.NumCPU(), "gomaxprocs": runtime.GOMAXPROCS(0), "go": runtime.Version(), "figures": figs})
	}
	fmt.Fprintf(e.stdout, "qrelbench bench: %d cores (GOMAXPROCS %d), %s/%s, %s\n\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "size\tpath\tfigure\tpeak RSS")
	for _, f := range figs {
		rss := ""
		if f.PeakRSS > 0 {
			rss = fmt.Sprintf("%d MB", f.PeakRSS>>20)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Size, f.Path, formatFigure(f), rss)
	}
	return tw.Flush()
}

func formatFigure(f benchFigure) string {
	if f.Unit == "" {
		return f.Note
	}
	s := strconv.FormatFloat(f.Value, 'f', 2, 64) + " " + f.Unit
	if f.Value >= 100 {
		s = strconv.FormatFloat(f.Value, 'f', 0, 64) + " " + f.Unit
	}
	if f.Note != "" {
		s += " (" + f.Note + ")"
	}
	return s
}

// benchOn measures the read paths on the cached workspace and the writing
// one (in-process labeling) on a scratch copy of it.
func benchOn(ctx context.Context, size, path, dir string, p synthetic.Params, add func(benchFigure)) error {
	st, err := store.Open(ctx, path)
	if err != nil {
		return err
	}
	defer st.Close()
	labelers := []string{synthetic.Labelers[1].Name, synthetic.Labelers[2].Name}
	opt := benchmark.EvalOptions{Reference: synthetic.Labelers[0].Name, Labelers: labelers, Bootstrap: 1000, Seed: 1}
	for _, run := range []string{"cold", "warm"} {
		secs, rss, err := measure(func() error {
			_, err := benchmark.Evaluate(ctx, st, opt)
			return err
		})
		if err != nil {
			return err
		}
		add(benchFigure{Size: size, Path: "eval, 2 labelers, 1,000 bootstrap samples", Value: secs, Unit: "s", PeakRSS: rss,
			Note: run + ", " + words.Count(p.Pairs(), "pair")})
	}

	// BM25 top-10 search with the workspace's own query texts, each once.
	queries, err := st.Queries(ctx)
	if err != nil {
		return err
	}
	n := min(len(queries), 1000)
	secs, rss, err := measure(func() error {
		for _, q := range queries[:n] {
			if _, err := st.Search(ctx, q.Text, 10); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	add(benchFigure{Size: size, Path: "BM25 top-10 search", Value: float64(n) / secs, Unit: "queries/s", PeakRSS: rss,
		Note: words.Count(n, "query") + " over " + words.Count(p.Docs, "document")})

	// In-process labeling writes judgments: on a copy, never on the cache.
	scratch, cleanup, err := synthetic.Scratch(path, dir)
	if err != nil {
		return err
	}
	defer cleanup()
	sc, err := store.Open(ctx, scratch)
	if err != nil {
		return err
	}
	defer sc.Close()
	const limit = 20_000
	var run store.Run
	secs, rss, err = measure(func() error {
		run, err = pipeline.Label(ctx, sc, pipeline.LabelOptions{Labeler: "lexical", Limit: limit})
		return err
	})
	if err != nil {
		return err
	}
	add(benchFigure{Size: size, Path: "lexical labeling, end to end", Value: float64(run.Done) / secs, Unit: "pairs/s", PeakRSS: rss,
		Note: words.Count(run.Done, "pair") + ", corpus of " + words.Count(p.Docs, "document")})
	return nil
}

// benchImport imports a generated pairs file of the given number of lines
// into a new workspace.
func benchImport(ctx context.Context, dir string, rows int, add func(benchFigure)) error {
	tmp, err := os.MkdirTemp(dir, "qrelbench-import-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	file := filepath.Join(tmp, "pairs.jsonl")
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	for i := 0; i < rows; i++ {
		rec := map[string]any{"query_id": fmt.Sprintf("q%d", i/100), "query_text": fmt.Sprintf("vpn setup question %d", i/100),
			"doc_id": fmt.Sprintf("d%d", i), "doc_text": fmt.Sprintf("passage %d about vpn, laptops, expense policy and travel for team %d", i, i%37), "human_grade": i % 4}
		if err := enc.Encode(rec); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	st, err := store.Create(ctx, filepath.Join(tmp, "ws.db"), store.Scales["0-3"])
	if err != nil {
		return err
	}
	defer st.Close()
	secs, rss, err := measure(func() error {
		_, err := ingest.ImportPairs(ctx, st, file, "human:imported", false)
		return err
	})
	if err != nil {
		return err
	}
	add(benchFigure{Size: words.Count(rows, "row"), Path: "import pairs (JSONL, with human grades)", Value: float64(rows) / secs, Unit: "rows/s", PeakRSS: rss})
	return nil
}

// measure runs fn and returns how long it took and the process's peak
// resident set while it ran.
func measure(fn func() error) (seconds float64, peakRSS int64, err error) {
	peakrss.Reset()
	start := time.Now()
	err = fn()
	return time.Since(start).Seconds(), peakrss.Bytes(), err
}

func freeBytes(dir string) (int64, bool) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, false
	}
	var s syscall.Statfs_t
	if err := syscall.Statfs(dir, &s); err != nil {
		return 0, false
	}
	return int64(s.Bavail) * int64(s.Bsize), true
}
