-- qrelbench workspace schema, version 2: assigning pairs to many annotators.
--
-- assign_pairs mirrors every pair with the number of humans who gave it an ok
-- grade, kept in step by triggers, so that "the least-graded pair not yet
-- graded by me" is an index walk rather than a scan of a million pairs.
-- leases are short claims on a pair by an annotator who is looking at it: a
-- pair is served while its human grades plus the live leases of others are
-- fewer than K (the workspace setting 'assign.k', default 1).

CREATE TABLE assign_pairs (
    pair_id  INTEGER PRIMARY KEY REFERENCES pairs(id) ON DELETE CASCADE,
    query_id INTEGER NOT NULL,
    humans   INTEGER NOT NULL DEFAULT 0, -- human labelers with an ok grade
    priority REAL NOT NULL DEFAULT 0     -- teacher/student disagreement + uncertainty (see RefreshPriority)
) STRICT;
CREATE INDEX assign_order ON assign_pairs(humans, query_id, pair_id);
CREATE INDEX assign_query ON assign_pairs(query_id, humans, pair_id);
CREATE INDEX assign_priority ON assign_pairs(humans, priority DESC, pair_id);

INSERT INTO assign_pairs(pair_id, query_id, humans)
SELECT p.id, p.query_id, (SELECT count(*) FROM judgments j JOIN labelers l ON l.id = j.labeler_id
                          WHERE j.pair_id = p.id AND j.status = 'ok' AND l.kind = 'human')
FROM pairs p;

CREATE TABLE leases (
    pair_id    INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
    labeler_id INTEGER NOT NULL REFERENCES labelers(id) ON DELETE CASCADE,
    query_id   INTEGER NOT NULL,
    expires_at INTEGER NOT NULL, -- Unix milliseconds
    PRIMARY KEY (pair_id, labeler_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX leases_labeler ON leases(labeler_id);
CREATE INDEX leases_query ON leases(query_id);
CREATE INDEX leases_expires ON leases(expires_at);

-- Every adjudication decision (the current one is the human:gold judgment).
CREATE TABLE adjudications (
    id             INTEGER PRIMARY KEY,
    pair_id        INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
    adjudicator_id INTEGER REFERENCES labelers(id) ON DELETE SET NULL,
    adjudicator    TEXT NOT NULL, -- name, kept when the labeler is removed
    grade          INTEGER NOT NULL,
    note           TEXT NOT NULL DEFAULT '',
    at             TEXT NOT NULL
) STRICT;
CREATE INDEX adjudications_pair ON adjudications(pair_id, id);

CREATE TRIGGER pairs_assign_ai AFTER INSERT ON pairs BEGIN
    INSERT INTO assign_pairs(pair_id, query_id) VALUES (NEW.id, NEW.query_id);
END;
CREATE TRIGGER pairs_assign_au AFTER UPDATE OF query_id ON pairs BEGIN
    UPDATE assign_pairs SET query_id = NEW.query_id WHERE pair_id = NEW.id;
END;

-- Any verdict (grade, unsure, ...) releases the labeler's lease on the pair;
-- ok grades by humans count towards K. The WHEN clauses keep the cost for
-- model labelers to two index probes.
CREATE TRIGGER judgments_lease_ai AFTER INSERT ON judgments
WHEN EXISTS (SELECT 1 FROM leases WHERE pair_id = NEW.pair_id AND labeler_id = NEW.labeler_id) BEGIN
    DELETE FROM leases WHERE pair_id = NEW.pair_id AND labeler_id = NEW.labeler_id;
END;
CREATE TRIGGER judgments_lease_au AFTER UPDATE ON judgments
WHEN EXISTS (SELECT 1 FROM leases WHERE pair_id = NEW.pair_id AND labeler_id = NEW.labeler_id) BEGIN
    DELETE FROM leases WHERE pair_id = NEW.pair_id AND labeler_id = NEW.labeler_id;
END;
CREATE TRIGGER judgments_humans_ai AFTER INSERT ON judgments
WHEN NEW.status = 'ok' AND EXISTS (SELECT 1 FROM labelers WHERE id = NEW.labeler_id AND kind = 'human') BEGIN
    UPDATE assign_pairs SET humans = humans + 1 WHERE pair_id = NEW.pair_id;
END;
CREATE TRIGGER judgments_humans_au AFTER UPDATE OF status ON judgments
WHEN (OLD.status = 'ok') != (NEW.status = 'ok') AND EXISTS (SELECT 1 FROM labelers WHERE id = NEW.labeler_id AND kind = 'human') BEGIN
    UPDATE assign_pairs SET humans = humans + (CASE WHEN NEW.status = 'ok' THEN 1 ELSE -1 END) WHERE pair_id = NEW.pair_id;
END;
CREATE TRIGGER judgments_humans_ad AFTER DELETE ON judgments
WHEN OLD.status = 'ok' AND EXISTS (SELECT 1 FROM labelers WHERE id = OLD.labeler_id AND kind = 'human') BEGIN
    UPDATE assign_pairs SET humans = humans - 1 WHERE pair_id = OLD.pair_id;
END;

-- A removed human's judgments are deleted while the labeler still exists, so
-- the trigger above still knows they were a human's.
CREATE TRIGGER labelers_assign_bd BEFORE DELETE ON labelers WHEN OLD.kind = 'human' BEGIN
    DELETE FROM judgments WHERE labeler_id = OLD.id;
END;
CREATE TRIGGER labelers_assign_kind AFTER UPDATE OF kind ON labelers
WHEN (OLD.kind = 'human') != (NEW.kind = 'human') BEGIN
    UPDATE assign_pairs SET humans = humans + (CASE WHEN NEW.kind = 'human' THEN 1 ELSE -1 END)
    WHERE pair_id IN (SELECT pair_id FROM judgments WHERE labeler_id = NEW.id AND status = 'ok');
END;
