package main

import (
	"context"
	"fmt"

	"github.com/qrelbench/qrelbench/store"
)

func init() {
	register("init", "create a new workspace with a grade scale", runInit)
}

func runInit(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "init", "init [--scale 0-3|0-2|0-4]")
	scaleName := fs.String("scale", "0-3", "grade scale: 0-3 (TREC), 0-2 or 0-4")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	scale, err := store.ScaleByName(*scaleName)
	if err != nil {
		return err
	}
	st, err := store.Create(ctx, e.db, scale)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(e.stdout, "created workspace %s with scale %s:\n", e.db, scale.Name)
	for _, l := range scale.Levels {
		fmt.Fprintf(e.stdout, "  %d  %-18s %s\n", l.Grade, l.Name, l.Description)
	}
	return nil
}
