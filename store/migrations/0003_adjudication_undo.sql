-- qrelbench workspace schema, version 3: an adjudication can be taken back.
--
-- Undo on the Adjudicate screen takes back exactly the decision it made: the
-- human:gold change it recorded (history_id, a judgment_history row) is
-- undone, and the decision stays on record, marked with when it was undone.

ALTER TABLE adjudications ADD COLUMN history_id INTEGER;
ALTER TABLE adjudications ADD COLUMN undone_at TEXT NOT NULL DEFAULT '';
