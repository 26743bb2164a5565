-- carefront schema, migration 23: a care provider's duty contact. Its administrator sets an email
-- address and/or a mobile number for the on-call duty manager, each used only once someone has
-- typed back the one-time code sent there (the same rules as a person's contact points, in
-- migration 22). When someone uses the emergency code of a person the provider holds live access
-- for, the confirmed duty contact is told, with a link of its own to stop the access.

CREATE TABLE duty_contacts (
  organisation_id TEXT NOT NULL REFERENCES organisations (id),
  medium TEXT NOT NULL CHECK (medium IN ('email', 'phone')),
  -- The confirmed address or number and when it was confirmed: the only one messages go to. It
  -- stays in use while a change waits for its code, so a change never leaves nobody on duty.
  address TEXT CHECK (address IS NULL OR length(address) BETWEEN 3 AND 320),
  verified_at TEXT,
  -- A new address or number waiting for its code: the code's keyed hash (never the code), when
  -- it expires, and the tries at it (counted before each check; at 5 it is locked).
  pending_address TEXT CHECK (pending_address IS NULL OR length(pending_address) BETWEEN 3 AND 320),
  code_hash TEXT,
  code_expires_at TEXT,
  wrong_tries INTEGER NOT NULL DEFAULT 0 CHECK (wrong_tries BETWEEN 0 AND 5),
  updated_at TEXT NOT NULL,
  PRIMARY KEY (organisation_id, medium),
  CHECK ((address IS NULL) = (verified_at IS NULL)),
  CHECK ((pending_address IS NULL) = (code_hash IS NULL) AND (code_hash IS NULL) = (code_expires_at IS NULL))
);
