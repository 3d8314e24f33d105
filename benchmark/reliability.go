package benchmark

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// MinReliableN is the smallest sample an estimate is shown as a fact from:
// below it (pairs for pair-level metrics, queries for nDCG@10, reference
// pairs of a grade for its recall) the figure is marked unreliable.
const MinReliableN = 30

// metricSpan is the width of the range a metric can take: 1 for
// proportions, 2 for correlations and chance-corrected agreement, the
// scale's width for the mean absolute error.
func (r *Result) metricSpan(name string) float64 {
	switch name {
	case "mae":
		return float64(max(r.MaxGrade-r.MinGrade, 1))
	case "cohen_kappa", "linear_kappa", "quadratic_kappa", "krippendorff_alpha_ordinal", "krippendorff_alpha_interval",
		"binary_kappa", "pearson", "spearman", "kendall_tau_b":
		return 2
	}
	return 1
}

// Unreliable says whether a defined metric rests on too little: fewer than
// MinReliableN items, or a bootstrap interval wider than half the range
// the metric can take. (An undefined metric is neither: it has no value.)
func (r *Result) Unreliable(name string) bool {
	if _, ok := r.Metric(name); !ok {
		return false
	}
	n := r.N
	if name == "ndcg_at_10" {
		n = r.NDCGQueries
	}
	if n < MinReliableN {
		return true
	}
	ci, ok := r.CI[name]
	return ok && ci[1]-ci[0] > r.metricSpan(name)/2
}

// UnreliableMetrics lists the defined metrics that Unreliable marks, in
// report order.
func (r *Result) UnreliableMetrics() []string {
	out := []string{}
	for _, name := range metricNames {
		if r.Unreliable(name) {
			out = append(out, name)
		}
	}
	return out
}

// GradeRecallUnreliable says whether the recall of the reference grade at
// index i rests on fewer than MinReliableN reference pairs.
func (r *Result) GradeRecallUnreliable(i int) bool {
	row := 0
	for _, n := range r.Confusion[i] {
		row += n
	}
	return row > 0 && row < MinReliableN
}

// UnreliableMark follows a figure that Unreliable marks.
const UnreliableMark = "*"

// UnreliableNote explains UnreliableMark under a table.
var UnreliableNote = UnreliableMark + " unreliable: fewer than " + strconv.Itoa(MinReliableN) +
	" pairs (queries for nDCG@10, reference pairs of the grade for a recall), or a 95% interval wider than half the metric's range"

// Cell is one metric as every table shows it: three decimals, its 95%
// interval when there is one (from two queries or more), UnreliableMark when it rests on too little;
// "—" where it is undefined on this data.
func (r *Result) Cell(name string) string {
	v, ok := r.Metric(name)
	if !ok {
		return "—"
	}
	s := strconv.FormatFloat(v, 'f', 3, 64)
	// Resampling one query gives back the same figure every time: its
	// "interval" would look exact and mean nothing.
	if ci, ok := r.CI[name]; ok && r.Queries > 1 {
		s += " [" + strconv.FormatFloat(ci[0], 'f', 2, 64) + ", " + strconv.FormatFloat(ci[1], 'f', 2, 64) + "]"
	}
	if r.Unreliable(name) {
		s += UnreliableMark
	}
	return s
}

// resultFields is Result without its methods, for encoding/json.
type resultFields Result

// MarshalJSON writes a Result with its undefined metrics as null (not the
// 0 the struct holds) and an "unreliable" list of the metrics Unreliable
// marks.
func (r Result) MarshalJSON() ([]byte, error) {
	m, err := r.jsonFields()
	if err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

func (r *Result) jsonFields() (map[string]json.RawMessage, error) {
	b, err := json.Marshal(resultFields(*r))
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	null := json.RawMessage("null")
	var perGrade []json.RawMessage
	if err := json.Unmarshal(m["per_grade_accuracy"], &perGrade); err != nil {
		return nil, err
	}
	for _, name := range r.Undefined {
		if rest, ok := strings.CutPrefix(name, "per_grade_accuracy["); ok {
			g, err := strconv.Atoi(strings.TrimSuffix(rest, "]"))
			if i := g - r.MinGrade; err == nil && i >= 0 && i < len(perGrade) {
				perGrade[i] = null
			}
			continue
		}
		if _, ok := m[name]; ok && slices.Contains(metricNames[:], name) {
			m[name] = null
		}
	}
	if m["per_grade_accuracy"], err = json.Marshal(perGrade); err != nil {
		return nil, err
	}
	if m["unreliable"], err = json.Marshal(r.UnreliableMetrics()); err != nil {
		return nil, err
	}
	return m, nil
}

// MarshalJSON writes the labeler's fields and its Result's (see
// Result.MarshalJSON) as one object, as the embedding reads.
func (l LabelerResult) MarshalJSON() ([]byte, error) {
	m, err := l.Result.jsonFields()
	if err != nil {
		return nil, err
	}
	for k, v := range map[string]any{"labeler": l.Labeler, "kind": l.Kind, "coverage": l.Coverage} {
		if m[k], err = json.Marshal(v); err != nil {
			return nil, err
		}
	}
	return json.Marshal(m)
}
