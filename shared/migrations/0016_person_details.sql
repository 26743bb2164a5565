-- carefront schema, migration 16: what the council records about a person it adds: date of
-- birth, NHS number, address and how to reach them. All may be empty: staff and
-- representatives have none of some, and people added before this migration have none yet.

-- ISO date, YYYY-MM-DD.
ALTER TABLE people ADD COLUMN date_of_birth TEXT
  CHECK (date_of_birth IS NULL OR date_of_birth GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]');
-- Ten digits, no spaces; the check digit is checked in shared/src/person.rs before it gets here.
ALTER TABLE people ADD COLUMN nhs_number TEXT
  CHECK (nhs_number IS NULL OR (length(nhs_number) = 10 AND nhs_number NOT GLOB '*[^0-9]*'));
-- The address lines joined by newlines, without the postcode.
ALTER TABLE people ADD COLUMN address TEXT;
-- As written on letters: upper case, one space before the inward code ("LS1 4AP").
ALTER TABLE people ADD COLUMN postcode TEXT;
ALTER TABLE people ADD COLUMN phone TEXT;
ALTER TABLE people ADD COLUMN email TEXT;

-- One NHS number is one person: a second person with it is refused by the database too, so two
-- caseworkers (or an import and a caseworker) adding the same person at once cannot both win.
CREATE UNIQUE INDEX people_nhs_number ON people (nhs_number) WHERE nhs_number IS NOT NULL;
-- Finding a person by date of birth, and the likely-duplicate check.
CREATE INDEX people_date_of_birth ON people (date_of_birth) WHERE date_of_birth IS NOT NULL;
