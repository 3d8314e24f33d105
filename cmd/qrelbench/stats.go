package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/qrelbench/qrelbench/store"
)

func init() {
	register("stats", "counts of documents, queries, pairs and judgments per labeler", runStats)
}

func runStats(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "stats", "stats [--json]")
	asJSON := fs.Bool("json", false, "print JSON")
	st, _, err := fs.openRead(ctx, e, args, 0)
	if err != nil {
		return err
	}
	defer st.Close()
	return runStatsOn(ctx, e, st, *asJSON)
}

func runStatsOn(ctx context.Context, e *env, st *store.Store, asJSON bool) error {
	s, err := st.Stats(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	fmt.Fprintf(e.stdout, "workspace %s (scale %s)\n", e.db, s.Scale)
	fmt.Fprintf(e.stdout, "  documents %d   queries %d   pairs %d   runs %d\n\n", s.Documents, s.Queries, s.Pairs, s.Runs)
	scale := st.Scale()
	var head strings.Builder
	fmt.Fprintf(&head, "  %-22s %-9s %9s", "labeler", "kind", "judged")
	for _, l := range scale.Levels {
		fmt.Fprintf(&head, " %6s", fmt.Sprintf("=%d", l.Grade))
	}
	head.WriteString("  failed/unsure")
	fmt.Fprintln(e.stdout, head.String())
	for _, l := range s.Labelers {
		fmt.Fprintf(e.stdout, "  %-22s %-9s %9d", l.Labeler, l.Kind, l.Total)
		for _, lv := range scale.Levels {
			fmt.Fprintf(e.stdout, " %6d", l.ByGrade[lv.Grade])
		}
		var other []string
		for status, n := range l.ByStatus {
			if status != "ok" {
				other = append(other, fmt.Sprintf("%s %d", status, n))
			}
		}
		sort.Strings(other)
		fmt.Fprintf(e.stdout, "  %s\n", strings.Join(other, ", "))
	}
	if hint := nextStep(e, s); hint != "" {
		fmt.Fprintf(e.stdout, "\nnext: %s\n", hint)
	}
	return nil
}

// nextStep says what to run when the workspace has nothing to grade yet.
func nextStep(e *env, s store.Stats) string {
	self := selfCommand(e)
	switch {
	case s.Pairs > 0:
		return ""
	case s.Documents == 0 && s.Queries == 0:
		return fmt.Sprintf("no pairs to grade yet: import documents (`%s import docs FILE`) and queries, or pairs with both (`%s import pairs FILE`)", self, self)
	case s.Queries == 0:
		return fmt.Sprintf("no queries yet: write some from the documents (`%s synth --labeler offline`, or a model labeler) or import them (`%s import queries FILE`), then run `%s mine`", self, self, self)
	case s.Documents == 0:
		return fmt.Sprintf("no documents yet: import them (`%s import docs FILE`), then run `%s mine`", self, self)
	}
	return fmt.Sprintf("no pairs yet: run `%s mine` to pair each query with its BM25 candidates, then grade them with `%s --as NAME`", self, self)
}
