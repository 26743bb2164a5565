-- carefront schema on PostgreSQL, baseline: the same schema as SQLite after migration 26
-- (shared/migrations/0001…0026), written once for PostgreSQL, since no PostgreSQL store exists at
-- an older version. Later migrations come as a pair: shared/migrations/00NN_x.sql and
-- shared/migrations-postgres/00NN_x.sql. shared/tests/postgres_schema.rs checks the two agree:
-- tables, columns (in order), defaults, keys, indexes and triggers, and the triggers' refusals.
--
-- The dialects, as they differ here:
-- - INTEGER is BIGINT (the store binds every integer as int8); TEXT is TEXT. Times are RFC 3339
--   UTC text, which sorts as text: the database must use the C collation, as SQLite compares.
-- - SQLite's GLOB patterns are regular expressions (~); json_valid/json_type a jsonb test.
-- - A trigger is a plpgsql function and a trigger. A refusal raises EXACTLY SQLite's RAISE(ABORT)
--   message: the store reads the message ("append-only", "constraint failed") to classify it.
--   A trigger's WHEN cannot hold a subquery here, so those conditions move into the function.
-- - `NEW.x IS NOT OLD.x` is `NEW.x IS DISTINCT FROM OLD.x`.
-- - Functions that name tables look them up in the schema the migration ran in
--   (SET search_path FROM CURRENT), whatever the connection's search_path is later.

-- Refuses the change with the trigger's first argument as the message (SQLite's
-- RAISE(ABORT, message)): the append-only tables' and the fixed columns' triggers.
CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '%', TG_ARGV[0];
END
$$;

-- JSON text without spaces, as SQLite's json() writes it (jsonb's own text has a space after
-- each comma and colon). Object keys come in jsonb's order.
CREATE FUNCTION json_compact(value jsonb) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN CASE jsonb_typeof(value)
    WHEN 'array' THEN '[' || coalesce((SELECT string_agg(json_compact(element), ',' ORDER BY position)
                                      FROM jsonb_array_elements(value) WITH ORDINALITY AS e(element, position)), '') || ']'
    WHEN 'object' THEN '{' || coalesce((SELECT string_agg(to_json(key)::text || ':' || json_compact(member), ',')
                                       FROM jsonb_each(value) AS m(key, member)), '') || '}'
    ELSE value::text
  END;
END
$$;

-- Whether the text is a JSON object (SQLite's json_valid(x) AND json_type(x) = 'object'), false
-- rather than an error for text that is not JSON at all, so a CHECK refuses it as a constraint.
CREATE FUNCTION is_json_object(value text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN json_typeof(value::json) = 'object';
EXCEPTION WHEN invalid_text_representation THEN
  RETURN false;
END
$$;

-- Councils and providers.
CREATE TABLE organisations (
  id               TEXT PRIMARY KEY,
  kind             TEXT NOT NULL CHECK (kind IN ('council', 'provider')),
  name             TEXT NOT NULL,
  created_at       TEXT NOT NULL,
  -- The council's contact details that consent receipts name as the PII controller.
  contact_email    TEXT NOT NULL DEFAULT '',
  contact_phone    TEXT NOT NULL DEFAULT '',
  contact_address  TEXT NOT NULL DEFAULT '',
  privacy_url      TEXT NOT NULL DEFAULT ''
);

-- Everyone with an account: service users, representatives, provider and council staff.
CREATE TABLE people (
  id                 TEXT PRIMARY KEY,
  role               TEXT NOT NULL CHECK (role IN ('service_user', 'representative', 'provider_staff', 'council_staff')),
  display_name       TEXT NOT NULL,
  organisation_id    TEXT REFERENCES organisations (id),
  -- The WebAuthn user handle: random, never shown, never the primary key.
  webauthn_handle    TEXT NOT NULL UNIQUE,
  created_at         TEXT NOT NULL,
  -- What a member of council staff may do; only council staff have one.
  council_role       TEXT
    CHECK (council_role IS NULL OR (role = 'council_staff' AND council_role IN ('caseworker', 'administrator'))),
  -- ISO date, YYYY-MM-DD.
  date_of_birth      TEXT
    CHECK (date_of_birth IS NULL OR date_of_birth ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
  -- Ten digits, no spaces; the check digit is checked in shared/src/person.rs before it gets here.
  nhs_number         TEXT
    CHECK (nhs_number IS NULL OR (length(nhs_number) = 10 AND nhs_number !~ '[^0-9]')),
  -- The address lines joined by newlines, without the postcode.
  address            TEXT,
  -- As written on letters: upper case, one space before the inward code ("LS1 4AP").
  postcode           TEXT,
  phone              TEXT,
  email              TEXT,
  -- What a member of a provider's staff may do; only provider staff have one.
  provider_role      TEXT
    CHECK (provider_role IS NULL OR (role = 'provider_staff' AND provider_role IN ('staff', 'administrator'))),
  -- When and by whom a member of staff's access was removed (a person id): for good.
  access_removed_at  TEXT
    CHECK (access_removed_at IS NULL OR role IN ('council_staff', 'provider_staff')),
  access_removed_by  TEXT
);

CREATE UNIQUE INDEX people_nhs_number ON people (nhs_number) WHERE nhs_number IS NOT NULL;
CREATE INDEX people_date_of_birth ON people (date_of_birth) WHERE date_of_birth IS NOT NULL;

CREATE FUNCTION people_council_staff_start_as_caseworkers() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  UPDATE people SET council_role = 'caseworker' WHERE id = NEW.id;
  RETURN NULL;
END
$$;
CREATE TRIGGER people_council_staff_start_as_caseworkers AFTER INSERT ON people FOR EACH ROW
  WHEN (NEW.role = 'council_staff' AND NEW.council_role IS NULL)
  EXECUTE FUNCTION people_council_staff_start_as_caseworkers();
CREATE FUNCTION people_provider_staff_start_as_staff() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  UPDATE people SET provider_role = 'staff' WHERE id = NEW.id;
  RETURN NULL;
END
$$;
CREATE TRIGGER people_provider_staff_start_as_staff AFTER INSERT ON people FOR EACH ROW
  WHEN (NEW.role = 'provider_staff' AND NEW.provider_role IS NULL)
  EXECUTE FUNCTION people_provider_staff_start_as_staff();
CREATE TRIGGER people_access_removal_names_who BEFORE UPDATE OF access_removed_at ON people FOR EACH ROW
  WHEN (NEW.access_removed_at IS NOT NULL AND NEW.access_removed_by IS NULL)
  EXECUTE FUNCTION refuse_change('people: removing access names who removed it, access_removed_by');
CREATE TRIGGER people_access_removal_is_final BEFORE UPDATE OF access_removed_at, access_removed_by ON people FOR EACH ROW
  WHEN (OLD.access_removed_at IS NOT NULL)
  EXECUTE FUNCTION refuse_change('people: a removal of access is final and never changed');

-- One-time invitations to enrol a passkey (or recover an account); the code held only as a hash.
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
  failed_attempts  BIGINT NOT NULL DEFAULT 0,
  -- A cancelled invitation is refused like a used one; a reissue names the one it replaced.
  cancelled_at     TEXT,
  cancelled_by     TEXT,
  replaces         TEXT REFERENCES invitations (id),
  -- Enrolment, or recovery of an existing account that lost every passkey.
  purpose          TEXT NOT NULL DEFAULT 'enrol' CHECK (purpose IN ('enrol', 'recovery')),
  -- How council staff checked who it is, in their words (recovery invitations only).
  identity_check   TEXT
);

CREATE INDEX invitations_person ON invitations (person_id);
CREATE INDEX invitations_person_created ON invitations (person_id, created_at);

CREATE FUNCTION invitations_not_for_removed_staff() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM people WHERE id = NEW.person_id AND access_removed_at IS NOT NULL) THEN
    RAISE EXCEPTION 'invitations: this person''s access was removed';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER invitations_not_for_removed_staff BEFORE INSERT ON invitations FOR EACH ROW EXECUTE FUNCTION invitations_not_for_removed_staff();

-- Each person's passkeys (WebAuthn credentials).
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

CREATE FUNCTION passkeys_not_for_removed_staff() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM people WHERE id = NEW.person_id AND access_removed_at IS NOT NULL) THEN
    RAISE EXCEPTION 'passkeys: this person''s access was removed';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER passkeys_not_for_removed_staff BEFORE INSERT ON passkeys FOR EACH ROW EXECUTE FUNCTION passkeys_not_for_removed_staff();

-- Signed-in sessions, found by the hash of their id.
CREATE TABLE sessions (
  -- SHA-256 of the session id: a copy of the database cannot be replayed as cookies.
  id_hash       TEXT PRIMARY KEY,
  person_id     TEXT NOT NULL REFERENCES people (id),
  created_at    TEXT NOT NULL,
  last_seen_at  TEXT NOT NULL,
  -- When the session last proved its person with a passkey (user verification).
  verified_at   TEXT,
  -- Which passkey made (or last re-confirmed) it, so removing a passkey ends its sessions.
  passkey_id    TEXT
);

CREATE INDEX sessions_person ON sessions (person_id);
CREATE INDEX sessions_passkey ON sessions (passkey_id);

CREATE FUNCTION sessions_not_for_removed_staff() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM people WHERE id = NEW.person_id AND access_removed_at IS NOT NULL) THEN
    RAISE EXCEPTION 'sessions: this person''s access was removed';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER sessions_not_for_removed_staff BEFORE INSERT ON sessions FOR EACH ROW EXECUTE FUNCTION sessions_not_for_removed_staff();

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

-- Counters per key and window, for rate limits.
CREATE TABLE rate_limits (
  key           TEXT PRIMARY KEY,
  window_start  TEXT NOT NULL,
  hits          BIGINT NOT NULL
);

CREATE INDEX rate_limits_window ON rate_limits (window_start);

-- One care plan per person.
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
  updated_at      TEXT NOT NULL,
  needs           TEXT NOT NULL DEFAULT '[]',
  risks           TEXT NOT NULL DEFAULT '[]'
);

-- The access log: who saw or changed what of whose record, when, on what basis. Append-only.
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

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events FOR EACH ROW
  EXECUTE FUNCTION refuse_change('audit_events is append-only');
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events FOR EACH ROW
  EXECUTE FUNCTION refuse_change('audit_events is append-only');

-- Grants: who may see what of whose record, for how long, on what basis. Versioned; never deleted.
CREATE TABLE grants (
  id            TEXT PRIMARY KEY,
  version       BIGINT NOT NULL CHECK (version >= 1),
  subject_id    TEXT NOT NULL REFERENCES people (id),
  grantee_kind  TEXT NOT NULL CHECK (grantee_kind IN ('person', 'organisation')),
  grantee_id    TEXT NOT NULL,
  -- JSON arrays of category and action names.
  categories    TEXT NOT NULL,
  actions       TEXT NOT NULL,
  act_for       BIGINT NOT NULL CHECK (act_for IN (0, 1)),
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
CREATE INDEX grants_ending ON grants (ends_at) WHERE revoked_at IS NULL AND ends_at IS NOT NULL;
CREATE INDEX grants_organisation ON grants (grantee_kind, grantee_id, subject_id);

-- Every version of a grant, kept by the database itself: the snapshot is the same JSON text
-- SQLite's json_object writes (keys in this order, no spaces; categories and actions embedded as
-- arrays, act_for and version as numbers, NULL as null).
CREATE FUNCTION grants_history() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  INSERT INTO grant_history (grant_id, version, snapshot, changed_at, recorded_by, acting_for)
  SELECT NEW.id, NEW.version,
    '{' || string_agg(to_json(pair.key)::text || ':' || coalesce(pair.value, 'null'), ',' ORDER BY pair.position) || '}',
    NEW.changed_at, NEW.recorded_by, NEW.acting_for
  FROM (VALUES
    (1, 'id', to_json(NEW.id)::text), (2, 'version', to_json(NEW.version)::text),
    (3, 'subject_id', to_json(NEW.subject_id)::text), (4, 'grantee_kind', to_json(NEW.grantee_kind)::text),
    (5, 'grantee_id', to_json(NEW.grantee_id)::text), (6, 'categories', json_compact(NEW.categories::jsonb)),
    (7, 'actions', json_compact(NEW.actions::jsonb)), (8, 'act_for', to_json(NEW.act_for)::text),
    (9, 'purpose', to_json(NEW.purpose)::text), (10, 'starts_at', to_json(NEW.starts_at)::text),
    (11, 'ends_at', to_json(NEW.ends_at)::text), (12, 'basis', to_json(NEW.basis)::text),
    (13, 'evidence', to_json(NEW.evidence)::text), (14, 'recorded_by', to_json(NEW.recorded_by)::text),
    (15, 'acting_for', to_json(NEW.acting_for)::text), (16, 'revoked_at', to_json(NEW.revoked_at)::text),
    (17, 'changed_at', to_json(NEW.changed_at)::text)
  ) AS pair(position, key, value);
  RETURN NULL;
END
$$;
CREATE TRIGGER grants_history_on_insert AFTER INSERT ON grants FOR EACH ROW EXECUTE FUNCTION grants_history();
CREATE TRIGGER grants_history_on_update AFTER UPDATE ON grants FOR EACH ROW EXECUTE FUNCTION grants_history();
CREATE TRIGGER grants_no_delete BEFORE DELETE ON grants FOR EACH ROW
  EXECUTE FUNCTION refuse_change('grants are append-only: revoke instead of deleting');

-- Every version of every grant, written by the grants' triggers. Append-only.
CREATE TABLE grant_history (
  grant_id    TEXT NOT NULL,
  version     BIGINT NOT NULL,
  -- The whole grant as it was at this version (JSON object of the grants columns).
  snapshot    TEXT NOT NULL,
  changed_at  TEXT NOT NULL,
  recorded_by TEXT NOT NULL,
  acting_for  TEXT,
  PRIMARY KEY (grant_id, version)
);

CREATE TRIGGER grant_history_no_update BEFORE UPDATE ON grant_history FOR EACH ROW
  EXECUTE FUNCTION refuse_change('grant_history is append-only');
CREATE TRIGGER grant_history_no_delete BEFORE DELETE ON grant_history FOR EACH ROW
  EXECUTE FUNCTION refuse_change('grant_history is append-only');

-- A consent receipt for every change of a grant. Append-only.
CREATE TABLE consent_receipts (
  id             TEXT PRIMARY KEY,
  subject_id     TEXT NOT NULL REFERENCES people (id),
  grant_id       TEXT NOT NULL,
  grant_version  BIGINT NOT NULL,
  issued_at      TEXT NOT NULL,
  -- The signed receipt as issued (JSON).
  receipt        TEXT NOT NULL
);

CREATE INDEX consent_receipts_subject ON consent_receipts (subject_id, issued_at);

CREATE TRIGGER consent_receipts_no_update BEFORE UPDATE ON consent_receipts FOR EACH ROW
  EXECUTE FUNCTION refuse_change('consent_receipts is append-only');
CREATE TRIGGER consent_receipts_no_delete BEFORE DELETE ON consent_receipts FOR EACH ROW
  EXECUTE FUNCTION refuse_change('consent_receipts is append-only');

-- The provider's service user guide for a person.
CREATE TABLE service_user_guides (
  person_id        TEXT PRIMARY KEY REFERENCES people (id),
  organisation_id  TEXT NOT NULL REFERENCES organisations (id),
  title            TEXT NOT NULL,
  -- JSON array of {"heading": …, "body": …}.
  sections         TEXT NOT NULL,
  updated_at       TEXT NOT NULL
);

-- A person's medicines and when they are due.
CREATE TABLE medicines (
  id                TEXT PRIMARY KEY,
  person_id         TEXT NOT NULL REFERENCES people (id),
  name              TEXT NOT NULL,
  dose              TEXT NOT NULL,
  route             TEXT NOT NULL,
  -- JSON array of "HH:MM" times of day; empty for as-needed only.
  times             TEXT NOT NULL,
  as_needed         BIGINT NOT NULL CHECK (as_needed IN (0, 1)),
  instructions      TEXT NOT NULL DEFAULT '',
  prescriber        TEXT NOT NULL,
  started_on        TEXT NOT NULL,
  stopped_on        TEXT
);

CREATE INDEX medicines_person ON medicines (person_id);

-- A person's allergies.
CREATE TABLE allergies (
  id           TEXT PRIMARY KEY,
  person_id    TEXT NOT NULL REFERENCES people (id),
  substance    TEXT NOT NULL,
  reaction     TEXT NOT NULL,
  recorded_at  TEXT NOT NULL
);

CREATE INDEX allergies_person ON allergies (person_id);

-- The medication administration record (eMAR): one row per dose due or taken as needed, never
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

-- The people and services a person can call, in the order they are shown.
CREATE TABLE contacts (
  id          TEXT PRIMARY KEY,
  person_id   TEXT NOT NULL REFERENCES people (id),
  kind        TEXT NOT NULL CHECK (kind IN ('care_team', 'provider_office', 'social_worker', 'out_of_hours', 'gp', 'family', 'other')),
  name        TEXT NOT NULL,
  role        TEXT NOT NULL DEFAULT '',
  phone       TEXT NOT NULL DEFAULT '',
  email       TEXT NOT NULL DEFAULT '',
  available   TEXT NOT NULL DEFAULT '',
  position    BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX contacts_person ON contacts (person_id, position);

-- What a paramedic reads first: the emergency summary.
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

-- Format and communication needs (NHS Accessible Information Standard): ended, never deleted.
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

CREATE FUNCTION format_needs_recorded() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  INSERT INTO format_need_changes (person_id, need_id, change, at) VALUES (NEW.person_id, NEW.id, 'recorded', NEW.recorded_at);
  RETURN NULL;
END
$$;
CREATE TRIGGER format_needs_recorded AFTER INSERT ON format_needs FOR EACH ROW EXECUTE FUNCTION format_needs_recorded();
CREATE FUNCTION format_needs_ended() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  INSERT INTO format_need_changes (person_id, need_id, change, at) VALUES (NEW.person_id, NEW.id, 'ended', NEW.ended_at);
  RETURN NULL;
END
$$;
CREATE TRIGGER format_needs_ended AFTER UPDATE OF ended_at ON format_needs FOR EACH ROW
  WHEN (OLD.ended_at IS NULL AND NEW.ended_at IS NOT NULL)
  EXECUTE FUNCTION format_needs_ended();
CREATE TRIGGER format_needs_only_end BEFORE UPDATE ON format_needs FOR EACH ROW
  WHEN (OLD.ended_at IS NOT NULL OR NEW.ended_at IS NULL OR NEW.id IS DISTINCT FROM OLD.id OR NEW.person_id IS DISTINCT FROM OLD.person_id
  OR NEW.need IS DISTINCT FROM OLD.need OR NEW.detail IS DISTINCT FROM OLD.detail OR NEW.recorded_by IS DISTINCT FROM OLD.recorded_by
  OR NEW.recorded_at IS DISTINCT FROM OLD.recorded_at)
  EXECUTE FUNCTION refuse_change('format needs can only be ended');
CREATE TRIGGER format_needs_no_delete BEFORE DELETE ON format_needs FOR EACH ROW
  EXECUTE FUNCTION refuse_change('format needs are ended, never deleted');

-- Every need recorded or ended, in order: providers' systems follow it with a cursor (seq).
CREATE TABLE format_need_changes (
  seq        BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  person_id  TEXT NOT NULL,
  need_id    TEXT NOT NULL,
  change     TEXT NOT NULL CHECK (change IN ('recorded', 'ended')),
  at         TEXT NOT NULL
);

CREATE TRIGGER format_need_changes_no_update BEFORE UPDATE ON format_need_changes FOR EACH ROW
  EXECUTE FUNCTION refuse_change('format_need_changes is append-only');
CREATE TRIGGER format_need_changes_no_delete BEFORE DELETE ON format_need_changes FOR EACH ROW
  EXECUTE FUNCTION refuse_change('format_need_changes is append-only');

-- A person's comments on and corrections to their record; answered, never deleted.
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
  version       BIGINT NOT NULL DEFAULT 1,
  CHECK (status = 'open' OR (response IS NOT NULL AND responded_by IS NOT NULL AND responded_at IS NOT NULL))
);

CREATE INDEX comments_person ON comments (person_id, created_at);
CREATE INDEX comments_created ON comments (created_at, id);
CREATE INDEX comments_status ON comments (status, created_at, id);

CREATE TRIGGER comments_no_delete BEFORE DELETE ON comments FOR EACH ROW
  EXECUTE FUNCTION refuse_change('comments are answered, never deleted');

-- Consent discussions a provider evidences; the person confirms or disputes each one.
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
  version          BIGINT NOT NULL DEFAULT 1,
  CHECK (status = 'awaiting' OR (responded_by IS NOT NULL AND responded_at IS NOT NULL)),
  CHECK (status <> 'disputed' OR response IS NOT NULL),
  UNIQUE (organisation_id, idempotency_key)
);

CREATE INDEX consent_discussions_person ON consent_discussions (person_id, held_on);
CREATE INDEX consent_discussions_organisation ON consent_discussions (organisation_id, held_on);

CREATE TRIGGER consent_discussions_no_delete BEFORE DELETE ON consent_discussions FOR EACH ROW
  EXECUTE FUNCTION refuse_change('consent discussions are kept');
CREATE TRIGGER consent_discussions_fixed BEFORE UPDATE ON consent_discussions FOR EACH ROW
  WHEN (NEW.id IS DISTINCT FROM OLD.id OR NEW.person_id IS DISTINCT FROM OLD.person_id OR NEW.organisation_id IS DISTINCT FROM OLD.organisation_id
  OR NEW.held_on IS DISTINCT FROM OLD.held_on OR NEW.method IS DISTINCT FROM OLD.method OR NEW.participants IS DISTINCT FROM OLD.participants
  OR NEW.covered IS DISTINCT FROM OLD.covered OR NEW.decisions IS DISTINCT FROM OLD.decisions OR NEW.persons_words IS DISTINCT FROM OLD.persons_words
  OR NEW.recorded_by IS DISTINCT FROM OLD.recorded_by OR NEW.recorded_at IS DISTINCT FROM OLD.recorded_at)
  EXECUTE FUNCTION refuse_change('a consent discussion is answered, never rewritten');

-- Emergency codes (held only as a hash) that let a clinician read the emergency record.
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
  failed_attempts  BIGINT NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
  CHECK ((ended_at IS NULL) = (end_reason IS NULL))
);

CREATE INDEX emergency_codes_selector ON emergency_codes (selector);
CREATE UNIQUE INDEX emergency_codes_one_live ON emergency_codes (person_id) WHERE ended_at IS NULL;

CREATE TRIGGER emergency_codes_no_delete BEFORE DELETE ON emergency_codes FOR EACH ROW
  EXECUTE FUNCTION refuse_change('emergency_codes is append-only: turn a code off instead of deleting it');
CREATE TRIGGER emergency_codes_only_end_or_count BEFORE UPDATE ON emergency_codes FOR EACH ROW
  WHEN (NEW.id IS DISTINCT FROM OLD.id OR NEW.person_id IS DISTINCT FROM OLD.person_id OR NEW.selector IS DISTINCT FROM OLD.selector
  OR NEW.verifier_hash IS DISTINCT FROM OLD.verifier_hash OR NEW.issued_by IS DISTINCT FROM OLD.issued_by OR NEW.basis IS DISTINCT FROM OLD.basis
  OR NEW.issued_at IS DISTINCT FROM OLD.issued_at OR NEW.failed_attempts < OLD.failed_attempts
  OR (OLD.ended_at IS NOT NULL
      AND (NEW.ended_at IS DISTINCT FROM OLD.ended_at OR NEW.ended_by IS DISTINCT FROM OLD.ended_by OR NEW.end_reason IS DISTINCT FROM OLD.end_reason)))
  EXECUTE FUNCTION refuse_change('emergency_codes is append-only: a code can only be ended, once, and count wrong attempts');

-- Each clinician's use of an emergency code, for a few hours.
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

CREATE FUNCTION emergency_accesses_need_live_code() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM emergency_codes WHERE id = NEW.code_id AND person_id = NEW.person_id AND ended_at IS NULL) THEN
    RAISE EXCEPTION 'constraint failed: emergency access needs the live code of the same person';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER emergency_accesses_need_live_code BEFORE INSERT ON emergency_accesses FOR EACH ROW
  EXECUTE FUNCTION emergency_accesses_need_live_code();
CREATE TRIGGER emergency_accesses_no_delete BEFORE DELETE ON emergency_accesses FOR EACH ROW
  EXECUTE FUNCTION refuse_change('emergency_accesses is append-only');
CREATE TRIGGER emergency_accesses_only_end BEFORE UPDATE ON emergency_accesses FOR EACH ROW
  WHEN (NEW.id IS DISTINCT FROM OLD.id OR NEW.token_hash IS DISTINCT FROM OLD.token_hash OR NEW.code_id IS DISTINCT FROM OLD.code_id
  OR NEW.person_id IS DISTINCT FROM OLD.person_id OR NEW.clinician_name IS DISTINCT FROM OLD.clinician_name
  OR NEW.clinician_role IS DISTINCT FROM OLD.clinician_role OR NEW.organisation IS DISTINCT FROM OLD.organisation
  OR NEW.started_at IS DISTINCT FROM OLD.started_at OR NEW.expires_at IS DISTINCT FROM OLD.expires_at
  OR (OLD.ended_at IS NOT NULL AND NEW.ended_at IS DISTINCT FROM OLD.ended_at))
  EXECUTE FUNCTION refuse_change('emergency_accesses is append-only: an access can only be ended, once');

-- API credentials of providers' and the council's systems: only the key's fingerprint is kept.
-- Revoked, never deleted.
CREATE TABLE system_credentials (
  key_id           TEXT PRIMARY KEY,
  organisation_id  TEXT NOT NULL REFERENCES organisations (id),
  -- What the credential is for, in the administrator's words ("Brookside rostering system").
  name             TEXT NOT NULL,
  -- JSON array of permission names ("people:read", ...).
  permissions      TEXT NOT NULL,
  -- SHA-256 of the derived signing key, base64url: a rotated CREDENTIAL_KEY no longer matches.
  fingerprint      TEXT NOT NULL,
  -- The person who made it, or "carefront-admin" for the command-line tool.
  created_by       TEXT NOT NULL,
  created_at       TEXT NOT NULL,
  revoked_at       TEXT,
  last_used_at     TEXT,
  -- Who revoked it: a person id, or "carefront-admin[:operator]" for the command-line tool.
  revoked_by       TEXT
);

CREATE INDEX system_credentials_organisation ON system_credentials (organisation_id, created_at);

CREATE TRIGGER system_credentials_no_delete BEFORE DELETE ON system_credentials FOR EACH ROW
  EXECUTE FUNCTION refuse_change('system_credentials is append-only: revoke instead of deleting');
CREATE TRIGGER system_credentials_fixed BEFORE UPDATE OF key_id, organisation_id, name, permissions, fingerprint, created_by, created_at ON system_credentials FOR EACH ROW
  EXECUTE FUNCTION refuse_change('system_credentials: a credential cannot be changed, only revoked (append-only)');
CREATE TRIGGER system_credentials_stay_revoked BEFORE UPDATE ON system_credentials FOR EACH ROW
  WHEN (OLD.revoked_at IS NOT NULL AND (NEW.revoked_at IS NULL OR NEW.revoked_at <> OLD.revoked_at))
  EXECUTE FUNCTION refuse_change('system_credentials: a revoked credential stays revoked (append-only)');
CREATE TRIGGER system_credentials_revoked_by_someone BEFORE UPDATE OF revoked_at ON system_credentials FOR EACH ROW
  WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL AND NEW.revoked_by IS NULL)
  EXECUTE FUNCTION refuse_change('system_credentials: a revocation names who revoked, revoked_by (append-only)');
CREATE TRIGGER system_credentials_revoker_fixed BEFORE UPDATE OF revoked_by ON system_credentials FOR EACH ROW
  WHEN (OLD.revoked_at IS NOT NULL OR NEW.revoked_at IS NULL)
  EXECUTE FUNCTION refuse_change('system_credentials: who revoked a credential is set once, as it is revoked (append-only)');

-- The nonce of every accepted signed request, kept until it leaves the replay window.
CREATE TABLE api_nonces (
  key_id      TEXT NOT NULL,
  nonce       TEXT NOT NULL,
  expires_at  TEXT NOT NULL,
  PRIMARY KEY (key_id, nonce)
);

CREATE INDEX api_nonces_expiry ON api_nonces (expires_at);

-- Idempotency keys claimed by API writes, with what each one made.
CREATE TABLE api_idempotency_keys (
  organisation_id  TEXT NOT NULL REFERENCES organisations (id),
  idempotency_key  TEXT NOT NULL,
  -- What the key was first used for, for people reading the table ("POST /api/v1/people/…/visits").
  request          TEXT NOT NULL,
  -- SHA-256 (base64url) of the method, the path and the body as canonical JSON: a retry must
  -- carry the same request to get the first one's result.
  request_hash     TEXT NOT NULL,
  -- The id of the visit, administration, consent discussion or comment the request made or answered.
  resource_id      TEXT NOT NULL,
  credential_id    TEXT NOT NULL,
  created_at       TEXT NOT NULL,
  PRIMARY KEY (organisation_id, idempotency_key)
);

CREATE TRIGGER api_idempotency_keys_fixed BEFORE UPDATE ON api_idempotency_keys FOR EACH ROW
  EXECUTE FUNCTION refuse_change('api_idempotency_keys: a claimed key is never changed');

-- A plan's guard (shared/src/plan.rs) inserts a row here only when its condition fails, and the
-- CHECK refuses every row, so the whole batch rolls back with a constraint error. Always empty.
CREATE TABLE plan_guards (
  reason TEXT NOT NULL,
  CHECK (reason = '')
);

-- The administration log: every act of a council or provider administrator. Append-only.
CREATE TABLE admin_events (
  id                 TEXT PRIMARY KEY,
  at                 TEXT NOT NULL,
  -- A person id, or "carefront-admin[:operator]" for the command-line tool.
  actor_id           TEXT NOT NULL,
  -- Their name as it was then, so the log reads the same after a rename.
  actor_name         TEXT NOT NULL,
  -- credential.created, credential.revoked
  action             TEXT NOT NULL,
  credential_key_id  TEXT,
  organisation_id    TEXT,
  detail             TEXT NOT NULL,
  -- The person an entry is about (a member of staff invited, given a role or removed), if any.
  person_id          TEXT
);

CREATE INDEX admin_events_at ON admin_events (at);
CREATE INDEX admin_events_organisation ON admin_events (organisation_id, at);

CREATE TRIGGER admin_events_no_update BEFORE UPDATE ON admin_events FOR EACH ROW
  EXECUTE FUNCTION refuse_change('admin_events is append-only');
CREATE TRIGGER admin_events_no_delete BEFORE DELETE ON admin_events FOR EACH ROW
  EXECUTE FUNCTION refuse_change('admin_events is append-only');

-- Every answer to a comment or correction request, keyed by the comment's version. Append-only.
CREATE TABLE comment_answers (
  comment_id    TEXT NOT NULL REFERENCES comments (id),
  person_id     TEXT NOT NULL REFERENCES people (id),
  -- The comment's version this answer made.
  version       BIGINT NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('answered', 'corrected', 'declined')),
  response      TEXT NOT NULL,
  -- Who answered (the organisation's name, as the person reads it).
  responded_by  TEXT NOT NULL,
  responded_at  TEXT NOT NULL,
  PRIMARY KEY (comment_id, version)
);

CREATE INDEX comment_answers_person ON comment_answers (person_id, responded_at);

CREATE TRIGGER comment_answers_no_update BEFORE UPDATE ON comment_answers FOR EACH ROW
  EXECUTE FUNCTION refuse_change('comment_answers is append-only');
CREATE TRIGGER comment_answers_no_delete BEFORE DELETE ON comment_answers FOR EACH ROW
  EXECUTE FUNCTION refuse_change('comment_answers is append-only');

-- Every version of each part of a care record written through the API. Append-only.
CREATE TABLE record_versions (
  id               TEXT PRIMARY KEY,
  person_id        TEXT NOT NULL REFERENCES people (id),
  -- What part of the record: one care plan, guide, contact list per person; one medicine,
  -- allergy or visit per item; one visit schedule per provider.
  kind             TEXT NOT NULL CHECK (kind IN ('care_plan', 'guide', 'medicine', 'allergy', 'contacts', 'visit_schedule', 'visit')),
  -- The item within the kind ('' for the care plan, guide and contacts; the provider for a
  -- visit schedule).
  item_id          TEXT NOT NULL,
  version          BIGINT NOT NULL CHECK (version >= 1),
  -- JSON: the part as this version made it.
  snapshot         TEXT NOT NULL,
  -- Who made it, as the person reads it ("Brookside Home Care's computer system (…)").
  changed_by       TEXT NOT NULL,
  organisation_id  TEXT NOT NULL REFERENCES organisations (id),
  changed_at       TEXT NOT NULL,
  -- Two writes from the same version: one wins, the other's whole plan is refused.
  UNIQUE (person_id, kind, item_id, version)
);

CREATE TRIGGER record_versions_no_update BEFORE UPDATE ON record_versions FOR EACH ROW
  EXECUTE FUNCTION refuse_change('record_versions is append-only');
CREATE TRIGGER record_versions_no_delete BEFORE DELETE ON record_versions FOR EACH ROW
  EXECUTE FUNCTION refuse_change('record_versions is append-only');

-- An allergy recorded by mistake is marked here, never deleted.
CREATE TABLE allergy_errors (
  allergy_id  TEXT PRIMARY KEY REFERENCES allergies (id),
  person_id   TEXT NOT NULL REFERENCES people (id),
  reason      TEXT NOT NULL,
  marked_by   TEXT NOT NULL,
  marked_at   TEXT NOT NULL
);

-- Planned and recorded care visits, with their live status.
CREATE TABLE care_visits (
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

CREATE INDEX care_visits_person ON care_visits (person_id, starts_at);

-- Documents about a person (up to 10 MB); the file is in document_chunks.
CREATE TABLE documents (
  id            TEXT PRIMARY KEY,
  person_id     TEXT NOT NULL REFERENCES people (id),
  title         TEXT NOT NULL,
  kind          TEXT NOT NULL CHECK (kind IN ('discharge_summary', 'report', 'letter', 'other')),
  content_type  TEXT NOT NULL CHECK (content_type IN ('text/plain', 'application/pdf')),
  size_bytes    BIGINT NOT NULL CHECK (size_bytes > 0 AND size_bytes <= 10485760),
  sha256        TEXT NOT NULL,
  added_by      TEXT NOT NULL,
  added_at      TEXT NOT NULL
);

CREATE INDEX documents_person ON documents (person_id, added_at);

-- A document's file, base64url, in chunks of at most 1 MiB before encoding, read back in order.
CREATE TABLE document_chunks (
  document_id  TEXT NOT NULL REFERENCES documents (id),
  position     BIGINT NOT NULL CHECK (position >= 0),
  body         TEXT NOT NULL,
  PRIMARY KEY (document_id, position)
);

-- A person's email address and mobile number, each used only once proved with a one-time code.
CREATE TABLE contact_points (
  person_id TEXT NOT NULL REFERENCES people (id),
  medium TEXT NOT NULL CHECK (medium IN ('email', 'phone')),
  -- The confirmed address or number and when it was confirmed: the only one messages go to. It
  -- stays in use while a change waits for its code, so a change never silences the account.
  address TEXT CHECK (address IS NULL OR length(address) BETWEEN 3 AND 320),
  verified_at TEXT,
  -- A new address or number waiting for its code: the code's keyed hash (never the code), when
  -- it expires, and the tries at it (counted before each check, so racing tries cannot pass the
  -- limit; at 5 it is locked until a new code is asked for).
  pending_address TEXT CHECK (pending_address IS NULL OR length(pending_address) BETWEEN 3 AND 320),
  code_hash TEXT,
  code_expires_at TEXT,
  wrong_tries BIGINT NOT NULL DEFAULT 0 CHECK (wrong_tries BETWEEN 0 AND 5),
  updated_at TEXT NOT NULL,
  PRIMARY KEY (person_id, medium),
  CHECK ((address IS NULL) = (verified_at IS NULL)),
  CHECK ((pending_address IS NULL) = (code_hash IS NULL) AND (code_hash IS NULL) = (code_expires_at IS NULL))
);

-- The channels a person chose for each kind of notification; no row: the default.
CREATE TABLE notification_choices (
  person_id TEXT NOT NULL REFERENCES people (id),
  kind TEXT NOT NULL CHECK (kind IN ('emergency_access', 'invitation', 'access_ending', 'access_stopped',
    'discussion_to_confirm', 'comment_answered', 'passkey_added', 'passkey_removed', 'new_device_sign_in', 'contact_check')),
  email BIGINT NOT NULL CHECK (email IN (0, 1)),
  sms BIGINT NOT NULL CHECK (sms IN (0, 1)),
  letter BIGINT NOT NULL CHECK (letter IN (0, 1)),
  updated_at TEXT NOT NULL,
  PRIMARY KEY (person_id, kind)
);

-- A provider's duty contact (email, phone), proved with a one-time code like a person's.
CREATE TABLE duty_contacts (
  organisation_id TEXT NOT NULL REFERENCES organisations (id),
  medium TEXT NOT NULL CHECK (medium IN ('email', 'phone')),
  -- The confirmed address or number and when it was confirmed: the only one messages go to. It
  -- stays in use while a change waits for its code, so a change never leaves nobody on duty.
  address TEXT CHECK (address IS NULL OR length(address) BETWEEN 3 AND 320),
  verified_at TEXT,
  -- A new address or number waiting for its code: the code's keyed hash (never the code), when
  -- it expires, and the tries at it (counted before each check; at 5 it is locked).
  pending_address TEXT CHECK (pending_address IS NULL OR length(pending_address) BETWEEN 3 AND 320),
  code_hash TEXT,
  code_expires_at TEXT,
  wrong_tries BIGINT NOT NULL DEFAULT 0 CHECK (wrong_tries BETWEEN 0 AND 5),
  updated_at TEXT NOT NULL,
  PRIMARY KEY (organisation_id, medium),
  CHECK ((address IS NULL) = (verified_at IS NULL)),
  CHECK ((pending_address IS NULL) = (code_hash IS NULL) AND (code_hash IS NULL) = (code_expires_at IS NULL))
);

-- Browsers a person has signed in on (a keyed hash of each one's device id), to tell them of new ones.
CREATE TABLE known_devices (
  person_id TEXT NOT NULL REFERENCES people (id),
  device_hash TEXT NOT NULL CHECK (length(device_hash) BETWEEN 20 AND 100),
  first_seen_at TEXT NOT NULL,
  last_seen_at TEXT NOT NULL,
  PRIMARY KEY (person_id, device_hash)
);

-- The outbox of messages to GOV.UK Notify, written in the same batch as the change.
CREATE TABLE notifications (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('emergency_access', 'invitation', 'access_ending', 'access_stopped',
    'discussion_to_confirm', 'comment_answered', 'passkey_added', 'passkey_removed', 'new_device_sign_in', 'contact_check',
    'contact_changed')),
  person_id TEXT REFERENCES people (id),
  subject_id TEXT REFERENCES people (id),
  channel TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'letter')),
  recipient TEXT NOT NULL CHECK (length(recipient) BETWEEN 1 AND 1000),
  personalisation TEXT NOT NULL CHECK (is_json_object(personalisation)),
  status TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'failed')),
  attempts BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at TEXT NOT NULL,
  notify_id TEXT,
  notify_status TEXT,
  last_error TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status IN ('queued', 'sending');
CREATE INDEX notifications_failed ON notifications (updated_at) WHERE status = 'failed';
CREATE UNIQUE INDEX notifications_notify_id ON notifications (notify_id) WHERE notify_id IS NOT NULL;
CREATE INDEX notifications_person ON notifications (person_id, created_at) WHERE person_id IS NOT NULL;

