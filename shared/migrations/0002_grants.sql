-- carefront schema, migration 2: grants (who may see what of whose record), versioned, with
-- every version kept in grant_history by the database itself.

CREATE TABLE grants (
  id            TEXT PRIMARY KEY,
  version       INTEGER NOT NULL CHECK (version >= 1),
  subject_id    TEXT NOT NULL REFERENCES people (id),
  grantee_kind  TEXT NOT NULL CHECK (grantee_kind IN ('person', 'organisation')),
  grantee_id    TEXT NOT NULL,
  -- JSON arrays of category and action names.
  categories    TEXT NOT NULL,
  actions       TEXT NOT NULL,
  act_for       INTEGER NOT NULL CHECK (act_for IN (0, 1)),
  purpose       TEXT NOT NULL,
  starts_at     TEXT NOT NULL,
  ends_at       TEXT,
  basis         TEXT NOT NULL CHECK (basis IN ('consent', 'lasting_power_of_attorney', 'court_appointed_deputy', 'best_interests', 'statutory_duty')),
  evidence      TEXT,
  recorded_by   TEXT NOT NULL,
  acting_for    TEXT,
  revoked_at    TEXT,
  changed_at    TEXT NOT NULL,
  CHECK (ends_at IS NULL OR ends_at > starts_at),
  CHECK (basis = 'consent' OR evidence IS NOT NULL),
  CHECK (act_for = 0 OR grantee_kind = 'person')
);
CREATE INDEX grants_subject ON grants (subject_id);
CREATE INDEX grants_grantee ON grants (grantee_kind, grantee_id);

CREATE TABLE grant_history (
  grant_id    TEXT NOT NULL,
  version     INTEGER NOT NULL,
  -- The whole grant as it was at this version (JSON object of the grants columns).
  snapshot    TEXT NOT NULL,
  changed_at  TEXT NOT NULL,
  recorded_by TEXT NOT NULL,
  acting_for  TEXT,
  PRIMARY KEY (grant_id, version)
);

CREATE TRIGGER grants_history_on_insert AFTER INSERT ON grants
BEGIN
  INSERT INTO grant_history (grant_id, version, snapshot, changed_at, recorded_by, acting_for)
  VALUES (NEW.id, NEW.version, json_object(
    'id', NEW.id, 'version', NEW.version, 'subject_id', NEW.subject_id, 'grantee_kind', NEW.grantee_kind,
    'grantee_id', NEW.grantee_id, 'categories', json(NEW.categories), 'actions', json(NEW.actions),
    'act_for', NEW.act_for, 'purpose', NEW.purpose, 'starts_at', NEW.starts_at, 'ends_at', NEW.ends_at,
    'basis', NEW.basis, 'evidence', NEW.evidence, 'recorded_by', NEW.recorded_by,
    'acting_for', NEW.acting_for, 'revoked_at', NEW.revoked_at, 'changed_at', NEW.changed_at),
    NEW.changed_at, NEW.recorded_by, NEW.acting_for);
END;

CREATE TRIGGER grants_history_on_update AFTER UPDATE ON grants
BEGIN
  INSERT INTO grant_history (grant_id, version, snapshot, changed_at, recorded_by, acting_for)
  VALUES (NEW.id, NEW.version, json_object(
    'id', NEW.id, 'version', NEW.version, 'subject_id', NEW.subject_id, 'grantee_kind', NEW.grantee_kind,
    'grantee_id', NEW.grantee_id, 'categories', json(NEW.categories), 'actions', json(NEW.actions),
    'act_for', NEW.act_for, 'purpose', NEW.purpose, 'starts_at', NEW.starts_at, 'ends_at', NEW.ends_at,
    'basis', NEW.basis, 'evidence', NEW.evidence, 'recorded_by', NEW.recorded_by,
    'acting_for', NEW.acting_for, 'revoked_at', NEW.revoked_at, 'changed_at', NEW.changed_at),
    NEW.changed_at, NEW.recorded_by, NEW.acting_for);
END;

-- A grant is revoked, never deleted; its history is never rewritten.
CREATE TRIGGER grants_no_delete BEFORE DELETE ON grants
BEGIN
  SELECT RAISE(ABORT, 'grants are append-only: revoke instead of deleting');
END;

CREATE TRIGGER grant_history_no_update BEFORE UPDATE ON grant_history
BEGIN
  SELECT RAISE(ABORT, 'grant_history is append-only');
END;

CREATE TRIGGER grant_history_no_delete BEFORE DELETE ON grant_history
BEGIN
  SELECT RAISE(ABORT, 'grant_history is append-only');
END;
