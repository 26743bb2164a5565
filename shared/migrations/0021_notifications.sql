-- carefront schema, migration 21: the outbox of notifications. A message is written here in the
-- same batch as the change that causes it, so it is never lost: a sender delivers it to GOV.UK
-- Notify later (at once after the request, and from a sweep), retrying with backoff, and keeps
-- Notify's id and status. Bodies hold no care detail beyond what the recipient chose: the
-- personalisation is names, times and links into the portal.

CREATE TABLE notifications (
  -- Also the reference sent to Notify, so a message can be found from either side.
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('emergency_access', 'invitation', 'access_ending', 'access_stopped',
    'discussion_to_confirm', 'comment_answered', 'passkey_added', 'passkey_removed', 'new_device_sign_in', 'contact_check')),
  -- The account told, when it is one (an invitation may go to someone not enrolled yet).
  person_id TEXT REFERENCES people (id),
  -- Whose record the message is about, if anyone's.
  subject_id TEXT REFERENCES people (id),
  channel TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'letter')),
  -- An email address, a phone number, or a letter's address lines (newline-separated, postcode last).
  recipient TEXT NOT NULL CHECK (length(recipient) BETWEEN 1 AND 1000),
  -- A JSON object of strings: the template's placeholders.
  personalisation TEXT NOT NULL CHECK (json_valid(personalisation) AND json_type(personalisation) = 'object'),
  -- queued: waiting to be sent; sending: a sender has it until next_attempt_at (then it may be
  -- taken again); sent: Notify accepted it; delivered: Notify says it arrived; failed: Notify
  -- refused it, or it could not be sent after every retry, or Notify could not deliver it.
  status TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at TEXT NOT NULL,
  notify_id TEXT,
  -- Notify's own word for where it stands (created, sending, delivered, permanent-failure, …).
  notify_status TEXT,
  last_error TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

-- The sweep's question: what is due now.
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status IN ('queued', 'sending');
-- The council's page: what failed, newest first.
CREATE INDEX notifications_failed ON notifications (updated_at) WHERE status = 'failed';
-- Notify's status callbacks name its id.
CREATE UNIQUE INDEX notifications_notify_id ON notifications (notify_id) WHERE notify_id IS NOT NULL;
-- A person's own messages (their settings page shows what was sent).
CREATE INDEX notifications_person ON notifications (person_id, created_at) WHERE person_id IS NOT NULL;
