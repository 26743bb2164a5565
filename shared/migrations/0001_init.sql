-- carefront schema, migration 1: people, organisations, invitations, passkeys, sessions,
-- ceremonies, rate limits, care plans and the append-only audit log.
-- SQLite dialect shared by D1, Spin SQLite and the native rusqlite store.
-- Times are RFC 3339 UTC text ("2026-11-21T09:30:00Z"), which sorts correctly as text.

CREATE TABLE organisations (
  id          TEXT PRIMARY KEY,
  kind        TEXT NOT NULL CHECK (kind IN ('council', 'provider')),
  name        TEXT NOT NULL,
  created_at  TEXT NOT NULL
);

CREATE TABLE people (
  id               TEXT PRIMARY KEY,
  role             TEXT NOT NULL CHECK (role IN ('service_user', 'representative', 'provider_staff', 'council_staff')),
  display_name     TEXT NOT NULL,
  organisation_id  TEXT REFERENCES organisations (id),
  -- The WebAuthn user handle: random, never shown, never the primary key.
  webauthn_handle  TEXT NOT NULL UNIQUE,
  created_at       TEXT NOT NULL
);

CREATE TABLE invitations (
  id               TEXT PRIMARY KEY,
  -- The public half of the code, used to find the row; the secret half is stored only as a hash.
  selector         TEXT NOT NULL UNIQUE,
  verifier_hash    TEXT NOT NULL,
  person_id        TEXT NOT NULL REFERENCES people (id),
  created_by       TEXT,
  created_at       TEXT NOT NULL,
  expires_at       TEXT NOT NULL,
  used_at          TEXT,
  failed_attempts  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX invitations_person ON invitations (person_id);

CREATE TABLE passkeys (
  id            TEXT PRIMARY KEY,
  person_id     TEXT NOT NULL REFERENCES people (id),
  credential_id TEXT NOT NULL UNIQUE,
  name          TEXT NOT NULL,
  -- webauthn-rs Passkey as JSON (public key, counter, flags); no secret material.
  passkey       TEXT NOT NULL,
  created_at    TEXT NOT NULL,
  last_used_at  TEXT
);
CREATE INDEX passkeys_person ON passkeys (person_id);

CREATE TABLE sessions (
  -- SHA-256 of the session id: a copy of the database cannot be replayed as cookies.
  id_hash       TEXT PRIMARY KEY,
  person_id     TEXT NOT NULL REFERENCES people (id),
  created_at    TEXT NOT NULL,
  last_seen_at  TEXT NOT NULL
);
CREATE INDEX sessions_person ON sessions (person_id);

-- Server-side state of an enrolment or passkey ceremony: single use, short-lived.
CREATE TABLE ceremonies (
  id_hash        TEXT PRIMARY KEY,
  kind           TEXT NOT NULL CHECK (kind IN ('enrol', 'register', 'authenticate')),
  person_id      TEXT REFERENCES people (id),
  invitation_id  TEXT REFERENCES invitations (id),
  state          TEXT NOT NULL,
  created_at     TEXT NOT NULL,
  expires_at     TEXT NOT NULL
);

CREATE INDEX ceremonies_expiry ON ceremonies (expires_at);

CREATE TABLE rate_limits (
  key           TEXT PRIMARY KEY,
  window_start  TEXT NOT NULL,
  hits          INTEGER NOT NULL
);

CREATE TABLE care_plans (
  id              TEXT PRIMARY KEY,
  person_id       TEXT NOT NULL UNIQUE REFERENCES people (id),
  summary         TEXT NOT NULL,
  -- JSON arrays of plain-language lines.
  outcomes        TEXT NOT NULL,
  support         TEXT NOT NULL,
  visit_schedule  TEXT NOT NULL,
  review_due      TEXT NOT NULL,
  written_by      TEXT NOT NULL,
  updated_at      TEXT NOT NULL
);

CREATE TABLE audit_events (
  id          TEXT PRIMARY KEY,
  at          TEXT NOT NULL,
  actor_id    TEXT,
  acting_for  TEXT,
  subject_id  TEXT,
  action      TEXT NOT NULL,
  category    TEXT,
  basis       TEXT,
  detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_subject ON audit_events (subject_id, at);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
  SELECT RAISE(ABORT, 'audit_events is append-only');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
  SELECT RAISE(ABORT, 'audit_events is append-only');
END;
