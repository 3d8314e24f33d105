package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// attemptMeta is filled by recordingTransport for the request whose context
// carries it: go-openai does not surface response headers on errors for
// every API, so Retry-After is recorded here.
type attemptMeta struct {
	status     int
	retryAfter string
}

type metaKey struct{}

// recordingTransport records the status and Retry-After header of each
// response into the attempt's attemptMeta.
type recordingTransport struct {
	base http.RoundTripper
}

func (t *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || resp == nil {
		return resp, err
	}
	if m, ok := req.Context().Value(metaKey{}).(*attemptMeta); ok {
		m.status = resp.StatusCode
		m.retryAfter = resp.Header.Get("Retry-After")
	}
	return resp, nil
}

// callError is a failed call after classification.
type callError struct {
	msg        string // redacted, bounded
	status     int    // HTTP status, 0 if none
	transient  bool
	retryAfter time.Duration
	canceled   bool
	refused    bool // content filter rejection (Azure 400 content_filter)
	logprobs   bool // the server rejected the logprobs request
}

func (e *callError) Error() string { return e.msg }

var errCanceled = &callError{msg: "canceled", canceled: true}

type callOpts struct {
	limited   bool // go through the concurrency semaphore and rate limiters
	estTokens int  // TPM charge per attempt
	timeout   time.Duration
}

// drainKey carries the drain signal of Draining.
type drainKey struct{}

// Draining returns a context for Grade (and the other calls) under which,
// once stop is done, no new attempt starts — no first request still
// waiting for a slot or a rate limiter, no retry — while a request already
// sent may still deliver its answer until ctx itself ends. A labeling run
// stopped by Ctrl-C uses it to collect the answers it has paid for.
func Draining(ctx, stop context.Context) context.Context {
	return context.WithValue(ctx, drainKey{}, stop)
}

// drained reports whether ctx carries a drain signal that was given.
func drained(ctx context.Context) bool {
	stop, ok := ctx.Value(drainKey{}).(context.Context)
	return ok && stop.Err() != nil
}

// waitContext is what waiting between attempts listens to: ctx, ended
// early by the drain signal when there is one.
func waitContext(ctx context.Context) (context.Context, context.CancelFunc) {
	stop, ok := ctx.Value(drainKey{}).(context.Context)
	if !ok {
		return ctx, func() {}
	}
	w, cancel := context.WithCancel(ctx)
	if stop.Err() != nil {
		cancel() // AfterFunc would run it, but not before the first check
		return w, cancel
	}
	unhook := context.AfterFunc(stop, cancel)
	return w, func() { unhook(); cancel() }
}

// call runs fn (one HTTP request) with per-attempt timeout, concurrency and
// rate limits, retrying transient failures with exponential backoff and full
// jitter, honouring Retry-After. It increments *attempts per HTTP request and
// returns the wall time of the successful attempt. Errors are *callError.
func (c *Client) call(ctx context.Context, attempts *int, o callOpts, fn func(ctx context.Context) error) (time.Duration, *callError) {
	if o.timeout <= 0 {
		o.timeout = c.cfg.Timeout
	}
	wctx, endWait := waitContext(ctx)
	defer endWait()
	for retry := 0; ; retry++ {
		if wctx.Err() != nil {
			return 0, errCanceled
		}
		if until := c.pauseNs.Load(); until > 0 {
			if d := time.Until(time.Unix(0, until)); d > 0 && !sleep(wctx, d) {
				return 0, errCanceled
			}
		}
		if o.limited {
			if c.rpm != nil {
				if err := c.rpm.Wait(wctx); err != nil {
					return 0, c.limiterErr(wctx, err)
				}
			}
			if c.tpm != nil {
				if err := c.tpm.WaitN(wctx, min(max(o.estTokens, 1), c.tpm.Burst())); err != nil {
					return 0, c.limiterErr(wctx, err)
				}
			}
			select {
			case c.sem <- struct{}{}:
			case <-wctx.Done():
				return 0, errCanceled
			}
		}
		if drained(ctx) { // checked last, just before sending: no new attempt once a drain began
			if o.limited {
				<-c.sem
			}
			return 0, errCanceled
		}
		meta := &attemptMeta{}
		actx, cancel := context.WithTimeout(context.WithValue(ctx, metaKey{}, meta), o.timeout)
		start := time.Now()
		err := fn(actx)
		lat := time.Since(start)
		cancel()
		if o.limited {
			<-c.sem
		}
		*attempts++
		if err == nil {
			return lat, nil
		}
		if ctx.Err() != nil {
			return 0, errCanceled
		}
		ce := c.classify(err, meta, o.timeout)
		if !ce.transient || retry >= c.cfg.MaxRetries {
			return 0, ce
		}
		d := c.backoff(retry)
		if ce.retryAfter > 0 {
			d = max(d, ce.retryAfter)
			// Every request of this client waits: the server asked us to.
			until := time.Now().Add(ce.retryAfter).UnixNano()
			for {
				cur := c.pauseNs.Load()
				if cur >= until || c.pauseNs.CompareAndSwap(cur, until) {
					break
				}
			}
		}
		if !sleep(wctx, d) {
			return 0, errCanceled
		}
	}
}

func (c *Client) limiterErr(ctx context.Context, err error) *callError {
	if ctx.Err() != nil {
		return errCanceled
	}
	return &callError{msg: "rate limiter: " + c.redact(err.Error())}
}

// backoff is full jitter: uniform in [0, min(max, base*2^retry)].
func (c *Client) backoff(retry int) time.Duration {
	d := c.cfg.BackoffMax
	if retry < 30 {
		if e := c.cfg.BackoffBase << retry; e > 0 && e < d {
			d = e
		}
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// maxRetryAfter bounds how long a single Retry-After can make us wait.
const maxRetryAfter = 5 * time.Minute

func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s <= 0 {
			return 0
		}
		d = time.Duration(s * float64(time.Second))
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// classify turns an error of one attempt into a callError.
func (c *Client) classify(err error, meta *attemptMeta, timeout time.Duration) *callError {
	ce := &callError{}
	var reqErr *openai.RequestError
	var apiErr *openai.APIError
	switch {
	case errors.As(err, &reqErr):
		ce.status = reqErr.HTTPStatusCode
		body := strings.TrimSpace(string(reqErr.Body))
		if body == "" && reqErr.Err != nil {
			body = reqErr.Err.Error()
		}
		ce.msg = fmt.Sprintf("http %d: %s", ce.status, body)
	case errors.As(err, &apiErr):
		ce.status = apiErr.HTTPStatusCode
		ce.msg = fmt.Sprintf("http %d: %s", ce.status, apiErr.Message)
		if code, _ := apiErr.Code.(string); code == "content_filter" {
			ce.refused = true
		}
	}
	if ce.status == 0 && meta.status >= 400 {
		ce.status = meta.status
	}
	if ce.status != 0 {
		switch ce.status {
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			ce.transient = true
			ce.retryAfter = parseRetryAfter(meta.retryAfter, time.Now())
		case http.StatusRequestTimeout, http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout:
			ce.transient = true
		}
		if (ce.status == http.StatusBadRequest || ce.status == http.StatusUnprocessableEntity) &&
			strings.Contains(strings.ToLower(ce.msg), "logprob") {
			ce.logprobs = true
		}
		ce.msg = c.redact(ce.msg)
		return ce
	}

	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	var opErr *net.OpError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		ce.transient = true
		ce.msg = fmt.Sprintf("timeout after %s", timeout)
		return ce
	case errors.As(err, &syntaxErr), errors.As(err, &typeErr):
		ce.msg = "malformed response body: " + err.Error()
	case errors.Is(err, openai.ErrReasoningModelLimitationsLogprobs),
		errors.Is(err, openai.ErrReasoningModelMaxTokensDeprecated),
		errors.Is(err, openai.ErrReasoningSamplingUnsupported):
		ce.logprobs = true
		ce.msg = err.Error()
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		errors.As(err, &opErr):
		ce.transient = true
		ce.msg = "connection: " + err.Error()
	default:
		ce.transient = strings.Contains(err.Error(), "connection reset") ||
			strings.Contains(err.Error(), "broken pipe") ||
			strings.Contains(err.Error(), "server closed")
		ce.msg = err.Error()
	}
	ce.msg = c.redact(ce.msg)
	return ce
}

// maxErrLen bounds error texts (HTML error pages can be large).
const maxErrLen = 600

// redact removes the API key from s and bounds its length (in this order:
// a cut through the key would leave a piece that scrub cannot recognise).
func (c *Client) redact(s string) string {
	s = c.scrub(s)
	if len(s) > maxErrLen {
		s = strings.ToValidUTF8(s[:maxErrLen], "") + "..."
	}
	return s
}

// scrub removes the API key, in any encoding package redact recognises,
// from s. The transport already scrubbed the bytes the endpoint sent; scrub
// is applied again to what is decoded from them (the model's answer is
// JSON inside JSON), so that an escape that only decoding reveals is
// caught too.
func (c *Client) scrub(s string) string { return c.red.Scrub(s) }

// chat sends one chat completion and returns it with the key removed from
// every text the model wrote. Every chat request of the package goes
// through it.
func (c *Client) chat(ctx context.Context, req openai.ChatCompletionRequest) (openai.ChatCompletionResponse, error) {
	resp, err := c.oa.CreateChatCompletion(ctx, req)
	c.scrubResponse(&resp)
	return resp, err
}

func (c *Client) scrubResponse(resp *openai.ChatCompletionResponse) {
	for i := range resp.Choices {
		m := &resp.Choices[i].Message
		m.Content, m.Refusal, m.ReasoningContent = c.scrub(m.Content), c.scrub(m.Refusal), c.scrub(m.ReasoningContent)
	}
}

// scrubJudgment removes the key from every text of j: the last step of
// every function that returns a Judgment.
func (c *Client) scrubJudgment(j *Judgment) {
	j.Raw, j.Reason, j.Error = c.scrub(j.Raw), c.scrub(j.Reason), c.scrub(j.Error)
}
