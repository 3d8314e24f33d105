package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Guidelines are the annotation guidelines of the workspace: free text
// (Markdown) that annotators read beside the grade scale, stored in the
// workspace (set with `init --guidelines` or `guidelines set`).
type Guidelines struct {
	Text      string
	Source    string    // the file it was read from, as given
	UpdatedAt time.Time // zero when never set
}

// MaxGuidelines bounds the guidelines' size: a document people read, not
// a corpus.
const MaxGuidelines = 1 << 20

// CheckGuidelines says what is wrong with a guidelines text, if anything.
func CheckGuidelines(text string) error {
	switch {
	case len(text) > MaxGuidelines:
		return fmt.Errorf("%d bytes: guidelines hold at most %d (1 MiB)", len(text), MaxGuidelines)
	case !utf8.ValidString(text):
		return errors.New("not valid UTF-8 text")
	case strings.ContainsRune(text, 0):
		return errors.New("contains a NUL byte: not a text file")
	case strings.TrimSpace(text) == "":
		return errors.New("empty")
	}
	return nil
}

// SetGuidelines stores the workspace's guidelines (source: where they came
// from, shown with them). Empty text removes them.
func (s *Store) SetGuidelines(ctx context.Context, text, source string) error {
	if text == "" {
		_, err := s.exec(ctx, `DELETE FROM workspace WHERE key IN ('guidelines', 'guidelines.source', 'guidelines.updated_at')`)
		return err
	}
	if err := CheckGuidelines(text); err != nil {
		return err
	}
	return s.Tx(ctx, func(tx *Store) error {
		for k, v := range map[string]string{"guidelines": text, "guidelines.source": source, "guidelines.updated_at": now()} {
			if _, err := tx.exec(ctx, `INSERT INTO workspace(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, k, v); err != nil {
				return err
			}
		}
		return nil
	})
}

// Guidelines returns the workspace's guidelines (Text "" when none).
func (s *Store) Guidelines(ctx context.Context) (Guidelines, error) {
	var g Guidelines
	get := func(key string) (string, error) {
		var v string
		err := s.queryRow(ctx, `SELECT value FROM workspace WHERE key = ?`, key).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			return "", nil
		}
		return v, err
	}
	var err error
	if g.Text, err = get("guidelines"); err != nil || g.Text == "" {
		return g, err
	}
	if g.Source, err = get("guidelines.source"); err != nil {
		return g, err
	}
	at, err := get("guidelines.updated_at")
	g.UpdatedAt, _ = time.Parse(time.RFC3339Nano, at)
	return g, err
}
