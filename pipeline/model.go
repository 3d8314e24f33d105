package pipeline

import (
	"time"

	"github.com/qrelbench/qrelbench/pipeline/llm"
	"github.com/qrelbench/qrelbench/store"
)

// ClientFor builds the model client of an llm or served-student labeler from
// its stored settings. The API key is read from the environment variable the
// labeler names, at this moment, and never stored.
func ClientFor(lab store.Labeler, scale store.Scale) (*llm.Client, error) {
	c := lab.Config
	cfg := llm.Config{
		BaseURL: lab.BaseURL, Model: lab.Model, APIKeyEnv: lab.APIKeyEnv,
		Azure: c.Azure, APIVersion: c.APIVersion, Mode: c.Mode, Rationale: c.Rationale,
		MaxDocTokens: c.MaxDocTokens, Concurrency: c.Concurrency, RPM: c.RPM, TPM: c.TPM,
		Timeout: time.Duration(c.TimeoutSec * float64(time.Second)),
	}
	return llm.New(cfg, LLMScale(scale))
}

// LLMScale converts the workspace scale for prompts.
func LLMScale(s store.Scale) []llm.Level {
	out := make([]llm.Level, len(s.Levels))
	for i, l := range s.Levels {
		out[i] = llm.Level{Grade: l.Grade, Name: l.Name, Description: l.Description}
	}
	return out
}

// LLMDoc converts a stored document for prompts.
func LLMDoc(d store.Document) llm.Doc {
	return llm.Doc{ID: d.ExtID, Title: d.Title, Body: d.Body, URL: d.URL, Author: d.Author, Type: d.Type, Modified: d.Modified}
}

// judgmentFrom turns a model answer into a stored judgment. A grade is kept
// only when the client parsed one strictly; everything else is recorded with
// its status, raw output and error, never as a grade. priceFactor is 1, or
// 0.5 for Batch API results.
func judgmentFrom(pairID int64, lab store.Labeler, j llm.Judgment, priceFactor float64) store.Judgment {
	out := store.Judgment{
		PairID: pairID, LabelerID: lab.ID, Status: string(j.Status), Probs: j.Probs,
		Expected: j.Expected, HasExpected: j.HasExpected, Reason: j.Reason, Raw: j.Raw,
		TokensIn: j.TokensIn, TokensOut: j.TokensOut, LatencyMS: float64(j.Latency) / float64(time.Millisecond),
		CostUSD: lab.Cost(j.TokensIn, j.TokensOut) * priceFactor, Attempts: j.Attempts, PromptVersion: j.PromptVersion,
	}
	if j.Status == llm.StatusOK && j.HasGrade {
		out.Grade = j.Grade
	} else if j.Status == llm.StatusOK {
		out.Status = store.StatusUnparseable
	}
	if out.Status != store.StatusOK {
		out.Probs, out.HasExpected = nil, false
		if j.Error != "" {
			out.Reason = j.Error
		}
	}
	return out
}
