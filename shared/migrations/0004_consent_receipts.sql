-- carefront schema, migration 4: consent receipts (one for every change of a grant), and the
-- council's contact details that receipts name as the PII controller.

ALTER TABLE organisations ADD COLUMN contact_email TEXT NOT NULL DEFAULT '';
ALTER TABLE organisations ADD COLUMN contact_phone TEXT NOT NULL DEFAULT '';
ALTER TABLE organisations ADD COLUMN contact_address TEXT NOT NULL DEFAULT '';
ALTER TABLE organisations ADD COLUMN privacy_url TEXT NOT NULL DEFAULT '';

CREATE TABLE consent_receipts (
  id             TEXT PRIMARY KEY,
  subject_id     TEXT NOT NULL REFERENCES people (id),
  grant_id       TEXT NOT NULL,
  grant_version  INTEGER NOT NULL,
  issued_at      TEXT NOT NULL,
  -- The signed receipt as issued (JSON).
  receipt        TEXT NOT NULL
);
CREATE INDEX consent_receipts_subject ON consent_receipts (subject_id, issued_at);

CREATE TRIGGER consent_receipts_no_update BEFORE UPDATE ON consent_receipts
BEGIN
  SELECT RAISE(ABORT, 'consent_receipts is append-only');
END;

CREATE TRIGGER consent_receipts_no_delete BEFORE DELETE ON consent_receipts
BEGIN
  SELECT RAISE(ABORT, 'consent_receipts is append-only');
END;
