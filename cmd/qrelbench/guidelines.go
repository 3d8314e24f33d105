package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/qrelbench/qrelbench/store"
)

func init() {
	register("guidelines", "set, show or clear the annotation guidelines annotators read on the Guidelines screen", runGuidelines)
}

func runGuidelines(ctx context.Context, e *env, args []string) error {
	const usageLine = "guidelines set FILE.md | show | clear"
	if len(args) == 0 {
		return fmt.Errorf("usage: qrelbench %s", usageLine)
	}
	sub, rest := args[0], args[1:]
	fs := newFlags(e, "guidelines "+sub, "guidelines "+sub)
	switch sub {
	case "set":
		fs.usage = "guidelines set FILE.md"
		st, pos, err := fs.open(ctx, e, rest, 1)
		if err != nil {
			return err
		}
		defer st.Close()
		text, err := readGuidelines(pos[0])
		if err != nil {
			return err
		}
		if err := st.SetGuidelines(ctx, text, pos[0]); err != nil {
			return fmt.Errorf("%s: %w", pos[0], err)
		}
		fmt.Fprintf(e.stdout, "guidelines set from %s (%d bytes): annotators see them on the Guidelines screen (i)\n", pos[0], len(text))
		return nil
	case "show":
		st, _, err := fs.openRead(ctx, e, rest, 0)
		if err != nil {
			return err
		}
		defer st.Close()
		g, err := st.Guidelines(ctx)
		if err != nil {
			return err
		}
		if g.Text == "" {
			fmt.Fprintf(e.stdout, "no guidelines in %s: set them with `%s guidelines set FILE.md`\n", e.db, selfCommand(e))
			return nil
		}
		fmt.Fprint(e.stdout, g.Text)
		if !strings.HasSuffix(g.Text, "\n") {
			fmt.Fprintln(e.stdout)
		}
		return nil
	case "clear":
		st, _, err := fs.open(ctx, e, rest, 0)
		if err != nil {
			return err
		}
		defer st.Close()
		if err := st.SetGuidelines(ctx, "", ""); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, "guidelines removed")
		return nil
	}
	return fmt.Errorf("usage: qrelbench %s", usageLine)
}

// readGuidelines reads a guidelines file, refusing what is not text.
func readGuidelines(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s: not a regular file", path)
	}
	if fi.Size() > store.MaxGuidelines {
		return "", fmt.Errorf("%s: %d bytes: guidelines hold at most %d (1 MiB)", path, fi.Size(), store.MaxGuidelines)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	if err := store.CheckGuidelines(string(b)); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return string(b), nil
}
