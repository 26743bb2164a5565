-- carefront schema, migration 20: recovery invitations (issue 11). Council staff give someone
-- who has lost every passkey a way back in: an invitation that adds a passkey to their existing
-- account, made only after staff record how they checked who it is. Enrolment invitations are
-- the default, so every invitation issued before this stays one.
ALTER TABLE invitations ADD COLUMN purpose TEXT NOT NULL DEFAULT 'enrol' CHECK (purpose IN ('enrol', 'recovery'));
-- How council staff checked who it is, in their words (recovery invitations only).
ALTER TABLE invitations ADD COLUMN identity_check TEXT;
