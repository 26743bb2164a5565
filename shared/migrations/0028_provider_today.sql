-- carefront schema, migration 28: a provider's "People I support today" at a county's scale.
-- The page lists the people the organisation visits today, by first visit, then everyone else
-- it supports, by name, one page at a time; without these every request read every grant to
-- the organisation and every person's visits one by one.

-- A provider's visits in a day, in time order (then by person, the page's order).
CREATE INDEX care_visits_organisation ON care_visits (organisation_id, starts_at, person_id);

-- People by name, for a list walked in name order.
CREATE INDEX people_name ON people (display_name, id);
