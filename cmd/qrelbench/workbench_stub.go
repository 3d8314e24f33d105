package main

import (
	"context"
	"fmt"

	"github.com/qrelbench/qrelbench/store"
)

// openWorkbench is replaced when the workbench lands.
func openWorkbench(ctx context.Context, e *env, st *store.Store, as string) error {
	fmt.Fprintf(e.stdout, "\nthe workbench is not built yet; inspect with: qrelbench --db %s stats\n", e.db)
	return nil
}
