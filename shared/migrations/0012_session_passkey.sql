-- carefront schema, migration 12: which passkey made (or last re-confirmed) a session, so
-- removing a passkey ends the sessions it made. Null for sessions made before this migration.
ALTER TABLE sessions ADD COLUMN passkey_id TEXT;
CREATE INDEX sessions_passkey ON sessions (passkey_id);
