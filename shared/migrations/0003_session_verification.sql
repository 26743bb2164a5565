-- carefront schema, migration 3: when a session last proved its person with a passkey (user
-- verification), so widening access can require a recent proof (OWASP ASVS re-authentication).
ALTER TABLE sessions ADD COLUMN verified_at TEXT;
