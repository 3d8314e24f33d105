package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/qrelbench/qrelbench/store/quote"
)

// Labeler kinds.
const (
	KindHuman    = "human"
	KindLLM      = "llm"
	KindStudent  = "student"
	KindBuiltin  = "builtin"
	KindImported = "imported"
)

// LabelerConfig holds the settings of a model labeler. It never holds a key:
// only the name of the environment variable to read one from.
type LabelerConfig struct {
	Mode         string          `json:"mode,omitempty"` // json or logprobs
	Rationale    bool            `json:"rationale,omitempty"`
	Concurrency  int             `json:"concurrency,omitempty"`
	RPM          int             `json:"rpm,omitempty"`
	TPM          int             `json:"tpm,omitempty"`
	MaxDocTokens int             `json:"max_doc_tokens,omitempty"`
	TimeoutSec   float64         `json:"timeout_sec,omitempty"`
	Azure        bool            `json:"azure,omitempty"`
	APIVersion   string          `json:"api_version,omitempty"`
	Adjudicator  bool            `json:"adjudicator,omitempty"`
	Student      json.RawMessage `json:"student,omitempty"` // embedded student model
	// Estimate is the embedded student's expected agreement on new
	// queries, measured when it was trained (see StudentEstimate).
	Estimate *StudentEstimate `json:"estimate,omitempty"`
}

// Labeler is anyone or anything that grades pairs.
type Labeler struct {
	ID            int64         `json:"-"`
	Name          string        `json:"name"`
	Kind          string        `json:"kind"`
	Role          string        `json:"role,omitempty"`
	Description   string        `json:"description,omitempty"`
	BaseURL       string        `json:"base_url,omitempty"`
	Model         string        `json:"model,omitempty"`
	APIKeyEnv     string        `json:"api_key_env,omitempty"`
	PromptVersion string        `json:"prompt_version,omitempty"`
	PriceIn       float64       `json:"price_in_per_million,omitempty"`
	PriceOut      float64       `json:"price_out_per_million,omitempty"`
	Config        LabelerConfig `json:"config"`
}

// Cost is the USD cost of the given token counts at this labeler's prices.
func (l Labeler) Cost(tokensIn, tokensOut int) float64 {
	return (float64(tokensIn)*l.PriceIn + float64(tokensOut)*l.PriceOut) / 1e6
}

// Builtin labelers that exist in every workspace.
var builtins = []Labeler{
	{Name: "lexical", Kind: KindBuiltin, Description: "Built-in deterministic grader from BM25 and query-term coverage. It is not a language model: it is the offline default and the baseline every model must beat."},
	{Name: "bm25", Kind: KindBuiltin, Description: "Built-in baseline: grades each pair from its BM25 rank among the query's candidates (top ranks highest). Not a language model; a reference point for rankers."},
}

// BuiltinNames are the labelers every workspace has.
func BuiltinNames() []string {
	var n []string
	for _, b := range builtins {
		n = append(n, b.Name)
	}
	return n
}

func (s *Store) ensureBuiltins(ctx context.Context) error {
	for _, b := range builtins {
		if _, err := s.h.ExecContext(ctx, `INSERT INTO labelers(name, kind, description, config, created_at) VALUES (?,?,?,?,?) ON CONFLICT(name) DO NOTHING`,
			b.Name, b.Kind, b.Description, "{}", now()); err != nil {
			return err
		}
	}
	return nil
}

// ValidateLabelerName refuses names that would be confusing in qrels and
// command lines: the rules of an id (see CheckID), and no commas, which
// separate names in --labelers.
func ValidateLabelerName(name string) error {
	if err := CheckID(name); err != nil || strings.Contains(name, ",") {
		return fmt.Errorf("labeler name %s: must be non-empty without spaces, commas or control characters", quote.Input(name))
	}
	return nil
}

// AddLabeler creates a labeler; an existing name is an error.
func (s *Store) AddLabeler(ctx context.Context, l *Labeler) error {
	if err := ValidateLabelerName(l.Name); err != nil {
		return err
	}
	cfg, err := json.Marshal(l.Config)
	if err != nil {
		return err
	}
	res, err := s.exec(ctx, `INSERT INTO labelers(name, kind, role, description, base_url, model, api_key_env, prompt_version, price_in, price_out, config, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
		l.Name, l.Kind, l.Role, l.Description, l.BaseURL, l.Model, l.APIKeyEnv, l.PromptVersion, l.PriceIn, l.PriceOut, string(cfg), now())
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return fmt.Errorf("labeler %s already exists", quote.Input(l.Name))
		}
		return err
	}
	l.ID, err = res.LastInsertId()
	return err
}

// UpdateLabeler saves every field of l (by ID).
func (s *Store) UpdateLabeler(ctx context.Context, l Labeler) error {
	cfg, err := json.Marshal(l.Config)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, `UPDATE labelers SET kind=?, role=?, description=?, base_url=?, model=?, api_key_env=?, prompt_version=?, price_in=?, price_out=?, config=? WHERE id=?`,
		l.Kind, l.Role, l.Description, l.BaseURL, l.Model, l.APIKeyEnv, l.PromptVersion, l.PriceIn, l.PriceOut, string(cfg), l.ID)
	return err
}

// EnsureLabeler returns the labeler by name, creating it with the given kind
// when it does not exist. The look-up and the creation are one immediate
// transaction, so two sessions (or processes) meeting a new annotator at
// the same moment both get the one labeler instead of one failing with
// "already exists".
func (s *Store) EnsureLabeler(ctx context.Context, name, kind string) (Labeler, error) {
	var l Labeler
	err := s.Tx(ctx, func(tx *Store) error {
		var err error
		l, err = tx.Labeler(ctx, name)
		if err == nil || !errors.Is(err, ErrNoLabeler) {
			return err
		}
		l = Labeler{Name: name, Kind: kind}
		return tx.AddLabeler(ctx, &l)
	})
	return l, err
}

// ErrNoLabeler is returned for an unknown labeler name.
var ErrNoLabeler = errors.New("no such labeler")

const labelerColumns = `id, name, kind, role, description, base_url, model, api_key_env, prompt_version, price_in, price_out, config`

func scanLabeler(sc scanner) (Labeler, error) {
	var l Labeler
	var cfg string
	if err := sc.Scan(&l.ID, &l.Name, &l.Kind, &l.Role, &l.Description, &l.BaseURL, &l.Model, &l.APIKeyEnv, &l.PromptVersion, &l.PriceIn, &l.PriceOut, &cfg); err != nil {
		return l, err
	}
	return l, json.Unmarshal([]byte(cfg), &l.Config)
}

// Labeler returns a labeler by name.
func (s *Store) Labeler(ctx context.Context, name string) (Labeler, error) {
	l, err := scanLabeler(s.queryRow(ctx, `SELECT `+labelerColumns+` FROM labelers WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return l, fmt.Errorf("%w %s (see `qrelbench labeler list`)", ErrNoLabeler, quote.Input(name))
	}
	return l, err
}

// Labelers returns all labelers by name.
func (s *Store) Labelers(ctx context.Context) ([]Labeler, error) {
	return queryAll(ctx, s.h, scanLabeler, `SELECT `+labelerColumns+` FROM labelers ORDER BY name`)
}

// RemoveLabeler deletes a labeler. While it has judgments it refuses unless
// force is set, in which case its judgments go with it.
func (s *Store) RemoveLabeler(ctx context.Context, name string, force bool) error {
	return s.Tx(ctx, func(tx *Store) error {
		l, err := tx.Labeler(ctx, name)
		if err != nil {
			return err
		}
		if l.Kind == KindBuiltin {
			return fmt.Errorf("labeler %s is built in and cannot be removed", quote.Input(name))
		}
		var n int
		if err := tx.h.QueryRowContext(ctx, `SELECT count(*) FROM judgments WHERE labeler_id = ?`, l.ID).Scan(&n); err != nil {
			return err
		}
		if n > 0 && !force {
			return fmt.Errorf("labeler %s has %d judgments: refusing to remove it (use --force to delete them too)", quote.Input(name), n)
		}
		_, err = tx.h.ExecContext(ctx, `DELETE FROM labelers WHERE id = ?`, l.ID)
		return err
	})
}
