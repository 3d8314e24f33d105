package main

import (
	"strings"
	"testing"
	"time"

	"github.com/qrelbench/qrelbench/pipeline"
)

// TestProgressLineSaysWhatWasRetried: failures and answers asked again are
// both on the line, and neither when there are none.
func TestProgressLineSaysWhatWasRetried(t *testing.T) {
	p := pipeline.Progress{Kind: "labeling", Labeler: "teacher", Total: 100, Done: 40, Failed: 2, Retried: 5, Elapsed: time.Second}
	for _, c := range []struct {
		failed, retried int
		want, not       string
	}{
		{2, 5, " 40/100 (2 failed, 5 retried)", ""},
		{0, 5, " 40/100 (5 retried)", "failed"},
		{2, 0, " 40/100 (2 failed)", "retried"},
		{0, 0, " 40/100  ", "("},
	} {
		p.Failed, p.Retried = c.failed, c.retried
		line := formatProgress(p, false)
		if !strings.Contains(line, c.want) || (c.not != "" && strings.Contains(line, c.not)) {
			t.Errorf("failed %d retried %d: %q", c.failed, c.retried, line)
		}
	}
}

// TestRetryFailedFlagIsDeprecated: the old flag still works and says what
// every run does now.
func TestRetryFailedFlagIsDeprecated(t *testing.T) {
	db := pipelineWorkspace(t)
	out, stderr, err := runCLI(t, "--db", db, "label", "--labeler", "lexical", "--retry-failed")
	if err != nil || !strings.Contains(out, "12 pairs graded") ||
		!strings.Contains(stderr, "--retry-failed is no longer needed: a failure is not a grade") {
		t.Fatalf("label --retry-failed: %q %q %v", out, stderr, err)
	}
}
