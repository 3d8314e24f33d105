-- qrelbench workspace schema, version 1.
-- One SQLite file holds a corpus, queries, pairs, every grade ever given to a
-- pair by anyone, the runs that produced them and what they cost.

CREATE TABLE workspace (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- The grade scale chosen at init. Grades outside it are rejected by the
-- triggers on judgments below as well as by the Go code.
CREATE TABLE scale (
    grade       INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL
) STRICT;

CREATE TABLE documents (
    id         INTEGER PRIMARY KEY,
    ext_id     TEXT NOT NULL UNIQUE,
    title      TEXT NOT NULL DEFAULT '',
    body       TEXT NOT NULL,
    url        TEXT NOT NULL DEFAULT '',
    author     TEXT NOT NULL DEFAULT '',
    modified   TEXT NOT NULL DEFAULT '',   -- RFC 3339, '' when unknown
    type       TEXT NOT NULL DEFAULT '',
    meta       TEXT NOT NULL DEFAULT '{}', -- free-form JSON object
    created_at TEXT NOT NULL
) STRICT;

-- BM25 index over title and body, kept in step with documents by triggers
-- (external-content FTS5 table: the text is stored once).
CREATE VIRTUAL TABLE documents_fts USING fts5(
    title, body,
    content='documents', content_rowid='id',
    tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER documents_ai AFTER INSERT ON documents BEGIN
    INSERT INTO documents_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
END;
CREATE TRIGGER documents_ad AFTER DELETE ON documents BEGIN
    INSERT INTO documents_fts(documents_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
END;
CREATE TRIGGER documents_au AFTER UPDATE OF title, body ON documents BEGIN
    INSERT INTO documents_fts(documents_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
    INSERT INTO documents_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
END;

CREATE TABLE runs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('import','synthesis','mining','labeling','training','evaluation','finetune','batch')),
    labeler_id   INTEGER REFERENCES labelers(id) ON DELETE SET NULL,
    status       TEXT NOT NULL CHECK (status IN ('running','done','failed','canceled','interrupted')),
    params       TEXT NOT NULL DEFAULT '{}',
    external_id  TEXT NOT NULL DEFAULT '',  -- batch id, fine-tuning job id
    total        INTEGER NOT NULL DEFAULT 0,
    done         INTEGER NOT NULL DEFAULT 0,
    failed       INTEGER NOT NULL DEFAULT 0,
    tokens_in    INTEGER NOT NULL DEFAULT 0,
    tokens_out   INTEGER NOT NULL DEFAULT 0,
    cost_usd     REAL NOT NULL DEFAULT 0,
    busy_seconds REAL NOT NULL DEFAULT 0,   -- wall time spent working (sum over resumes)
    error        TEXT NOT NULL DEFAULT '',
    started_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    finished_at  TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE TABLE queries (
    id          INTEGER PRIMARY KEY,
    ext_id      TEXT NOT NULL UNIQUE,
    text        TEXT NOT NULL,
    origin      TEXT NOT NULL CHECK (origin IN ('imported','synthetic','human')),
    seed_doc_id INTEGER REFERENCES documents(id) ON DELETE SET NULL,
    generator   TEXT NOT NULL DEFAULT '',   -- labeler/synthesizer that wrote it
    style       TEXT NOT NULL DEFAULT '',   -- keyword, natural, person, file
    run_id      INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    created_at  TEXT NOT NULL
) STRICT;
CREATE INDEX queries_seed ON queries(seed_doc_id);

-- Documents a synthesizer has written queries for, even when every query it
-- wrote was a duplicate: a rerun must not pay for them again.
CREATE TABLE synth_seeds (
    doc_id    INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    generator TEXT NOT NULL,
    run_id    INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    queries   INTEGER NOT NULL,
    at        TEXT NOT NULL,
    PRIMARY KEY (doc_id, generator)
) STRICT;

CREATE TABLE pairs (
    id         INTEGER PRIMARY KEY,
    query_id   INTEGER NOT NULL REFERENCES queries(id) ON DELETE CASCADE,
    doc_id     INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    source     TEXT NOT NULL CHECK (source IN ('imported','seed','bm25','human')),
    bm25_rank  INTEGER,                     -- rank among BM25 results when mined
    bm25_score REAL,
    run_id     INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    UNIQUE (query_id, doc_id)
) STRICT;
CREATE INDEX pairs_doc ON pairs(doc_id);

CREATE TABLE labelers (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    kind           TEXT NOT NULL CHECK (kind IN ('human','llm','student','builtin','imported')),
    role           TEXT NOT NULL DEFAULT '',  -- teacher, student, or ''
    description    TEXT NOT NULL DEFAULT '',
    base_url       TEXT NOT NULL DEFAULT '',
    model          TEXT NOT NULL DEFAULT '',
    api_key_env    TEXT NOT NULL DEFAULT '',  -- the NAME of an environment variable, never a key
    prompt_version TEXT NOT NULL DEFAULT '',
    price_in       REAL NOT NULL DEFAULT 0,   -- USD per 1M input tokens
    price_out      REAL NOT NULL DEFAULT 0,   -- USD per 1M output tokens
    config         TEXT NOT NULL DEFAULT '{}',-- mode, concurrency, limits, embedded model...
    created_at     TEXT NOT NULL
) STRICT;

-- One current grade per (pair, labeler). grade is NULL unless status = 'ok'.
CREATE TABLE judgments (
    id             INTEGER PRIMARY KEY,
    pair_id        INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
    labeler_id     INTEGER NOT NULL REFERENCES labelers(id) ON DELETE CASCADE,
    grade          INTEGER,
    status         TEXT NOT NULL CHECK (status IN ('ok','unparseable','refused','error','unsure')),
    probs          TEXT NOT NULL DEFAULT '',  -- JSON array, probability per grade (index = grade - min)
    expected       REAL,
    reason         TEXT NOT NULL DEFAULT '',
    raw            TEXT NOT NULL DEFAULT '',
    note           TEXT NOT NULL DEFAULT '',
    tokens_in      INTEGER NOT NULL DEFAULT 0,
    tokens_out     INTEGER NOT NULL DEFAULT 0,
    latency_ms     REAL NOT NULL DEFAULT 0,   -- model latency, or human time on task
    cost_usd       REAL NOT NULL DEFAULT 0,
    attempts       INTEGER NOT NULL DEFAULT 0,
    prompt_version TEXT NOT NULL DEFAULT '',
    run_id         INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    UNIQUE (pair_id, labeler_id),
    CHECK ((status = 'ok') = (grade IS NOT NULL))
) STRICT;
CREATE INDEX judgments_labeler ON judgments(labeler_id, pair_id);

CREATE TRIGGER judgments_scale_insert BEFORE INSERT ON judgments
WHEN NEW.grade IS NOT NULL AND NOT EXISTS (SELECT 1 FROM scale WHERE grade = NEW.grade)
BEGIN SELECT RAISE(ABORT, 'grade outside the workspace scale'); END;
CREATE TRIGGER judgments_scale_update BEFORE UPDATE OF grade ON judgments
WHEN NEW.grade IS NOT NULL AND NOT EXISTS (SELECT 1 FROM scale WHERE grade = NEW.grade)
BEGIN SELECT RAISE(ABORT, 'grade outside the workspace scale'); END;

-- Every change to a judgment, for undo and audit.
CREATE TABLE judgment_history (
    id          INTEGER PRIMARY KEY,
    pair_id     INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
    labeler_id  INTEGER NOT NULL REFERENCES labelers(id) ON DELETE CASCADE,
    action      TEXT NOT NULL CHECK (action IN ('set','undo')),
    grade       INTEGER,
    status      TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    prev_grade  INTEGER,
    prev_status TEXT,                      -- NULL: there was no judgment before
    prev_note   TEXT,
    undone      INTEGER NOT NULL DEFAULT 0,
    run_id      INTEGER,
    at          TEXT NOT NULL
) STRICT;
CREATE INDEX judgment_history_labeler ON judgment_history(labeler_id, id);
