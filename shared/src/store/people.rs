//! The people the council adds: their details (date of birth, NHS number, address, how to reach
//! them), finding them, and who already held may be the same person.

use async_trait::async_trait;
use chrono::NaiveDate;

use super::{Result, SqlStore, time, time_text};
use crate::db::{DbError, Row, Value};
use crate::domain::{Person, Role};
use crate::person::{LikelyDuplicate, NewPerson, NhsNumber, PersonDetails, PersonQuery};

/// People and their details.
#[async_trait(?Send)]
pub trait PeopleStore {
    /// Adds `person` with `details` in one row. No read, so it can be recorded in a plan with the
    /// rest of a change (see [`crate::plan::Recorder`]). A second person with the same NHS
    /// number is refused by the database ([`DbError::Constraint`]), whoever adds them.
    async fn insert_person_with_details(&self, person: &Person, details: &NewPerson) -> Result<()>;
    /// A person's details (any role), with whether they have enrolled.
    async fn person_details(&self, id: &str) -> Result<Option<PersonDetails>>;
    /// Service users matching `query` (part of their name, their date of birth, or their NHS
    /// number), by name, at most `limit`.
    async fn find_people(&self, query: &PersonQuery, limit: i64) -> Result<Vec<PersonDetails>>;
    /// Everyone already held who may be the person `new` (see [`crate::person::likely_duplicates`]):
    /// the same NHS number refuses, the same date of birth and name warns.
    async fn likely_duplicates(&self, new: &NewPerson) -> Result<Vec<LikelyDuplicate>>;
    /// Everyone holding one of `nhs_numbers` or born on one of `dates_of_birth`: the people a
    /// whole import file could duplicate, found in a few queries rather than one a row.
    async fn people_matching(&self, nhs_numbers: &[String], dates_of_birth: &[NaiveDate]) -> Result<Vec<PersonDetails>>;
}

/// Values bound per query when matching many (D1 takes at most 100 parameters a statement).
const MATCH_CHUNK: usize = 90;

const DETAILS_COLUMNS: &str = "p.id, p.role, p.display_name, p.date_of_birth, p.nhs_number, p.address, p.postcode, p.phone, p.email,
    EXISTS (SELECT 1 FROM passkeys k WHERE k.person_id = p.id), p.created_at";

fn details(row: &Row) -> Result<PersonDetails> {
    let role = row.text(1)?;
    let date_of_birth = match row.optional_text(3)? {
        None => None,
        Some(text) => Some(NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| DbError::Decode(format!("bad date of birth {text}")))?),
    };
    let nhs_number = match row.optional_text(4)? {
        None => None,
        Some(text) => Some(NhsNumber::parse(&text).map_err(|_| DbError::Decode(format!("bad NHS number {text}")))?),
    };
    Ok(PersonDetails {
        id: row.text(0)?,
        role: Role::parse(&role).ok_or_else(|| DbError::Decode(format!("unknown role {role}")))?,
        display_name: row.text(2)?,
        date_of_birth,
        nhs_number,
        address: row.optional_text(5)?,
        postcode: row.optional_text(6)?,
        phone: row.optional_text(7)?,
        email: row.optional_text(8)?,
        enrolled: row.integer(9)? != 0,
        created_at: time(row, 10)?,
    })
}

fn iso(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// `text` for a LIKE pattern with `\` as the escape: `%` and `_` mean themselves.
fn like_contains(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

#[async_trait(?Send)]
impl PeopleStore for SqlStore<'_> {
    async fn insert_person_with_details(&self, person: &Person, details: &NewPerson) -> Result<()> {
        self.db
            .execute(
                "INSERT INTO people (id, role, display_name, organisation_id, webauthn_handle, created_at,
                   date_of_birth, nhs_number, address, postcode, phone, email)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                &[
                    person.id.as_str().into(),
                    person.role.as_str().into(),
                    person.display_name.as_str().into(),
                    person.organisation_id.as_deref().into(),
                    person.webauthn_handle.to_string().into(),
                    time_text(person.created_at).into(),
                    iso(details.date_of_birth).into(),
                    details.nhs_number.as_ref().map(NhsNumber::as_str).into(),
                    details.address.as_deref().into(),
                    details.postcode.as_deref().into(),
                    details.phone.as_deref().into(),
                    details.email.as_deref().into(),
                ],
            )
            .await
            .map(|_| ())
    }

    async fn person_details(&self, id: &str) -> Result<Option<PersonDetails>> {
        self.one(&format!("SELECT {DETAILS_COLUMNS} FROM people p WHERE p.id = ?1"), &[id.into()], details).await
    }

    async fn find_people(&self, query: &PersonQuery, limit: i64) -> Result<Vec<PersonDetails>> {
        let (condition, value) = match query {
            PersonQuery::NhsNumber(digits) => ("p.nhs_number = ?1", Value::from(digits.as_str())),
            PersonQuery::DateOfBirth(date) => ("p.date_of_birth = ?1", Value::from(iso(*date))),
            // LIKE ignores ASCII case in SQLite, D1 and Spin alike.
            PersonQuery::Name(part) => ("p.display_name LIKE ?1 ESCAPE '\\'", Value::from(like_contains(part))),
        };
        self.all(
            &format!("SELECT {DETAILS_COLUMNS} FROM people p WHERE p.role = 'service_user' AND {condition} ORDER BY p.display_name, p.id LIMIT ?2"),
            &[value, limit.clamp(1, 200).into()],
            details,
        )
        .await
    }

    async fn likely_duplicates(&self, new: &NewPerson) -> Result<Vec<LikelyDuplicate>> {
        // Everyone with the NHS number (any role: the number is unique) or born that day; the
        // name rules are applied in pure code, which the form, the API and an import share.
        let candidates = self
            .all(
                &format!("SELECT {DETAILS_COLUMNS} FROM people p WHERE (?1 IS NOT NULL AND p.nhs_number = ?1) OR p.date_of_birth = ?2 ORDER BY p.display_name, p.id LIMIT 200"),
                &[new.nhs_number.as_ref().map(NhsNumber::as_str).into(), iso(new.date_of_birth).into()],
                details,
            )
            .await?;
        Ok(crate::person::likely_duplicates(new, &candidates))
    }

    async fn people_matching(&self, nhs_numbers: &[String], dates_of_birth: &[NaiveDate]) -> Result<Vec<PersonDetails>> {
        let mut numbers: Vec<&str> = nhs_numbers.iter().map(String::as_str).collect();
        numbers.sort_unstable();
        numbers.dedup();
        let mut dates: Vec<String> = dates_of_birth.iter().map(|date| iso(*date)).collect();
        dates.sort_unstable();
        dates.dedup();
        let mut found: Vec<PersonDetails> = Vec::new();
        for (column, values) in [("nhs_number", numbers.into_iter().map(str::to_owned).collect::<Vec<_>>()), ("date_of_birth", dates)] {
            for chunk in values.chunks(MATCH_CHUNK) {
                let placeholders = (1..=chunk.len()).map(|n| format!("?{n}")).collect::<Vec<_>>().join(", ");
                let params: Vec<Value> = chunk.iter().map(|value| Value::from(value.as_str())).collect();
                found.extend(self.all(&format!("SELECT {DETAILS_COLUMNS} FROM people p WHERE p.{column} IN ({placeholders})"), &params, details).await?);
            }
        }
        found.sort_by(|a, b| a.id.cmp(&b.id));
        found.dedup_by(|a, b| a.id == b.id);
        Ok(found)
    }
}
