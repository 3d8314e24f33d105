-- qrelbench workspace schema, version 8: pool provenance as one row per
-- (system, query) instead of one per (system, pair).
--
-- A pool of 1,000 queries × 100 systems at depth 20 is 2,000,000
-- (system, pair) rows, whose inserts alone took longer than the whole
-- pooling may. The same facts fit in 100,000 rows: the documents each
-- system put in the pool for each query, in its order, so position i of
-- the list is the document's position in the system's ranking. The rows
-- of pool_pairs (version 4, never filled by a released pooling) are
-- carried over.

CREATE TABLE pool_lists (
    system_id INTEGER NOT NULL REFERENCES systems(id) ON DELETE CASCADE,
    query_id  INTEGER NOT NULL REFERENCES queries(id) ON DELETE CASCADE,
    depth     INTEGER NOT NULL,  -- the depth pooled: the list holds the top depth documents (fewer when the system ranked fewer)
    docs      TEXT NOT NULL,     -- documents.id of the pooled documents, space-separated, in the metrics' order
    run_id    INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    PRIMARY KEY (system_id, query_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX pool_lists_query ON pool_lists(query_id);

INSERT INTO pool_lists(system_id, query_id, depth, docs, run_id)
SELECT e.system_id, p.query_id, max(e.depth), group_concat(p.doc_id, ' ' ORDER BY e.position), max(e.run_id)
FROM pool_pairs e JOIN pairs p ON p.id = e.pair_id
GROUP BY e.system_id, p.query_id;

DROP TABLE pool_pairs;
