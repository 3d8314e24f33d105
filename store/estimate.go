package store

// StudentEstimate is what `distill train` measured of an embedded student
// before anyone relies on it: its agreement with the teacher on queries it
// did not train on (cross-validation by query over the training queries),
// beside the built-in lexical and bm25 graders on the same pairs, and with
// the human grades of those queries where there are any. It is stored with
// the student (LabelerConfig.Estimate).
type StudentEstimate struct {
	Teacher string `json:"teacher"`
	Queries int    `json:"queries"` // training queries, each held out once
	Pairs   int    `json:"pairs"`   // teacher-graded pairs the estimate is over
	// Folds is the number of cross-validation folds of whole queries
	// (Folds == Queries: leave one query out).
	Folds     int               `json:"folds"`
	Bootstrap int               `json:"bootstrap"` // resamples of queries behind the 95% intervals
	Student   EstimateAgreement `json:"student"`
	Lexical   EstimateAgreement `json:"lexical"`
	BM25      EstimateAgreement `json:"bm25"`
	// Human is the same against human grades of the training queries
	// (nil when they have none).
	Human *HumanEstimate `json:"human,omitempty"`
	// LexicalFallback: the stored student grades exactly like lexical (its
	// teacher grades earned no correction).
	LexicalFallback bool `json:"lexical_fallback,omitempty"`
	// Unreliable says why the estimate should not be trusted ("" when it
	// is not marked): too few queries or wide intervals.
	Unreliable string `json:"unreliable,omitempty"`
}

// EstimateAgreement is a grader's expected agreement with a reference on
// new queries: Cohen's kappa and quadratic-weighted kappa with their 95%
// bootstrap intervals over queries.
type EstimateAgreement struct {
	Kappa       float64    `json:"kappa"`
	KappaCI     [2]float64 `json:"kappa_ci"`
	QuadKappa   float64    `json:"quadratic_kappa"`
	QuadKappaCI [2]float64 `json:"quadratic_kappa_ci"`
}

// HumanEstimate is the estimate against human grades.
type HumanEstimate struct {
	Reference string            `json:"reference"` // the human labeler
	Queries   int               `json:"queries"`
	Pairs     int               `json:"pairs"`
	Student   EstimateAgreement `json:"student"`
	Lexical   EstimateAgreement `json:"lexical"`
	BM25      EstimateAgreement `json:"bm25"`
}

// BeatsLexical reports whether the student is expected to agree with the
// teacher better than lexical on new queries: higher kappa and not lower
// quadratic kappa.
func (e StudentEstimate) BeatsLexical() bool {
	return e.Student.Kappa > e.Lexical.Kappa && e.Student.QuadKappa >= e.Lexical.QuadKappa
}
