-- carefront schema, migration 25: the grants about to end, found by a range on their end.
-- The scheduled "access ending in 14 days" scan reads the grants not revoked whose end falls in
-- the next 14 days; without this it reads every grant there is at every scan.

CREATE INDEX grants_ending ON grants (ends_at) WHERE revoked_at IS NULL AND ends_at IS NOT NULL;
