// Package llm is the model-endpoint client used by every model labeler and
// synthesizer of qrelbench. All calls go through go-openai to any
// OpenAI-compatible endpoint (OpenAI, Azure OpenAI, vLLM, SGLang, Ollama,
// llama.cpp server).
//
// A Client grades (query, document) pairs on a graded relevance scale in one of
// two modes:
//
//   - "json" (default): the model answers {"grade": N} (plus an optional short
//     "reason") constrained by a strict json_schema response_format.
//   - "logprobs": the model answers a single digit with max_tokens=1 and the
//     client reads top_logprobs to obtain a probability for every level of the
//     scale. If the server cannot return logprobs, the client falls back to
//     json mode for the rest of its life and marks judgments FellBack.
//
// Grade never invents a grade: anything it cannot read strictly is reported as
// unparseable, refused or error, with the raw model output kept.
package llm

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/qrelbench/qrelbench/pipeline/llm/redact"
	openai "github.com/sashabaranov/go-openai"
	"golang.org/x/time/rate"

	"github.com/qrelbench/qrelbench/store/quote"
)

// Level is one level of a graded relevance scale, e.g.
// {3, "Perfectly relevant", "The document is dedicated to the query ..."}.
type Level struct {
	Grade       int
	Name        string
	Description string
}

// Doc is a document to judge or to synthesize queries for.
type Doc struct {
	ID, Title, Body, URL, Author, Type string
	Modified                           time.Time
}

// Modes.
const (
	ModeJSON     = "json"
	ModeLogprobs = "logprobs"
)

// Config configures a Client. Zero values get the documented defaults.
type Config struct {
	BaseURL, Model string
	// APIKeyEnv names the environment variable holding the API key (default
	// OPENAI_API_KEY). The key is read once in New; it is never stored in the
	// Config, logged, printed, or included in any error or Raw text.
	APIKeyEnv string
	// Azure selects Azure OpenAI (openai.DefaultAzureConfig; Model is the
	// deployment name). APIVersion overrides the Azure API version.
	Azure      bool
	APIVersion string
	// Mode is "json" (default) or "logprobs".
	Mode string
	// Rationale makes json mode ask for a short "reason" next to the grade.
	Rationale bool
	// MaxDocTokens is the budget for the document text (default 512). Tokens
	// are estimated as 4 characters (runes) per token, so the text is cut to
	// at most 4*MaxDocTokens runes, at a word boundary where possible.
	MaxDocTokens int
	// Concurrency is the maximum number of requests in flight (default 8).
	Concurrency int
	// RPM and TPM are client-side rate limits (0 = none). TPM is charged with
	// the estimated prompt tokens (4 chars/token) plus the max output tokens.
	RPM, TPM int
	// Timeout is the per-request (per attempt) timeout (default 60s).
	Timeout time.Duration
	// MaxRetries is the number of retries of transient failures (default 5).
	// Use a negative value for no retries.
	MaxRetries int
	// Temperature (default 0, i.e. greedy). Because go-openai omits a zero
	// temperature from the request, 0 is sent as the smallest positive
	// float32 (1e-45), which every server treats as greedy decoding.
	Temperature float32
	// BackoffBase and BackoffMax shape the exponential backoff with full
	// jitter between retries (defaults 250ms and 20s).
	BackoffBase, BackoffMax time.Duration
	// TopLogprobs is the number of top_logprobs requested in logprobs mode
	// (default 10, at most 20).
	TopLogprobs int
	// MaxOutputTokens caps the answer length in json mode (default 32, or
	// 400 with Rationale). Not sent to reasoning models (o1/o3/o4/gpt-5...).
	MaxOutputTokens int
}

// Status of a Judgment.
type Status string

// Judgment statuses.
const (
	StatusOK          Status = "ok"
	StatusUnparseable Status = "unparseable"
	StatusRefused     Status = "refused"
	StatusError       Status = "error"
)

// Judgment is the outcome of grading one (query, document) pair.
type Judgment struct {
	Grade    int
	HasGrade bool // only when Status == ok
	// Probs (logprobs mode) is the probability of each level, index =
	// grade - min grade, renormalised over the scale digits found in
	// top_logprobs (absent digits get 0). nil otherwise.
	Probs       []float64
	Expected    float64 // sum of grade*prob (logprobs mode)
	HasExpected bool
	Reason      string
	Raw         string // raw model output text (always kept)
	Status      Status
	Error       string // for error, unparseable and refused
	// Canceled: the call was stopped (its context ended, or a drain began,
	// see Draining) before an answer came: there is nothing to record.
	Canceled  bool
	TokensIn  int
	TokensOut int
	// CachedTokens are prompt tokens served from the prefix/prompt cache.
	CachedTokens int
	Latency      time.Duration // wall time of the successful attempt
	Attempts     int           // HTTP requests this pair cost
	// PromptVersion identifies the prompt template, mode and scale used.
	PromptVersion string
	// FellBack: logprobs mode was requested but the server could not do it,
	// so json mode was used instead.
	FellBack bool
}

// Usage reports the cost of a call that is not a Judgment (Synthesize).
type Usage struct {
	TokensIn, TokensOut, CachedTokens int
	Attempts                          int
	Latency                           time.Duration
}

// Client talks to one model endpoint. It is safe for concurrent use.
type Client struct {
	cfg    Config
	red    *redact.Redactor // removes the key from all the endpoint sends back
	oa     *openai.Client
	scale  []Level // sorted by grade, descending (prompt order)
	grades []int   // sorted ascending
	minG   int
	maxG   int

	sem     chan struct{}
	rpm     *rate.Limiter
	tpm     *rate.Limiter
	pauseNs atomic.Int64 // unix nanos until which all requests wait (Retry-After)

	reasoningModel bool
	logprobsMode   bool        // configured mode
	fellBack       atomic.Bool // logprobs unsupported: json from now on

	json, lp promptSet
}

// New validates cfg and scale, reads the API key from the environment and
// builds a Client with a shared keep-alive HTTP transport.
func New(cfg Config, scale []Level) (*Client, error) {
	if cfg.Model == "" {
		return nil, errors.New("llm: Config.Model is required")
	}
	if cfg.APIKeyEnv == "" {
		cfg.APIKeyEnv = "OPENAI_API_KEY"
	}
	switch cfg.Mode {
	case "":
		cfg.Mode = ModeJSON
	case ModeJSON, ModeLogprobs:
	default:
		return nil, fmt.Errorf("llm: unknown mode %s (want json or logprobs)", quote.Input(cfg.Mode))
	}
	if cfg.MaxDocTokens <= 0 {
		cfg.MaxDocTokens = 512
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 5
	} else if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = 250 * time.Millisecond
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = 20 * time.Second
	}
	if cfg.BackoffMax < cfg.BackoffBase {
		cfg.BackoffMax = cfg.BackoffBase
	}
	if cfg.TopLogprobs <= 0 {
		cfg.TopLogprobs = 10
	}
	if cfg.TopLogprobs > 20 {
		cfg.TopLogprobs = 20
	}
	if cfg.MaxOutputTokens <= 0 {
		cfg.MaxOutputTokens = 32
		if cfg.Rationale {
			cfg.MaxOutputTokens = 400
		}
	}
	if cfg.RPM < 0 || cfg.TPM < 0 {
		return nil, errors.New("llm: RPM and TPM must be >= 0")
	}

	if len(scale) == 0 {
		return nil, errors.New("llm: empty grade scale")
	}
	c := &Client{cfg: cfg}
	c.scale = slices.Clone(scale)
	slices.SortFunc(c.scale, func(a, b Level) int { return b.Grade - a.Grade })
	for i, l := range c.scale {
		if i > 0 && c.scale[i-1].Grade == l.Grade {
			return nil, fmt.Errorf("llm: duplicate grade %d in scale", l.Grade)
		}
		c.grades = append(c.grades, l.Grade)
	}
	slices.Sort(c.grades)
	c.minG, c.maxG = c.grades[0], c.grades[len(c.grades)-1]
	c.logprobsMode = cfg.Mode == ModeLogprobs
	if c.logprobsMode && (c.minG < 0 || c.maxG > 9) {
		return nil, errors.New("llm: logprobs mode needs single-digit grades 0..9")
	}
	c.reasoningModel = isReasoningModel(cfg.Model)
	if c.logprobsMode && c.reasoningModel {
		c.fellBack.Store(true) // reasoning models return no logprobs
	}

	key := os.Getenv(cfg.APIKeyEnv)
	c.red = redact.New(key)
	var oc openai.ClientConfig
	if cfg.Azure {
		if cfg.BaseURL == "" {
			return nil, errors.New("llm: Azure needs BaseURL (https://<resource>.openai.azure.com)")
		}
		oc = openai.DefaultAzureConfig(key, cfg.BaseURL)
		if cfg.APIVersion != "" {
			oc.APIVersion = cfg.APIVersion
		}
	} else {
		oc = openai.DefaultConfig(key)
		if cfg.BaseURL != "" {
			oc.BaseURL = cfg.BaseURL
		}
	}
	oc.HTTPClient = newHTTPClient(cfg.Concurrency, c.red)
	c.oa = openai.NewClientWithConfig(oc)

	c.sem = make(chan struct{}, cfg.Concurrency)
	c.json = c.buildPromptSet(false)
	if c.logprobsMode {
		c.lp = c.buildPromptSet(true)
	}
	if cfg.RPM > 0 {
		c.rpm = rate.NewLimiter(rate.Limit(float64(cfg.RPM)/60), max(1, cfg.RPM/60))
	}
	if cfg.TPM > 0 {
		// The burst must hold the largest single request.
		largest := (len(c.json.system)+len(c.json.suffix)+300*6)/4 + cfg.MaxDocTokens + 256 + cfg.MaxOutputTokens
		c.tpm = rate.NewLimiter(rate.Limit(float64(cfg.TPM)/60), max(cfg.TPM/60, largest))
	}
	return c, nil
}

// maxResponseBody bounds one response body, read whole to be scrubbed: a
// batch output file of 50,000 requests with logprobs stays well below it.
const maxResponseBody = 1 << 30

// newHTTPClient returns the shared keep-alive client: enough idle connections
// per host for the configured concurrency, so that connections are reused
// instead of churned. Timeouts are applied per attempt through the context.
// Every response passes red before go-openai decodes it, so no text this
// package reads from the endpoint can hold the key.
func newHTTPClient(concurrency int, red *redact.Redactor) *http.Client {
	idle := max(2*concurrency, 16)
	tr := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   30 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          idle,
		MaxIdleConnsPerHost:   idle,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: red.Transport(&recordingTransport{base: tr}, maxResponseBody)}
}

func isReasoningModel(model string) bool {
	m := strings.ToLower(model)
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		m = m[i+1:]
	}
	for _, p := range []string{"o1", "o3", "o4", "gpt-5", "gpt-6"} {
		if strings.HasPrefix(m, p) {
			return true
		}
	}
	return false
}

// String describes the client without secrets (the API key never prints).
func (c *Client) String() string {
	return fmt.Sprintf("llm.Client{base=%q model=%q mode=%s}", c.cfg.BaseURL, c.cfg.Model, c.Mode())
}

// GoString is String, so that %#v does not print internals either.
func (c *Client) GoString() string { return c.String() }

// PromptVersion is the id of the prompt currently used by Grade (it changes
// to the json version if logprobs mode fell back).
func (c *Client) PromptVersion() string { return c.prompts(c.useLogprobs()).version }

// Mode is the mode currently used by Grade: "logprobs" or "json".
func (c *Client) Mode() string {
	if c.useLogprobs() {
		return ModeLogprobs
	}
	return ModeJSON
}

// FellBack reports whether logprobs mode was requested but the server could
// not provide logprobs, so the client now grades in json mode.
func (c *Client) FellBack() bool { return c.fellBack.Load() }

func (c *Client) useLogprobs() bool { return c.logprobsMode && !c.fellBack.Load() }

func (c *Client) prompts(lp bool) *promptSet {
	if lp {
		return &c.lp
	}
	return &c.json
}

func (c *Client) inScale(g int) bool {
	_, ok := slices.BinarySearch(c.grades, g)
	return ok
}

func (c *Client) temperature() float32 {
	if c.reasoningModel {
		return 0 // omitted: reasoning models only accept the default
	}
	if c.cfg.Temperature == 0 {
		return math.SmallestNonzeroFloat32
	}
	return c.cfg.Temperature
}
