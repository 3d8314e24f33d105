package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// BatchCounts are the request counts of a batch.
type BatchCounts = openai.BatchRequestCounts

// mgmtTimeout is the per-attempt timeout of file and batch management calls
// (uploads and downloads can be large).
const mgmtTimeout = 10 * time.Minute

func (c *Client) batchEndpoint() openai.BatchEndpoint {
	if c.cfg.Azure {
		return "/chat/completions"
	}
	return openai.BatchEndpointChatCompletions
}

// BatchLine returns one JSONL line (without newline) of an OpenAI Batch input
// file: {"custom_id":..,"body":{...},"method":"POST","url":"/v1/chat/completions"}
// where body is exactly the request Grade would send in the current mode.
func (c *Client) BatchLine(customID, query string, doc Doc) ([]byte, error) {
	if customID == "" {
		return nil, errors.New("llm: empty custom_id")
	}
	ps := c.prompts(c.useLogprobs())
	line := openai.BatchChatCompletionRequest{
		CustomID: customID,
		Body:     c.chatRequest(ps, c.messages(ps, query, doc)),
		Method:   http.MethodPost,
		URL:      c.batchEndpoint(),
	}
	return json.Marshal(line)
}

type batchOutputLine struct {
	ID       string `json:"id"`
	CustomID string `json:"custom_id"`
	Response *struct {
		StatusCode int             `json:"status_code"`
		Body       json.RawMessage `json:"body"`
	} `json:"response"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// ParseBatchOutputLine turns one line of a batch output (or error) file into
// a Judgment with the same parsing rules as Grade. A response carrying
// logprobs is parsed as logprobs mode, any other as json mode. err is only
// set when the line itself is not a batch output line; failed requests give
// a Judgment with Status error.
func (c *Client) ParseBatchOutputLine(line []byte) (customID string, j Judgment, err error) {
	customID, j, err = c.parseBatchOutputLine(c.red.ScrubBytes(line))
	c.scrubJudgment(&j)
	return c.scrub(customID), j, err
}

func (c *Client) parseBatchOutputLine(line []byte) (customID string, j Judgment, err error) {
	var l batchOutputLine
	if err := json.Unmarshal(line, &l); err != nil {
		return "", j, fmt.Errorf("llm: batch output line: %w", err)
	}
	if l.CustomID == "" {
		return "", j, errors.New("llm: batch output line has no custom_id")
	}
	j.Attempts = 1
	j.PromptVersion = c.json.version
	switch {
	case l.Error != nil && (l.Response == nil || l.Response.StatusCode != http.StatusOK):
		j.Status, j.Error = StatusError, c.redact(strings.TrimSpace(l.Error.Code+": "+l.Error.Message))
		return l.CustomID, j, nil
	case l.Response == nil:
		return l.CustomID, j, errors.New("llm: batch output line has neither response nor error")
	case l.Response.StatusCode != http.StatusOK:
		var er openai.ErrorResponse
		msg := string(l.Response.Body)
		if json.Unmarshal(l.Response.Body, &er) == nil && er.Error != nil {
			msg = er.Error.Message
		}
		j.Status, j.Error = StatusError, c.redact(fmt.Sprintf("http %d: %s", l.Response.StatusCode, msg))
		if c.logprobsMode && strings.Contains(strings.ToLower(msg), "logprob") {
			j.PromptVersion = c.prompts(true).version
		}
		return l.CustomID, j, nil
	}
	var resp openai.ChatCompletionResponse
	if err := json.Unmarshal(l.Response.Body, &resp); err != nil {
		j.Status, j.Error = StatusError, c.redact("malformed response body: "+err.Error())
		return l.CustomID, j, nil
	}
	c.scrubResponse(&resp)
	lp := c.logprobsMode && hasLogprobs(resp)
	if lp {
		j.PromptVersion = c.lp.version
	} else if c.logprobsMode {
		j.FellBack = true
	}
	addUsage(&j, resp.Usage)
	c.parseResponse(&j, resp, lp)
	return l.CustomID, j, nil
}

// UploadBatchFile uploads a JSONL batch input file (purpose "batch") and
// returns its file id.
func (c *Client) UploadBatchFile(ctx context.Context, name string, data []byte) (string, error) {
	var f openai.File
	var n int
	_, cerr := c.call(ctx, &n, callOpts{timeout: mgmtTimeout}, func(actx context.Context) error {
		var err error
		f, err = c.oa.CreateFileBytes(actx, openai.FileBytesRequest{Name: name, Bytes: data, Purpose: openai.PurposeBatch})
		return err
	})
	if cerr != nil {
		return "", fmt.Errorf("llm: upload batch file: %s", cerr.msg)
	}
	return f.ID, nil
}

// CreateBatch starts a chat-completions batch (24h window) on an uploaded
// input file and returns the batch id.
func (c *Client) CreateBatch(ctx context.Context, fileID string) (string, error) {
	var b openai.BatchResponse
	var n int
	_, cerr := c.call(ctx, &n, callOpts{timeout: mgmtTimeout}, func(actx context.Context) error {
		var err error
		b, err = c.oa.CreateBatch(actx, openai.CreateBatchRequest{
			InputFileID:      fileID,
			Endpoint:         c.batchEndpoint(),
			CompletionWindow: "24h",
		})
		return err
	})
	if cerr != nil {
		return "", fmt.Errorf("llm: create batch: %s", cerr.msg)
	}
	return b.ID, nil
}

// GetBatch returns the status of a batch ("validating", "in_progress",
// "finalizing", "completed", "failed", "expired", "cancelling",
// "cancelled"), its output and error file ids (empty until available) and
// its request counts.
func (c *Client) GetBatch(ctx context.Context, batchID string) (status, outputFileID, errorFileID string, counts BatchCounts, err error) {
	var b openai.BatchResponse
	var n int
	_, cerr := c.call(ctx, &n, callOpts{timeout: mgmtTimeout}, func(actx context.Context) error {
		var err error
		b, err = c.oa.RetrieveBatch(actx, batchID)
		return err
	})
	if cerr != nil {
		return "", "", "", counts, fmt.Errorf("llm: get batch: %s", cerr.msg)
	}
	if b.OutputFileID != nil {
		outputFileID = *b.OutputFileID
	}
	if b.ErrorFileID != nil {
		errorFileID = *b.ErrorFileID
	}
	return b.Status, outputFileID, errorFileID, b.RequestCounts, nil
}

// Download returns the content of a file (e.g. a batch output file).
func (c *Client) Download(ctx context.Context, fileID string) ([]byte, error) {
	var data []byte
	var n int
	_, cerr := c.call(ctx, &n, callOpts{timeout: mgmtTimeout}, func(actx context.Context) error {
		raw, err := c.oa.GetFileContent(actx, fileID)
		if err != nil {
			return err
		}
		defer raw.Close()
		data, err = io.ReadAll(raw)
		return err
	})
	if cerr != nil {
		return nil, fmt.Errorf("llm: download %s: %s", fileID, cerr.msg)
	}
	return data, nil
}
