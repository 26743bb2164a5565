-- carefront schema, migration 5: the rest of the care record — needs and risks in the care
-- plan, the service user guide, medicines, allergies and the administration record (eMAR),
-- visits and notes, contacts, documents, and the emergency summary a paramedic reads.

ALTER TABLE care_plans ADD COLUMN needs TEXT NOT NULL DEFAULT '[]';
ALTER TABLE care_plans ADD COLUMN risks TEXT NOT NULL DEFAULT '[]';

CREATE TABLE service_user_guides (
  person_id        TEXT PRIMARY KEY REFERENCES people (id),
  organisation_id  TEXT NOT NULL REFERENCES organisations (id),
  title            TEXT NOT NULL,
  -- JSON array of {"heading": …, "body": …}.
  sections         TEXT NOT NULL,
  updated_at       TEXT NOT NULL
);

CREATE TABLE medicines (
  id                TEXT PRIMARY KEY,
  person_id         TEXT NOT NULL REFERENCES people (id),
  name              TEXT NOT NULL,
  dose              TEXT NOT NULL,
  route             TEXT NOT NULL,
  -- JSON array of "HH:MM" times of day; empty for as-needed only.
  times             TEXT NOT NULL,
  as_needed         INTEGER NOT NULL CHECK (as_needed IN (0, 1)),
  instructions      TEXT NOT NULL DEFAULT '',
  prescriber        TEXT NOT NULL,
  started_on        TEXT NOT NULL,
  stopped_on        TEXT
);
CREATE INDEX medicines_person ON medicines (person_id);

CREATE TABLE allergies (
  id           TEXT PRIMARY KEY,
  person_id    TEXT NOT NULL REFERENCES people (id),
  substance    TEXT NOT NULL,
  reaction     TEXT NOT NULL,
  recorded_at  TEXT NOT NULL
);
CREATE INDEX allergies_person ON allergies (person_id);

-- The medication administration record: one row per dose due (or taken as needed), never
-- changed afterwards; a correction is a new row.
CREATE TABLE administrations (
  id            TEXT PRIMARY KEY,
  person_id     TEXT NOT NULL REFERENCES people (id),
  medicine_id   TEXT NOT NULL REFERENCES medicines (id),
  due_at        TEXT NOT NULL,
  outcome       TEXT NOT NULL CHECK (outcome IN ('given', 'refused', 'not_given')),
  reason        TEXT,
  recorded_by   TEXT NOT NULL,
  recorded_at   TEXT NOT NULL,
  CHECK (outcome = 'given' OR reason IS NOT NULL)
);
CREATE INDEX administrations_person ON administrations (person_id, due_at);

CREATE TABLE care_visits (
  id               TEXT PRIMARY KEY,
  person_id        TEXT NOT NULL REFERENCES people (id),
  organisation_id  TEXT NOT NULL REFERENCES organisations (id),
  starts_at        TEXT NOT NULL,
  ends_at          TEXT NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('planned', 'completed', 'missed', 'cancelled')),
  carers           TEXT NOT NULL,
  note             TEXT NOT NULL DEFAULT '',
  recorded_at      TEXT NOT NULL,
  CHECK (ends_at > starts_at)
);
CREATE INDEX care_visits_person ON care_visits (person_id, starts_at);

CREATE TABLE contacts (
  id          TEXT PRIMARY KEY,
  person_id   TEXT NOT NULL REFERENCES people (id),
  kind        TEXT NOT NULL CHECK (kind IN ('care_team', 'provider_office', 'social_worker', 'out_of_hours', 'gp', 'family', 'other')),
  name        TEXT NOT NULL,
  role        TEXT NOT NULL DEFAULT '',
  phone       TEXT NOT NULL DEFAULT '',
  email       TEXT NOT NULL DEFAULT '',
  available   TEXT NOT NULL DEFAULT '',
  position    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX contacts_person ON contacts (person_id, position);

CREATE TABLE documents (
  id            TEXT PRIMARY KEY,
  person_id     TEXT NOT NULL REFERENCES people (id),
  title         TEXT NOT NULL,
  kind          TEXT NOT NULL CHECK (kind IN ('discharge_summary', 'report', 'letter', 'other')),
  content_type  TEXT NOT NULL CHECK (content_type IN ('text/plain', 'application/pdf')),
  size_bytes    INTEGER NOT NULL CHECK (size_bytes > 0 AND size_bytes <= 1048576),
  sha256        TEXT NOT NULL,
  -- The file, base64url (every backend reads text back the same way).
  body          TEXT NOT NULL,
  added_by      TEXT NOT NULL,
  added_at      TEXT NOT NULL
);
CREATE INDEX documents_person ON documents (person_id, added_at);

CREATE TABLE emergency_summaries (
  person_id      TEXT PRIMARY KEY REFERENCES people (id),
  summary        TEXT NOT NULL,
  -- JSON array of conditions, in plain words.
  conditions     TEXT NOT NULL,
  communication  TEXT NOT NULL DEFAULT '',
  next_of_kin    TEXT NOT NULL DEFAULT '',
  updated_by     TEXT NOT NULL,
  updated_at     TEXT NOT NULL
);
