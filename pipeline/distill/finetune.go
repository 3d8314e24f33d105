package distill

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/qrelbench/qrelbench/pipeline/llm"
	"github.com/qrelbench/qrelbench/pipeline/llm/redact"
	"github.com/qrelbench/qrelbench/store"
	"github.com/qrelbench/qrelbench/store/quote"
	openai "github.com/sashabaranov/go-openai"
)

// Fine-tuning job statuses of the OpenAI API.
const (
	jobSucceeded = "succeeded"
	jobFailed    = "failed"
	jobCancelled = "cancelled"
)

// DefaultBaseURL and DefaultAPIKeyEnv are the endpoint used when neither an
// endpoint labeler nor a base URL is given.
const (
	DefaultBaseURL   = "https://api.openai.com/v1"
	DefaultAPIKeyEnv = "OPENAI_API_KEY"
)

// FinetuneOptions configure Finetune.
type FinetuneOptions struct {
	TrainDir  string // holds train.jsonl, val.jsonl (optional) and manifest.json (optional)
	BaseModel string // the model to fine-tune
	Labeler   string // the student labeler to register when the job succeeds
	// Endpoint names a labeler whose base URL, API key variable and Azure
	// settings are used; otherwise BaseURL/APIKeyEnv (defaults
	// DefaultBaseURL and DefaultAPIKeyEnv).
	Endpoint           string
	BaseURL, APIKeyEnv string
	Epochs             int           // n_epochs hyperparameter (0: the service's choice)
	Suffix             string        // model name suffix (default: derived from Labeler)
	PollInterval       time.Duration // default 30s
	// Restart abandons an unfinished fine-tuning run for Labeler (its job is
	// left alone on the server) and starts a new one.
	Restart bool
	// Log receives one-line messages: the job's new events, status changes
	// and notices.
	Log func(string)
}

// FinetuneResult reports a finished job.
type FinetuneResult struct {
	Run     store.Run
	JobID   string
	Model   string // the fine-tuned model
	Labeler store.Labeler
	Resumed bool
}

// finetuneParams are stored with the run: a rerun finds the unfinished run
// by Labeler and polls the same job on the same endpoint.
type finetuneParams struct {
	Labeler     string        `json:"labeler"`
	BaseModel   string        `json:"base_model"`
	TrainDir    string        `json:"train_dir"`
	TrainSHA256 string        `json:"train_sha256"`
	ValSHA256   string        `json:"val_sha256,omitempty"`
	BaseURL     string        `json:"base_url"`
	APIKeyEnv   string        `json:"api_key_env"`
	Azure       bool          `json:"azure,omitempty"`
	APIVersion  string        `json:"api_version,omitempty"`
	Teacher     string        `json:"teacher,omitempty"`
	Prompt      StudentPrompt `json:"student_prompt"`
	PromptVer   string        `json:"prompt_version,omitempty"`
	TrainLines  int           `json:"train_examples"`
	ValLines    int           `json:"val_examples"`
}

// Finetune runs a fine-tuning job on an OpenAI-compatible endpoint: it
// uploads train.jsonl and val.jsonl (Files API, purpose fine-tune), creates
// the job, records its id in a run of kind "finetune", polls it (logging new
// events) until it ends, and on success registers the fine-tuned model as
// the student labeler opt.Labeler (kind student, role student, same
// endpoint, the export's prompt settings). A rerun after an interruption
// finds the unfinished run for opt.Labeler and polls the same job instead of
// uploading again. A job that fails ends the run as failed with the job's
// error message.
func Finetune(ctx context.Context, st *store.Store, opt FinetuneOptions) (FinetuneResult, error) {
	var res FinetuneResult
	if err := store.ValidateLabelerName(opt.Labeler); err != nil {
		return res, err
	}
	if opt.PollInterval <= 0 {
		opt.PollInterval = 30 * time.Second
	}
	logf := func(format string, args ...any) {
		if opt.Log != nil {
			opt.Log(fmt.Sprintf(format, args...))
		}
	}
	run, resumable, err := unfinishedFinetune(ctx, st, opt.Labeler)
	if err != nil {
		return res, err
	}
	if resumable && (opt.Restart || run.ExternalID == "") {
		why := "abandoned (--restart): a new job was started"
		if run.ExternalID == "" {
			why = "stopped before its job was created"
		}
		if err := st.FinishRun(ctx, run.ID, store.RunFailed, errors.New(why)); err != nil {
			return res, err
		}
		resumable = false
	}
	if !resumable {
		if _, err := st.Labeler(ctx, opt.Labeler); err == nil {
			return res, fmt.Errorf("labeler %s already exists: choose another name for the fine-tuned student", quote.Input(opt.Labeler))
		} else if !errors.Is(err, store.ErrNoLabeler) {
			return res, err
		}
	}

	var p finetuneParams
	if resumable {
		if err := json.Unmarshal(run.Params, &p); err != nil {
			return res, fmt.Errorf("run %d: %w", run.ID, err)
		}
		if opt.BaseModel != "" && opt.BaseModel != p.BaseModel {
			return res, fmt.Errorf("run %d is fine-tuning %s for %q, not %s: rerun with --base-model %s to keep polling it, or --restart to start over",
				run.ID, p.BaseModel, opt.Labeler, opt.BaseModel, p.BaseModel)
		}
	} else if p, err = newFinetuneParams(ctx, st, opt); err != nil {
		return res, err
	}
	oa, captured, err := openaiClient(p)
	if err != nil {
		return res, err
	}

	if resumable {
		res.Resumed = true
		if err := st.SetRunStatus(ctx, run.ID, store.RunRunning); err != nil {
			return res, err
		}
		logf("resuming run %d: polling fine-tuning job %s (no new upload)", run.ID, run.ExternalID)
	} else {
		pj, err := json.Marshal(p)
		if err != nil {
			return res, err
		}
		run = store.Run{Kind: store.RunFinetune, Params: pj}
		if err := st.StartRun(ctx, &run); err != nil {
			return res, err
		}
		jobID, err := submit(ctx, oa, p, opt, logf)
		if err != nil {
			return res, finishRun(st, run.ID, store.RunFailed, err)
		}
		if err := st.SetRunExternalID(ctx, run.ID, jobID); err != nil {
			return res, err
		}
		run.ExternalID = jobID
		logf("run %d: fine-tuning job %s created on %s (rerun the same command to resume polling after an interruption)", run.ID, jobID, p.BaseURL)
	}
	res.Run, res.JobID = run, run.ExternalID

	job, err := poll(ctx, st, oa, captured, run, opt.PollInterval, logf)
	if err != nil {
		return res, err
	}
	res.Model = job.FineTunedModel
	lab, err := registerStudent(ctx, st, p, job)
	if err != nil {
		// The job is paid for: leave the run resumable.
		return res, finishRun(st, run.ID, store.RunInterrupted, fmt.Errorf("job %s succeeded but the student could not be registered: %w", job.ID, err))
	}
	res.Labeler = lab
	err = st.Tx(ctx, func(tx *store.Store) error {
		if err := tx.AddRunProgress(ctx, run.ID, store.RunDelta{TokensIn: int64(job.TrainedTokens)}); err != nil {
			return err
		}
		return tx.FinishRun(ctx, run.ID, store.RunDone, nil)
	})
	if err != nil {
		return res, err
	}
	res.Run, err = st.Run(ctx, run.ID)
	return res, err
}

// unfinishedFinetune returns the newest fine-tuning run for the labeler
// name that is neither done nor failed.
func unfinishedFinetune(ctx context.Context, st *store.Store, labeler string) (store.Run, bool, error) {
	runs, err := st.Runs(ctx, store.RunFinetune, 0)
	if err != nil {
		return store.Run{}, false, err
	}
	for _, r := range runs { // newest first
		var p finetuneParams
		if json.Unmarshal(r.Params, &p) != nil || p.Labeler != labeler {
			continue
		}
		if r.Status == store.RunDone || r.Status == store.RunFailed {
			return store.Run{}, false, nil
		}
		return r, true, nil
	}
	return store.Run{}, false, nil
}

func newFinetuneParams(ctx context.Context, st *store.Store, opt FinetuneOptions) (finetuneParams, error) {
	p := finetuneParams{Labeler: opt.Labeler, BaseModel: opt.BaseModel, BaseURL: opt.BaseURL, APIKeyEnv: opt.APIKeyEnv,
		Prompt: StudentPrompt{Mode: llm.ModeJSON}}
	if opt.BaseModel == "" {
		return p, errors.New("finetune needs --base-model MODEL")
	}
	if opt.TrainDir == "" {
		return p, errors.New("finetune needs --train DIR (written by `distill export`)")
	}
	dir, err := filepath.Abs(opt.TrainDir)
	if err != nil {
		return p, err
	}
	p.TrainDir = dir
	if opt.Endpoint != "" {
		if opt.BaseURL != "" {
			return p, errors.New("give --endpoint or --base-url, not both")
		}
		lab, err := st.Labeler(ctx, opt.Endpoint)
		if err != nil {
			return p, err
		}
		if lab.BaseURL == "" && !lab.Config.Azure {
			return p, fmt.Errorf("--endpoint %q has no base URL", lab.Name)
		}
		p.BaseURL, p.APIKeyEnv, p.Azure, p.APIVersion = lab.BaseURL, lab.APIKeyEnv, lab.Config.Azure, lab.Config.APIVersion
	}
	if p.BaseURL == "" {
		p.BaseURL = DefaultBaseURL
	}
	if p.APIKeyEnv == "" {
		p.APIKeyEnv = DefaultAPIKeyEnv
	}
	train := filepath.Join(dir, TrainFile)
	if p.TrainLines, err = countLines(train); err != nil {
		return p, err
	}
	if p.TrainLines == 0 {
		return p, fmt.Errorf("%s is empty", train)
	}
	if p.TrainSHA256, err = FileSHA256(train); err != nil {
		return p, err
	}
	val := filepath.Join(dir, ValFile)
	if n, err := countLines(val); err == nil && n > 0 {
		p.ValLines = n
		if p.ValSHA256, err = FileSHA256(val); err != nil {
			return p, err
		}
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return p, err
	}
	man, err := ReadManifest(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		// files from elsewhere: json mode assumed
	case err != nil:
		return p, err
	default:
		if want := man.Files[TrainFile]; want != "" && want != p.TrainSHA256 {
			return p, fmt.Errorf("%s does not match its sha256 in %s: it changed after the export", train, ManifestFile)
		}
		if want := man.Files[ValFile]; p.ValSHA256 != "" && want != "" && want != p.ValSHA256 {
			return p, fmt.Errorf("%s does not match its sha256 in %s: it changed after the export", val, ManifestFile)
		}
		if man.Scale != "" && man.Scale != st.Scale().Name {
			return p, fmt.Errorf("the export is for scale %s, the workspace's is %s", man.Scale, st.Scale().Name)
		}
		p.Teacher, p.PromptVer = man.Teacher, man.PromptVersion
		if man.Student.Mode != "" {
			p.Prompt = man.Student
		}
	}
	return p, nil
}

func countLines(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return bytes.Count(b, []byte{'\n'}) + boolInt(len(b) > 0 && b[len(b)-1] != '\n'), nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// jobErrors remembers the "error" object of fine-tuning job responses,
// which go-openai's FineTuningJob does not decode. Its client's transport is
// the llm client's redacting one: the API key is removed from every response
// before go-openai decodes it, so that no message built from a response (an
// endpoint that echoes the key) reaches the workspace or the terminal.
type jobErrors struct {
	base *http.Client
	red  *redact.Redactor
	mu   sync.Mutex
	msg  map[string]string // job id -> error message
}

var jobPath = regexp.MustCompile(`/fine_tuning/jobs/([^/?]+)$`)

func (d *jobErrors) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.base.Do(req) // base's transport scrubs the body, headers and errors
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if req.Method != http.MethodGet || !jobPath.MatchString(req.URL.Path) || resp.StatusCode != http.StatusOK {
		return resp, nil
	}
	var j struct {
		ID    string `json:"id"`
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Param   string `json:"param"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &j) == nil && j.Error != nil && j.Error.Message != "" {
		msg := d.red.Scrub(j.Error.Message) // decoded: scrubbed again
		if j.Error.Code != "" {
			msg += " (" + j.Error.Code + ")"
		}
		d.mu.Lock()
		d.msg[j.ID] = msg
		d.mu.Unlock()
	}
	return resp, nil
}

func (d *jobErrors) get(id string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.msg[id]
}

func openaiClient(p finetuneParams) (*openai.Client, *jobErrors, error) {
	key := os.Getenv(p.APIKeyEnv)
	if key == "" {
		return nil, nil, fmt.Errorf("$%s is empty: set it to the API key of %s", p.APIKeyEnv, p.BaseURL)
	}
	var cfg openai.ClientConfig
	if p.Azure {
		cfg = openai.DefaultAzureConfig(key, p.BaseURL)
		if p.APIVersion != "" {
			cfg.APIVersion = p.APIVersion
		}
	} else {
		cfg = openai.DefaultConfig(key)
		cfg.BaseURL = p.BaseURL
	}
	red := redact.New(key)
	je := &jobErrors{base: &http.Client{Timeout: 10 * time.Minute, Transport: red.Transport(http.DefaultTransport, 64<<20)},
		red: red, msg: map[string]string{}}
	cfg.HTTPClient = je
	return openai.NewClientWithConfig(cfg), je, nil
}

// submit uploads the files and creates the job.
func submit(ctx context.Context, oa *openai.Client, p finetuneParams, opt FinetuneOptions, logf func(string, ...any)) (string, error) {
	upload := func(name, sum string) (string, error) {
		path := filepath.Join(p.TrainDir, name)
		if got, err := FileSHA256(path); err != nil {
			return "", err
		} else if got != sum {
			return "", fmt.Errorf("%s changed while starting the job", path)
		}
		f, err := oa.CreateFile(ctx, openai.FileRequest{FileName: name, FilePath: path, Purpose: string(openai.PurposeFineTune)})
		if err != nil {
			return "", fmt.Errorf("upload %s: %w", name, err)
		}
		logf("uploaded %s as %s (%d bytes)", name, f.ID, f.Bytes)
		return f.ID, nil
	}
	trainID, err := upload(TrainFile, p.TrainSHA256)
	if err != nil {
		return "", err
	}
	req := openai.FineTuningJobRequest{TrainingFile: trainID, Model: p.BaseModel, Suffix: opt.Suffix}
	if req.Suffix == "" {
		req.Suffix = suffixFor(p.Labeler)
	}
	if p.ValSHA256 != "" {
		if req.ValidationFile, err = upload(ValFile, p.ValSHA256); err != nil {
			return "", err
		}
	}
	if opt.Epochs > 0 {
		req.Hyperparameters = &openai.Hyperparameters{Epochs: opt.Epochs}
	}
	job, err := oa.CreateFineTuningJob(ctx, req)
	if err != nil {
		return "", fmt.Errorf("create fine-tuning job: %w", err)
	}
	if job.ID == "" {
		return "", errors.New("create fine-tuning job: the endpoint returned no job id")
	}
	return job.ID, nil
}

// suffixFor makes a model-name suffix from a labeler name: lower-case
// letters, digits and dashes, at most 40 characters.
func suffixFor(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
		if b.Len() >= 40 {
			break
		}
	}
	return strings.Trim(b.String(), "-")
}

var stepRe = regexp.MustCompile(`(?i)\bstep\s+(\d+)\s*/\s*(\d+)`)

// poll waits for the job to end, logging new events and recording steps as
// the run's progress. It returns the succeeded job; on a failed or
// cancelled job, or an interruption, it finishes the run and returns the
// error.
func poll(ctx context.Context, st *store.Store, oa *openai.Client, je *jobErrors, run store.Run,
	every time.Duration, logf func(string, ...any)) (openai.FineTuningJob, error) {
	seen := map[string]bool{}
	var lastErrEvent string
	lastStatus := ""
	done, total := run.Done, run.Total
	failures := 0
	for {
		job, err := oa.RetrieveFineTuningJob(ctx, run.ExternalID)
		job.FineTunedModel = je.red.Scrub(job.FineTunedModel)
		if err == nil {
			var evs openai.FineTuningJobEventList
			evs, err = oa.ListFineTuningJobEvents(ctx, run.ExternalID, openai.ListFineTuningJobEventsWithLimit(100))
			if err == nil {
				sort.SliceStable(evs.Data, func(i, j int) bool { return evs.Data[i].CreatedAt < evs.Data[j].CreatedAt })
				for _, ev := range evs.Data {
					ev.Message = je.red.Scrub(ev.Message) // decoded: scrubbed again
					k := strconv.FormatInt(ev.CreatedAt, 10) + "\x00" + ev.Level + "\x00" + ev.Message
					if seen[k] {
						continue
					}
					seen[k] = true
					logf("event %s [%s] %s", time.Unix(ev.CreatedAt, 0).UTC().Format(time.RFC3339), ev.Level, ev.Message)
					if ev.Level == "error" {
						lastErrEvent = ev.Message
					}
					if m := stepRe.FindStringSubmatch(ev.Message); m != nil {
						s, _ := strconv.Atoi(m[1])
						n, _ := strconv.Atoi(m[2])
						if n != total {
							total = n
							if err := st.SetRunTotal(ctx, run.ID, n); err != nil {
								return job, err
							}
						}
						if s > done {
							if err := st.AddRunProgress(ctx, run.ID, store.RunDelta{Done: s - done}); err != nil {
								return job, err
							}
							done = s
						}
					}
				}
			}
		}
		switch {
		case ctx.Err() != nil:
			return job, finishRun(st, run.ID, store.RunInterrupted,
				fmt.Errorf("stopped polling fine-tuning job %s (it keeps running on the server): rerun the same command to resume: %w", run.ExternalID, ctx.Err()))
		case err != nil:
			failures++
			logf("polling job %s: %v", run.ExternalID, err)
			if failures >= 5 {
				return job, finishRun(st, run.ID, store.RunInterrupted,
					fmt.Errorf("polling fine-tuning job %s failed %d times in a row (rerun the same command to resume): %w", run.ExternalID, failures, err))
			}
		default:
			failures = 0
			if job.Status != lastStatus {
				lastStatus = job.Status
				logf("job %s: %s", job.ID, job.Status)
			}
			switch job.Status {
			case jobSucceeded:
				if job.FineTunedModel == "" {
					return job, finishRun(st, run.ID, store.RunFailed, fmt.Errorf("fine-tuning job %s succeeded without a fine-tuned model name", job.ID))
				}
				return job, nil
			case jobFailed, jobCancelled:
				msg := je.get(job.ID)
				if msg == "" {
					msg = lastErrEvent
				}
				if msg == "" {
					msg = "no error message given"
				}
				return job, finishRun(st, run.ID, store.RunFailed, fmt.Errorf("fine-tuning job %s %s: %s", job.ID, job.Status, msg))
			}
		}
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
}

// finishRun ends a run with status and err, returning err.
func finishRun(st *store.Store, id int64, status string, err error) error {
	return errors.Join(err, st.FinishRun(context.Background(), id, status, err))
}

// registerStudent adds (or, after an earlier failed attempt, updates) the
// fine-tuned student labeler.
func registerStudent(ctx context.Context, st *store.Store, p finetuneParams, job openai.FineTuningJob) (store.Labeler, error) {
	desc := fmt.Sprintf("Fine-tuned student: %s (base %s, job %s), trained on %d examples", job.FineTunedModel, p.BaseModel, job.ID, p.TrainLines)
	if p.Teacher != "" {
		desc += " of teacher " + p.Teacher + "'s grades"
	}
	desc += fmt.Sprintf(" exported to %s. Served with the export's prompt (%s mode).", p.TrainDir, p.Prompt.Mode)
	lab := store.Labeler{Name: p.Labeler, Kind: store.KindStudent, Role: "student", Description: desc,
		BaseURL: p.BaseURL, Model: job.FineTunedModel, APIKeyEnv: p.APIKeyEnv, PromptVersion: p.PromptVer,
		Config: store.LabelerConfig{Mode: p.Prompt.Mode, Rationale: p.Prompt.Rationale, MaxDocTokens: p.Prompt.MaxDocTokens,
			Azure: p.Azure, APIVersion: p.APIVersion}}
	prev, err := st.Labeler(ctx, p.Labeler)
	switch {
	case err == nil && prev.Kind == store.KindStudent && prev.Model == job.FineTunedModel:
		lab.ID = prev.ID
		return lab, st.UpdateLabeler(ctx, lab)
	case err == nil:
		return prev, fmt.Errorf("labeler %s already exists", quote.Input(p.Labeler))
	case !errors.Is(err, store.ErrNoLabeler):
		return lab, err
	}
	return lab, st.AddLabeler(ctx, &lab)
}
