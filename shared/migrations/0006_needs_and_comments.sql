-- carefront schema, migration 6: format and communication needs (NHS Accessible Information
-- Standard), with a changes feed for providers' systems; and the person's comments on and
-- corrections to their record.

CREATE TABLE format_needs (
  id                     TEXT PRIMARY KEY,
  person_id              TEXT NOT NULL REFERENCES people (id),
  need                   TEXT NOT NULL,
  detail                 TEXT NOT NULL DEFAULT '',
  recorded_by            TEXT NOT NULL,
  recorded_by_name       TEXT NOT NULL,
  acting_for             TEXT,
  -- The consent discussion the need was recorded in, when a provider recorded it there.
  consent_discussion_id  TEXT,
  recorded_at            TEXT NOT NULL,
  ended_at               TEXT,
  ended_by               TEXT
);
CREATE INDEX format_needs_person ON format_needs (person_id, ended_at);

-- Every need recorded or ended, in order: providers' systems follow it with a cursor (seq).
CREATE TABLE format_need_changes (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  person_id  TEXT NOT NULL,
  need_id    TEXT NOT NULL,
  change     TEXT NOT NULL CHECK (change IN ('recorded', 'ended')),
  at         TEXT NOT NULL
);

CREATE TRIGGER format_needs_recorded AFTER INSERT ON format_needs
BEGIN
  INSERT INTO format_need_changes (person_id, need_id, change, at) VALUES (NEW.person_id, NEW.id, 'recorded', NEW.recorded_at);
END;

CREATE TRIGGER format_needs_ended AFTER UPDATE OF ended_at ON format_needs
WHEN OLD.ended_at IS NULL AND NEW.ended_at IS NOT NULL
BEGIN
  INSERT INTO format_need_changes (person_id, need_id, change, at) VALUES (NEW.person_id, NEW.id, 'ended', NEW.ended_at);
END;

-- A need is ended, never changed or deleted: its history is the record of what was asked.
CREATE TRIGGER format_needs_only_end BEFORE UPDATE ON format_needs
WHEN OLD.ended_at IS NOT NULL OR NEW.ended_at IS NULL OR NEW.id IS NOT OLD.id OR NEW.person_id IS NOT OLD.person_id
  OR NEW.need IS NOT OLD.need OR NEW.detail IS NOT OLD.detail OR NEW.recorded_by IS NOT OLD.recorded_by
  OR NEW.recorded_at IS NOT OLD.recorded_at
BEGIN
  SELECT RAISE(ABORT, 'format needs can only be ended');
END;

CREATE TRIGGER format_needs_no_delete BEFORE DELETE ON format_needs
BEGIN
  SELECT RAISE(ABORT, 'format needs are ended, never deleted');
END;

CREATE TRIGGER format_need_changes_no_update BEFORE UPDATE ON format_need_changes
BEGIN
  SELECT RAISE(ABORT, 'format_need_changes is append-only');
END;

CREATE TRIGGER format_need_changes_no_delete BEFORE DELETE ON format_need_changes
BEGIN
  SELECT RAISE(ABORT, 'format_need_changes is append-only');
END;

CREATE TABLE comments (
  id            TEXT PRIMARY KEY,
  person_id     TEXT NOT NULL REFERENCES people (id),
  category      TEXT NOT NULL,
  -- The entry commented on (a medicine, a visit, a document…), or NULL for the whole category.
  entry_id      TEXT,
  entry_label   TEXT NOT NULL DEFAULT '',
  kind          TEXT NOT NULL CHECK (kind IN ('comment', 'correction')),
  body          TEXT NOT NULL,
  author_id     TEXT NOT NULL,
  author_name   TEXT NOT NULL,
  acting_for    TEXT,
  created_at    TEXT NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('open', 'answered', 'corrected', 'declined')),
  response      TEXT,
  responded_by  TEXT,
  responded_at  TEXT,
  version       INTEGER NOT NULL DEFAULT 1,
  CHECK (status = 'open' OR (response IS NOT NULL AND responded_by IS NOT NULL AND responded_at IS NOT NULL))
);
CREATE INDEX comments_person ON comments (person_id, created_at);
CREATE INDEX comments_open ON comments (status, created_at);

CREATE TRIGGER comments_no_delete BEFORE DELETE ON comments
BEGIN
  SELECT RAISE(ABORT, 'comments are answered, never deleted');
END;
