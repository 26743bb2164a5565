-- carefront schema, migration 19: the whole record put in by providers' systems, versioned.
-- A change to the care plan, the guide, a medicine, an allergy, the contacts, a visit
-- schedule or a visit keeps a snapshot of what it made in record_versions (append-only, like
-- audit_events), so history is kept and shown; documents up to 10 MiB are held in chunks (D1
-- refuses a value over about 2 MB); and a planned visit carries its live status (checked in,
-- checked out, late, missed) with the actual time. SQLite cannot change a CHECK constraint in
-- place, so care_visits and documents are rebuilt.

CREATE TABLE record_versions (
  id               TEXT PRIMARY KEY,
  person_id        TEXT NOT NULL REFERENCES people (id),
  -- What part of the record: one care plan, guide, contact list per person; one medicine,
  -- allergy or visit per item; one visit schedule per provider.
  kind             TEXT NOT NULL CHECK (kind IN ('care_plan', 'guide', 'medicine', 'allergy', 'contacts', 'visit_schedule', 'visit')),
  -- The item within the kind ('' for the care plan, guide and contacts; the provider for a
  -- visit schedule).
  item_id          TEXT NOT NULL,
  version          INTEGER NOT NULL CHECK (version >= 1),
  -- JSON: the part as this version made it.
  snapshot         TEXT NOT NULL,
  -- Who made it, as the person reads it ("Brookside Home Care's computer system (…)").
  changed_by       TEXT NOT NULL,
  organisation_id  TEXT NOT NULL REFERENCES organisations (id),
  changed_at       TEXT NOT NULL,
  -- Two writes from the same version: one wins, the other's whole plan is refused.
  UNIQUE (person_id, kind, item_id, version)
);

CREATE TRIGGER record_versions_no_update BEFORE UPDATE ON record_versions
BEGIN
  SELECT RAISE(ABORT, 'record_versions is append-only');
END;

CREATE TRIGGER record_versions_no_delete BEFORE DELETE ON record_versions
BEGIN
  SELECT RAISE(ABORT, 'record_versions is append-only');
END;

-- An allergy recorded by mistake is marked, never deleted: it leaves the person's list and
-- its history stays.
CREATE TABLE allergy_errors (
  allergy_id  TEXT PRIMARY KEY REFERENCES allergies (id),
  person_id   TEXT NOT NULL REFERENCES people (id),
  reason      TEXT NOT NULL,
  marked_by   TEXT NOT NULL,
  marked_at   TEXT NOT NULL
);

CREATE TABLE care_visits_new (
  id               TEXT PRIMARY KEY,
  person_id        TEXT NOT NULL REFERENCES people (id),
  organisation_id  TEXT NOT NULL REFERENCES organisations (id),
  -- The planned window (or, for a visit recorded afterwards, when it took place).
  starts_at        TEXT NOT NULL,
  ends_at          TEXT NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('planned', 'checked_in', 'checked_out', 'late', 'completed', 'missed', 'cancelled')),
  -- The carers' names as they sign; for a planned visit, the carer's first name.
  carers           TEXT NOT NULL,
  note             TEXT NOT NULL DEFAULT '',
  recorded_at      TEXT NOT NULL,
  -- The actual times reported with the live status.
  status_at        TEXT,
  checked_in_at    TEXT,
  checked_out_at   TEXT,
  CHECK (ends_at > starts_at)
);
INSERT INTO care_visits_new (id, person_id, organisation_id, starts_at, ends_at, status, carers, note, recorded_at)
  SELECT id, person_id, organisation_id, starts_at, ends_at, status, carers, note, recorded_at FROM care_visits;
DROP TABLE care_visits;
ALTER TABLE care_visits_new RENAME TO care_visits;
CREATE INDEX care_visits_person ON care_visits (person_id, starts_at);

CREATE TABLE documents_new (
  id            TEXT PRIMARY KEY,
  person_id     TEXT NOT NULL REFERENCES people (id),
  title         TEXT NOT NULL,
  kind          TEXT NOT NULL CHECK (kind IN ('discharge_summary', 'report', 'letter', 'other')),
  content_type  TEXT NOT NULL CHECK (content_type IN ('text/plain', 'application/pdf')),
  size_bytes    INTEGER NOT NULL CHECK (size_bytes > 0 AND size_bytes <= 10485760),
  sha256        TEXT NOT NULL,
  added_by      TEXT NOT NULL,
  added_at      TEXT NOT NULL
);
-- The file, base64url, in chunks of at most 1 MiB before encoding, read back in order.
CREATE TABLE document_chunks (
  document_id  TEXT NOT NULL REFERENCES documents_new (id),
  position     INTEGER NOT NULL CHECK (position >= 0),
  body         TEXT NOT NULL,
  PRIMARY KEY (document_id, position)
);
INSERT INTO documents_new (id, person_id, title, kind, content_type, size_bytes, sha256, added_by, added_at)
  SELECT id, person_id, title, kind, content_type, size_bytes, sha256, added_by, added_at FROM documents;
INSERT INTO document_chunks (document_id, position, body) SELECT id, 0, body FROM documents;
DROP TABLE documents;
ALTER TABLE documents_new RENAME TO documents;
CREATE INDEX documents_person ON documents (person_id, added_at);
