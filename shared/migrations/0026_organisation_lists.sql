-- carefront schema, migration 26: an organisation's lists at a county's scale.
-- The people list, the comments list, the needs changes feed and the monitoring report read the
-- organisation's grants in subject order and walk comments newest first, one page at a time;
-- without these every request read every grant to the organisation, or every comment.

-- The organisation's grants in subject order (supersedes grants_grantee, its prefix).
CREATE INDEX grants_organisation ON grants (grantee_kind, grantee_id, subject_id);
DROP INDEX grants_grantee;

-- Comments newest first, with or without a status (supersedes comments_open).
CREATE INDEX comments_created ON comments (created_at, id);
CREATE INDEX comments_status ON comments (status, created_at, id);
DROP INDEX comments_open;

