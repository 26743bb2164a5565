//! The record's versions and the writes only the providers' record writes make
//! ([`crate::record_writes`]): appending a version (never changed or removed), the guard that
//! stops a write made from a stale version, replacing contacts and planned visits, a visit's
//! live status, and marking an allergy entered in error.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Result, SqlStore, json, optional_time, time, time_text, to_json};
use crate::access::Permit;
use crate::db::{DbError, Row};
use crate::record::VisitStatus;
use crate::record_writes::{RecordVersion, ScheduledVisit, VersionKind};

/// Reading and writing the record's versions.
#[async_trait(?Send)]
pub trait VersionStore {
    /// Appends a version (there is no way to change or remove one); a second version with the
    /// same number of the same part is refused with a constraint error.
    async fn insert_record_version(&self, version: &RecordVersion) -> Result<()>;
    /// `false` unless the newest version of the part is `version` (0: none yet). In a plan, it
    /// stops the whole batch instead (see [`crate::plan::Plan::guard`]).
    async fn record_version_is(&self, person_id: &str, kind: VersionKind, item_id: &str, version: i64) -> Result<bool>;
    /// `false` if `item_id` is another person's medicine or visit (an id a caller chose, as the
    /// FHIR import does); in a plan, it stops the whole batch instead.
    async fn record_item_is_theirs(&self, person_id: &str, kind: VersionKind, item_id: &str) -> Result<bool>;
    /// Every version of one part of the person's record, newest first.
    async fn record_versions(&self, permit: &Permit, kind: VersionKind, item_id: &str) -> Result<Vec<RecordVersion>>;
    /// The newest version of each item of a kind in the person's record.
    async fn latest_record_versions(&self, permit: &Permit, kind: VersionKind) -> Result<Vec<RecordVersion>>;
    /// One version, by its id.
    async fn record_version(&self, permit: &Permit, kind: VersionKind, id: &str) -> Result<Option<RecordVersion>>;

    /// Removes the person's contacts (a new list replaces them; the old is in the versions).
    async fn delete_contacts(&self, person_id: &str) -> Result<()>;
    /// Removes a provider's visits of the person still `planned` that start in `[from, to)`.
    async fn delete_planned_visits(&self, person_id: &str, organisation_id: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<()>;
    /// Sets a visit's live status and the actual time it happened.
    async fn set_visit_status(&self, person_id: &str, visit_id: &str, status: VisitStatus, at: DateTime<Utc>) -> Result<()>;
    /// The person's visits starting in `[from, to)`, oldest first, with their live times.
    async fn scheduled_visits(&self, permit: &Permit, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<ScheduledVisit>>;
    /// One of the person's visits with its live times.
    async fn scheduled_visit(&self, permit: &Permit, id: &str) -> Result<Option<ScheduledVisit>>;
    /// Marks an allergy as recorded in error: it leaves the person's list.
    async fn mark_allergy_error(&self, person_id: &str, allergy_id: &str, reason: &str, marked_by: &str, at: DateTime<Utc>) -> Result<()>;
}

const VERSION_COLUMNS: &str = "id, person_id, kind, item_id, version, snapshot, changed_by, organisation_id, changed_at";

fn record_version(row: &Row) -> Result<RecordVersion> {
    let kind = row.text(2)?;
    Ok(RecordVersion {
        id: row.text(0)?,
        person_id: row.text(1)?,
        kind: VersionKind::parse(&kind).ok_or_else(|| DbError::Decode(format!("bad version kind {kind}")))?,
        item_id: row.text(3)?,
        version: row.integer(4)?,
        snapshot: json(row, 5)?,
        changed_by: row.text(6)?,
        organisation_id: row.text(7)?,
        changed_at: time(row, 8)?,
    })
}

const SCHEDULED_COLUMNS: &str =
    "id, person_id, organisation_id, starts_at, ends_at, status, carers, note, recorded_at, status_at, checked_in_at, checked_out_at";

fn scheduled_visit(row: &Row) -> Result<ScheduledVisit> {
    Ok(ScheduledVisit {
        visit: super::record::visit(row)?,
        status_at: optional_time(row, 9)?,
        checked_in_at: optional_time(row, 10)?,
        checked_out_at: optional_time(row, 11)?,
    })
}

/// Stops a plan unless the newest version of a part is the one the write was made from.
const VERSION_GUARD: &str = "INSERT INTO plan_guards (reason) SELECT ?1
     WHERE (SELECT COALESCE(MAX(version), 0) FROM record_versions WHERE person_id = ?2 AND kind = ?3 AND item_id = ?4) <> ?5";

#[async_trait(?Send)]
impl VersionStore for SqlStore<'_> {
    async fn insert_record_version(&self, version: &RecordVersion) -> Result<()> {
        self.db
            .execute(
                &format!("INSERT INTO record_versions ({VERSION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
                &[
                    version.id.as_str().into(),
                    version.person_id.as_str().into(),
                    version.kind.as_str().into(),
                    version.item_id.as_str().into(),
                    version.version.into(),
                    to_json(&version.snapshot)?,
                    version.changed_by.as_str().into(),
                    version.organisation_id.as_str().into(),
                    time_text(version.changed_at).into(),
                ],
            )
            .await
            .map(|_| ())
    }

    async fn record_version_is(&self, person_id: &str, kind: VersionKind, item_id: &str, version: i64) -> Result<bool> {
        self.guard(VERSION_GUARD, &[person_id.into(), kind.as_str().into(), item_id.into(), version.into()]).await
    }

    async fn record_item_is_theirs(&self, person_id: &str, kind: VersionKind, item_id: &str) -> Result<bool> {
        let sql = match kind {
            VersionKind::Medicine => "INSERT INTO plan_guards (reason) SELECT ?1 WHERE EXISTS (SELECT 1 FROM medicines WHERE id = ?2 AND person_id <> ?3)",
            VersionKind::Visit | VersionKind::VisitSchedule => {
                "INSERT INTO plan_guards (reason) SELECT ?1 WHERE EXISTS (SELECT 1 FROM care_visits WHERE id = ?2 AND person_id <> ?3)"
            }
            VersionKind::Allergy => "INSERT INTO plan_guards (reason) SELECT ?1 WHERE EXISTS (SELECT 1 FROM allergies WHERE id = ?2 AND person_id <> ?3)",
            VersionKind::Contacts | VersionKind::CarePlan | VersionKind::Guide => {
                "INSERT INTO plan_guards (reason) SELECT ?1 WHERE EXISTS (SELECT 1 FROM contacts WHERE id = ?2 AND person_id <> ?3)"
            }
        };
        self.guard(sql, &[item_id.into(), person_id.into()]).await
    }

    async fn record_versions(&self, permit: &Permit, kind: VersionKind, item_id: &str) -> Result<Vec<RecordVersion>> {
        let person_id = permit.subject_for(kind.category())?;
        self.all(
            &format!("SELECT {VERSION_COLUMNS} FROM record_versions WHERE person_id = ?1 AND kind = ?2 AND item_id = ?3 ORDER BY version DESC"),
            &[person_id.into(), kind.as_str().into(), item_id.into()],
            record_version,
        )
        .await
    }

    async fn latest_record_versions(&self, permit: &Permit, kind: VersionKind) -> Result<Vec<RecordVersion>> {
        let person_id = permit.subject_for(kind.category())?;
        self.all(
            &format!(
                "SELECT {VERSION_COLUMNS} FROM record_versions AS v WHERE person_id = ?1 AND kind = ?2
                 AND version = (SELECT MAX(version) FROM record_versions WHERE person_id = v.person_id AND kind = v.kind AND item_id = v.item_id)
                 ORDER BY item_id"
            ),
            &[person_id.into(), kind.as_str().into()],
            record_version,
        )
        .await
    }

    async fn record_version(&self, permit: &Permit, kind: VersionKind, id: &str) -> Result<Option<RecordVersion>> {
        let person_id = permit.subject_for(kind.category())?;
        self.one(
            &format!("SELECT {VERSION_COLUMNS} FROM record_versions WHERE person_id = ?1 AND kind = ?2 AND id = ?3"),
            &[person_id.into(), kind.as_str().into(), id.into()],
            record_version,
        )
        .await
    }

    async fn delete_contacts(&self, person_id: &str) -> Result<()> {
        self.db.execute("DELETE FROM contacts WHERE person_id = ?1", &[person_id.into()]).await.map(|_| ())
    }

    async fn delete_planned_visits(&self, person_id: &str, organisation_id: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<()> {
        self.db
            .execute(
                "DELETE FROM care_visits WHERE person_id = ?1 AND organisation_id = ?2 AND status = 'planned' AND starts_at >= ?3 AND starts_at < ?4",
                &[person_id.into(), organisation_id.into(), time_text(from).into(), time_text(to).into()],
            )
            .await
            .map(|_| ())
    }

    async fn set_visit_status(&self, person_id: &str, visit_id: &str, status: VisitStatus, at: DateTime<Utc>) -> Result<()> {
        self.db
            .execute(
                "UPDATE care_visits SET status = ?3, status_at = ?4,
                   checked_in_at = CASE WHEN ?3 = 'checked_in' THEN ?4 ELSE checked_in_at END,
                   checked_out_at = CASE WHEN ?3 = 'checked_out' THEN ?4 ELSE checked_out_at END
                 WHERE person_id = ?1 AND id = ?2",
                &[person_id.into(), visit_id.into(), status.as_str().into(), time_text(at).into()],
            )
            .await
            .map(|_| ())
    }

    async fn scheduled_visits(&self, permit: &Permit, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<ScheduledVisit>> {
        let person_id = permit.subject_for(crate::consent::Category::VisitsAndNotes)?;
        self.all(
            &format!("SELECT {SCHEDULED_COLUMNS} FROM care_visits WHERE person_id = ?1 AND starts_at >= ?2 AND starts_at < ?3 ORDER BY starts_at, id"),
            &[person_id.into(), time_text(from).into(), time_text(to).into()],
            scheduled_visit,
        )
        .await
    }

    async fn scheduled_visit(&self, permit: &Permit, id: &str) -> Result<Option<ScheduledVisit>> {
        let person_id = permit.subject_for(crate::consent::Category::VisitsAndNotes)?;
        self.one(&format!("SELECT {SCHEDULED_COLUMNS} FROM care_visits WHERE person_id = ?1 AND id = ?2"), &[person_id.into(), id.into()], scheduled_visit)
            .await
    }

    async fn mark_allergy_error(&self, person_id: &str, allergy_id: &str, reason: &str, marked_by: &str, at: DateTime<Utc>) -> Result<()> {
        self.db
            .execute(
                "INSERT INTO allergy_errors (allergy_id, person_id, reason, marked_by, marked_at)
                 SELECT id, person_id, ?3, ?4, ?5 FROM allergies WHERE id = ?2 AND person_id = ?1",
                &[person_id.into(), allergy_id.into(), reason.into(), marked_by.into(), time_text(at).into()],
            )
            .await
            .map(|_| ())
    }
}
