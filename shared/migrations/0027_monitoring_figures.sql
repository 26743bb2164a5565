-- carefront schema, migration 27: the monitoring report's figures, kept per provider, and the
-- organisation's consent discussions in the order the API pages them.
-- Counting a provider's figures reads every person it supports (about a second for 100,000
-- people), so the report keeps each provider's figures and counts them again only when
-- something they count has changed since, when they are 15 minutes old (grants start and end
-- with time) or on a new day (shared/src/monitoring.rs). What has changed is written here by
-- the triggers below, from every write to what the figures count, whichever code made it.

-- A provider's figures as last counted: the counts as JSON, and the last change they include.
CREATE TABLE monitoring_figures (
  organisation_id  TEXT PRIMARY KEY REFERENCES organisations (id),
  figured_through  INTEGER NOT NULL,
  figures          TEXT NOT NULL,
  figured_at       TEXT NOT NULL
);

-- Each write that changes what an organisation's figures count. Rows up to the figures'
-- figured_through are deleted when figures are kept.
CREATE TABLE monitoring_changes (
  seq              INTEGER PRIMARY KEY AUTOINCREMENT,
  organisation_id  TEXT NOT NULL
);
CREATE INDEX monitoring_changes_organisation ON monitoring_changes (organisation_id, seq);

-- Only providers have monitoring figures: changes are noted for them alone.

-- A grant to a provider: made, revoked or ended.
CREATE TRIGGER grants_monitoring_on_insert AFTER INSERT ON grants
WHEN NEW.grantee_kind = 'organisation'
BEGIN
  INSERT INTO monitoring_changes (organisation_id)
    SELECT o.id FROM organisations o WHERE o.id = NEW.grantee_id AND o.kind = 'provider';
END;
CREATE TRIGGER grants_monitoring_on_update AFTER UPDATE ON grants
WHEN NEW.grantee_kind = 'organisation'
BEGIN
  INSERT INTO monitoring_changes (organisation_id)
    SELECT o.id FROM organisations o WHERE o.id = NEW.grantee_id AND o.kind = 'provider';
END;

-- A consent discussion the organisation recorded, and the person's answer to it.
CREATE TRIGGER consent_discussions_monitoring_on_insert AFTER INSERT ON consent_discussions
BEGIN
  INSERT INTO monitoring_changes (organisation_id)
    SELECT o.id FROM organisations o WHERE o.id = NEW.organisation_id AND o.kind = 'provider';
END;
CREATE TRIGGER consent_discussions_monitoring_on_update AFTER UPDATE ON consent_discussions
BEGIN
  INSERT INTO monitoring_changes (organisation_id)
    SELECT o.id FROM organisations o WHERE o.id = NEW.organisation_id AND o.kind = 'provider';
END;

-- A person's comments, format needs and emergency accesses: a change for every provider with
-- a grant about them.
CREATE TRIGGER comments_monitoring_on_insert AFTER INSERT ON comments
BEGIN
  INSERT INTO monitoring_changes (organisation_id)
    SELECT DISTINCT g.grantee_id FROM grants g JOIN organisations o ON o.id = g.grantee_id AND o.kind = 'provider'
    WHERE g.subject_id = NEW.person_id AND g.grantee_kind = 'organisation';
END;
CREATE TRIGGER comments_monitoring_on_update AFTER UPDATE ON comments
BEGIN
  INSERT INTO monitoring_changes (organisation_id)
    SELECT DISTINCT g.grantee_id FROM grants g JOIN organisations o ON o.id = g.grantee_id AND o.kind = 'provider'
    WHERE g.subject_id = NEW.person_id AND g.grantee_kind = 'organisation';
END;
CREATE TRIGGER format_needs_monitoring_on_insert AFTER INSERT ON format_needs
BEGIN
  INSERT INTO monitoring_changes (organisation_id)
    SELECT DISTINCT g.grantee_id FROM grants g JOIN organisations o ON o.id = g.grantee_id AND o.kind = 'provider'
    WHERE g.subject_id = NEW.person_id AND g.grantee_kind = 'organisation';
END;
CREATE TRIGGER format_needs_monitoring_on_update AFTER UPDATE ON format_needs
BEGIN
  INSERT INTO monitoring_changes (organisation_id)
    SELECT DISTINCT g.grantee_id FROM grants g JOIN organisations o ON o.id = g.grantee_id AND o.kind = 'provider'
    WHERE g.subject_id = NEW.person_id AND g.grantee_kind = 'organisation';
END;
CREATE TRIGGER emergency_accesses_monitoring_on_insert AFTER INSERT ON emergency_accesses
BEGIN
  INSERT INTO monitoring_changes (organisation_id)
    SELECT DISTINCT g.grantee_id FROM grants g JOIN organisations o ON o.id = g.grantee_id AND o.kind = 'provider'
    WHERE g.subject_id = NEW.person_id AND g.grantee_kind = 'organisation';
END;

-- The organisation's discussions newest first, a page at a time (GET /api/v1/consent-discussions
-- walks them in this order): the index on (organisation_id, held_on) with the rest of the order.
DROP INDEX consent_discussions_organisation;
CREATE INDEX consent_discussions_organisation ON consent_discussions (organisation_id, held_on, recorded_at, id);
