package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	openai "github.com/sashabaranov/go-openai"
)

// Grade judges the relevance of doc to query. It is safe for concurrent use;
// at most Config.Concurrency requests are in flight per Client. It never
// returns an invented grade: HasGrade is true only with Status ok.
func (c *Client) Grade(ctx context.Context, query string, doc Doc) Judgment {
	j := c.grade(ctx, query, doc)
	c.scrubJudgment(&j)
	return j
}

func (c *Client) grade(ctx context.Context, query string, doc Doc) Judgment {
	var j Judgment
	lp := c.useLogprobs()
	for {
		ps := c.prompts(lp)
		j.PromptVersion = ps.version
		j.FellBack = c.logprobsMode && !lp
		req := c.chatRequest(ps, c.messages(ps, query, doc))
		var resp openai.ChatCompletionResponse
		lat, cerr := c.call(ctx, &j.Attempts, callOpts{limited: true, estTokens: estimateTokens(req.Messages, max(req.MaxTokens, 1))},
			func(actx context.Context) error {
				var err error
				resp, err = c.chat(actx, req)
				return err
			})
		if cerr != nil {
			if lp && cerr.logprobs {
				c.fellBack.Store(true)
				lp = false
				continue
			}
			j.Status, j.Error, j.Canceled = StatusError, cerr.msg, cerr.canceled
			if cerr.refused {
				j.Status = StatusRefused
			}
			return j
		}
		addUsage(&j, resp.Usage)
		if lp && !c.refusal(resp) && !hasLogprobs(resp) {
			// The server accepted the request but returned no logprobs
			// (e.g. an endpoint that ignores the parameter).
			c.fellBack.Store(true)
			lp = false
			continue
		}
		j.Latency = lat
		c.parseResponse(&j, resp, lp)
		return j
	}
}

func addUsage(j *Judgment, u openai.Usage) {
	j.TokensIn += u.PromptTokens
	j.TokensOut += u.CompletionTokens
	if u.PromptTokensDetails != nil {
		j.CachedTokens += u.PromptTokensDetails.CachedTokens
	}
}

func hasLogprobs(resp openai.ChatCompletionResponse) bool {
	return len(resp.Choices) > 0 && resp.Choices[0].LogProbs != nil && len(resp.Choices[0].LogProbs.Content) > 0
}

func (c *Client) refusal(resp openai.ChatCompletionResponse) bool {
	if len(resp.Choices) == 0 {
		return false
	}
	ch := resp.Choices[0]
	return ch.Message.Refusal != "" || ch.FinishReason == openai.FinishReasonContentFilter
}

// parseResponse fills the grade fields of j from a successful response,
// strictly: anything that is not a clean in-scale answer is unparseable.
func (c *Client) parseResponse(j *Judgment, resp openai.ChatCompletionResponse, lp bool) {
	if len(resp.Choices) == 0 {
		j.Status, j.Error = StatusError, "response has no choices"
		return
	}
	ch := resp.Choices[0]
	j.Raw = ch.Message.Content
	if ch.Message.Refusal != "" || ch.FinishReason == openai.FinishReasonContentFilter {
		j.Status = StatusRefused
		if ch.Message.Refusal != "" {
			if j.Raw == "" {
				j.Raw = ch.Message.Refusal
			}
			j.Error = "refused: " + c.redact(ch.Message.Refusal)
		} else {
			j.Error = "refused: finish_reason content_filter"
		}
		return
	}
	if lp {
		c.parseLogprobs(j, ch)
	} else {
		c.parseJSON(j, ch.Message.Content)
	}
	if j.Status == StatusUnparseable && ch.FinishReason == openai.FinishReasonLength {
		j.Error += " (finish_reason length)"
	}
}

func (c *Client) unparseable(j *Judgment, format string, args ...any) {
	j.Status = StatusUnparseable
	j.Error = c.redact(fmt.Sprintf(format, args...))
}

func (c *Client) parseJSON(j *Judgment, content string) {
	s := strings.TrimSpace(content)
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &obj); err != nil {
		c.unparseable(j, "answer is not a JSON object: %v", err)
		return
	}
	raw, ok := obj["grade"]
	if !ok {
		c.unparseable(j, "answer has no grade")
		return
	}
	g, err := strconv.Atoi(string(raw)) // JSON-validated: only a plain integer literal passes
	if err != nil {
		c.unparseable(j, "grade %s is not an integer", truncateRunes(string(raw), 40))
		return
	}
	if !c.inScale(g) {
		c.unparseable(j, "grade %d out of scale %d..%d", g, c.minG, c.maxG)
		return
	}
	if r, ok := obj["reason"]; ok {
		var reason string
		if json.Unmarshal(r, &reason) == nil {
			j.Reason = reason
		}
	}
	j.Grade, j.HasGrade, j.Status = g, true, StatusOK
}

// parseLogprobs reads the first generated token's top_logprobs: the grade is
// the argmax over scale digits (whitespace stripped, variants of one digit
// merged), probabilities are renormalised over the scale digits present.
func (c *Client) parseLogprobs(j *Judgment, ch openai.ChatCompletionChoice) {
	if ch.LogProbs == nil || len(ch.LogProbs.Content) == 0 {
		c.unparseable(j, "response has no logprobs")
		return
	}
	first := ch.LogProbs.Content[0]
	n := c.maxG - c.minG + 1
	lps := make([]float64, 0, len(first.TopLogProbs)+1)
	gs := make([]int, 0, len(first.TopLogProbs)+1)
	chosenListed := false
	add := func(tok string, lp float64) {
		t := strings.TrimSpace(tok)
		if len(t) != 1 || t[0] < '0' || t[0] > '9' || math.IsNaN(lp) || math.IsInf(lp, -1) {
			return
		}
		g := int(t[0] - '0')
		if !c.inScale(g) {
			return
		}
		gs = append(gs, g)
		lps = append(lps, lp)
	}
	for _, t := range first.TopLogProbs {
		if t.Token == first.Token {
			chosenListed = true
		}
		add(t.Token, t.LogProb)
	}
	if !chosenListed {
		add(first.Token, first.LogProb)
	}
	if len(gs) == 0 {
		c.unparseable(j, "no scale digit among top_logprobs (chosen token %q)", truncateRunes(first.Token, 40))
		return
	}
	m := math.Inf(-1)
	for _, lp := range lps {
		m = max(m, lp)
	}
	probs := make([]float64, n)
	sum := 0.0
	for i, g := range gs {
		p := math.Exp(lps[i] - m) // stable: the largest term is 1
		probs[g-c.minG] += p
		sum += p
	}
	best, exp := -1, 0.0
	for i := range probs {
		probs[i] /= sum
		exp += float64(i+c.minG) * probs[i]
		if probs[i] > 0 && (best < 0 || probs[i] > probs[best]) {
			best = i
		}
	}
	j.Probs = probs
	j.Expected, j.HasExpected = exp, true
	j.Grade, j.HasGrade, j.Status = best+c.minG, true, StatusOK
}
