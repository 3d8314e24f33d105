package main

import (
	"context"
	"fmt"

	"github.com/qrelbench/qrelbench/pipeline"
)

func init() {
	register("pool", "add the top K documents of each search system per query as pairs to grade", runPool)
}

func runPool(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "pool", "pool --depth K [--systems A,B,…] [--query ID…]")
	depth := fs.Int("depth", 0, "documents per system and query, in the order the metrics use (required)")
	var systems, queries multiFlag
	fs.Var(&systems, "systems", "systems to pool (comma-separated; default all)")
	fs.Var(&queries, "query", "only these query ids (comma-separated or repeated)")
	st, _, err := fs.open(ctx, e, args, 0)
	if err != nil {
		return err
	}
	defer st.Close()
	if *depth <= 0 {
		return fmt.Errorf("pool needs --depth K (e.g. --depth 20)")
	}
	pp := newProgressPrinter(e.stderr)
	res, err := pipeline.Pool(ctx, st, pipeline.PoolOptions{Depth: *depth, Systems: systems, Queries: queries, Progress: pp.update})
	if err != nil {
		if ctx.Err() != nil && res.Run.ID != 0 {
			fmt.Fprintf(e.stderr, "stopped: what pooling run %d wrote is saved; rerun the same command to finish\n", res.Run.ID)
		}
		return err
	}
	w := e.stdout
	head := fmt.Sprintf("%d systems × %d queries at depth %d: %d pairs in the pool", res.Systems, res.Queries, *depth, res.Pool)
	if res.Run.ID == 0 {
		fmt.Fprintf(w, "nothing added: %s, already pooled\n", head)
	} else {
		fmt.Fprintf(w, "pooling run %d: %s, %d of them added as new pairs (source pool)\n", res.Run.ID, head, res.Added)
	}
	labelers, err := st.Labelers(ctx)
	if err != nil {
		return err
	}
	if res.Pool == 0 {
		return nil
	}
	fmt.Fprintf(w, "\ngraded so far (ok grades among the %d pool pairs):\n", res.Pool)
	width := 8
	for _, l := range labelers {
		width = max(width, min(len([]rune(l.Name)), 32))
	}
	for _, l := range labelers {
		n := res.Graded[l.Name]
		fmt.Fprintf(w, "  %-*s %8d  %5.1f%%\n", width, clipName(l.Name, width), n, 100*float64(n)/float64(res.Pool))
	}
	return nil
}
