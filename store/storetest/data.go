// Package storetest holds helpers shared by the tests of every package:
// finding the shared relevance data beside the repository.
package storetest

import (
	"os"
	"path/filepath"
	"testing"
)

// DataDir returns the absolute path of the shared data folder
// (../shared/data beside the repository root), found by walking up from the
// test's working directory. When the folder is absent the test is skipped:
// the data is real but optional, and never copied into the repository.
func DataDir(tb testing.TB) string {
	tb.Helper()
	if dir := FindDataDir(); dir != "" {
		return dir
	}
	tb.Skip("shared data folder (../shared/data) not found; skipping")
	return ""
}

// FindDataDir returns the shared data folder or "" when there is none. It
// honours $QRELBENCH_DATA first.
func FindDataDir() string {
	if env := os.Getenv("QRELBENCH_DATA"); env != "" {
		if fileExists(filepath.Join(env, "README.md")) {
			return env
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		for _, cand := range []string{
			filepath.Join(dir, "shared", "data"),
			filepath.Join(dir, "..", "shared", "data"),
		} {
			if fileExists(filepath.Join(cand, "README.md")) {
				abs, _ := filepath.Abs(cand)
				return abs
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
