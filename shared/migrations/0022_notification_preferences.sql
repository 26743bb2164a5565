-- carefront schema, migration 22: how each account is reached. Its own contact points (an email
-- address and a mobile number), each used only once the person has proved it is theirs with a
-- one-time code, and its choice of channels for each kind of notification. The letter address
-- is the council's record (people.address, people.postcode), not kept here.

CREATE TABLE contact_points (
  person_id TEXT NOT NULL REFERENCES people (id),
  medium TEXT NOT NULL CHECK (medium IN ('email', 'phone')),
  -- The confirmed address or number and when it was confirmed: the only one messages go to. It
  -- stays in use while a change waits for its code, so a change never silences the account.
  address TEXT CHECK (address IS NULL OR length(address) BETWEEN 3 AND 320),
  verified_at TEXT,
  -- A new address or number waiting for its code: the code's keyed hash (never the code), when
  -- it expires, and the tries at it (counted before each check, so racing tries cannot pass the
  -- limit; at 5 it is locked until a new code is asked for).
  pending_address TEXT CHECK (pending_address IS NULL OR length(pending_address) BETWEEN 3 AND 320),
  code_hash TEXT,
  code_expires_at TEXT,
  wrong_tries INTEGER NOT NULL DEFAULT 0 CHECK (wrong_tries BETWEEN 0 AND 5),
  updated_at TEXT NOT NULL,
  PRIMARY KEY (person_id, medium),
  CHECK ((address IS NULL) = (verified_at IS NULL)),
  CHECK ((pending_address IS NULL) = (code_hash IS NULL) AND (code_hash IS NULL) = (code_expires_at IS NULL))
);

-- One row per kind the person chose for; no row: the default that follows their recorded
-- communication needs. All three off is "none", which the portal refuses for security notices
-- (and the choosing code ignores for them if it is ever found).
CREATE TABLE notification_choices (
  person_id TEXT NOT NULL REFERENCES people (id),
  kind TEXT NOT NULL CHECK (kind IN ('emergency_access', 'invitation', 'access_ending', 'access_stopped',
    'discussion_to_confirm', 'comment_answered', 'passkey_added', 'passkey_removed', 'new_device_sign_in', 'contact_check')),
  email INTEGER NOT NULL CHECK (email IN (0, 1)),
  sms INTEGER NOT NULL CHECK (sms IN (0, 1)),
  letter INTEGER NOT NULL CHECK (letter IN (0, 1)),
  updated_at TEXT NOT NULL,
  PRIMARY KEY (person_id, kind)
);
