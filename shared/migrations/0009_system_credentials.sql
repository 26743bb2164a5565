-- carefront schema, migration 9: system credentials for providers' and the council's systems,
-- and the nonces of signed API requests (each accepted once within the replay window).

-- A credential's signing key is never stored: it is derived from the deployment secret
-- CREDENTIAL_KEY and the key id (HMAC-SHA256), shown once when the credential is made, and
-- only its SHA-256 fingerprint is kept here. A copy of this table signs nothing.
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
  last_used_at     TEXT
);
CREATE INDEX system_credentials_organisation ON system_credentials (organisation_id, created_at);

-- Credentials are revoked, never deleted; what a credential is and may do never changes (make
-- a new one instead), and a revoked credential stays revoked.
CREATE TRIGGER system_credentials_no_delete BEFORE DELETE ON system_credentials
BEGIN
  SELECT RAISE(ABORT, 'system_credentials is append-only: revoke instead of deleting');
END;

CREATE TRIGGER system_credentials_fixed BEFORE UPDATE OF key_id, organisation_id, name, permissions, fingerprint, created_by, created_at ON system_credentials
BEGIN
  SELECT RAISE(ABORT, 'system_credentials: a credential cannot be changed, only revoked (append-only)');
END;

CREATE TRIGGER system_credentials_stay_revoked BEFORE UPDATE ON system_credentials
WHEN OLD.revoked_at IS NOT NULL AND (NEW.revoked_at IS NULL OR NEW.revoked_at <> OLD.revoked_at)
BEGIN
  SELECT RAISE(ABORT, 'system_credentials: a revoked credential stays revoked (append-only)');
END;

-- The nonce of every accepted signed request, kept until its timestamp leaves the replay
-- window; a second request with the same key id and nonce is refused as a replay.
CREATE TABLE api_nonces (
  key_id      TEXT NOT NULL,
  nonce       TEXT NOT NULL,
  expires_at  TEXT NOT NULL,
  PRIMARY KEY (key_id, nonce)
);
CREATE INDEX api_nonces_expiry ON api_nonces (expires_at);
