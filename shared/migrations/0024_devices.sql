-- carefront schema, migration 24: the devices each account has signed in from, so a sign-in
-- from a new one can be told to the account holder; and a new kind of message, told to an old
-- email address or mobile number when a newly confirmed one replaces it.

-- Only a keyed hash of each browser's device id (from its own long-lived cookie), with the
-- account's id in the hash, never the id: the table cannot be turned back into cookies, nor
-- link one browser across accounts. The enrolling browser is recorded at enrolment.
CREATE TABLE known_devices (
  person_id TEXT NOT NULL REFERENCES people (id),
  device_hash TEXT NOT NULL CHECK (length(device_hash) BETWEEN 20 AND 100),
  first_seen_at TEXT NOT NULL,
  last_seen_at TEXT NOT NULL,
  PRIMARY KEY (person_id, device_hash)
);

-- SQLite cannot change a CHECK constraint in place: the outbox is rebuilt with
-- 'contact_changed' among its kinds, every row and index as before.
CREATE TABLE notifications_new (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('emergency_access', 'invitation', 'access_ending', 'access_stopped',
    'discussion_to_confirm', 'comment_answered', 'passkey_added', 'passkey_removed', 'new_device_sign_in', 'contact_check',
    'contact_changed')),
  person_id TEXT REFERENCES people (id),
  subject_id TEXT REFERENCES people (id),
  channel TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'letter')),
  recipient TEXT NOT NULL CHECK (length(recipient) BETWEEN 1 AND 1000),
  personalisation TEXT NOT NULL CHECK (json_valid(personalisation) AND json_type(personalisation) = 'object'),
  status TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at TEXT NOT NULL,
  notify_id TEXT,
  notify_status TEXT,
  last_error TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
INSERT INTO notifications_new (id, kind, person_id, subject_id, channel, recipient, personalisation, status, attempts, next_attempt_at,
    notify_id, notify_status, last_error, created_at, updated_at)
  SELECT id, kind, person_id, subject_id, channel, recipient, personalisation, status, attempts, next_attempt_at,
    notify_id, notify_status, last_error, created_at, updated_at FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_new RENAME TO notifications;
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status IN ('queued', 'sending');
CREATE INDEX notifications_failed ON notifications (updated_at) WHERE status = 'failed';
CREATE UNIQUE INDEX notifications_notify_id ON notifications (notify_id) WHERE notify_id IS NOT NULL;
CREATE INDEX notifications_person ON notifications (person_id, created_at) WHERE person_id IS NOT NULL;
