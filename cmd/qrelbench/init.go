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
	fs := newFlags(e, "init", "init [--scale 0-3|0-2|0-4] [--guidelines FILE.md]")
	scaleName := fs.String("scale", "0-3", "grade scale: 0-3 (TREC), 0-2 or 0-4")
	guidelines := fs.String("guidelines", "", "annotation guidelines (Markdown) annotators read on the Guidelines screen; `guidelines set` changes them later")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	scale, err := store.ScaleByName(*scaleName)
	if err != nil {
		return err
	}
	var text string
	if *guidelines != "" {
		// Read first: a bad file leaves no workspace behind.
		if text, err = readGuidelines(*guidelines); err != nil {
			return err
		}
	}
	st, err := store.Create(ctx, e.db, scale)
	if err != nil {
		return err
	}
	defer st.Close()
	if text != "" {
		if err := st.SetGuidelines(ctx, text, *guidelines); err != nil {
			return err
		}
		defer fmt.Fprintf(e.stdout, "guidelines from %s: annotators see them on the Guidelines screen (i)\n", *guidelines)
	}
	fmt.Fprintf(e.stdout, "created workspace %s with scale %s:\n", e.db, scale.Name)
	for _, l := range scale.Levels {
		fmt.Fprintf(e.stdout, "  %d  %-18s %s\n", l.Grade, l.Name, l.Description)
	}
	return nil
}
