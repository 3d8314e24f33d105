-- qrelbench workspace schema, version 4: search systems and their ranked
-- lists, and the pool of pairs they bring for grading.
--
-- Pairs gain the source 'pool' and runs the kind 'pooling'. SQLite cannot
-- alter a CHECK constraint, and rebuilding pairs or runs would fire their
-- ON DELETE actions (judgments cascade). Widening a CHECK changes no stored
-- row, so this uses SQLite's documented procedure for such changes
-- (https://sqlite.org/lang_altertable.html, "other kinds of table schema
-- changes"): edit the stored CREATE statement, then RESET makes this
-- connection reparse the schema; the CREATE TABLEs below bump the schema
-- cookie so every other connection reparses it too.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql, '''bm25'',''human''', '''bm25'',''human'',''pool''')
WHERE type = 'table' AND name = 'pairs';
UPDATE sqlite_schema SET sql = replace(sql, '''finetune'',''batch''', '''finetune'',''batch'',''pooling''')
WHERE type = 'table' AND name = 'runs';
PRAGMA writable_schema = RESET;

-- A search system: one tag of a TREC run file (or the --system name).
-- content_sha256 hashes the system's results as stored (sorted by query and
-- document), so re-importing the same ranked lists is recognised whatever
-- else the file held; source_sha256 is the hash of the whole file.
CREATE TABLE systems (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    source_file    TEXT NOT NULL DEFAULT '',
    source_sha256  TEXT NOT NULL DEFAULT '',
    content_sha256 TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
) STRICT;

-- One retrieved document of one system for one query. Metrics order a
-- query's documents by score descending, ties by document id descending
-- (trec_eval); rank is the run file's rank column, kept for display only.
-- score_rank is 1 + the number of the query's results with a strictly higher
-- score: the documents that can be among the top K whatever the tie-break
-- are exactly those with score_rank <= K, which lets pooling read a few
-- rows per query instead of whole ranked lists.
CREATE TABLE system_results (
    system_id  INTEGER NOT NULL REFERENCES systems(id) ON DELETE CASCADE,
    query_id   INTEGER NOT NULL REFERENCES queries(id) ON DELETE CASCADE,
    doc_id     INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    score      REAL NOT NULL,
    rank       INTEGER NOT NULL,
    score_rank INTEGER NOT NULL,
    PRIMARY KEY (system_id, query_id, doc_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX system_results_top ON system_results(system_id, score_rank, query_id, doc_id, score);
-- No index on query_id or doc_id alone: queries and documents are never
-- deleted, and every read goes through a system.

-- Which systems brought a pooled pair, and at which position of their
-- ranking (1-based, in the metrics' order). A pair found by several systems
-- has one row per system; pairs that existed before pooling get rows too, so
-- the pool is known whatever added the pair.
CREATE TABLE pool_pairs (
    pair_id   INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
    system_id INTEGER NOT NULL REFERENCES systems(id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    depth     INTEGER NOT NULL, -- the pool depth that took it
    run_id    INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    PRIMARY KEY (pair_id, system_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX pool_pairs_system ON pool_pairs(system_id, pair_id);
