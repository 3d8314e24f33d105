package benchmark

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestUnreliableSmallSample: on 3 pairs every defined figure is marked,
// undefined ones are not (they have no value), and a large sample with a
// tight interval is not marked.
func TestUnreliableSmallSample(t *testing.T) {
	items := []Item{
		{Query: "a", Doc: "1", Ref: 1, Got: 1, Score: 1},
		{Query: "a", Doc: "2", Ref: 2, Got: 1, Score: 1},
		{Query: "b", Doc: "1", Ref: 0, Got: 0, Score: 0},
	}
	r, err := Compute(items, Options{MinGrade: 0, MaxGrade: 3, Bootstrap: 50})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Unreliable("accuracy") || !strings.HasSuffix(r.Cell("accuracy"), UnreliableMark) {
		t.Errorf("accuracy on 3 pairs: %q", r.Cell("accuracy"))
	}
	for _, u := range r.Undefined {
		if r.Unreliable(u) {
			t.Errorf("undefined %s marked unreliable", u)
		}
	}
	if !r.GradeRecallUnreliable(1) || r.GradeRecallUnreliable(3) {
		t.Error("recall of grade 1 (2 pairs) should be marked, grade 3 (none) not")
	}
	big, err := Compute(synthetic(7, 4000, 200), Options{MinGrade: 0, MaxGrade: 3, Bootstrap: 50})
	if err != nil {
		t.Fatal(err)
	}
	if got := big.UnreliableMetrics(); len(got) != 0 {
		t.Errorf("4000 pairs over 200 queries: unreliable %v", got)
	}
	if c := big.Cell("accuracy"); strings.HasSuffix(c, UnreliableMark) || !strings.Contains(c, " [") {
		t.Errorf("big accuracy cell %q", c)
	}
}

// TestUnreliableWideInterval: enough pairs, but an interval wider than half
// the range (few queries, disagreeing at random) is marked.
func TestUnreliableWideInterval(t *testing.T) {
	var items []Item
	for i := 0; i < 40; i++ {
		q := "a"
		if i%2 == 1 {
			q = "b"
		}
		ref, got := 3, 3
		if q == "b" {
			ref, got = 0, 3
		}
		items = append(items, Item{Query: q, Doc: string(rune('A' + i)), Ref: ref, Got: got, Score: float64(got)})
	}
	r, err := Compute(items, Options{MinGrade: 0, MaxGrade: 3, Bootstrap: 200, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	ci := r.CI["accuracy"]
	if ci[1]-ci[0] <= 0.5 {
		t.Fatalf("fixture: accuracy interval %v is not wide", ci)
	}
	if r.N < MinReliableN || !r.Unreliable("accuracy") {
		t.Errorf("n %d, interval %v: not marked", r.N, ci)
	}
}

// TestResultJSONNulls: undefined metrics are null in JSON (not 0), the
// unreliable list is there, and every field of LabelerResult is written.
func TestResultJSONNulls(t *testing.T) {
	items := []Item{
		{Query: "a", Doc: "1", Ref: 1, Got: 1, Score: 1},
		{Query: "a", Doc: "2", Ref: 1, Got: 1, Score: 1},
	}
	r, err := Compute(items, opts03())
	if err != nil {
		t.Fatal(err)
	}
	lr := LabelerResult{Labeler: "x", Kind: "llm", Coverage: 0.5, Result: r}
	b, err := json.Marshal(lr)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if v, ok := m["cohen_kappa"]; !ok || v != nil {
		t.Errorf("cohen_kappa = %v (%v), want null", v, ok)
	}
	if m["accuracy"] != 1.0 || m["labeler"] != "x" || m["coverage"] != 0.5 {
		t.Errorf("fields: %v", m)
	}
	pg := m["per_grade_accuracy"].([]any)
	if pg[0] != nil || pg[1] != 1.0 {
		t.Errorf("per_grade_accuracy %v", pg)
	}
	if u, ok := m["unreliable"].([]any); !ok || len(u) == 0 {
		t.Errorf("unreliable %v", m["unreliable"])
	}
	// Every exported field, of the embedding and of the Result, is written.
	for _, typ := range []reflect.Type{reflect.TypeOf(LabelerResult{}), reflect.TypeOf(Result{})} {
		for i := 0; i < typ.NumField(); i++ {
			tag := strings.Split(typ.Field(i).Tag.Get("json"), ",")[0]
			if typ.Field(i).Anonymous || tag == "-" {
				continue
			}
			if _, ok := m[tag]; !ok {
				t.Errorf("field %s (%q) missing from the JSON", typ.Field(i).Name, tag)
			}
		}
	}
	// It reads back into the struct (nulls leave zeros).
	var back LabelerResult
	if err := json.Unmarshal(b, &back); err != nil || back.Labeler != "x" || back.Accuracy != 1 || back.N != 2 {
		t.Errorf("read back %+v %v", back, err)
	}
}
