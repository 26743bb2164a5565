-- carefront schema, migration 10: the idempotency keys of the API's writes. A provider's system
-- sends an Idempotency-Key with every POST; the first request with a key claims it, naming the
-- id of what it makes, and a retry with the same key and the same request gets that back instead
-- of a second one. Keys belong to an organisation; one reused for a different request is refused.

CREATE TABLE api_idempotency_keys (
  organisation_id  TEXT NOT NULL REFERENCES organisations (id),
  idempotency_key  TEXT NOT NULL,
  -- What the key was first used for, for people reading the table ("POST /api/v1/people/…/visits").
  request          TEXT NOT NULL,
  -- SHA-256 (base64url) of the method, the path and the body as canonical JSON: a retry must
  -- carry the same request to get the first one's result.
  request_hash     TEXT NOT NULL,
  -- The id of the visit, administration, consent discussion or comment the request made or answered.
  resource_id      TEXT NOT NULL,
  credential_id    TEXT NOT NULL,
  created_at       TEXT NOT NULL,
  PRIMARY KEY (organisation_id, idempotency_key)
);

-- A claimed key always names what its first request made: it is never re-pointed.
CREATE TRIGGER api_idempotency_keys_fixed BEFORE UPDATE ON api_idempotency_keys
BEGIN
  SELECT RAISE(ABORT, 'api_idempotency_keys: a claimed key is never changed');
END;
