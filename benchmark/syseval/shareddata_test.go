package syseval

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/qrelbench/qrelbench/store/storetest"
)

// sharedSet is one judged set of the shared data with its runs.
type sharedSet struct {
	name   string // file stem under runs/
	jsonl  string // human grades, relative to the data folder
	runs   []Run
	grades Qrels
}

var sharedSets = []struct{ name, jsonl string }{
	{"test-visible", "llmjudge/test-visible.jsonl"},
	{"dev", "llmjudge/dev.jsonl"},
	{"dl19", "trecdl/dl19.jsonl"},
}

// loadShared reads one set: the runs (tag = system) and the human grades.
func loadShared(tb testing.TB, dir, name, jsonl string) sharedSet {
	tb.Helper()
	s := sharedSet{name: name, jsonl: jsonl, runs: readRunFile(tb, filepath.Join(dir, "runs", name+".run"))}
	s.grades = readHumanGrades(tb, filepath.Join(dir, jsonl))
	return s
}

func readRunFile(tb testing.TB, path string) []Run {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	byTag := map[string]int{}
	var runs []Run
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		fs := strings.Fields(sc.Text())
		if len(fs) == 0 {
			continue
		}
		if len(fs) != 6 {
			tb.Fatalf("%s:%d: %d fields", path, line, len(fs))
		}
		score, err := strconv.ParseFloat(fs[4], 64)
		if err != nil {
			tb.Fatalf("%s:%d: %v", path, line, err)
		}
		i, ok := byTag[fs[5]]
		if !ok {
			i = len(runs)
			byTag[fs[5]] = i
			runs = append(runs, Run{System: fs[5], Ranked: map[string][]Scored{}})
		}
		runs[i].Ranked[fs[0]] = append(runs[i].Ranked[fs[0]], Scored{Doc: fs[2], Score: score})
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return runs
}

func readHumanGrades(tb testing.TB, path string) Qrels {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	q := Qrels{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for line := 1; sc.Scan(); line++ {
		var p struct {
			Query string `json:"query_id"`
			Doc   string `json:"doc_id"`
			Grade *int   `json:"human_grade"`
		}
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil || p.Grade == nil {
			tb.Fatalf("%s:%d: bad pair (%v)", path, line, err)
		}
		if q[p.Query] == nil {
			q[p.Query] = map[string]int{}
		}
		q[p.Query][p.Doc] = *p.Grade
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return q
}

// trecEvalFile is runs/NAME.trec_eval.json:
// levels -> "1"|"2" -> system -> all|per_query -> measure -> value.
type trecEvalFile struct {
	Levels map[string]map[string]struct {
		All      map[string]float64            `json:"all"`
		PerQuery map[string]map[string]float64 `json:"per_query"`
	} `json:"levels"`
	Measures []string `json:"measures"`
}

func readTrecEval(tb testing.TB, path string) trecEvalFile {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var te trecEvalFile
	if err := json.Unmarshal(b, &te); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return te
}

func dataDir(tb testing.TB) string {
	tb.Helper()
	dir := storetest.DataDir(tb)
	if _, err := os.Stat(filepath.Join(dir, "runs")); err != nil {
		tb.Skip("shared data has no runs/ folder; skipping")
	}
	return dir
}
