-- carefront schema, migration 7: consent discussions. A provider evidences each discussion it
-- had with the person about their information (never assuming consent from silence); the
-- person, or someone acting for them, confirms it or disputes it; the provider sees the answer.

CREATE TABLE consent_discussions (
  id               TEXT PRIMARY KEY,
  person_id        TEXT NOT NULL REFERENCES people (id),
  organisation_id  TEXT NOT NULL REFERENCES organisations (id),
  held_on          TEXT NOT NULL,
  method           TEXT NOT NULL CHECK (method IN ('home_visit', 'phone', 'video')),
  -- JSON array of {"role": person|family|advocate|interpreter|staff, "name": …}.
  participants     TEXT NOT NULL,
  -- JSON array of topic names (see shared/src/discussion.rs).
  covered          TEXT NOT NULL,
  decisions        TEXT NOT NULL,
  persons_words    TEXT NOT NULL,
  recorded_by      TEXT NOT NULL,
  recorded_at      TEXT NOT NULL,
  -- The provider's idempotency key: a retried write finds the discussion it already made.
  idempotency_key  TEXT,
  status           TEXT NOT NULL CHECK (status IN ('awaiting', 'confirmed', 'disputed')),
  response         TEXT,
  responded_by     TEXT,
  acting_for       TEXT,
  responded_at     TEXT,
  version          INTEGER NOT NULL DEFAULT 1,
  CHECK (status = 'awaiting' OR (responded_by IS NOT NULL AND responded_at IS NOT NULL)),
  CHECK (status <> 'disputed' OR response IS NOT NULL),
  UNIQUE (organisation_id, idempotency_key)
);
CREATE INDEX consent_discussions_person ON consent_discussions (person_id, held_on);
CREATE INDEX consent_discussions_organisation ON consent_discussions (organisation_id, held_on);

CREATE TRIGGER consent_discussions_no_delete BEFORE DELETE ON consent_discussions
BEGIN
  SELECT RAISE(ABORT, 'consent discussions are kept');
END;

-- What was discussed never changes after it is recorded; only the person's answer is added.
CREATE TRIGGER consent_discussions_fixed BEFORE UPDATE ON consent_discussions
WHEN NEW.id IS NOT OLD.id OR NEW.person_id IS NOT OLD.person_id OR NEW.organisation_id IS NOT OLD.organisation_id
  OR NEW.held_on IS NOT OLD.held_on OR NEW.method IS NOT OLD.method OR NEW.participants IS NOT OLD.participants
  OR NEW.covered IS NOT OLD.covered OR NEW.decisions IS NOT OLD.decisions OR NEW.persons_words IS NOT OLD.persons_words
  OR NEW.recorded_by IS NOT OLD.recorded_by OR NEW.recorded_at IS NOT OLD.recorded_at
BEGIN
  SELECT RAISE(ABORT, 'a consent discussion is answered, never rewritten');
END;
