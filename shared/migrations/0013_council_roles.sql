-- carefront schema, migration 14: council roles (caseworker, administrator), who revoked a
-- system credential, and the administration log.

-- What a member of council staff may do: caseworkers work with people's records; administrators
-- also make and revoke system credentials. Only council staff have one. Existing council staff
-- become caseworkers: administrator is only ever given by name.
ALTER TABLE people ADD COLUMN council_role TEXT
  CHECK (council_role IS NULL OR (role = 'council_staff' AND council_role IN ('caseworker', 'administrator')));
UPDATE people SET council_role = 'caseworker' WHERE role = 'council_staff';

-- Council staff added later are caseworkers until someone makes them administrators.
CREATE TRIGGER people_council_staff_start_as_caseworkers AFTER INSERT ON people
WHEN NEW.role = 'council_staff' AND NEW.council_role IS NULL
BEGIN
  UPDATE people SET council_role = 'caseworker' WHERE id = NEW.id;
END;

-- Who revoked a credential: a person id, or "carefront-admin[:operator]" for the command-line
-- tool (NULL only for credentials revoked before this migration).
ALTER TABLE system_credentials ADD COLUMN revoked_by TEXT;

CREATE TRIGGER system_credentials_revoked_by_someone BEFORE UPDATE OF revoked_at ON system_credentials
WHEN OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL AND NEW.revoked_by IS NULL
BEGIN
  SELECT RAISE(ABORT, 'system_credentials: a revocation names who revoked, revoked_by (append-only)');
END;

-- Who revoked is written with the revocation and never changed after.
CREATE TRIGGER system_credentials_revoker_fixed BEFORE UPDATE OF revoked_by ON system_credentials
WHEN OLD.revoked_at IS NOT NULL OR NEW.revoked_at IS NULL
BEGIN
  SELECT RAISE(ABORT, 'system_credentials: who revoked a credential is set once, as it is revoked (append-only)');
END;

-- The administration log: every act of a council administrator (or the command-line tool),
-- shown to administrators at /council/credentials. About no one's record, so it is kept apart
-- from the people's access log (audit_events), and append-only like it.
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
  detail             TEXT NOT NULL
);
CREATE INDEX admin_events_at ON admin_events (at);

CREATE TRIGGER admin_events_no_update BEFORE UPDATE ON admin_events
BEGIN
  SELECT RAISE(ABORT, 'admin_events is append-only');
END;

CREATE TRIGGER admin_events_no_delete BEFORE DELETE ON admin_events
BEGIN
  SELECT RAISE(ABORT, 'admin_events is append-only');
END;
