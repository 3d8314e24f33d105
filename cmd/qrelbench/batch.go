package main

import (
	"context"
	"fmt"

	"github.com/qrelbench/qrelbench/pipeline"
	"github.com/qrelbench/qrelbench/store"
)

// runBatchLabel drives a Batch API labeling run: submit, then on later calls
// poll and ingest.
func runBatchLabel(ctx context.Context, e *env, st *store.Store, opt pipeline.LabelOptions) error {
	res, err := pipeline.LabelBatch(ctx, st, pipeline.BatchOptions{Label: opt, Wait: true})
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, res)
	return nil
}
