-- qrelbench workspace schema, version 6: whole-word search of query texts.
--
-- The workbench searches pairs by the words of their query, document title
-- and body. Documents have documents_fts; this is the same index over query
-- texts (external content, same tokenizer, kept in step by triggers).

CREATE VIRTUAL TABLE queries_fts USING fts5(
    text,
    content='queries', content_rowid='id',
    tokenize='porter unicode61 remove_diacritics 2'
);
INSERT INTO queries_fts(queries_fts) VALUES ('rebuild');

CREATE TRIGGER queries_fts_ai AFTER INSERT ON queries BEGIN
    INSERT INTO queries_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER queries_fts_ad AFTER DELETE ON queries BEGIN
    INSERT INTO queries_fts(queries_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER queries_fts_au AFTER UPDATE OF text ON queries BEGIN
    INSERT INTO queries_fts(queries_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO queries_fts(rowid, text) VALUES (new.id, new.text);
END;
