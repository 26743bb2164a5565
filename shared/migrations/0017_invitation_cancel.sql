-- Council staff issue, reissue and cancel invitations (issue 10). A cancelled invitation is
-- refused at enrolment like a used one; a reissue names the invitation it replaced, so the
-- person's list of invitations shows the chain. Nothing is deleted: the rows are the history.
ALTER TABLE invitations ADD COLUMN cancelled_at TEXT;
ALTER TABLE invitations ADD COLUMN cancelled_by TEXT;
ALTER TABLE invitations ADD COLUMN replaces TEXT REFERENCES invitations (id);

-- A person's invitations newest first, and the latest one of everyone not enrolled yet.
CREATE INDEX invitations_person_created ON invitations (person_id, created_at);
