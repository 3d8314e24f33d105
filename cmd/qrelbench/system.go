package main

import (
	"context"
	"fmt"
)

func init() {
	register("system", "list or remove search systems imported from TREC runs", runSystem)
}

func runSystem(ctx context.Context, e *env, args []string) error {
	const usageLine = "system list | rm NAME"
	if len(args) == 0 {
		return fmt.Errorf("usage: qrelbench %s", usageLine)
	}
	switch args[0] {
	case "list", "ls":
		return systemList(ctx, e, args[1:])
	case "rm", "remove":
		return systemRemove(ctx, e, args[1:])
	}
	return fmt.Errorf("usage: qrelbench %s", usageLine)
}

func systemList(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "system list", "system list")
	st, _, err := fs.open(ctx, e, args, 0)
	if err != nil {
		return err
	}
	defer st.Close()
	systems, err := st.Systems(ctx)
	if err != nil {
		return err
	}
	if len(systems) == 0 {
		fmt.Fprintln(e.stdout, "no systems yet: import a TREC run with `qrelbench import run FILE`")
		return nil
	}
	w := 6
	for _, s := range systems {
		w = max(w, len([]rune(s.Name)))
	}
	w = min(w, 32)
	fmt.Fprintf(e.stdout, "%-*s %8s %9s  %-19s %s\n", w, "system", "queries", "docs", "imported", "from")
	for _, s := range systems {
		fmt.Fprintf(e.stdout, "%-*s %8d %9d  %-19s %s\n", w, clipName(s.Name, w), s.Queries, s.Results,
			s.UpdatedAt.Local().Format("2006-01-02 15:04:05"), s.SourceFile)
	}
	return nil
}

func systemRemove(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "system rm", "system rm NAME")
	st, pos, err := fs.open(ctx, e, args, 1)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.RemoveSystem(ctx, pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "removed system %s (its pooled pairs and their grades stay)\n", pos[0])
	return nil
}
