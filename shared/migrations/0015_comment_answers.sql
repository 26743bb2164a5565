-- Every answer to a comment or correction request, kept: the comment row holds only the latest
-- answer, so without this a second answer overwrote the first with no trace. An answer is
-- written in the same batch as the comment's change (its version after the answer is its key).
-- Append-only, like the audit log.
CREATE TABLE comment_answers (
  comment_id    TEXT NOT NULL REFERENCES comments (id),
  person_id     TEXT NOT NULL REFERENCES people (id),
  -- The comment's version this answer made.
  version       INTEGER NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('answered', 'corrected', 'declined')),
  response      TEXT NOT NULL,
  -- Who answered (the organisation's name, as the person reads it).
  responded_by  TEXT NOT NULL,
  responded_at  TEXT NOT NULL,
  PRIMARY KEY (comment_id, version)
);

CREATE INDEX comment_answers_person ON comment_answers (person_id, responded_at);

-- Answers given before this table existed: the latest one of each comment is all there is.
INSERT INTO comment_answers (comment_id, person_id, version, status, response, responded_by, responded_at)
SELECT id, person_id, version, status, response, responded_by, responded_at FROM comments WHERE status <> 'open';

CREATE TRIGGER comment_answers_no_update BEFORE UPDATE ON comment_answers
BEGIN
  SELECT RAISE(ABORT, 'comment_answers is append-only');
END;

CREATE TRIGGER comment_answers_no_delete BEFORE DELETE ON comment_answers
BEGIN
  SELECT RAISE(ABORT, 'comment_answers is append-only');
END;
