-- qrelbench workspace schema, version 9: imports index their text once.
--
-- FTS5 writes what it has pending to disk whenever a statement opens a
-- savepoint, so a load that inserts documents one statement at a time (with
-- a pair, a judgment and their triggers after each) wrote one tiny index
-- segment per document and spent most of its time merging them. Inside an
-- import's transaction (store.Load) bulk_load holds a row; the index
-- triggers on insert stand aside, and the load indexes everything it added
-- with one INSERT ... SELECT before it commits. Outside a load the table is
-- empty (the row is never committed) and the triggers work as before.

CREATE TABLE bulk_load (
    active INTEGER PRIMARY KEY CHECK (active = 1)
) STRICT;

DROP TRIGGER documents_ai;
CREATE TRIGGER documents_ai AFTER INSERT ON documents WHEN NOT EXISTS (SELECT 1 FROM bulk_load) BEGIN
    INSERT INTO documents_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
END;

DROP TRIGGER queries_fts_ai;
CREATE TRIGGER queries_fts_ai AFTER INSERT ON queries WHEN NOT EXISTS (SELECT 1 FROM bulk_load) BEGIN
    INSERT INTO queries_fts(rowid, text) VALUES (new.id, new.text);
END;
