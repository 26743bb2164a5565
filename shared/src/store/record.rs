//! The care record's part of the store: guide, medicines, allergies, the administration
//! record, visits, contacts, documents and the emergency summary.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use super::{Result, SqlStore, json, time, time_text, to_json};
use crate::access::Permit;
use crate::consent::Category;
use crate::db::{DbError, Row, Statement, Value};
use crate::record::{
    Administration, Allergy, CareVisit, Contact, ContactKind, Document, DocumentKind, EmergencySummary, Medicine, Outcome, ServiceUserGuide, VisitStatus,
};

/// The most of a document's contents one stored value holds (1 MiB: about 1.4 MB encoded,
/// inside D1's limit of about 2 MB a value).
pub const DOCUMENT_CHUNK_BYTES: usize = 1024 * 1024;

/// One page of a list, newest first, and where the next page starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// The cursor for the next (older) page, if there is one.
    pub next: Option<String>,
}

/// Reading and writing the care record.
#[async_trait(?Send)]
pub trait RecordStore {
    /// Stores or replaces the person's service user guide.
    async fn upsert_guide(&self, guide: &ServiceUserGuide) -> Result<()>;
    /// The person's service user guide.
    async fn guide(&self, permit: &Permit) -> Result<Option<ServiceUserGuide>>;

    /// Stores a medicine, or replaces one with the same id and person.
    async fn upsert_medicine(&self, medicine: &Medicine) -> Result<()>;
    /// The person's medicines, current and stopped, by name.
    async fn medicines(&self, permit: &Permit) -> Result<Vec<Medicine>>;
    /// Records an allergy.
    async fn insert_allergy(&self, allergy: &Allergy) -> Result<()>;
    /// The person's allergies (not those marked as recorded in error).
    async fn allergies(&self, permit: &Permit) -> Result<Vec<Allergy>>;
    /// Appends to the administration record (entries are never changed; a correction is a new
    /// entry). `false` if an entry with this id exists already (a retried write).
    async fn insert_administration(&self, entry: &Administration) -> Result<bool>;
    /// The person's administration record due in `[from, to)`, oldest first.
    async fn administrations(&self, permit: &Permit, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Administration>>;

    /// Stores a visit, or replaces one with the same id and person. `false` if the id belongs to
    /// another person's visit (nothing is written).
    async fn upsert_visit(&self, visit: &CareVisit) -> Result<bool>;
    /// One of the person's visits.
    async fn visit(&self, permit: &Permit, id: &str) -> Result<Option<CareVisit>>;
    /// One page of the person's visits, newest first, starting after `cursor`.
    async fn visits(&self, permit: &Permit, cursor: Option<&str>, limit: i64) -> Result<Page<CareVisit>>;
    /// The person's visits by `organisation_id` starting from `from` up to (not including) `to`,
    /// earliest first: a provider's visits on one UK day.
    async fn visits_between(&self, permit: &Permit, organisation_id: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<CareVisit>>;

    /// Stores a contact, or replaces one with the same id and person.
    async fn upsert_contact(&self, contact: &Contact) -> Result<()>;
    /// The person's contacts, in display order.
    async fn contacts(&self, permit: &Permit) -> Result<Vec<Contact>>;

    /// Keeps a document (checked with [`Document::check`]) and its contents, in chunks of at
    /// most [`DOCUMENT_CHUNK_BYTES`] (D1 refuses a value over about 2 MB), in one batch.
    async fn insert_document(&self, document: &Document, body: &[u8]) -> Result<()>;
    /// The person's documents, newest first (without contents).
    async fn documents(&self, permit: &Permit) -> Result<Vec<Document>>;
    /// One of the person's documents and its contents.
    async fn document(&self, permit: &Permit, id: &str) -> Result<Option<(Document, Vec<u8>)>>;

    /// Stores or replaces the person's emergency summary.
    async fn upsert_emergency_summary(&self, summary: &EmergencySummary) -> Result<()>;
    /// The person's emergency summary.
    async fn emergency_summary(&self, permit: &Permit) -> Result<Option<EmergencySummary>>;
}

fn decode_error(what: &str, text: &str) -> DbError {
    DbError::Decode(format!("bad {what}: {text}"))
}

fn date(row: &Row, index: usize) -> Result<NaiveDate> {
    let text = row.text(index)?;
    NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| decode_error("date", &text))
}

fn date_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

fn guide(row: &Row) -> Result<ServiceUserGuide> {
    Ok(ServiceUserGuide { person_id: row.text(0)?, organisation_id: row.text(1)?, title: row.text(2)?, sections: json(row, 3)?, updated_at: time(row, 4)? })
}

const MEDICINE_COLUMNS: &str = "id, person_id, name, dose, route, times, as_needed, instructions, prescriber, started_on, stopped_on";

fn medicine(row: &Row) -> Result<Medicine> {
    let times: Vec<String> = json(row, 5)?;
    let times = times.iter().map(|text| NaiveTime::parse_from_str(text, "%H:%M").map_err(|_| decode_error("time of day", text))).collect::<Result<_>>()?;
    Ok(Medicine {
        id: row.text(0)?,
        person_id: row.text(1)?,
        name: row.text(2)?,
        dose: row.text(3)?,
        route: row.text(4)?,
        times,
        as_needed: row.integer(6)? != 0,
        instructions: row.text(7)?,
        prescriber: row.text(8)?,
        started_on: date(row, 9)?,
        stopped_on: match row.optional_text(10)? {
            None => None,
            Some(_) => Some(date(row, 10)?),
        },
    })
}

fn allergy(row: &Row) -> Result<Allergy> {
    Ok(Allergy { id: row.text(0)?, person_id: row.text(1)?, substance: row.text(2)?, reaction: row.text(3)?, recorded_at: time(row, 4)? })
}

const ADMINISTRATION_COLUMNS: &str = "id, person_id, medicine_id, due_at, outcome, reason, recorded_by, recorded_at";

fn administration(row: &Row) -> Result<Administration> {
    let outcome = row.text(4)?;
    Ok(Administration {
        id: row.text(0)?,
        person_id: row.text(1)?,
        medicine_id: row.text(2)?,
        due_at: time(row, 3)?,
        outcome: Outcome::parse(&outcome).ok_or_else(|| decode_error("outcome", &outcome))?,
        reason: row.optional_text(5)?,
        recorded_by: row.text(6)?,
        recorded_at: time(row, 7)?,
    })
}

const VISIT_COLUMNS: &str = "id, person_id, organisation_id, starts_at, ends_at, status, carers, note, recorded_at";

pub(super) fn visit(row: &Row) -> Result<CareVisit> {
    let status = row.text(5)?;
    Ok(CareVisit {
        id: row.text(0)?,
        person_id: row.text(1)?,
        organisation_id: row.text(2)?,
        starts_at: time(row, 3)?,
        ends_at: time(row, 4)?,
        status: VisitStatus::parse(&status).ok_or_else(|| decode_error("visit status", &status))?,
        carers: row.text(6)?,
        note: row.text(7)?,
        recorded_at: time(row, 8)?,
    })
}

const CONTACT_COLUMNS: &str = "id, person_id, kind, name, role, phone, email, available, position";

fn contact(row: &Row) -> Result<Contact> {
    let kind = row.text(2)?;
    Ok(Contact {
        id: row.text(0)?,
        person_id: row.text(1)?,
        kind: ContactKind::parse(&kind).ok_or_else(|| decode_error("contact kind", &kind))?,
        name: row.text(3)?,
        role: row.text(4)?,
        phone: row.text(5)?,
        email: row.text(6)?,
        available: row.text(7)?,
        position: row.integer(8)?,
    })
}

const DOCUMENT_COLUMNS: &str = "id, person_id, title, kind, content_type, size_bytes, sha256, added_by, added_at";

fn document(row: &Row) -> Result<Document> {
    let kind = row.text(3)?;
    Ok(Document {
        id: row.text(0)?,
        person_id: row.text(1)?,
        title: row.text(2)?,
        kind: DocumentKind::parse(&kind).ok_or_else(|| decode_error("document kind", &kind))?,
        content_type: row.text(4)?,
        size_bytes: row.integer(5)?,
        sha256: row.text(6)?,
        added_by: row.text(7)?,
        added_at: time(row, 8)?,
    })
}

fn emergency_summary(row: &Row) -> Result<EmergencySummary> {
    Ok(EmergencySummary {
        person_id: row.text(0)?,
        summary: row.text(1)?,
        conditions: json(row, 2)?,
        communication: row.text(3)?,
        next_of_kin: row.text(4)?,
        updated_by: row.text(5)?,
        updated_at: time(row, 6)?,
    })
}

/// A list cursor is the last item's time and id: stable under inserts, and it names nothing the
/// reader could not already see.
pub(crate) fn cursor_of(at: DateTime<Utc>, id: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}|{}", time_text(at), id))
}

fn visit_cursor(visit: &CareVisit) -> String {
    cursor_of(visit.starts_at, &visit.id)
}

/// The time (as stored) and id a cursor made by [`cursor_of`] names.
pub(crate) fn parse_cursor(cursor: &str) -> Option<(String, String)> {
    parse_visit_cursor(cursor)
}

fn parse_visit_cursor(cursor: &str) -> Option<(String, String)> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (at, id) = text.split_once('|')?;
    DateTime::parse_from_rfc3339(at).ok()?;
    Some((at.to_owned(), id.to_owned()))
}

/// A cursor that is not one carefront made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the page cursor is not valid")]
pub struct BadCursor;

/// Checks a cursor before it is used, so that a handler can answer 400 rather than a store error.
pub fn check_visit_cursor(cursor: &str) -> std::result::Result<(), BadCursor> {
    parse_visit_cursor(cursor).map(|_| ()).ok_or(BadCursor)
}

#[async_trait(?Send)]
impl RecordStore for SqlStore<'_> {
    async fn upsert_guide(&self, guide: &ServiceUserGuide) -> Result<()> {
        self.db
            .execute(
                "INSERT INTO service_user_guides (person_id, organisation_id, title, sections, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (person_id) DO UPDATE SET organisation_id = excluded.organisation_id, title = excluded.title,
                   sections = excluded.sections, updated_at = excluded.updated_at",
                &[
                    guide.person_id.as_str().into(),
                    guide.organisation_id.as_str().into(),
                    guide.title.as_str().into(),
                    to_json(&guide.sections)?,
                    time_text(guide.updated_at).into(),
                ],
            )
            .await
            .map(|_| ())
    }

    async fn guide(&self, permit: &Permit) -> Result<Option<ServiceUserGuide>> {
        let person_id = permit.subject_for(Category::ServiceUserGuide)?;
        self.one("SELECT person_id, organisation_id, title, sections, updated_at FROM service_user_guides WHERE person_id = ?1", &[person_id.into()], guide)
            .await
    }

    async fn upsert_medicine(&self, medicine: &Medicine) -> Result<()> {
        let times: Vec<String> = medicine.times.iter().map(|time| time.format("%H:%M").to_string()).collect();
        self.db
            .execute(
                &format!(
                    "INSERT INTO medicines ({MEDICINE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name, dose = excluded.dose, route = excluded.route,
                       times = excluded.times, as_needed = excluded.as_needed, instructions = excluded.instructions,
                       prescriber = excluded.prescriber, started_on = excluded.started_on, stopped_on = excluded.stopped_on
                     WHERE medicines.person_id = excluded.person_id"
                ),
                &[
                    medicine.id.as_str().into(),
                    medicine.person_id.as_str().into(),
                    medicine.name.as_str().into(),
                    medicine.dose.as_str().into(),
                    medicine.route.as_str().into(),
                    to_json(&times)?,
                    i64::from(medicine.as_needed).into(),
                    medicine.instructions.as_str().into(),
                    medicine.prescriber.as_str().into(),
                    date_text(medicine.started_on).into(),
                    medicine.stopped_on.map(date_text).into(),
                ],
            )
            .await
            .map(|_| ())
    }

    async fn medicines(&self, permit: &Permit) -> Result<Vec<Medicine>> {
        let person_id = permit.subject_for(Category::Medication)?;
        self.all(&format!("SELECT {MEDICINE_COLUMNS} FROM medicines WHERE person_id = ?1 ORDER BY name, id"), &[person_id.into()], medicine).await
    }

    async fn insert_allergy(&self, allergy: &Allergy) -> Result<()> {
        self.db
            .execute(
                "INSERT INTO allergies (id, person_id, substance, reaction, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO NOTHING",
                &[
                    allergy.id.as_str().into(),
                    allergy.person_id.as_str().into(),
                    allergy.substance.as_str().into(),
                    allergy.reaction.as_str().into(),
                    time_text(allergy.recorded_at).into(),
                ],
            )
            .await
            .map(|_| ())
    }

    async fn allergies(&self, permit: &Permit) -> Result<Vec<Allergy>> {
        let person_id = permit.subject_for(Category::Medication)?;
        self.all(
            "SELECT id, person_id, substance, reaction, recorded_at FROM allergies WHERE person_id = ?1
             AND NOT EXISTS (SELECT 1 FROM allergy_errors WHERE allergy_errors.allergy_id = allergies.id) ORDER BY substance, id",
            &[person_id.into()],
            allergy,
        )
        .await
    }

    async fn insert_administration(&self, entry: &Administration) -> Result<bool> {
        let changed = self
            .db
            .execute(
                &format!("INSERT INTO administrations ({ADMINISTRATION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (id) DO NOTHING"),
                &[
                    entry.id.as_str().into(),
                    entry.person_id.as_str().into(),
                    entry.medicine_id.as_str().into(),
                    time_text(entry.due_at).into(),
                    entry.outcome.as_str().into(),
                    entry.reason.as_deref().into(),
                    entry.recorded_by.as_str().into(),
                    time_text(entry.recorded_at).into(),
                ],
            )
            .await?;
        Ok(changed > 0)
    }

    async fn administrations(&self, permit: &Permit, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Administration>> {
        let person_id = permit.subject_for(Category::Medication)?;
        self.all(
            &format!(
                "SELECT {ADMINISTRATION_COLUMNS} FROM administrations WHERE person_id = ?1 AND due_at >= ?2 AND due_at < ?3 ORDER BY due_at, recorded_at, id"
            ),
            &[person_id.into(), time_text(from).into(), time_text(to).into()],
            administration,
        )
        .await
    }

    async fn upsert_visit(&self, visit: &CareVisit) -> Result<bool> {
        let changed = self
            .db
            .execute(
                &format!(
                    "INSERT INTO care_visits ({VISIT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                     ON CONFLICT (id) DO UPDATE SET starts_at = excluded.starts_at, ends_at = excluded.ends_at, status = excluded.status,
                       carers = excluded.carers, note = excluded.note, recorded_at = excluded.recorded_at
                     WHERE care_visits.person_id = excluded.person_id AND care_visits.organisation_id = excluded.organisation_id"
                ),
                &[
                    visit.id.as_str().into(),
                    visit.person_id.as_str().into(),
                    visit.organisation_id.as_str().into(),
                    time_text(visit.starts_at).into(),
                    time_text(visit.ends_at).into(),
                    visit.status.as_str().into(),
                    visit.carers.as_str().into(),
                    visit.note.as_str().into(),
                    time_text(visit.recorded_at).into(),
                ],
            )
            .await?;
        Ok(changed > 0)
    }

    async fn visit(&self, permit: &Permit, id: &str) -> Result<Option<CareVisit>> {
        let person_id = permit.subject_for(Category::VisitsAndNotes)?;
        self.one(&format!("SELECT {VISIT_COLUMNS} FROM care_visits WHERE person_id = ?1 AND id = ?2"), &[person_id.into(), id.into()], visit).await
    }

    async fn visits(&self, permit: &Permit, cursor: Option<&str>, limit: i64) -> Result<Page<CareVisit>> {
        let person_id = permit.subject_for(Category::VisitsAndNotes)?;
        let limit = limit.clamp(1, 200);
        let mut items = match cursor {
            None => {
                self.all(
                    &format!("SELECT {VISIT_COLUMNS} FROM care_visits WHERE person_id = ?1 ORDER BY starts_at DESC, id DESC LIMIT ?2"),
                    &[person_id.into(), (limit + 1).into()],
                    visit,
                )
                .await?
            }
            Some(cursor) => {
                let (at, id) = parse_visit_cursor(cursor).ok_or_else(|| DbError::Decode(BadCursor.to_string()))?;
                self.all(
                    &format!(
                        "SELECT {VISIT_COLUMNS} FROM care_visits WHERE person_id = ?1 AND (starts_at < ?2 OR (starts_at = ?2 AND id < ?3))
                         ORDER BY starts_at DESC, id DESC LIMIT ?4"
                    ),
                    &[person_id.into(), Value::Text(at), Value::Text(id), (limit + 1).into()],
                    visit,
                )
                .await?
            }
        };
        let more = items.len() > usize::try_from(limit).unwrap_or(usize::MAX);
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next = if more { items.last().map(visit_cursor) } else { None };
        Ok(Page { items, next })
    }

    async fn visits_between(&self, permit: &Permit, organisation_id: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<CareVisit>> {
        let person_id = permit.subject_for(Category::VisitsAndNotes)?;
        self.all(
            &format!(
                "SELECT {VISIT_COLUMNS} FROM care_visits WHERE person_id = ?1 AND organisation_id = ?2 AND starts_at >= ?3 AND starts_at < ?4
                 ORDER BY starts_at, id"
            ),
            &[person_id.into(), organisation_id.into(), time_text(from).into(), time_text(to).into()],
            visit,
        )
        .await
    }

    async fn upsert_contact(&self, contact: &Contact) -> Result<()> {
        self.db
            .execute(
                &format!(
                    "INSERT INTO contacts ({CONTACT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                     ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name, role = excluded.role, phone = excluded.phone,
                       email = excluded.email, available = excluded.available, position = excluded.position
                     WHERE contacts.person_id = excluded.person_id"
                ),
                &[
                    contact.id.as_str().into(),
                    contact.person_id.as_str().into(),
                    contact.kind.as_str().into(),
                    contact.name.as_str().into(),
                    contact.role.as_str().into(),
                    contact.phone.as_str().into(),
                    contact.email.as_str().into(),
                    contact.available.as_str().into(),
                    contact.position.into(),
                ],
            )
            .await
            .map(|_| ())
    }

    async fn contacts(&self, permit: &Permit) -> Result<Vec<Contact>> {
        let person_id = permit.subject_for(Category::Contacts)?;
        self.all(&format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE person_id = ?1 ORDER BY position, name, id"), &[person_id.into()], contact).await
    }

    async fn insert_document(&self, document: &Document, body: &[u8]) -> Result<()> {
        use base64::Engine as _;
        let mut statements = vec![Statement {
            sql: format!("INSERT INTO documents ({DOCUMENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)").into(),
            params: vec![
                document.id.as_str().into(),
                document.person_id.as_str().into(),
                document.title.as_str().into(),
                document.kind.as_str().into(),
                document.content_type.as_str().into(),
                document.size_bytes.into(),
                document.sha256.as_str().into(),
                document.added_by.as_str().into(),
                time_text(document.added_at).into(),
            ],
        }];
        for (position, chunk) in (0_i64..).zip(body.chunks(DOCUMENT_CHUNK_BYTES)) {
            statements.push(Statement {
                sql: "INSERT INTO document_chunks (document_id, position, body) VALUES (?1, ?2, ?3)".into(),
                params: vec![document.id.as_str().into(), position.into(), base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(chunk).into()],
            });
        }
        self.db.batch(&statements).await
    }

    async fn documents(&self, permit: &Permit) -> Result<Vec<Document>> {
        let person_id = permit.subject_for(Category::Documents)?;
        self.all(&format!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE person_id = ?1 ORDER BY added_at DESC, id"), &[person_id.into()], document).await
    }

    async fn document(&self, permit: &Permit, id: &str) -> Result<Option<(Document, Vec<u8>)>> {
        let person_id = permit.subject_for(Category::Documents)?;
        use base64::Engine as _;
        let Some(found) =
            self.one(&format!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE person_id = ?1 AND id = ?2"), &[person_id.into(), id.into()], document).await?
        else {
            return Ok(None);
        };
        let rows = self.db.query("SELECT body FROM document_chunks WHERE document_id = ?1 ORDER BY position", &[id.into()]).await?;
        let mut body = Vec::with_capacity(usize::try_from(found.size_bytes).unwrap_or_default());
        for row in &rows {
            let chunk =
                base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(row.text(0)?).map_err(|_| DbError::Decode("document chunk is not base64url".into()))?;
            body.extend_from_slice(&chunk);
        }
        if i64::try_from(body.len()).ok() != Some(found.size_bytes) {
            return Err(DbError::Decode(format!("document {id} has {} bytes of {}", body.len(), found.size_bytes)));
        }
        Ok(Some((found, body)))
    }

    async fn upsert_emergency_summary(&self, summary: &EmergencySummary) -> Result<()> {
        self.db
            .execute(
                "INSERT INTO emergency_summaries (person_id, summary, conditions, communication, next_of_kin, updated_by, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (person_id) DO UPDATE SET summary = excluded.summary, conditions = excluded.conditions,
                   communication = excluded.communication, next_of_kin = excluded.next_of_kin,
                   updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                &[
                    summary.person_id.as_str().into(),
                    summary.summary.as_str().into(),
                    to_json(&summary.conditions)?,
                    summary.communication.as_str().into(),
                    summary.next_of_kin.as_str().into(),
                    summary.updated_by.as_str().into(),
                    time_text(summary.updated_at).into(),
                ],
            )
            .await
            .map(|_| ())
    }

    async fn emergency_summary(&self, permit: &Permit) -> Result<Option<EmergencySummary>> {
        let person_id = permit.subject_for(Category::Medication)?;
        self.one(
            "SELECT person_id, summary, conditions, communication, next_of_kin, updated_by, updated_at FROM emergency_summaries WHERE person_id = ?1",
            &[person_id.into()],
            emergency_summary,
        )
        .await
    }
}
