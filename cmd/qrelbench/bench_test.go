package main

import (
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchRunsEveryPathAndLeavesTheCacheAlone runs `bench` on the tiny
// workspace twice: every path reports a figure, and the cached workspace is
// byte for byte what the first run built (measurements that write work on
// a copy).
func TestBenchRunsEveryPathAndLeavesTheCacheAlone(t *testing.T) {
	dir := t.TempDir()
	out := mustCLI(t, filepath.Join(dir, "unused.db"), "bench", "--sizes", "tiny", "--cache", dir, "--import-rows", "500", "--json")
	var res struct {
		Cores   int
		Figures []benchFigure
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	paths := map[string]bool{}
	for _, f := range res.Figures {
		if f.Unit == "" || f.Value <= 0 {
			t.Errorf("no figure for %+v", f)
		}
		paths[f.Path] = true
	}
	for _, want := range []string{"eval", "search", "lexical labeling", "import pairs"} {
		found := false
		for p := range paths {
			found = found || strings.Contains(p, want)
		}
		if !found {
			t.Errorf("no %q figure in %v", want, paths)
		}
	}
	if res.Cores <= 0 {
		t.Errorf("cores %d", res.Cores)
	}
	cached, err := filepath.Glob(filepath.Join(dir, "qrelbench-synthetic-*.db"))
	if err != nil || len(cached) != 1 {
		t.Fatalf("cached workspaces %v (%v)", cached, err)
	}
	sum := func() [32]byte {
		b, err := os.ReadFile(cached[0])
		if err != nil {
			t.Fatal(err)
		}
		return sha256.Sum256(b)
	}
	before := sum()
	mustCLI(t, filepath.Join(dir, "unused.db"), "bench", "--sizes", "tiny", "--cache", dir, "--import-rows", "500")
	if sum() != before {
		t.Fatal("bench changed its cached workspace")
	}
	left, _ := filepath.Glob(filepath.Join(dir, "qrelbench-scratch-*"))
	if len(left) != 0 {
		t.Errorf("scratch copies left behind: %v", left)
	}
}
