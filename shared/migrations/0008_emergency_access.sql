-- carefront schema, migration 8: emergency (break-glass) access. The person, someone acting for
-- them or the council turns on an emergency code (held only as a hash); a clinician who enters
-- it at /emergency reads the person's medicines, allergies and emergency summary for four hours.
-- Both tables are logs: rows are never deleted, and change only as the triggers below allow.

CREATE TABLE emergency_codes (
  id               TEXT PRIMARY KEY,
  person_id        TEXT NOT NULL REFERENCES people (id),
  -- The public half of the code finds the row; the code itself is stored only as a hash.
  selector         TEXT NOT NULL,
  verifier_hash    TEXT NOT NULL,
  -- Who turned it on, and what allowed it: 'own_record', or 'grant:<id> (<basis>)' for
  -- someone acting for the person or council staff on the council's statutory duty.
  issued_by        TEXT NOT NULL REFERENCES people (id),
  basis            TEXT NOT NULL,
  issued_at        TEXT NOT NULL,
  ended_at         TEXT,
  ended_by         TEXT,
  end_reason       TEXT CHECK (end_reason IN ('replaced', 'turned_off')),
  -- Wrong codes tried against it; at the limit it is locked until a new code is turned on.
  failed_attempts  INTEGER NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
  CHECK ((ended_at IS NULL) = (end_reason IS NULL))
);
CREATE INDEX emergency_codes_selector ON emergency_codes (selector);
-- One live code per person: a new code must end the old one first (in the same batch).
CREATE UNIQUE INDEX emergency_codes_one_live ON emergency_codes (person_id) WHERE ended_at IS NULL;

CREATE TRIGGER emergency_codes_no_delete BEFORE DELETE ON emergency_codes
BEGIN
  SELECT RAISE(ABORT, 'emergency_codes is append-only: turn a code off instead of deleting it');
END;

-- A code changes only by counting wrong attempts (upwards) and by ending, once.
CREATE TRIGGER emergency_codes_only_end_or_count BEFORE UPDATE ON emergency_codes
WHEN NEW.id IS NOT OLD.id OR NEW.person_id IS NOT OLD.person_id OR NEW.selector IS NOT OLD.selector
  OR NEW.verifier_hash IS NOT OLD.verifier_hash OR NEW.issued_by IS NOT OLD.issued_by OR NEW.basis IS NOT OLD.basis
  OR NEW.issued_at IS NOT OLD.issued_at OR NEW.failed_attempts < OLD.failed_attempts
  OR (OLD.ended_at IS NOT NULL
      AND (NEW.ended_at IS NOT OLD.ended_at OR NEW.ended_by IS NOT OLD.ended_by OR NEW.end_reason IS NOT OLD.end_reason))
BEGIN
  SELECT RAISE(ABORT, 'emergency_codes is append-only: a code can only be ended, once, and count wrong attempts');
END;

CREATE TABLE emergency_accesses (
  id              TEXT PRIMARY KEY,
  -- SHA-256 of the opaque token in the clinician's cookie: a copy of the database is no key.
  token_hash      TEXT NOT NULL UNIQUE,
  code_id         TEXT NOT NULL REFERENCES emergency_codes (id),
  person_id       TEXT NOT NULL REFERENCES people (id),
  -- As the clinician typed them.
  clinician_name  TEXT NOT NULL,
  clinician_role  TEXT NOT NULL,
  organisation    TEXT NOT NULL,
  started_at      TEXT NOT NULL,
  expires_at      TEXT NOT NULL,
  -- When the clinician left, or the code was replaced or turned off, before expiry.
  ended_at        TEXT,
  CHECK (expires_at > started_at)
);
CREATE INDEX emergency_accesses_person ON emergency_accesses (person_id, started_at);
CREATE INDEX emergency_accesses_started ON emergency_accesses (started_at);

-- Access starts only with a live code, and only to that code's person: checked in the same
-- statement, so a code replaced a moment earlier cannot open anything.
CREATE TRIGGER emergency_accesses_need_live_code BEFORE INSERT ON emergency_accesses
WHEN NOT EXISTS (SELECT 1 FROM emergency_codes WHERE id = NEW.code_id AND person_id = NEW.person_id AND ended_at IS NULL)
BEGIN
  SELECT RAISE(ABORT, 'constraint failed: emergency access needs the live code of the same person');
END;

CREATE TRIGGER emergency_accesses_no_delete BEFORE DELETE ON emergency_accesses
BEGIN
  SELECT RAISE(ABORT, 'emergency_accesses is append-only');
END;

-- An access changes only by ending, once.
CREATE TRIGGER emergency_accesses_only_end BEFORE UPDATE ON emergency_accesses
WHEN NEW.id IS NOT OLD.id OR NEW.token_hash IS NOT OLD.token_hash OR NEW.code_id IS NOT OLD.code_id
  OR NEW.person_id IS NOT OLD.person_id OR NEW.clinician_name IS NOT OLD.clinician_name
  OR NEW.clinician_role IS NOT OLD.clinician_role OR NEW.organisation IS NOT OLD.organisation
  OR NEW.started_at IS NOT OLD.started_at OR NEW.expires_at IS NOT OLD.expires_at
  OR (OLD.ended_at IS NOT NULL AND NEW.ended_at IS NOT OLD.ended_at)
BEGIN
  SELECT RAISE(ABORT, 'emergency_accesses is append-only: an access can only be ended, once');
END;
