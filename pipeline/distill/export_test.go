package distill

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/qrelbench/qrelbench/pipeline"
	"github.com/qrelbench/qrelbench/pipeline/llm"
	"github.com/qrelbench/qrelbench/store"
)

// expected maps each pair's exact user message to its pair id, for the
// prompts of lab (the default json student when lab.Name is "").
func expected(t *testing.T, f *fixture, lab store.Labeler) (*llm.Client, map[string]int64) {
	t.Helper()
	if lab.Name == "" {
		lab = store.Labeler{Name: "student", Model: "student", Config: store.LabelerConfig{Mode: llm.ModeJSON}}
	}
	c, err := pipeline.ClientFor(lab, f.st.Scale())
	if err != nil {
		t.Fatal(err)
	}
	views, err := f.st.PairViews(context.Background(), store.PairFilter{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, v := range views {
		msgs := c.Messages(v.QueryText, pipeline.LLMDoc(v.Doc))
		out[msgs[1].Content] = v.ID
	}
	return c, out
}

type line struct {
	pair  int64
	query string
	grade string
}

// readExport checks that every line of path is exactly an OpenAI chat
// fine-tuning example (one JSON object with only "messages": system, user,
// assistant, each with only "role" and "content"), that the system and user
// messages are the client's for a pair, and returns the lines.
func readExport(t *testing.T, path string, c *llm.Client, users map[string]int64) []line {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Fatalf("%s does not end with a newline", path)
	}
	var out []line
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		raw := sc.Bytes()
		var generic map[string][]map[string]any
		if err := json.Unmarshal(raw, &generic); err != nil {
			t.Fatalf("%s: %v: %s", path, err, raw)
		}
		if len(generic) != 1 || generic["messages"] == nil {
			t.Fatalf("%s: want only a messages key: %s", path, raw)
		}
		msgs := generic["messages"]
		if len(msgs) != 3 {
			t.Fatalf("%s: %d messages, want 3", path, len(msgs))
		}
		for i, role := range []string{"system", "user", "assistant"} {
			m := msgs[i]
			if len(m) != 2 || m["role"] != role {
				t.Fatalf("%s: message %d = %v, want only role %q and content", path, i, m, role)
			}
			if _, ok := m["content"].(string); !ok {
				t.Fatalf("%s: message %d content is not a string", path, i)
			}
		}
		user := msgs[1]["content"].(string)
		pair, ok := users[user]
		if !ok {
			t.Fatalf("%s: user message is not the client's prompt for any pair:\n%s", path, user)
		}
		want := c.Messages("", llm.Doc{})[0].Content
		if msgs[0]["content"] != want {
			t.Fatalf("%s: system message differs from the client's", path)
		}
		q := strings.TrimPrefix(strings.SplitN(user, "\n", 2)[0], "Query: ")
		out = append(out, line{pair: pair, query: q, grade: msgs[2]["content"].(string)})
	}
	return out
}

func TestExportFormatSplitAndExclusions(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 10, 8)
	dir := t.TempDir()
	m, err := Export(ctx, f.st, ExportOptions{Teacher: "teacher", Out: dir, ValFraction: 0.2, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	c, users := expected(t, f, store.Labeler{})
	train := readExport(t, filepath.Join(dir, TrainFile), c, users)
	val := readExport(t, filepath.Join(dir, ValFile), c, users)

	// exclusions: failed teacher calls and human-graded pairs
	seen := map[int64]bool{}
	qTrain, qVal := map[string]bool{}, map[string]bool{}
	hist := map[string][]int{"train": make([]int, 4), "val": make([]int, 4)}
	for split, lines := range map[string][]line{"train": train, "val": val} {
		for _, l := range lines {
			if f.failed[l.pair] {
				t.Errorf("failed teacher judgment of pair %d exported", l.pair)
			}
			if f.humanOK[l.pair] {
				t.Errorf("human-graded pair %d exported", l.pair)
			}
			if seen[l.pair] {
				t.Errorf("pair %d exported twice", l.pair)
			}
			seen[l.pair] = true
			j, _, _ := f.st.Judgment(ctx, l.pair, f.teacher.ID)
			if want := c.AssistantTarget(j.Grade); l.grade != want || want != `{"grade":`+string(rune('0'+j.Grade))+`}` {
				t.Errorf("pair %d: assistant %q, want %q", l.pair, l.grade, want)
			}
			hist[split][j.Grade]++
			if split == "train" {
				qTrain[l.query] = true
			} else {
				qVal[l.query] = true
			}
		}
	}
	// 10 queries × 8 pairs, one failed per query, 2×3 human-graded
	if want := 10*8 - 10 - 6; len(seen) != want {
		t.Errorf("%d pairs exported, want %d", len(seen), want)
	}
	for q := range qVal {
		if qTrain[q] {
			t.Errorf("query %q in both splits", q)
		}
	}
	if len(qVal) == 0 || len(qTrain) == 0 {
		t.Fatalf("split: %d train queries, %d val queries", len(qTrain), len(qVal))
	}
	if float64(len(val)) < 0.2*float64(len(seen)) {
		t.Errorf("val has %d of %d pairs, want at least 20%%", len(val), len(seen))
	}

	// manifest
	if m.Counts["train"] != len(train) || m.Counts["val"] != len(val) || m.Queries["train"] != len(qTrain) || m.Queries["val"] != len(qVal) {
		t.Errorf("manifest counts %v queries %v; files have %d/%d lines, %d/%d queries", m.Counts, m.Queries, len(train), len(val), len(qTrain), len(qVal))
	}
	if !reflect.DeepEqual(m.Grades, hist) {
		t.Errorf("manifest grades %v, files %v", m.Grades, hist)
	}
	if m.Excluded.TeacherNotOK != 10 || m.Excluded.HumanGraded != 6 {
		t.Errorf("excluded %+v, want 10 failed and 6 human-graded", m.Excluded)
	}
	if m.PromptVersion != c.PromptVersion() || m.Teacher != "teacher" || m.Seed != 7 || m.Student.Mode != llm.ModeJSON {
		t.Errorf("manifest %+v", m)
	}
	onDisk, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{TrainFile, ValFile} {
		sum, err := FileSHA256(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if onDisk.Files[name] != sum {
			t.Errorf("manifest sha256 of %s = %s, file has %s", name, onDisk.Files[name], sum)
		}
	}

	// deterministic given the seed; another seed splits differently
	dir2 := t.TempDir()
	if _, err := Export(ctx, f.st, ExportOptions{Teacher: "teacher", Out: dir2, ValFraction: 0.2, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{TrainFile, ValFile} {
		a, _ := os.ReadFile(filepath.Join(dir, name))
		b, _ := os.ReadFile(filepath.Join(dir2, name))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two exports with the same seed", name)
		}
	}
	differs := false
	for seed := int64(8); seed < 14 && !differs; seed++ {
		d := t.TempDir()
		if _, err := Export(ctx, f.st, ExportOptions{Teacher: "teacher", Out: d, ValFraction: 0.2, Seed: seed}); err != nil {
			t.Fatal(err)
		}
		a, _ := os.ReadFile(filepath.Join(dir, ValFile))
		b, _ := os.ReadFile(filepath.Join(d, ValFile))
		differs = !bytes.Equal(a, b)
	}
	if !differs {
		t.Error("the validation split does not depend on the seed")
	}

	// --include-human-graded exports the human-graded pairs too
	dir3 := t.TempDir()
	m3, err := Export(ctx, f.st, ExportOptions{Teacher: "teacher", Out: dir3, ValFraction: -1, IncludeHumanGraded: true})
	if err != nil {
		t.Fatal(err)
	}
	all := readExport(t, filepath.Join(dir3, TrainFile), c, users)
	if len(all) != 10*8-10 || m3.Counts["val"] != 0 || m3.Excluded.HumanGraded != 0 {
		t.Errorf("with human-graded pairs and no val: %d train lines, manifest %+v", len(all), m3)
	}
}

func TestExportBalance(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 6, 8)
	// make grade 0 the clear majority: the teacher grades every pair of q5 0
	var js []store.Judgment
	for k, id := range f.pairs {
		if strings.HasPrefix(k, "q5/") && !f.failed[id] {
			js = append(js, store.Judgment{PairID: id, LabelerID: f.teacher.ID, Grade: 0, Status: store.StatusOK})
		}
	}
	if err := f.st.PutJudgments(ctx, js); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	plain, err := Export(ctx, f.st, ExportOptions{Teacher: "teacher", Out: dir, ValFraction: -1, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Export(ctx, f.st, ExportOptions{Teacher: "teacher", Out: dir, ValFraction: -1, Seed: 3, Balance: true})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Grades["train"]
	first, second := 0, 0
	for _, n := range plain.Grades["train"] {
		if n > first {
			first, second = n, first
		} else if n > second {
			second = n
		}
	}
	if first == second {
		t.Fatalf("fixture has no single majority grade: %v", plain.Grades["train"])
	}
	for g, n := range h {
		want := min(plain.Grades["train"][g], second)
		if n != want {
			t.Errorf("balanced grade %d: %d examples, want %d (plain %v)", g, n, want, plain.Grades["train"])
		}
	}
	if m.Excluded.Balanced != first-second || m.Counts["train"] != plain.Counts["train"]-(first-second) {
		t.Errorf("balanced out %d, counts %v; want %d dropped", m.Excluded.Balanced, m.Counts, first-second)
	}
	c, users := expected(t, f, store.Labeler{})
	if got := readExport(t, filepath.Join(dir, TrainFile), c, users); len(got) != m.Counts["train"] {
		t.Errorf("train.jsonl has %d lines, manifest says %d", len(got), m.Counts["train"])
	}
}

func TestExportStudentLabelerLogprobs(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 3, 6)
	lab := store.Labeler{Name: "small", Kind: store.KindStudent, Role: "student", BaseURL: "http://127.0.0.1:1/v1", Model: "small-model",
		Config: store.LabelerConfig{Mode: llm.ModeLogprobs, MaxDocTokens: 64}}
	if err := f.st.AddLabeler(ctx, &lab); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	m, err := Export(ctx, f.st, ExportOptions{Teacher: "teacher", Out: dir, ValFraction: -1, StudentLabeler: "small"})
	if err != nil {
		t.Fatal(err)
	}
	c, users := expected(t, f, lab)
	lines := readExport(t, filepath.Join(dir, TrainFile), c, users)
	if len(lines) == 0 || m.Student.Mode != llm.ModeLogprobs || m.Student.MaxDocTokens != 64 || m.PromptVersion != c.PromptVersion() {
		t.Fatalf("manifest %+v, %d lines", m, len(lines))
	}
	for _, l := range lines {
		j, _, _ := f.st.Judgment(ctx, l.pair, f.teacher.ID)
		if l.grade != c.AssistantTarget(j.Grade) || len(l.grade) != 1 {
			t.Errorf("pair %d: assistant %q, want the digit %d", l.pair, l.grade, j.Grade)
		}
	}
	if _, err := Export(ctx, f.st, ExportOptions{Teacher: "teacher", Out: dir, StudentLabeler: "lexical"}); err == nil {
		t.Error("a student labeler without an endpoint was accepted")
	}
	if _, err := Export(ctx, f.st, ExportOptions{Teacher: "nobody", Out: dir}); err == nil {
		t.Error("an unknown teacher was accepted")
	}
}
