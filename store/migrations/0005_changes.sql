-- qrelbench workspace schema, version 5: what changed, for screens that
-- follow the workspace while other processes (or background runs) write.
--
-- Appends are seen without any bookkeeping: new pairs and queries raise
-- max(id), and every judgment change appends to judgment_history. What
-- max(id) cannot see (edits and removals) and the small tables bump a
-- counter per topic here, so one cheap query tells a poller what to read
-- again. The triggers cost nothing on the hot paths (inserting pairs and
-- judgments); runs are updated once per batch of judgments.

CREATE TABLE changes (
    topic TEXT PRIMARY KEY,
    n     INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;
INSERT INTO changes(topic) VALUES ('labelers'), ('runs'), ('corpus');

CREATE TRIGGER labelers_changes_ai AFTER INSERT ON labelers BEGIN
    UPDATE changes SET n = n + 1 WHERE topic = 'labelers';
END;
CREATE TRIGGER labelers_changes_au AFTER UPDATE ON labelers BEGIN
    UPDATE changes SET n = n + 1 WHERE topic = 'labelers';
END;
CREATE TRIGGER labelers_changes_ad AFTER DELETE ON labelers BEGIN
    UPDATE changes SET n = n + 1 WHERE topic = 'labelers';
END;

CREATE TRIGGER runs_changes_ai AFTER INSERT ON runs BEGIN
    UPDATE changes SET n = n + 1 WHERE topic = 'runs';
END;
CREATE TRIGGER runs_changes_au AFTER UPDATE ON runs BEGIN
    UPDATE changes SET n = n + 1 WHERE topic = 'runs';
END;
CREATE TRIGGER runs_changes_ad AFTER DELETE ON runs BEGIN
    UPDATE changes SET n = n + 1 WHERE topic = 'runs';
END;

-- Corpus: a query's text or a document's title changed, or a pair, query or
-- document went away.
CREATE TRIGGER queries_changes_au AFTER UPDATE OF text ON queries BEGIN
    UPDATE changes SET n = n + 1 WHERE topic = 'corpus';
END;
CREATE TRIGGER queries_changes_ad AFTER DELETE ON queries BEGIN
    UPDATE changes SET n = n + 1 WHERE topic = 'corpus';
END;
CREATE TRIGGER documents_changes_au AFTER UPDATE OF title, ext_id ON documents BEGIN
    UPDATE changes SET n = n + 1 WHERE topic = 'corpus';
END;
CREATE TRIGGER documents_changes_ad AFTER DELETE ON documents BEGIN
    UPDATE changes SET n = n + 1 WHERE topic = 'corpus';
END;
CREATE TRIGGER pairs_changes_au AFTER UPDATE OF query_id, doc_id ON pairs BEGIN
    UPDATE changes SET n = n + 1 WHERE topic = 'corpus';
END;
CREATE TRIGGER pairs_changes_ad AFTER DELETE ON pairs BEGIN
    UPDATE changes SET n = n + 1 WHERE topic = 'corpus';
END;
