-- carefront schema, migration 15: rate-limit counts are keyed on (source, code selector) and on
-- ceremony starts, so there can be many; each ceremony start deletes the counts whose window is
-- over, and this index keeps that delete from reading the whole table.
CREATE INDEX rate_limits_window ON rate_limits (window_start);
