-- qrelbench workspace schema, version 7: model labeling runs claim pairs, runs say
-- whether their process is alive, and a failed attempt that is retried at
-- once is kept apart from a run's verdict.
--
-- A labeling run claims a pair in leases (owner = the run's process token;
-- '' for an annotator's lease) before it asks a model about it, so two runs
-- of one labeler never pay for the same pair at once. The run renews its
-- claims and its own alive_until while its process lives; a dead process's
-- claims expire and are taken over. Claims never count towards the K human
-- grades a pair is served for.
ALTER TABLE leases ADD COLUMN owner TEXT NOT NULL DEFAULT '';
CREATE INDEX leases_owner ON leases(owner) WHERE owner != '';

ALTER TABLE runs ADD COLUMN owner TEXT NOT NULL DEFAULT '';        -- process token of the run's current process
ALTER TABLE runs ADD COLUMN alive_until INTEGER NOT NULL DEFAULT 0; -- Unix ms; past it, the process is gone
ALTER TABLE runs ADD COLUMN retried INTEGER NOT NULL DEFAULT 0;     -- unparseable answers asked again at once

-- retrying = 1: a failed attempt the run asked again at once; it is kept in
-- the history but is not the run's verdict on the pair, and it keeps the
-- run's claim.
ALTER TABLE judgments ADD COLUMN retrying INTEGER NOT NULL DEFAULT 0;
ALTER TABLE judgment_history ADD COLUMN retrying INTEGER NOT NULL DEFAULT 0;

DROP TRIGGER judgments_lease_ai;
DROP TRIGGER judgments_lease_au;
CREATE TRIGGER judgments_lease_ai AFTER INSERT ON judgments
WHEN NEW.retrying = 0 AND EXISTS (SELECT 1 FROM leases WHERE pair_id = NEW.pair_id AND labeler_id = NEW.labeler_id) BEGIN
    DELETE FROM leases WHERE pair_id = NEW.pair_id AND labeler_id = NEW.labeler_id;
END;
CREATE TRIGGER judgments_lease_au AFTER UPDATE ON judgments
WHEN NEW.retrying = 0 AND EXISTS (SELECT 1 FROM leases WHERE pair_id = NEW.pair_id AND labeler_id = NEW.labeler_id) BEGIN
    DELETE FROM leases WHERE pair_id = NEW.pair_id AND labeler_id = NEW.labeler_id;
END;
