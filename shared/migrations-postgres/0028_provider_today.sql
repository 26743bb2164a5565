-- carefront schema, migration 28 (PostgreSQL): a provider's "People I support today" at a
-- county's scale. The same indexes as SQLite's 0028_provider_today.sql, which says why.

CREATE INDEX care_visits_organisation ON care_visits (organisation_id, starts_at, person_id);
CREATE INDEX people_name ON people (display_name, id);
