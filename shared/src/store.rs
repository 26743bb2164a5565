//! The `Store` trait every handler uses, and its one implementation over any SQLite-dialect
//! [`Database`]: the SQL is written once for D1, Spin SQLite and rusqlite alike.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

use crate::access::{AuditAction, Permit};
use crate::consent::{Basis, Category, Grant, Grantee};
use crate::db::{Database, DbError, Row, Statement, Value};
use crate::domain::{
    AuditEvent, CarePlan, CeremonyKind, CeremonyRecord, Invitation, Organisation, OrganisationKind, PasskeyRecord, Person, Role, SessionRecord,
};
use crate::plan::Plan;
use crate::receipt::{ConsentReceipt, Controller, PiiController};

/// Errors from the store are database errors.
pub type StoreError = DbError;
type Result<T> = std::result::Result<T, StoreError>;

/// What became of a request to remove a passkey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasskeyRemoval {
    /// It is gone.
    Removed,
    /// The person has no passkey with that id.
    NotFound,
    /// It is the person's only passkey, so it stays: they would be locked out.
    LastOne,
}

/// What became of an edit to a grant.
#[derive(Debug, Clone, PartialEq)]
pub enum GrantUpdate {
    /// Saved as this new version.
    Updated(i64),
    /// Someone changed the grant since the edit's version: nothing was written. This is the
    /// grant as it is now (`None` if there is no such grant for that person).
    Conflict(Option<Box<Grant>>),
}

pub mod account;
pub mod credential;
pub mod discussion;
pub mod duty;
pub mod emergency;
pub mod idempotency;
pub mod invitation;
pub mod outbox;
pub mod people;
pub mod preferences;
pub mod record;
pub mod staff;
pub mod support;
pub mod versions;
pub mod voice;

pub use account::AccountStore;
pub use credential::CredentialStore;
pub use discussion::DiscussionStore;
pub use duty::DutyContactStore;
pub use emergency::EmergencyStore;
pub use idempotency::IdempotencyStore;
pub use invitation::{InvitationStore, NotEnrolled};
pub use outbox::OutboxStore;
pub use people::PeopleStore;
pub use preferences::PreferenceStore;
pub use record::{Page, RecordStore};
pub use staff::StaffStore;
pub use support::{KeptFigures, SupportStore};
pub use versions::VersionStore;
pub use voice::VoiceStore;

/// Every store trait, unnamed, for calling the store's methods on a [`SqlStore`]
/// (`use carefront_shared::store::prelude::*;`). Code takes the concrete `&SqlStore`, not
/// `&SqlStore<'_>`: a trait object's vtable would keep every method of every store trait in each
/// worker and component, the ones it never calls included (bench/bundle/README.md).
pub mod prelude {
    pub use super::{
        AccountStore as _, CredentialStore as _, DiscussionStore as _, DutyContactStore as _, EmergencyStore as _, IdempotencyStore as _, InvitationStore as _,
        OutboxStore as _, PeopleStore as _, PreferenceStore as _, RecordStore as _, StaffStore as _, Store as _, SupportStore as _, VersionStore as _,
        VoiceStore as _,
    };
}

/// Everything carefront keeps, behind one async interface (no `Send` bound). Larger areas have
/// their own traits (e.g. [`RecordStore`]), which every `Store` also is.
#[async_trait(?Send)]
pub trait Store:
    AccountStore
    + RecordStore
    + VersionStore
    + VoiceStore
    + DiscussionStore
    + EmergencyStore
    + CredentialStore
    + IdempotencyStore
    + PeopleStore
    + StaffStore
    + InvitationStore
    + OutboxStore
    + PreferenceStore
    + DutyContactStore
    + SupportStore
{
    /// Checks that the store answers.
    async fn health(&self) -> Result<()>;

    /// Adds an organisation (or leaves an existing one with the same id alone).
    async fn insert_organisation(&self, organisation: &Organisation) -> Result<()>;
    /// Adds a person (or leaves an existing one with the same id alone).
    async fn insert_person(&self, person: &Person) -> Result<()>;
    /// The person with this id.
    async fn person(&self, id: &str) -> Result<Option<Person>>;
    /// The organisation with this id.
    async fn organisation(&self, id: &str) -> Result<Option<Organisation>>;
    /// Every organisation of a kind, by name.
    async fn organisations(&self, kind: OrganisationKind) -> Result<Vec<Organisation>>;
    /// The person whose passkeys carry this WebAuthn user handle.
    async fn person_by_webauthn_handle(&self, handle: &uuid::Uuid) -> Result<Option<Person>>;

    /// Stores a new invitation.
    async fn insert_invitation(&self, invitation: &Invitation) -> Result<()>;
    /// The invitation with this public selector.
    async fn invitation_by_selector(&self, selector: &str) -> Result<Option<Invitation>>;
    /// Counts a wrong code against an invitation.
    async fn record_failed_invitation_attempt(&self, id: &str) -> Result<()>;
    /// Marks an invitation used; `false` if it was already used or has been cancelled (single
    /// use, atomically: a cancel between accepting the code and creating the passkey wins).
    async fn consume_invitation(&self, id: &str, now: DateTime<Utc>) -> Result<bool>;

    /// Counts one attempt under `key` in the fixed window starting at `window_start` and
    /// returns the attempts in that window so far, this one included.
    async fn count_attempt(&self, key: &str, window_start: DateTime<Utc>) -> Result<i64>;
    /// Takes back one attempt counted under `key` in the window starting at `window_start` (the
    /// code was right, so it was no failure); nothing if that window is over.
    async fn forgive_attempt(&self, key: &str, window_start: DateTime<Utc>) -> Result<()>;

    /// Stores a new session.
    async fn insert_session(&self, session: &SessionRecord) -> Result<()>;
    /// The session with this id hash.
    async fn session(&self, id_hash: &str) -> Result<Option<SessionRecord>>;
    /// Records that the session was used at `now`.
    async fn touch_session(&self, id_hash: &str, now: DateTime<Utc>) -> Result<()>;
    /// A person's live session rows, newest first (for "where you are signed in").
    async fn sessions_for_person(&self, person_id: &str) -> Result<Vec<SessionRecord>>;
    /// Ends a session: the row goes, so a copied cookie is dead.
    async fn delete_session(&self, id_hash: &str) -> Result<()>;

    /// Stores ceremony state. In the same batch it deletes expired ceremonies and rate-limit
    /// counts whose window is over, so the starts that write rows also clear them away.
    async fn insert_ceremony(&self, ceremony: &CeremonyRecord) -> Result<()>;
    /// Reads ceremony state without using it up (enrolments last across retries).
    async fn ceremony(&self, id_hash: &str) -> Result<Option<CeremonyRecord>>;
    /// Takes ceremony state: it is deleted in the same statement, so it is used at most once.
    async fn take_ceremony(&self, id_hash: &str) -> Result<Option<CeremonyRecord>>;
    /// Deletes ceremony state.
    async fn delete_ceremony(&self, id_hash: &str) -> Result<()>;
    /// Deletes ceremonies that expired before `now` (abandoned ones would otherwise pile up).
    async fn delete_expired_ceremonies(&self, now: DateTime<Utc>) -> Result<()>;

    /// Stores a newly registered passkey.
    async fn insert_passkey(&self, passkey: &PasskeyRecord) -> Result<()>;
    /// A person's passkeys, oldest first.
    async fn passkeys(&self, person_id: &str) -> Result<Vec<PasskeyRecord>>;
    /// The passkey with this WebAuthn credential id (base64url).
    async fn passkey_by_credential_id(&self, credential_id: &str) -> Result<Option<PasskeyRecord>>;
    /// Saves a passkey's updated counter and the time it was used.
    async fn record_passkey_use(&self, passkey: &PasskeyRecord, now: DateTime<Utc>) -> Result<()>;
    /// Renames one of the person's passkeys; `false` if they have no such passkey.
    async fn rename_passkey(&self, person_id: &str, id: &str, name: &str) -> Result<bool>;

    /// Stores or replaces a person's care plan (a person has one: a replacement keeps the
    /// stored plan's id).
    async fn upsert_care_plan(&self, plan: &CarePlan) -> Result<()>;
    /// The person's care plan.
    async fn care_plan(&self, permit: &Permit) -> Result<Option<CarePlan>>;

    /// Records a new grant (version 1); its history row is written by the database.
    async fn insert_grant(&self, grant: &Grant, changed_at: DateTime<Utc>, acting_for: Option<&str>) -> Result<()>;
    /// Every grant about a person, in any state, oldest first.
    async fn grants_for_subject(&self, subject_id: &str) -> Result<Vec<Grant>>;
    /// Every grant held by a person, directly or through their organisation.
    async fn grants_held_by(&self, person_id: &str, organisation_id: Option<&str>) -> Result<Vec<Grant>>;
    /// Every grant not revoked whose end is after `after` and no later than `until`, soonest
    /// end first: one read for the scheduled "access ending" notices, whoever's grants they are.
    async fn grants_ending_between(&self, after: DateTime<Utc>, until: DateTime<Utc>) -> Result<Vec<Grant>>;
    /// Saves an edit of a grant made from `grant.version`; if the stored grant has moved on,
    /// nothing is written and the current grant comes back (optimistic concurrency).
    async fn update_grant(&self, grant: &Grant, changed_at: DateTime<Utc>, acting_for: Option<&str>) -> Result<GrantUpdate>;
    /// Every version of a grant as JSON snapshots, oldest first.
    async fn grant_history(&self, grant_id: &str) -> Result<Vec<(i64, String)>>;

    /// Sets an organisation's contact details (named on consent receipts).
    async fn set_organisation_contact(&self, id: &str, email: &str, phone: &str, address: &str, privacy_url: &str) -> Result<()>;
    /// The council named on consent receipts as the controller of the record.
    async fn receipt_controller(&self) -> Result<Option<Controller>>;
    /// Keeps a consent receipt (append-only).
    async fn insert_receipt(&self, subject_id: &str, receipt: &ConsentReceipt, issued_at: DateTime<Utc>) -> Result<()>;
    /// The receipt with this id, if it is about `subject_id`.
    async fn receipt(&self, subject_id: &str, id: &str) -> Result<Option<ConsentReceipt>>;
    /// A person's receipts, newest first.
    async fn receipts_for_subject(&self, subject_id: &str) -> Result<Vec<ConsentReceipt>>;

    /// Appends to the audit log (there is no way to change or remove an entry).
    async fn append_audit(&self, event: &AuditEvent) -> Result<()>;
    /// Applies a change's plan atomically: every statement, or none.
    async fn apply(&self, plan: &Plan) -> Result<()>;
    /// The newest audit events about a person, newest first.
    async fn audit_for_subject(&self, permit: &Permit, limit: i64) -> Result<Vec<AuditEvent>>;
    /// One page of a person's access log, newest first, filtered in the database (never loaded
    /// whole and filtered after, so nothing can flush an entry out of sight).
    async fn audit_page(&self, permit: &Permit, filter: &AuditFilter, cursor: Option<&str>, limit: i64) -> Result<Page<AuditEvent>>;
    /// Everyone who appears in a person's access log (`None`: no one signed in), for its filter.
    async fn audit_actors(&self, permit: &Permit) -> Result<Vec<Option<String>>>;
}

/// Stops a plan (or a direct edit) unless the grant is still at the version the edit was made
/// from (see [`Plan::guard`]).
const GRANT_VERSION_GUARD: &str =
    "INSERT INTO plan_guards (reason) SELECT ?1 WHERE NOT EXISTS (SELECT 1 FROM grants WHERE id = ?2 AND version = ?3 AND subject_id = ?4)";

/// Which entries of an access log to show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only what this actor did.
    pub actor_id: Option<String>,
    /// Only from this time on.
    pub from: Option<DateTime<Utc>>,
    /// Only before this time.
    pub before: Option<DateTime<Utc>>,
    /// Not what this actor did (the reader's own looks, which a person mostly does not come
    /// for); entries with no actor are kept.
    pub except_actor: Option<String>,
}

/// The [`Store`] over any SQLite-dialect database.
pub struct SqlStore<'a> {
    db: &'a dyn Database,
}

impl<'a> SqlStore<'a> {
    /// A store over `db`.
    pub fn new(db: &'a dyn Database) -> Self {
        SqlStore { db }
    }

    async fn one<T>(&self, sql: &str, params: &[Value], decode: fn(&Row) -> Result<T>) -> Result<Option<T>> {
        self.db.query(sql, params).await?.first().map(decode).transpose()
    }

    /// Runs a plan guard (see [`Plan::guard`]): `false` if it stopped, because what it checks
    /// has changed. In a plan, the same statement stops the whole batch.
    pub(crate) async fn guard(&self, sql: &str, params: &[Value]) -> Result<bool> {
        let mut bound = vec![Value::Text(crate::plan::STALE.to_owned())];
        bound.extend_from_slice(params);
        match self.db.execute(sql, &bound).await {
            Ok(_) => Ok(true),
            Err(DbError::Constraint(_)) => Ok(false),
            Err(error) => Err(error),
        }
    }

    async fn all<T>(&self, sql: &str, params: &[Value], decode: fn(&Row) -> Result<T>) -> Result<Vec<T>> {
        self.db.query(sql, params).await?.iter().map(decode).collect()
    }
}

/// Formats a time as stored: RFC 3339, UTC, milliseconds, so text order is time order.
pub fn time_text(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn time(row: &Row, index: usize) -> Result<DateTime<Utc>> {
    let text = row.text(index)?;
    DateTime::parse_from_rfc3339(&text).map(|time| time.with_timezone(&Utc)).map_err(|_| DbError::Decode(format!("column {index}: not a time: {text}")))
}

fn optional_time(row: &Row, index: usize) -> Result<Option<DateTime<Utc>>> {
    match row.optional_text(index)? {
        None => Ok(None),
        Some(_) => time(row, index).map(Some),
    }
}

fn json<T: serde::de::DeserializeOwned>(row: &Row, index: usize) -> Result<T> {
    serde_json::from_str(&row.text(index)?).map_err(|error| DbError::Decode(format!("column {index}: {error}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Value> {
    serde_json::to_string(value).map(Value::Text).map_err(|error| DbError::Decode(error.to_string()))
}

fn organisation(row: &Row) -> Result<Organisation> {
    let kind = row.text(1)?;
    Ok(Organisation {
        id: row.text(0)?,
        kind: match kind.as_str() {
            "council" => OrganisationKind::Council,
            "provider" => OrganisationKind::Provider,
            other => return Err(DbError::Decode(format!("unknown organisation kind {other}"))),
        },
        name: row.text(2)?,
        created_at: time(row, 3)?,
    })
}

const PERSON_COLUMNS: &str = "id, role, display_name, organisation_id, webauthn_handle, created_at";

fn person(row: &Row) -> Result<Person> {
    let role = row.text(1)?;
    let handle = row.text(4)?;
    Ok(Person {
        id: row.text(0)?,
        role: Role::parse(&role).ok_or_else(|| DbError::Decode(format!("unknown role {role}")))?,
        display_name: row.text(2)?,
        organisation_id: row.optional_text(3)?,
        webauthn_handle: handle.parse().map_err(|_| DbError::Decode(format!("bad user handle {handle}")))?,
        created_at: time(row, 5)?,
    })
}

const INVITATION_COLUMNS: &str = "id, selector, verifier_hash, person_id, created_by, created_at, expires_at, used_at, failed_attempts, cancelled_at, cancelled_by, replaces, purpose, identity_check";

fn invitation(row: &Row) -> Result<Invitation> {
    Ok(Invitation {
        id: row.text(0)?,
        selector: row.text(1)?,
        verifier_hash: row.text(2)?,
        person_id: row.text(3)?,
        created_by: row.optional_text(4)?,
        created_at: time(row, 5)?,
        expires_at: time(row, 6)?,
        used_at: optional_time(row, 7)?,
        failed_attempts: row.integer(8)?,
        cancelled_at: optional_time(row, 9)?,
        cancelled_by: row.optional_text(10)?,
        replaces: row.optional_text(11)?,
        purpose: crate::domain::InvitationPurpose::parse(&row.text(12)?),
        identity_check: row.optional_text(13)?,
    })
}

const SESSION_COLUMNS: &str = "id_hash, person_id, created_at, last_seen_at, verified_at, passkey_id";

fn session(row: &Row) -> Result<SessionRecord> {
    let created_at = time(row, 2)?;
    Ok(SessionRecord {
        id_hash: row.text(0)?,
        person_id: row.text(1)?,
        created_at,
        last_seen_at: time(row, 3)?,
        verified_at: optional_time(row, 4)?.unwrap_or(created_at),
        passkey_id: row.optional_text(5)?,
    })
}

const CEREMONY_COLUMNS: &str = "id_hash, kind, person_id, invitation_id, state, created_at, expires_at";

fn ceremony(row: &Row) -> Result<CeremonyRecord> {
    let kind = row.text(1)?;
    Ok(CeremonyRecord {
        id_hash: row.text(0)?,
        kind: CeremonyKind::parse(&kind).ok_or_else(|| DbError::Decode(format!("unknown ceremony kind {kind}")))?,
        person_id: row.optional_text(2)?,
        invitation_id: row.optional_text(3)?,
        state: row.text(4)?,
        created_at: time(row, 5)?,
        expires_at: time(row, 6)?,
    })
}

const PASSKEY_COLUMNS: &str = "id, person_id, credential_id, name, passkey, created_at, last_used_at";

fn passkey(row: &Row) -> Result<PasskeyRecord> {
    Ok(PasskeyRecord {
        id: row.text(0)?,
        person_id: row.text(1)?,
        credential_id: row.text(2)?,
        name: row.text(3)?,
        passkey: json(row, 4)?,
        created_at: time(row, 5)?,
        last_used_at: optional_time(row, 6)?,
    })
}

const CARE_PLAN_COLUMNS: &str = "id, person_id, summary, outcomes, support, visit_schedule, review_due, written_by, updated_at, needs, risks";

fn care_plan(row: &Row) -> Result<CarePlan> {
    let review = row.text(6)?;
    Ok(CarePlan {
        id: row.text(0)?,
        person_id: row.text(1)?,
        summary: row.text(2)?,
        outcomes: json(row, 3)?,
        support: json(row, 4)?,
        visit_schedule: json(row, 5)?,
        review_due: NaiveDate::parse_from_str(&review, "%Y-%m-%d").map_err(|_| DbError::Decode(format!("bad review date {review}")))?,
        written_by: row.text(7)?,
        updated_at: time(row, 8)?,
        needs: json(row, 9)?,
        risks: json(row, 10)?,
    })
}

const GRANT_COLUMNS: &str =
    "id, version, subject_id, grantee_kind, grantee_id, categories, actions, act_for, purpose, starts_at, ends_at, basis, evidence, recorded_by, revoked_at";

fn grant(row: &Row) -> Result<Grant> {
    let kind = row.text(3)?;
    let grantee_id = row.text(4)?;
    let basis = row.text(11)?;
    Ok(Grant {
        id: row.text(0)?,
        version: row.integer(1)?,
        subject_id: row.text(2)?,
        grantee: match kind.as_str() {
            "person" => Grantee::Person(grantee_id),
            "organisation" => Grantee::Organisation(grantee_id),
            other => return Err(DbError::Decode(format!("unknown grantee kind {other}"))),
        },
        categories: json(row, 5)?,
        actions: json(row, 6)?,
        act_for: row.integer(7)? == 1,
        purpose: row.text(8)?,
        starts_at: time(row, 9)?,
        ends_at: optional_time(row, 10)?,
        basis: Basis::parse(&basis).ok_or_else(|| DbError::Decode(format!("unknown basis {basis}")))?,
        evidence: row.optional_text(12)?,
        recorded_by: row.text(13)?,
        revoked_at: optional_time(row, 14)?,
    })
}

fn grant_params(grant: &Grant) -> Result<Vec<Value>> {
    let (kind, grantee_id) = match &grant.grantee {
        Grantee::Person(id) => ("person", id.as_str()),
        Grantee::Organisation(id) => ("organisation", id.as_str()),
    };
    Ok(vec![
        grant.id.as_str().into(),
        grant.version.into(),
        grant.subject_id.as_str().into(),
        kind.into(),
        grantee_id.into(),
        to_json(&grant.categories)?,
        to_json(&grant.actions)?,
        i64::from(grant.act_for).into(),
        grant.purpose.as_str().into(),
        time_text(grant.starts_at).into(),
        grant.ends_at.map(time_text).into(),
        grant.basis.as_str().into(),
        grant.evidence.as_deref().into(),
        grant.recorded_by.as_str().into(),
        grant.revoked_at.map(time_text).into(),
    ])
}

const AUDIT_COLUMNS: &str = "id, at, actor_id, acting_for, subject_id, action, category, basis, detail";

fn audit_event(row: &Row) -> Result<AuditEvent> {
    let action = row.text(5)?;
    let category = match row.optional_text(6)? {
        None => None,
        Some(text) => Some(Category::parse(&text).ok_or_else(|| DbError::Decode(format!("unknown category {text}")))?),
    };
    Ok(crate::access::stored_event(
        row.text(0)?,
        time(row, 1)?,
        row.optional_text(2)?,
        row.optional_text(3)?,
        row.optional_text(4)?,
        AuditAction::parse(&action).ok_or_else(|| DbError::Decode(format!("unknown audit action {action}")))?,
        category,
        row.optional_text(7)?,
        row.text(8)?,
    ))
}

#[async_trait(?Send)]
impl Store for SqlStore<'_> {
    async fn health(&self) -> Result<()> {
        self.db.query("SELECT 1", &[]).await.map(|_| ())
    }

    async fn insert_organisation(&self, organisation: &Organisation) -> Result<()> {
        self.db
            .execute(
                "INSERT INTO organisations (id, kind, name, created_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO NOTHING",
                &[
                    organisation.id.as_str().into(),
                    organisation.kind.as_str().into(),
                    organisation.name.as_str().into(),
                    time_text(organisation.created_at).into(),
                ],
            )
            .await
            .map(|_| ())
    }

    async fn insert_person(&self, person: &Person) -> Result<()> {
        self.db
            .execute(
                "INSERT INTO people (id, role, display_name, organisation_id, webauthn_handle, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO NOTHING",
                &[
                    person.id.as_str().into(),
                    person.role.as_str().into(),
                    person.display_name.as_str().into(),
                    person.organisation_id.as_deref().into(),
                    person.webauthn_handle.to_string().into(),
                    time_text(person.created_at).into(),
                ],
            )
            .await
            .map(|_| ())
    }

    async fn organisation(&self, id: &str) -> Result<Option<Organisation>> {
        self.one("SELECT id, kind, name, created_at FROM organisations WHERE id = ?1", &[id.into()], organisation).await
    }

    async fn organisations(&self, kind: OrganisationKind) -> Result<Vec<Organisation>> {
        let kind = match kind {
            OrganisationKind::Council => "council",
            OrganisationKind::Provider => "provider",
        };
        self.all("SELECT id, kind, name, created_at FROM organisations WHERE kind = ?1 ORDER BY name, id", &[kind.into()], organisation).await
    }

    async fn person(&self, id: &str) -> Result<Option<Person>> {
        self.one(&format!("SELECT {PERSON_COLUMNS} FROM people WHERE id = ?1"), &[id.into()], person).await
    }

    async fn person_by_webauthn_handle(&self, handle: &uuid::Uuid) -> Result<Option<Person>> {
        self.one(&format!("SELECT {PERSON_COLUMNS} FROM people WHERE webauthn_handle = ?1"), &[handle.to_string().into()], person).await
    }

    async fn insert_invitation(&self, invitation: &Invitation) -> Result<()> {
        self.db
            .execute(
                &format!("INSERT INTO invitations ({INVITATION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"),
                &[
                    invitation.id.as_str().into(),
                    invitation.selector.as_str().into(),
                    invitation.verifier_hash.as_str().into(),
                    invitation.person_id.as_str().into(),
                    invitation.created_by.as_deref().into(),
                    time_text(invitation.created_at).into(),
                    time_text(invitation.expires_at).into(),
                    invitation.used_at.map(time_text).into(),
                    invitation.failed_attempts.into(),
                    invitation.cancelled_at.map(time_text).into(),
                    invitation.cancelled_by.as_deref().into(),
                    invitation.replaces.as_deref().into(),
                    invitation.purpose.as_str().into(),
                    invitation.identity_check.as_deref().into(),
                ],
            )
            .await
            .map(|_| ())
    }

    async fn invitation_by_selector(&self, selector: &str) -> Result<Option<Invitation>> {
        self.one(&format!("SELECT {INVITATION_COLUMNS} FROM invitations WHERE selector = ?1"), &[selector.into()], invitation).await
    }

    async fn record_failed_invitation_attempt(&self, id: &str) -> Result<()> {
        self.db.execute("UPDATE invitations SET failed_attempts = failed_attempts + 1 WHERE id = ?1", &[id.into()]).await.map(|_| ())
    }

    async fn consume_invitation(&self, id: &str, now: DateTime<Utc>) -> Result<bool> {
        let changed = self
            .db
            .execute("UPDATE invitations SET used_at = ?2 WHERE id = ?1 AND used_at IS NULL AND cancelled_at IS NULL", &[id.into(), time_text(now).into()])
            .await?;
        Ok(changed > 0)
    }

    async fn count_attempt(&self, key: &str, window_start: DateTime<Utc>) -> Result<i64> {
        let rows = self
            .db
            .query(
                "INSERT INTO rate_limits (key, window_start, hits) VALUES (?1, ?2, 1)
                 ON CONFLICT (key) DO UPDATE SET
                   hits = CASE WHEN rate_limits.window_start = excluded.window_start THEN rate_limits.hits + 1 ELSE 1 END,
                   window_start = excluded.window_start
                 RETURNING hits",
                &[key.into(), time_text(window_start).into()],
            )
            .await?;
        rows.first().ok_or_else(|| DbError::Decode("rate limit upsert returned no row".into()))?.integer(0)
    }

    async fn forgive_attempt(&self, key: &str, window_start: DateTime<Utc>) -> Result<()> {
        self.db
            .execute("UPDATE rate_limits SET hits = hits - 1 WHERE key = ?1 AND window_start = ?2 AND hits > 0", &[key.into(), time_text(window_start).into()])
            .await
            .map(|_| ())
    }

    async fn insert_session(&self, session: &SessionRecord) -> Result<()> {
        self.db
            .execute(
                &format!("INSERT INTO sessions ({SESSION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
                &[
                    session.id_hash.as_str().into(),
                    session.person_id.as_str().into(),
                    time_text(session.created_at).into(),
                    time_text(session.last_seen_at).into(),
                    time_text(session.verified_at).into(),
                    session.passkey_id.as_deref().into(),
                ],
            )
            .await
            .map(|_| ())
    }

    async fn session(&self, id_hash: &str) -> Result<Option<SessionRecord>> {
        self.one(&format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id_hash = ?1"), &[id_hash.into()], session).await
    }

    async fn touch_session(&self, id_hash: &str, now: DateTime<Utc>) -> Result<()> {
        self.db.execute("UPDATE sessions SET last_seen_at = ?2 WHERE id_hash = ?1", &[id_hash.into(), time_text(now).into()]).await.map(|_| ())
    }

    async fn sessions_for_person(&self, person_id: &str) -> Result<Vec<SessionRecord>> {
        self.all(&format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE person_id = ?1 ORDER BY created_at DESC, id_hash"), &[person_id.into()], session).await
    }

    async fn delete_session(&self, id_hash: &str) -> Result<()> {
        self.db.execute("DELETE FROM sessions WHERE id_hash = ?1", &[id_hash.into()]).await.map(|_| ())
    }

    async fn insert_ceremony(&self, ceremony: &CeremonyRecord) -> Result<()> {
        let now = time_text(ceremony.created_at);
        self.db
            .batch(&[
                Statement { sql: "DELETE FROM ceremonies WHERE expires_at <= ?1".into(), params: vec![now.clone().into()] },
                Statement {
                    sql: "DELETE FROM rate_limits WHERE window_start < ?1".into(),
                    params: vec![time_text(crate::limits::stale_before(ceremony.created_at)).into()],
                },
                Statement {
                    sql: "INSERT INTO ceremonies (id_hash, kind, person_id, invitation_id, state, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                        .into(),
                    params: vec![
                        ceremony.id_hash.as_str().into(),
                        ceremony.kind.as_str().into(),
                        ceremony.person_id.as_deref().into(),
                        ceremony.invitation_id.as_deref().into(),
                        ceremony.state.as_str().into(),
                        now.into(),
                        time_text(ceremony.expires_at).into(),
                    ],
                },
            ])
            .await
    }

    async fn ceremony(&self, id_hash: &str) -> Result<Option<CeremonyRecord>> {
        self.one(&format!("SELECT {CEREMONY_COLUMNS} FROM ceremonies WHERE id_hash = ?1"), &[id_hash.into()], ceremony).await
    }

    async fn take_ceremony(&self, id_hash: &str) -> Result<Option<CeremonyRecord>> {
        self.one(&format!("DELETE FROM ceremonies WHERE id_hash = ?1 RETURNING {CEREMONY_COLUMNS}"), &[id_hash.into()], ceremony).await
    }

    async fn delete_ceremony(&self, id_hash: &str) -> Result<()> {
        self.db.execute("DELETE FROM ceremonies WHERE id_hash = ?1", &[id_hash.into()]).await.map(|_| ())
    }

    async fn delete_expired_ceremonies(&self, now: DateTime<Utc>) -> Result<()> {
        self.db.execute("DELETE FROM ceremonies WHERE expires_at <= ?1", &[time_text(now).into()]).await.map(|_| ())
    }

    async fn insert_passkey(&self, passkey: &PasskeyRecord) -> Result<()> {
        self.db
            .execute(
                &format!("INSERT INTO passkeys ({PASSKEY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
                &[
                    passkey.id.as_str().into(),
                    passkey.person_id.as_str().into(),
                    passkey.credential_id.as_str().into(),
                    passkey.name.as_str().into(),
                    to_json(&passkey.passkey)?,
                    time_text(passkey.created_at).into(),
                    passkey.last_used_at.map(time_text).into(),
                ],
            )
            .await
            .map(|_| ())
    }

    async fn passkeys(&self, person_id: &str) -> Result<Vec<PasskeyRecord>> {
        self.all(&format!("SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE person_id = ?1 ORDER BY created_at, id"), &[person_id.into()], passkey).await
    }

    async fn passkey_by_credential_id(&self, credential_id: &str) -> Result<Option<PasskeyRecord>> {
        self.one(&format!("SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE credential_id = ?1"), &[credential_id.into()], passkey).await
    }

    async fn record_passkey_use(&self, passkey: &PasskeyRecord, now: DateTime<Utc>) -> Result<()> {
        self.db
            .execute(
                "UPDATE passkeys SET passkey = ?2, last_used_at = ?3 WHERE id = ?1",
                &[passkey.id.as_str().into(), to_json(&passkey.passkey)?, time_text(now).into()],
            )
            .await
            .map(|_| ())
    }

    async fn rename_passkey(&self, person_id: &str, id: &str, name: &str) -> Result<bool> {
        let changed = self.db.execute("UPDATE passkeys SET name = ?3 WHERE id = ?1 AND person_id = ?2", &[id.into(), person_id.into(), name.into()]).await?;
        Ok(changed > 0)
    }

    async fn upsert_care_plan(&self, plan: &CarePlan) -> Result<()> {
        self.db
            .execute(
                &format!(
                    "INSERT INTO care_plans ({CARE_PLAN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                     ON CONFLICT (person_id) DO UPDATE SET summary = excluded.summary, outcomes = excluded.outcomes,
                       needs = excluded.needs, risks = excluded.risks,
                       support = excluded.support, visit_schedule = excluded.visit_schedule,
                       review_due = excluded.review_due, written_by = excluded.written_by, updated_at = excluded.updated_at"
                ),
                &[
                    plan.id.as_str().into(),
                    plan.person_id.as_str().into(),
                    plan.summary.as_str().into(),
                    to_json(&plan.outcomes)?,
                    to_json(&plan.support)?,
                    to_json(&plan.visit_schedule)?,
                    plan.review_due.format("%Y-%m-%d").to_string().into(),
                    plan.written_by.as_str().into(),
                    time_text(plan.updated_at).into(),
                    to_json(&plan.needs)?,
                    to_json(&plan.risks)?,
                ],
            )
            .await
            .map(|_| ())
    }

    async fn care_plan(&self, permit: &Permit) -> Result<Option<CarePlan>> {
        let person_id = permit.subject_for(Category::CarePlan)?;
        self.one(&format!("SELECT {CARE_PLAN_COLUMNS} FROM care_plans WHERE person_id = ?1"), &[person_id.into()], care_plan).await
    }

    async fn insert_grant(&self, grant: &Grant, changed_at: DateTime<Utc>, acting_for: Option<&str>) -> Result<()> {
        let mut params = grant_params(&Grant { version: 1, ..grant.clone() })?;
        params.push(acting_for.into());
        params.push(time_text(changed_at).into());
        self.db
            .execute(
                &format!("INSERT INTO grants ({GRANT_COLUMNS}, acting_for, changed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"),
                &params,
            )
            .await
            .map(|_| ())
    }

    async fn grants_for_subject(&self, subject_id: &str) -> Result<Vec<Grant>> {
        self.all(&format!("SELECT {GRANT_COLUMNS} FROM grants WHERE subject_id = ?1 ORDER BY starts_at, id"), &[subject_id.into()], grant).await
    }

    async fn grants_held_by(&self, person_id: &str, organisation_id: Option<&str>) -> Result<Vec<Grant>> {
        self.all(
            &format!(
                "SELECT {GRANT_COLUMNS} FROM grants
                 WHERE (grantee_kind = 'person' AND grantee_id = ?1) OR (grantee_kind = 'organisation' AND grantee_id = ?2)
                 ORDER BY starts_at, id"
            ),
            &[person_id.into(), organisation_id.into()],
            grant,
        )
        .await
    }

    async fn grants_ending_between(&self, after: DateTime<Utc>, until: DateTime<Utc>) -> Result<Vec<Grant>> {
        // A range on the partial index `grants_ending` (migration 25): the grants about to end,
        // not every grant there is.
        self.all(
            &format!("SELECT {GRANT_COLUMNS} FROM grants WHERE revoked_at IS NULL AND ends_at > ?1 AND ends_at <= ?2 ORDER BY ends_at, id"),
            &[time_text(after).into(), time_text(until).into()],
            grant,
        )
        .await
    }

    async fn update_grant(&self, grant: &Grant, changed_at: DateTime<Utc>, acting_for: Option<&str>) -> Result<GrantUpdate> {
        let mut params = grant_params(grant)?;
        params.push(acting_for.into());
        params.push(time_text(changed_at).into());
        // The guard stops a stale edit (in a plan it stops the whole batch); the UPDATE repeats
        // the check, so the version test and the write cannot be split by another edit. The
        // subject is part of the key, so a forged id for someone else's grant changes nothing.
        let fresh = self.guard(GRANT_VERSION_GUARD, &[grant.id.as_str().into(), grant.version.into(), grant.subject_id.as_str().into()]).await?;
        let changed = match fresh {
            true => {
                self.db
                    .execute(
                        "UPDATE grants SET version = version + 1, grantee_kind = ?4, grantee_id = ?5, categories = ?6, actions = ?7,
                           act_for = ?8, purpose = ?9, starts_at = ?10, ends_at = ?11, basis = ?12, evidence = ?13, recorded_by = ?14,
                           revoked_at = ?15, acting_for = ?16, changed_at = ?17
                         WHERE id = ?1 AND version = ?2 AND subject_id = ?3",
                        &params,
                    )
                    .await?
            }
            false => 0,
        };
        if changed > 0 {
            return Ok(GrantUpdate::Updated(grant.version + 1));
        }
        let current = self
            .one(
                &format!("SELECT {GRANT_COLUMNS} FROM grants WHERE id = ?1 AND subject_id = ?2"),
                &[grant.id.as_str().into(), grant.subject_id.as_str().into()],
                self::grant,
            )
            .await?;
        Ok(GrantUpdate::Conflict(current.map(Box::new)))
    }

    async fn grant_history(&self, grant_id: &str) -> Result<Vec<(i64, String)>> {
        self.all("SELECT version, snapshot FROM grant_history WHERE grant_id = ?1 ORDER BY version", &[grant_id.into()], |row| {
            Ok((row.integer(0)?, row.text(1)?))
        })
        .await
    }

    async fn set_organisation_contact(&self, id: &str, email: &str, phone: &str, address: &str, privacy_url: &str) -> Result<()> {
        self.db
            .execute(
                "UPDATE organisations SET contact_email = ?2, contact_phone = ?3, contact_address = ?4, privacy_url = ?5 WHERE id = ?1",
                &[id.into(), email.into(), phone.into(), address.into(), privacy_url.into()],
            )
            .await
            .map(|_| ())
    }

    async fn receipt_controller(&self) -> Result<Option<Controller>> {
        self.one(
            "SELECT name, contact_email, contact_phone, contact_address, privacy_url FROM organisations WHERE kind = 'council' ORDER BY created_at, id LIMIT 1",
            &[],
            |row| {
                Ok(Controller {
                    details: PiiController {
                        pii_controller: row.text(0)?,
                        contact: "Data protection officer".into(),
                        address: row.text(3)?,
                        email: row.text(1)?,
                        phone: row.text(2)?,
                    },
                    policy_url: row.text(4)?,
                })
            },
        )
        .await
    }

    async fn insert_receipt(&self, subject_id: &str, receipt: &ConsentReceipt, issued_at: DateTime<Utc>) -> Result<()> {
        self.db
            .execute(
                "INSERT INTO consent_receipts (id, subject_id, grant_id, grant_version, issued_at, receipt) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                &[
                    receipt.body.consent_receipt_id.as_str().into(),
                    subject_id.into(),
                    receipt.body.grant_id.as_str().into(),
                    receipt.body.grant_version.into(),
                    time_text(issued_at).into(),
                    to_json(receipt)?,
                ],
            )
            .await
            .map(|_| ())
    }

    async fn receipt(&self, subject_id: &str, id: &str) -> Result<Option<ConsentReceipt>> {
        self.one("SELECT receipt FROM consent_receipts WHERE id = ?1 AND subject_id = ?2", &[id.into(), subject_id.into()], |row| json(row, 0)).await
    }

    async fn receipts_for_subject(&self, subject_id: &str) -> Result<Vec<ConsentReceipt>> {
        self.all("SELECT receipt FROM consent_receipts WHERE subject_id = ?1 ORDER BY issued_at DESC, id DESC", &[subject_id.into()], |row| json(row, 0)).await
    }

    async fn append_audit(&self, event: &AuditEvent) -> Result<()> {
        let statement = crate::plan::audit_statement(event);
        self.db.execute(&statement.sql, &statement.params).await.map(|_| ())
    }

    async fn apply(&self, plan: &Plan) -> Result<()> {
        if plan.is_empty() {
            return Ok(());
        }
        self.db.batch(plan.statements()).await
    }

    async fn audit_for_subject(&self, permit: &Permit, limit: i64) -> Result<Vec<AuditEvent>> {
        let subject_id = permit.subject_for(Category::AccessLog)?;
        self.all(
            &format!("SELECT {AUDIT_COLUMNS} FROM audit_events WHERE subject_id = ?1 ORDER BY at DESC, id DESC LIMIT ?2"),
            &[subject_id.into(), limit.into()],
            audit_event,
        )
        .await
    }
    async fn audit_page(&self, permit: &Permit, filter: &AuditFilter, cursor: Option<&str>, limit: i64) -> Result<Page<AuditEvent>> {
        let subject_id = permit.subject_for(Category::AccessLog)?;
        let limit = limit.clamp(1, 200);
        let (after_at, after_id) = match cursor {
            None => (Value::Null, Value::Null),
            Some(cursor) => {
                let (at, id) = record::parse_cursor(cursor).ok_or_else(|| DbError::Decode(record::BadCursor.to_string()))?;
                (Value::Text(at), Value::Text(id))
            }
        };
        let mut items = self
            .all(
                &format!(
                    "SELECT {AUDIT_COLUMNS} FROM audit_events
                     WHERE subject_id = ?1 AND (?2 IS NULL OR actor_id = ?2) AND (?3 IS NULL OR at >= ?3) AND (?4 IS NULL OR at < ?4)
                       AND (?5 IS NULL OR at < ?5 OR (at = ?5 AND id < ?6))
                       AND (?8 IS NULL OR actor_id IS NULL OR actor_id <> ?8)
                     ORDER BY at DESC, id DESC LIMIT ?7"
                ),
                &[
                    subject_id.into(),
                    filter.actor_id.as_deref().into(),
                    filter.from.map(time_text).into(),
                    filter.before.map(time_text).into(),
                    after_at,
                    after_id,
                    (limit + 1).into(),
                    filter.except_actor.as_deref().into(),
                ],
                audit_event,
            )
            .await?;
        let more = items.len() > usize::try_from(limit).unwrap_or(usize::MAX);
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next = if more { items.last().map(|event| record::cursor_of(event.at, &event.id)) } else { None };
        Ok(Page { items, next })
    }

    async fn audit_actors(&self, permit: &Permit) -> Result<Vec<Option<String>>> {
        let subject_id = permit.subject_for(Category::AccessLog)?;
        self.all("SELECT DISTINCT actor_id FROM audit_events WHERE subject_id = ?1", &[subject_id.into()], |row| row.optional_text(0)).await
    }
}
