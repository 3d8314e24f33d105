package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/qrelbench/qrelbench/benchmark"
	"github.com/qrelbench/qrelbench/store"
)

func init() {
	register("labeler", "add, list, show or remove labelers (model endpoints, humans, built-ins)", runLabeler)
}

func runLabeler(ctx context.Context, e *env, args []string) error {
	const usageLine = "labeler add NAME --base-url URL --model MODEL [flags] | list | show NAME | set NAME [--role R] [--price-in USD] [--price-out USD] [--adjudicator=true|false] | rm NAME [--force]"
	if len(args) == 0 {
		return fmt.Errorf("usage: qrelbench %s", usageLine)
	}
	switch args[0] {
	case "add":
		return labelerAdd(ctx, e, args[1:])
	case "list", "ls":
		return labelerList(ctx, e, args[1:])
	case "show":
		return labelerShow(ctx, e, args[1:])
	case "rm", "remove":
		return labelerRemove(ctx, e, args[1:])
	case "set":
		return labelerSet(ctx, e, args[1:])
	}
	return fmt.Errorf("usage: qrelbench %s", usageLine)
}

func labelerAdd(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "labeler add", "labeler add NAME --base-url URL --model MODEL [flags]")
	baseURL := fs.String("base-url", "", "OpenAI-compatible endpoint, e.g. https://api.openai.com/v1 or http://gpu-host:8000/v1 (vLLM)")
	model := fs.String("model", "", "model name (Azure: deployment name)")
	keyEnv := fs.String("api-key-env", "OPENAI_API_KEY", "environment variable that holds the API key (the key itself is never stored)")
	priceIn := fs.Float64("price-in", 0, "USD per 1M input tokens")
	priceOut := fs.Float64("price-out", 0, "USD per 1M output tokens")
	conc := fs.Int("concurrency", 8, "requests in flight")
	rpm := fs.Int("rpm", 0, "requests per minute limit (0: none)")
	tpm := fs.Int("tpm", 0, "tokens per minute limit (0: none)")
	mode := fs.String("mode", "json", "json (schema-constrained grade) or logprobs (grade probabilities)")
	maxDoc := fs.Int("max-doc-tokens", 512, "document truncation budget in tokens")
	role := fs.String("role", "", "teacher or student")
	rationale := fs.Bool("rationale", false, "json mode: ask for a short reason with each grade")
	timeout := fs.Float64("timeout", 60, "per-request timeout in seconds")
	azure := fs.Bool("azure", false, "the endpoint is Azure OpenAI")
	apiVersion := fs.String("api-version", "", "Azure OpenAI API version")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("usage: qrelbench labeler add NAME --base-url URL --model MODEL")
	}
	if *model == "" {
		return fmt.Errorf("labeler add needs --model")
	}
	if *mode != "json" && *mode != "logprobs" {
		return fmt.Errorf("--mode must be json or logprobs")
	}
	if *role != "" && *role != "teacher" && *role != "student" {
		return fmt.Errorf("--role must be teacher or student")
	}
	if strings.HasPrefix(*keyEnv, "sk-") || strings.Contains(*keyEnv, " ") {
		return fmt.Errorf("--api-key-env takes the NAME of an environment variable, not a key")
	}
	kind := store.KindLLM
	if *role == "student" {
		kind = store.KindStudent
	}
	st, err := openStore(ctx, e)
	if err != nil {
		return err
	}
	defer st.Close()
	l := store.Labeler{Name: pos[0], Kind: kind, Role: *role, BaseURL: *baseURL, Model: *model, APIKeyEnv: *keyEnv,
		PriceIn: *priceIn, PriceOut: *priceOut,
		Config: store.LabelerConfig{Mode: *mode, Rationale: *rationale, Concurrency: *conc, RPM: *rpm, TPM: *tpm,
			MaxDocTokens: *maxDoc, TimeoutSec: *timeout, Azure: *azure, APIVersion: *apiVersion}}
	if err := st.AddLabeler(ctx, &l); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "added labeler %s (%s, model %s", l.Name, l.Kind, l.Model)
	if l.BaseURL != "" {
		fmt.Fprintf(e.stdout, " at %s", l.BaseURL)
	}
	fmt.Fprintf(e.stdout, "); API key read from $%s at call time\n", l.APIKeyEnv)
	return nil
}

func labelerList(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "labeler list", "labeler list")
	st, _, err := fs.openRead(ctx, e, args, 0)
	if err != nil {
		return err
	}
	defer st.Close()
	ls, err := st.Labelers(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%-24s %-9s %-8s %-28s %s\n", "name", "kind", "role", "model", "endpoint")
	for _, l := range ls {
		model := l.Model
		if l.Kind == store.KindStudent && len(l.Config.Student) > 0 {
			model = "(embedded student)"
		}
		fmt.Fprintf(e.stdout, "%-24s %-9s %-8s %-28s %s\n", l.Name, l.Kind, l.Role, model, l.BaseURL)
	}
	return nil
}

func labelerShow(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "labeler show", "labeler show NAME")
	st, pos, err := fs.openRead(ctx, e, args, 1)
	if err != nil {
		return err
	}
	defer st.Close()
	l, err := st.Labeler(ctx, pos[0])
	if err != nil {
		return err
	}
	// The embedded model is large; show its summary, not its weights.
	if len(l.Config.Student) > 0 {
		var m struct {
			FeatureVersion string          `json:"feature_version"`
			Summary        json.RawMessage `json:"summary"`
		}
		json.Unmarshal(l.Config.Student, &m)
		l.Config.Student, _ = json.Marshal(m)
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(l); err != nil {
		return err
	}
	// An embedded student's training-time estimate, in words (on stderr,
	// so that stdout stays one JSON object).
	if est := l.Config.Estimate; est != nil {
		for _, line := range benchmark.EstimateLines(*est, l.Name) {
			fmt.Fprintln(e.stderr, line)
		}
	}
	return nil
}

func labelerRemove(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "labeler rm", "labeler rm NAME [--force]")
	force := fs.Bool("force", false, "also delete the labeler's judgments")
	st, pos, err := fs.open(ctx, e, args, 1)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.RemoveLabeler(ctx, pos[0], *force); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "removed labeler %s\n", pos[0])
	return nil
}

// labelerSet changes the settings that matter for evaluation and review on
// an existing labeler, e.g. marking an imported judge as the teacher.
func labelerSet(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "labeler set", "labeler set NAME [--role teacher|student|none] [--price-in USD] [--price-out USD] [--adjudicator=true|false]")
	role := fs.String("role", "", "teacher, student, or none")
	priceIn := fs.Float64("price-in", -1, "USD per 1M input tokens")
	priceOut := fs.Float64("price-out", -1, "USD per 1M output tokens")
	adjudicator := fs.String("adjudicator", "", "true or false: may this human adjudicate disagreements")
	st, pos, err := fs.open(ctx, e, args, 1)
	if err != nil {
		return err
	}
	defer st.Close()
	l, err := st.Labeler(ctx, pos[0])
	if err != nil {
		return err
	}
	switch *role {
	case "":
	case "none":
		l.Role = ""
	case "teacher", "student":
		l.Role = *role
	default:
		return fmt.Errorf("--role must be teacher, student or none")
	}
	if *priceIn >= 0 {
		l.PriceIn = *priceIn
	}
	if *priceOut >= 0 {
		l.PriceOut = *priceOut
	}
	switch *adjudicator {
	case "":
	case "true":
		if l.Kind != store.KindHuman {
			return fmt.Errorf("only human labelers can adjudicate (%s is %s)", l.Name, l.Kind)
		}
		l.Config.Adjudicator = true
	case "false":
		l.Config.Adjudicator = false
	default:
		return fmt.Errorf("--adjudicator must be true or false")
	}
	if err := st.UpdateLabeler(ctx, l); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "updated labeler %s (kind %s, role %q, adjudicator %v)\n", l.Name, l.Kind, l.Role, l.Config.Adjudicator)
	return nil
}
