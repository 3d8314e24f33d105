package distill

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/qrelbench/qrelbench/pipeline"
	"github.com/qrelbench/qrelbench/pipeline/llm"
	"github.com/qrelbench/qrelbench/store"
	"github.com/qrelbench/qrelbench/store/quote"
)

// File names written by Export.
const (
	TrainFile    = "train.jsonl"
	ValFile      = "val.jsonl"
	ManifestFile = "manifest.json"
)

// DefaultValFraction is the share of pairs (in whole queries) held out for
// validation.
const DefaultValFraction = 0.1

// ExportOptions configure Export.
type ExportOptions struct {
	Teacher string // labeler whose ok grades become the assistant answers
	Out     string // directory for train.jsonl, val.jsonl, manifest.json
	// ValFraction of the exported pairs go to val.jsonl, in whole queries
	// (see Export). 0 means DefaultValFraction; negative means none.
	ValFraction float64
	// Balance down-samples the training split's grades to at most the count
	// of its second most frequent grade (seeded). val.jsonl is never
	// balanced, so validation loss is measured on the teacher's real
	// distribution.
	Balance bool
	Seed    int64
	// StudentLabeler names the labeler whose prompt settings (mode,
	// rationale, document budget, scale) the student will be served with;
	// empty means json mode with the defaults.
	StudentLabeler string
	// Queries restricts the export to these query ids (empty: all).
	Queries []string
	// IncludeHumanGraded also exports pairs that carry a human grade.
	IncludeHumanGraded bool
}

// Manifest describes an export; it is written as manifest.json.
type Manifest struct {
	Format             string            `json:"format"`
	Teacher            string            `json:"teacher"`
	StudentLabeler     string            `json:"student_labeler,omitempty"`
	PromptVersion      string            `json:"prompt_version"`
	Student            StudentPrompt     `json:"student_prompt"`
	Scale              string            `json:"scale"`
	Seed               int64             `json:"seed"`
	ValFraction        float64           `json:"val_fraction"`
	Balance            bool              `json:"balance"`
	IncludeHumanGraded bool              `json:"include_human_graded"`
	Counts             map[string]int    `json:"counts"`  // examples per split
	Queries            map[string]int    `json:"queries"` // queries per split
	Grades             map[string][]int  `json:"grades"`  // per split: count of each grade, index grade - scale min
	MinGrade           int               `json:"min_grade"`
	Excluded           Excluded          `json:"excluded"`
	Files              map[string]string `json:"sha256"` // file name -> hex sha256
	CreatedAt          time.Time         `json:"created_at"`
}

// StudentPrompt are the prompt settings the examples were written with; a
// fine-tuned student must be served with the same ones.
type StudentPrompt struct {
	Mode         string `json:"mode"`
	Rationale    bool   `json:"rationale,omitempty"`
	MaxDocTokens int    `json:"max_doc_tokens,omitempty"`
}

// Excluded counts the teacher's pairs that were not exported.
type Excluded struct {
	TeacherNotOK int `json:"teacher_not_ok"` // failed, refused, unparseable or unsure judgments
	HumanGraded  int `json:"human_graded"`
	Balanced     int `json:"balanced_out"` // dropped from train by Balance
}

// Message is one chat message of a fine-tuning example.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Example is one line of the JSONL files: the OpenAI chat fine-tuning
// format, {"messages":[system, user, assistant]}.
type Example struct {
	Messages []Message `json:"messages"`
}

type exRow struct {
	query string
	grade int
	line  []byte
}

// Export writes the teacher's ok grades as chat fine-tuning examples. The
// system and user messages are exactly what the student labeler's client
// will send for the pair (llm.Client.Messages); the assistant message is
// the teacher's grade in the answer format the student is asked for
// (llm.Client.AssistantTarget).
//
// The split is by query, so no query is in both files: the exported queries
// are shuffled with the seed and taken into val.jsonl in that order until
// it holds at least ValFraction of the pairs (at least one query when there
// are two or more, never all of them). The training lines are shuffled
// with the seed; validation lines stay sorted by query and document.
//
// Pairs whose teacher judgment is not ok are left out, and so, unless
// IncludeHumanGraded, are pairs with a grade from any human labeler.
func Export(ctx context.Context, st *store.Store, opt ExportOptions) (Manifest, error) {
	man := Manifest{Format: "openai-chat-finetune-jsonl", Seed: opt.Seed, Balance: opt.Balance, IncludeHumanGraded: opt.IncludeHumanGraded,
		Scale: st.Scale().Name, MinGrade: st.Scale().Min(), StudentLabeler: opt.StudentLabeler}
	if opt.Out == "" {
		return man, errors.New("export needs an output directory (--out DIR)")
	}
	switch {
	case opt.ValFraction == 0:
		opt.ValFraction = DefaultValFraction
	case opt.ValFraction < 0:
		opt.ValFraction = 0
	case opt.ValFraction >= 1:
		return man, fmt.Errorf("--val-fraction %g: must be below 1", opt.ValFraction)
	}
	man.ValFraction = opt.ValFraction
	teacher, err := teacherLabeler(ctx, st, opt.Teacher)
	if err != nil {
		return man, err
	}
	man.Teacher = teacher.Name
	client, sp, err := studentClient(ctx, st, opt.StudentLabeler)
	if err != nil {
		return man, err
	}
	man.PromptVersion, man.Student = client.PromptVersion(), sp
	qs, err := selectQueries(ctx, st, opt.Queries, nil)
	if err != nil {
		return man, err
	}
	tgrades, notOK, err := teacherGrades(ctx, st, teacher)
	if err != nil {
		return man, err
	}
	man.Excluded.TeacherNotOK = notOK
	human := map[int64]bool{}
	if !opt.IncludeHumanGraded {
		if human, err = humanGraded(ctx, st); err != nil {
			return man, err
		}
	}

	// Build every example, grouped by query (sorted by query id, then doc id).
	byQuery := map[string][]exRow{}
	var qids []string
	for _, q := range qs {
		if err := ctx.Err(); err != nil {
			return man, err
		}
		views, err := st.PairViews(ctx, store.PairFilter{QueryID: q.ID})
		if err != nil {
			return man, err
		}
		sort.Slice(views, func(i, j int) bool { return views[i].Doc.ExtID < views[j].Doc.ExtID })
		var rows []exRow
		for _, v := range views {
			g, ok := tgrades[v.ID]
			if !ok {
				continue
			}
			if human[v.ID] {
				man.Excluded.HumanGraded++
				continue
			}
			line, err := exampleLine(client, v, g)
			if err != nil {
				return man, err
			}
			rows = append(rows, exRow{query: q.ExtID, grade: g, line: line})
		}
		if len(rows) > 0 {
			byQuery[q.ExtID] = rows
			qids = append(qids, q.ExtID)
		}
	}
	if len(qids) == 0 {
		msg := fmt.Sprintf("nothing to export: teacher %q has no ok grades", teacher.Name)
		if man.Excluded.HumanGraded > 0 {
			msg += fmt.Sprintf(" outside the %d pairs humans graded (use --include-human-graded to export those too)", man.Excluded.HumanGraded)
		}
		return man, errors.New(msg)
	}

	valQ := splitQueries(qids, byQuery, opt.ValFraction, opt.Seed)
	var train, val []exRow
	for _, q := range qids {
		if valQ[q] {
			val = append(val, byQuery[q]...)
		} else {
			train = append(train, byQuery[q]...)
		}
	}
	rng := rand.New(rand.NewPCG(uint64(opt.Seed), 0x717265646973746c)) // "qredistl"
	if opt.Balance {
		var dropped int
		train, dropped = balance(train, rng)
		man.Excluded.Balanced = dropped
	}
	rng.Shuffle(len(train), func(i, j int) { train[i], train[j] = train[j], train[i] })

	if err := os.MkdirAll(opt.Out, 0o755); err != nil {
		return man, err
	}
	man.Files = map[string]string{}
	man.Counts = map[string]int{"train": len(train), "val": len(val)}
	man.Queries = map[string]int{"train": len(qids) - len(valQ), "val": len(valQ)}
	man.Grades = map[string][]int{"train": histogram(train, st.Scale()), "val": histogram(val, st.Scale())}
	for _, f := range []struct {
		name string
		rows []exRow
	}{{TrainFile, train}, {ValFile, val}} {
		sum, err := writeLines(filepath.Join(opt.Out, f.name), f.rows)
		if err != nil {
			return man, err
		}
		man.Files[f.name] = sum
	}
	man.CreatedAt = time.Now().UTC()
	b, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return man, err
	}
	return man, writeFile(filepath.Join(opt.Out, ManifestFile), append(b, '\n'))
}

// studentClient builds the client whose prompts the student will be served
// with: the named labeler's settings, or json mode with the defaults.
func studentClient(ctx context.Context, st *store.Store, name string) (*llm.Client, StudentPrompt, error) {
	lab := store.Labeler{Name: "student", Model: "student", Config: store.LabelerConfig{Mode: llm.ModeJSON}}
	if name != "" {
		var err error
		if lab, err = st.Labeler(ctx, name); err != nil {
			return nil, StudentPrompt{}, err
		}
		if lab.Model == "" {
			return nil, StudentPrompt{}, fmt.Errorf("--student-labeler %s has no model endpoint, so no prompt to export for", quote.Input(name))
		}
	}
	c, err := pipeline.ClientFor(lab, st.Scale())
	if err != nil {
		return nil, StudentPrompt{}, fmt.Errorf("student labeler %q: %w", lab.Name, err)
	}
	return c, StudentPrompt{Mode: c.Mode(), Rationale: lab.Config.Rationale, MaxDocTokens: lab.Config.MaxDocTokens}, nil
}

func exampleLine(c *llm.Client, v store.PairView, grade int) ([]byte, error) {
	msgs := c.Messages(v.QueryText, pipeline.LLMDoc(v.Doc))
	ex := Example{Messages: make([]Message, 0, len(msgs)+1)}
	for _, m := range msgs {
		ex.Messages = append(ex.Messages, Message{Role: m.Role, Content: m.Content})
	}
	ex.Messages = append(ex.Messages, Message{Role: "assistant", Content: c.AssistantTarget(grade)})
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep "<document>" readable; the JSON is equivalent
	if err := enc.Encode(ex); err != nil {
		return nil, err
	}
	return b.Bytes(), nil // one line, ending in '\n'
}

// splitQueries picks the validation queries: qids shuffled with the seed,
// taken in that order until they hold at least frac of the pairs, at least
// one when there are two or more queries and frac > 0, never all.
func splitQueries(qids []string, byQuery map[string][]exRow, frac float64, seed int64) map[string]bool {
	val := map[string]bool{}
	if frac <= 0 || len(qids) < 2 {
		return val
	}
	order := slices.Clone(qids)
	rng := rand.New(rand.NewPCG(uint64(seed), 0x76616c73706c6974)) // "valsplit"
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	total := 0
	for _, q := range qids {
		total += len(byQuery[q])
	}
	want := frac * float64(total)
	n := 0
	for _, q := range order[:len(order)-1] {
		if len(val) > 0 && float64(n) >= want {
			break
		}
		val[q] = true
		n += len(byQuery[q])
	}
	return val
}

// balance caps every grade at the count of the second most frequent grade,
// dropping a seeded random choice of the majority grade's examples (only
// one grade can exceed the cap). It returns the kept rows in their order.
func balance(rows []exRow, rng *rand.Rand) ([]exRow, int) {
	count := map[int]int{}
	for _, r := range rows {
		count[r.grade]++
	}
	if len(count) < 2 {
		return rows, 0
	}
	var cs []int
	for _, c := range count {
		cs = append(cs, c)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(cs)))
	limit := cs[1]
	keep := make([]bool, len(rows))
	byGrade := map[int][]int{}
	for i, r := range rows {
		byGrade[r.grade] = append(byGrade[r.grade], i)
	}
	grades := make([]int, 0, len(byGrade))
	for g := range byGrade {
		grades = append(grades, g)
	}
	sort.Ints(grades) // deterministic order of rng use
	for _, g := range grades {
		idx := byGrade[g]
		if len(idx) > limit {
			rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
			idx = idx[:limit]
		}
		for _, i := range idx {
			keep[i] = true
		}
	}
	out := rows[:0:0]
	for i, r := range rows {
		if keep[i] {
			out = append(out, r)
		}
	}
	return out, len(rows) - len(out)
}

func histogram(rows []exRow, sc store.Scale) []int {
	h := make([]int, len(sc.Levels))
	for _, r := range rows {
		h[r.grade-sc.Min()]++
	}
	return h
}

// writeLines writes the rows' lines to path and returns the file's sha256.
func writeLines(path string, rows []exRow) (string, error) {
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	w := bufio.NewWriter(io.MultiWriter(f, h))
	for _, r := range rows {
		if _, err := w.Write(r.line); err != nil {
			f.Close()
			return "", err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func writeFile(path string, data []byte) error { return os.WriteFile(path, data, 0o644) }

// FileSHA256 returns the hex sha256 of a file.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ReadManifest reads dir/manifest.json.
func ReadManifest(dir string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%s: %w", filepath.Join(dir, ManifestFile), err)
	}
	return m, nil
}
