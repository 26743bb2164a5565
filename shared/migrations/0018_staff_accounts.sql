-- carefront schema, migration 18: provider roles (staff, administrator), removing a member of
-- staff's access, and which person an administration-log entry is about.

-- What a member of a provider's staff may do: staff support people; a provider's administrator
-- (invited by the council) also invites and removes their own organisation's staff. Only provider
-- staff have one. Existing provider staff become staff: administrator is only ever given by name.
ALTER TABLE people ADD COLUMN provider_role TEXT
  CHECK (provider_role IS NULL OR (role = 'provider_staff' AND provider_role IN ('staff', 'administrator')));
UPDATE people SET provider_role = 'staff' WHERE role = 'provider_staff';

-- Provider staff added later are staff until they are invited as administrators.
CREATE TRIGGER people_provider_staff_start_as_staff AFTER INSERT ON people
WHEN NEW.role = 'provider_staff' AND NEW.provider_role IS NULL
BEGIN
  UPDATE people SET provider_role = 'staff' WHERE id = NEW.id;
END;

-- When and by whom a member of staff's access was removed (a person id). Removal is for good: the
-- same batch ends their sessions and takes their passkeys, and these triggers stop any new ones.
ALTER TABLE people ADD COLUMN access_removed_at TEXT
  CHECK (access_removed_at IS NULL OR role IN ('council_staff', 'provider_staff'));
ALTER TABLE people ADD COLUMN access_removed_by TEXT;

CREATE TRIGGER people_access_removal_names_who BEFORE UPDATE OF access_removed_at ON people
WHEN NEW.access_removed_at IS NOT NULL AND NEW.access_removed_by IS NULL
BEGIN
  SELECT RAISE(ABORT, 'people: removing access names who removed it, access_removed_by');
END;

CREATE TRIGGER people_access_removal_is_final BEFORE UPDATE OF access_removed_at, access_removed_by ON people
WHEN OLD.access_removed_at IS NOT NULL
BEGIN
  SELECT RAISE(ABORT, 'people: a removal of access is final and never changed');
END;

CREATE TRIGGER sessions_not_for_removed_staff BEFORE INSERT ON sessions
WHEN EXISTS (SELECT 1 FROM people WHERE id = NEW.person_id AND access_removed_at IS NOT NULL)
BEGIN
  SELECT RAISE(ABORT, 'sessions: this person''s access was removed');
END;

CREATE TRIGGER passkeys_not_for_removed_staff BEFORE INSERT ON passkeys
WHEN EXISTS (SELECT 1 FROM people WHERE id = NEW.person_id AND access_removed_at IS NOT NULL)
BEGIN
  SELECT RAISE(ABORT, 'passkeys: this person''s access was removed');
END;

CREATE TRIGGER invitations_not_for_removed_staff BEFORE INSERT ON invitations
WHEN EXISTS (SELECT 1 FROM people WHERE id = NEW.person_id AND access_removed_at IS NOT NULL)
BEGIN
  SELECT RAISE(ABORT, 'invitations: this person''s access was removed');
END;

-- The person an administration-log entry is about (a member of staff invited, given a role or
-- removed), if any.
ALTER TABLE admin_events ADD COLUMN person_id TEXT;
CREATE INDEX admin_events_organisation ON admin_events (organisation_id, at);
