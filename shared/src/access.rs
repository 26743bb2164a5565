//! Access as a type. The consent decision ([`decide`]) is the only thing that makes a [`Permit`]
//! (to read or add to categories of a person's record) or a [`Power`] (to manage their grants),
//! and the store's reads of care information take a permit: a handler that forgets to decide
//! does not compile. Every audit event is built here, from a permit, a power or a named account
//! or administration act, with typed actions, categories and grounds — never by hand.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::consent::{Action, Actor, Basis, Category, Grant, GrantState, Grantee};
use crate::domain::{AuditEvent, Role};
use crate::emergency::{AccessState, EmergencyAccess};

/// What is being asked for about the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// A category of their care information.
    Category(Category),
    /// Their grants: seeing and changing who can see what, on their behalf.
    Grants,
}

/// Why access was allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allowed {
    /// It is the actor's own record.
    OwnRecord,
    /// A live grant allows it.
    Grant {
        /// The grant's id.
        grant_id: String,
        /// The grant's basis.
        basis: Basis,
    },
}

/// Why access was refused. The caller answers "not found" whatever the reason; the reason is
/// for the audit trail and for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No grant to this actor covers the request.
    NoGrant,
    /// A grant would cover it, but has not started.
    NotStarted,
    /// A grant would cover it, but has ended.
    Expired,
    /// A grant would cover it, but was revoked.
    Revoked,
}

/// The outcome of [`decide`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead, and audit it under this reason.
    Allow(Allowed),
    /// Refuse: the thing does not exist for this actor.
    Deny(Refused),
}

impl Decision {
    /// Whether access is allowed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow(_))
    }
}

fn is_to(grant: &Grant, actor: &Actor) -> bool {
    match &grant.grantee {
        Grantee::Person(id) => *id == actor.person_id,
        Grantee::Organisation(id) => actor.organisation_id.as_deref() == Some(id.as_str()),
    }
}

/// Decides whether `actor`, acting for the person `subject_id`, may do `action` on `resource`,
/// given that person's `grants`, at `now`. Pure: the same inputs always give the same answer.
/// Handlers never call it: they ask for a [`Permit`] or a [`Power`], which it makes.
pub fn decide(actor: &Actor, subject_id: &str, action: Action, resource: Resource, grants: &[Grant], now: DateTime<Utc>) -> Decision {
    if actor.person_id == subject_id && actor.role == Role::ServiceUser {
        return Decision::Allow(Allowed::OwnRecord);
    }
    let covering = grants.iter().filter(|grant| grant.subject_id == subject_id && is_to(grant, actor)).filter(|grant| match resource {
        Resource::Category(category) => grant.categories.contains(&category) && grant.actions.contains(&action),
        // Acting for someone is a personal power (an attorney, a deputy, a trusted relative):
        // never held by an organisation.
        Resource::Grants => grant.act_for && matches!(grant.grantee, Grantee::Person(_)),
    });
    let mut refusal = Refused::NoGrant;
    for grant in covering {
        match grant.state(now) {
            GrantState::Active => return Decision::Allow(Allowed::Grant { grant_id: grant.id.clone(), basis: grant.basis }),
            // Report the most telling reason: revoked over expired over not started.
            GrantState::Revoked => refusal = Refused::Revoked,
            GrantState::Expired if refusal != Refused::Revoked => refusal = Refused::Expired,
            GrantState::NotStarted if refusal == Refused::NoGrant => refusal = Refused::NotStarted,
            _ => {}
        }
    }
    Decision::Deny(refusal)
}

/// On what ground a permit opens a category: the audit trail names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ground {
    /// The person's own record.
    OwnRecord,
    /// A live grant.
    Grant {
        /// The grant's id.
        grant_id: String,
        /// Its legal basis.
        basis: Basis,
    },
    /// A clinician's emergency access with the person's emergency code.
    Emergency {
        /// The emergency access's id.
        access_id: String,
    },
    /// The council's operator at the command line (`carefront-admin`), who holds the database.
    Operator,
}

impl From<Allowed> for Ground {
    fn from(allowed: Allowed) -> Ground {
        match allowed {
            Allowed::OwnRecord => Ground::OwnRecord,
            Allowed::Grant { grant_id, basis } => Ground::Grant { grant_id, basis },
        }
    }
}

impl fmt::Display for Ground {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ground::OwnRecord => f.write_str("own_record"),
            Ground::Grant { grant_id, basis } => write!(f, "grant:{grant_id} ({})", basis.as_str()),
            Ground::Emergency { access_id } => write!(f, "emergency_access:{access_id}"),
            Ground::Operator => f.write_str("council administrator (carefront-admin)"),
        }
    }
}

/// Who holds a permit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// A signed-in person, or an organisation's system (its actor id is `credential:<key>`).
    Actor(Actor),
    /// A clinician with the emergency code (no account).
    Clinician,
    /// The council's operator at the command line.
    Operator,
}

/// The decision's leave to do one action on some categories of one person's record. Only this
/// module makes one; the store's reads of care information take one, and audit events about
/// care information are built from one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permit {
    holder: Holder,
    subject_id: String,
    action: Action,
    grounds: BTreeMap<Category, Ground>,
    at: DateTime<Utc>,
}

/// Why a store call was refused before it reached the database: its permit does not cover it
/// (a bug in the caller, never the reader's fault).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the permit does not cover {0:?}")]
pub struct NotCovered(pub Category);

impl Permit {
    /// Asks for leave for `actor` to do `action` on `category` of `subject_id`'s record.
    pub fn ask(actor: &Actor, subject_id: &str, action: Action, category: Category, grants: &[Grant], now: DateTime<Utc>) -> Result<Permit, Refused> {
        match decide(actor, subject_id, action, Resource::Category(category), grants, now) {
            Decision::Allow(allowed) => Ok(Permit {
                holder: Holder::Actor(actor.clone()),
                subject_id: subject_id.to_owned(),
                action,
                grounds: BTreeMap::from([(category, allowed.into())]),
                at: now,
            }),
            Decision::Deny(refused) => Err(refused),
        }
    }

    /// Leave for every category among `categories` the actor may do `action` on (those refused
    /// are simply not covered); refused outright if none is allowed.
    pub fn ask_each(actor: &Actor, subject_id: &str, action: Action, categories: &[Category], grants: &[Grant], now: DateTime<Utc>) -> Result<Permit, Refused> {
        let mut grounds = BTreeMap::new();
        let mut refusal = Refused::NoGrant;
        for category in categories {
            match decide(actor, subject_id, action, Resource::Category(*category), grants, now) {
                Decision::Allow(allowed) => {
                    grounds.insert(*category, allowed.into());
                }
                Decision::Deny(refused) => refusal = refused,
            }
        }
        if grounds.is_empty() {
            return Err(refusal);
        }
        Ok(Permit { holder: Holder::Actor(actor.clone()), subject_id: subject_id.to_owned(), action, grounds, at: now })
    }

    /// A clinician's leave to read medication (and the emergency summary with it) while their
    /// emergency access is live.
    pub fn emergency(access: &EmergencyAccess, now: DateTime<Utc>) -> Result<Permit, Refused> {
        if access.state(now) != AccessState::Live {
            return Err(Refused::Expired);
        }
        Ok(Permit {
            holder: Holder::Clinician,
            subject_id: access.person_id.clone(),
            action: Action::View,
            grounds: BTreeMap::from([(Category::Medication, Ground::Emergency { access_id: access.id.clone() })]),
            at: now,
        })
    }

    /// The council operator's leave to read every category of a person's record from the
    /// command line (seeding, exports). Only `carefront-admin` is built with it.
    #[cfg(feature = "operator")]
    pub fn operator(subject_id: &str, now: DateTime<Utc>) -> Permit {
        Permit {
            holder: Holder::Operator,
            subject_id: subject_id.to_owned(),
            action: Action::View,
            grounds: Category::ALL.into_iter().map(|category| (category, Ground::Operator)).collect(),
            at: now,
        }
    }

    /// Who the audit log names as having done it (no one with an account for a clinician or
    /// the operator).
    fn actor_id(&self) -> Option<String> {
        match &self.holder {
            Holder::Actor(actor) => Some(actor.person_id.clone()),
            Holder::Clinician | Holder::Operator => None,
        }
    }

    /// Whose record it opens.
    pub fn subject_id(&self) -> &str {
        &self.subject_id
    }

    /// Who holds it.
    pub fn holder(&self) -> &Holder {
        &self.holder
    }

    /// The action it allows.
    pub fn action(&self) -> Action {
        self.action
    }

    /// Whether it is the person's own record.
    pub fn is_own_record(&self) -> bool {
        self.grounds.values().all(|ground| *ground == Ground::OwnRecord)
    }

    /// Whether it covers `category`.
    pub fn covers(&self, category: Category) -> bool {
        self.grounds.contains_key(&category)
    }

    /// The categories it covers, in display order.
    pub fn categories(&self) -> BTreeSet<Category> {
        self.grounds.keys().copied().collect()
    }

    /// The ground for `category`, if covered.
    pub fn ground(&self, category: Category) -> Option<&Ground> {
        self.grounds.get(&category)
    }

    /// The subject, if the permit covers `category`: what every gated store read starts with.
    pub fn subject_for(&self, category: Category) -> Result<&str, NotCovered> {
        if self.covers(category) { Ok(&self.subject_id) } else { Err(NotCovered(category)) }
    }

    /// The audit event for doing `action` on `category` under this permit. A category the permit
    /// does not cover is refused, so an event can never claim a ground that did not exist.
    pub fn event(&self, id: String, action: AuditAction, category: Category, detail: impl Into<String>) -> Result<AuditEvent, NotCovered> {
        let ground = self.ground(category).ok_or(NotCovered(category))?;
        Ok(self.made(id, action, Some(category), ground.to_string(), detail.into()))
    }

    /// The audit event for doing `action` on everything this permit covers at once (a list
    /// across categories): every ground it rests on is named.
    pub fn overall_event(&self, id: String, action: AuditAction, detail: impl Into<String>) -> AuditEvent {
        let grounds: BTreeSet<String> = self.grounds.values().map(ToString::to_string).collect();
        self.made(id, action, None, grounds.into_iter().collect::<Vec<_>>().join(", "), detail.into())
    }

    /// An event by this permit's holder about its subject, on `basis`.
    fn made(&self, id: String, action: AuditAction, category: Option<Category>, basis: String, detail: String) -> AuditEvent {
        AuditEvent {
            id,
            at: self.at,
            actor_id: self.actor_id(),
            acting_for: None,
            subject_id: Some(self.subject_id.clone()),
            action,
            category,
            basis: Some(AuditBasis(basis)),
            detail,
        }
    }

    /// "Looked at" `category` under this permit (for the portal's pages).
    pub fn viewed(&self, id: String, category: Category, detail: impl Into<String>) -> Result<AuditEvent, NotCovered> {
        let action = match self.holder {
            Holder::Actor(ref actor) if actor.person_id.starts_with("credential:") => AuditAction::SystemRead(category),
            _ => AuditAction::Viewed(category),
        };
        self.event(id, action, category, detail)
    }
}

/// The leave to see or change a person's grants (and what only they or someone acting for them
/// may do: needs, discussions, the emergency code, downloading everything): either their own,
/// or an act-for power under a live grant, with its ceiling.
#[derive(Debug, Clone, PartialEq)]
pub struct Power {
    actor: Actor,
    subject_id: String,
    act_for: Option<Grant>,
    at: DateTime<Utc>,
}

/// What someone acting for a person may give to others: at most what they hold themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ceiling {
    /// The categories they hold.
    pub categories: BTreeSet<Category>,
    /// The actions they hold.
    pub actions: BTreeSet<Action>,
    /// When their own access ends, if it does.
    pub ends_at: Option<DateTime<Utc>>,
}

/// Why a grant someone acting for a person wants to give is above what they hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AboveCeiling {
    /// Categories they cannot see themselves.
    #[error("you can only give access to information you can see yourself")]
    Categories(BTreeSet<Category>),
    /// Actions they do not hold.
    #[error("you can only let them add to information if you can add to it yourself")]
    Actions,
    /// An end later than their own (or none, when theirs ends).
    #[error("their access cannot last longer than your own")]
    LastsLonger,
    /// The act-for power itself, which only the person (or the council) can give.
    #[error("only the person or the council can let someone act for them")]
    ActFor,
}

impl Power {
    /// Asks for leave for `actor` to manage `subject_id`'s grants (`action`: view them, or
    /// change them).
    pub fn ask(actor: &Actor, subject_id: &str, action: Action, grants: &[Grant], now: DateTime<Utc>) -> Result<Power, Refused> {
        match decide(actor, subject_id, action, Resource::Grants, grants, now) {
            Decision::Allow(Allowed::OwnRecord) => Ok(Power { actor: actor.clone(), subject_id: subject_id.to_owned(), act_for: None, at: now }),
            Decision::Allow(Allowed::Grant { grant_id, .. }) => {
                let grant = grants.iter().find(|grant| grant.id == grant_id).cloned().ok_or(Refused::NoGrant)?;
                Ok(Power { actor: actor.clone(), subject_id: subject_id.to_owned(), act_for: Some(grant), at: now })
            }
            Decision::Deny(refused) => Err(refused),
        }
    }

    /// Whose grants.
    pub fn subject_id(&self) -> &str {
        &self.subject_id
    }

    /// Who holds the power.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The grant giving the act-for power, when the holder acts for the person.
    pub fn act_for_grant(&self) -> Option<&Grant> {
        self.act_for.as_ref()
    }

    /// The person acted for, when the holder acts for someone (stored with every change).
    pub fn acting_for(&self) -> Option<&str> {
        self.act_for.as_ref().map(|_| self.subject_id.as_str())
    }

    /// What the holder may give others: everything for the person themselves; for someone
    /// acting for them, what their own live grants hold.
    pub fn ceiling(&self, grants: &[Grant]) -> Option<Ceiling> {
        self.act_for.as_ref()?;
        let held: Vec<&Grant> = grants
            .iter()
            .filter(|grant| grant.subject_id == self.subject_id && is_to(grant, &self.actor) && grant.state(self.at) == GrantState::Active)
            .collect();
        let categories = held.iter().flat_map(|grant| grant.categories.iter().copied()).collect();
        let actions = held.iter().flat_map(|grant| grant.actions.iter().copied()).collect();
        let ends_at = if held.iter().any(|grant| grant.ends_at.is_none()) { None } else { held.iter().filter_map(|grant| grant.ends_at).max() };
        Some(Ceiling { categories, actions, ends_at })
    }

    /// Refuses a grant to someone else that is above what the holder may give.
    pub fn check_ceiling(&self, grants: &[Grant], wanted: &Grant) -> Result<(), AboveCeiling> {
        let Some(ceiling) = self.ceiling(grants) else { return Ok(()) };
        if wanted.act_for {
            return Err(AboveCeiling::ActFor);
        }
        let beyond: BTreeSet<Category> = wanted.categories.difference(&ceiling.categories).copied().collect();
        if !beyond.is_empty() {
            return Err(AboveCeiling::Categories(beyond));
        }
        if !wanted.actions.is_subset(&ceiling.actions) {
            return Err(AboveCeiling::Actions);
        }
        if let Some(limit) = ceiling.ends_at
            && wanted.ends_at.is_none_or(|ends| ends > limit)
        {
            return Err(AboveCeiling::LastsLonger);
        }
        Ok(())
    }

    /// The audit event for looking at or changing the person's grants (`changed`: the grant
    /// changed, if one was).
    pub fn event(&self, id: String, action: AuditAction, changed: Option<&str>, detail: impl Into<String>) -> AuditEvent {
        let basis = match (&self.act_for, changed) {
            (None, None) => Some(Ground::OwnRecord.to_string()),
            (None, Some(changed)) => Some(format!("grant:{changed}")),
            (Some(power), Some(changed)) => Some(format!("grant:{changed}; act_for grant:{} ({})", power.id, power.basis.as_str())),
            (Some(power), None) => Some(format!("act_for grant:{} ({})", power.id, power.basis.as_str())),
        };
        AuditEvent {
            id,
            at: self.at,
            actor_id: Some(self.actor.person_id.clone()),
            acting_for: self.acting_for().map(str::to_owned),
            subject_id: Some(self.subject_id.clone()),
            action,
            category: None,
            basis: basis.map(AuditBasis),
            detail: detail.into(),
        }
    }

    /// The audit event for reading or changing `category` under this power (needs, a download).
    pub fn category_event(&self, id: String, action: AuditAction, category: Category, detail: impl Into<String>) -> AuditEvent {
        AuditEvent { category: Some(category), ..self.event(id, action, None, detail) }
    }
}

/// An event about a person's own account (signing in, passkeys, sessions), or about someone
/// with no account yet (an invitation): no care information, no grant.
pub fn account_event(id: String, at: DateTime<Utc>, actor_id: Option<&str>, subject_id: &str, action: AuditAction, detail: impl Into<String>) -> AuditEvent {
    AuditEvent {
        id,
        at,
        actor_id: actor_id.map(str::to_owned),
        acting_for: None,
        subject_id: Some(subject_id.to_owned()),
        action,
        category: None,
        basis: None,
        detail: detail.into(),
    }
}

/// Council staff issuing, reissuing or cancelling `person_id`'s invitation: an act on their
/// account (no care information, no grant), by `staff_id`, shown to the person in their log.
pub fn invitation_event(id: String, at: DateTime<Utc>, staff_id: &str, person_id: &str, action: AuditAction, detail: impl Into<String>) -> AuditEvent {
    account_event(id, at, Some(staff_id), person_id, action, detail)
}

/// A person's own act on their own information that is not a care record category they were
/// granted (their own format needs, whatever their role): grounded in it being their own.
pub fn own_event(id: String, at: DateTime<Utc>, person_id: &str, action: AuditAction, category: Option<Category>, detail: impl Into<String>) -> AuditEvent {
    AuditEvent { category, basis: Some(AuditBasis(Ground::OwnRecord.to_string())), ..account_event(id, at, Some(person_id), person_id, action, detail) }
}

/// An act of the council's under its statutory duty (Care Act 2014) that is about nobody's
/// record in particular, or about one (`subject_id`, under its statutory grant `grant_id`):
/// monitoring, the emergency code.
pub fn statutory_event(
    id: String,
    at: DateTime<Utc>,
    actor_id: &str,
    subject: Option<(&str, &str)>,
    action: AuditAction,
    category: Option<Category>,
    detail: impl Into<String>,
) -> AuditEvent {
    let basis = match subject {
        Some((_, grant_id)) => Ground::Grant { grant_id: grant_id.to_owned(), basis: Basis::StatutoryDuty }.to_string(),
        None => Basis::StatutoryDuty.as_str().to_owned(),
    };
    AuditEvent {
        id,
        at,
        actor_id: Some(actor_id.to_owned()),
        acting_for: None,
        subject_id: subject.map(|(subject_id, _)| subject_id.to_owned()),
        action,
        category,
        basis: Some(AuditBasis(basis)),
        detail: detail.into(),
    }
}

/// An administrative act (credentials, staff): who did it, about no person's record.
pub fn administration_event(id: String, at: DateTime<Utc>, actor_id: Option<&str>, action: AuditAction, detail: impl Into<String>) -> AuditEvent {
    AuditEvent { id, at, actor_id: actor_id.map(str::to_owned), acting_for: None, subject_id: None, action, category: None, basis: None, detail: detail.into() }
}

/// An audit event as the store read it back (the one other place an event is made: decoding).
#[allow(clippy::too_many_arguments)] // one audit row's columns
pub(crate) fn stored_event(
    id: String,
    at: DateTime<Utc>,
    actor_id: Option<String>,
    acting_for: Option<String>,
    subject_id: Option<String>,
    action: AuditAction,
    category: Option<Category>,
    basis: Option<String>,
    detail: String,
) -> AuditEvent {
    AuditEvent { id, at, actor_id, acting_for, subject_id, action, category, basis: basis.map(AuditBasis), detail }
}

/// What an audit event names as allowing it, as stored: made only from a [`Ground`], a
/// [`Power`] or a statutory duty here, or read back from the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AuditBasis(String);

impl AuditBasis {
    /// As stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for AuditBasis {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<&Ground> for AuditBasis {
    fn from(ground: &Ground) -> AuditBasis {
        AuditBasis(ground.to_string())
    }
}

macro_rules! audit_actions {
    ($($variant:ident => $text:literal, $doc:literal;)*) => {
        /// What happened, in an audit event. Stored as `area.verb` text.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum AuditAction {
            /// Someone looked at a category in the portal (`care_plan.viewed`).
            Viewed(Category),
            /// A system read a category through the API (`api.care_plan_read`).
            SystemRead(Category),
            $(#[doc = $doc] $variant,)*
        }

        impl AuditAction {
            /// As stored.
            pub fn as_str(&self) -> std::borrow::Cow<'static, str> {
                match self {
                    AuditAction::Viewed(category) => format!("{}.viewed", category.as_str()).into(),
                    AuditAction::SystemRead(category) => format!("api.{}_read", category.as_str()).into(),
                    $(AuditAction::$variant => $text.into(),)*
                }
            }

            /// Parses a stored action.
            pub fn parse(text: &str) -> Option<AuditAction> {
                match text {
                    $($text => Some(AuditAction::$variant),)*
                    _ => {
                        if let Some(category) = text.strip_suffix(".viewed").and_then(Category::parse) {
                            return Some(AuditAction::Viewed(category));
                        }
                        text.strip_prefix("api.").and_then(|rest| rest.strip_suffix("_read")).and_then(Category::parse).map(AuditAction::SystemRead)
                    }
                }
            }
        }
    };
}

audit_actions! {
    GrantsViewed => "grants.viewed", "Someone looked at who can see the person's information.";
    ReceiptViewed => "receipt.viewed", "Someone looked at a consent receipt.";
    GrantCreated => "grant.created", "Access was given.";
    GrantChanged => "grant.changed", "Access was changed.";
    GrantRevoked => "grant.revoked", "Access was stopped.";
    InvitationAccepted => "invitation.accepted", "An invitation code was used.";
    InvitationIssued => "invitation.issued", "Council staff issued an invitation (and its letter).";
    InvitationReissued => "invitation.reissued", "Council staff cancelled a waiting invitation and issued a new one.";
    InvitationRecoveryIssued => "invitation.recovery_issued", "Council staff issued a recovery invitation for an enrolled person, after recording how they checked who it is.";
    InvitationCancelled => "invitation.cancelled", "Council staff cancelled an invitation.";
    PasskeyRegistered => "passkey.registered", "A passkey was created (the first, at enrolment).";
    PasskeyAdded => "passkey.added", "Another passkey was added to an account.";
    PasskeyRenamed => "passkey.renamed", "A passkey was renamed.";
    PasskeyRemoved => "passkey.removed", "A passkey was removed.";
    SignedIn => "session.signed_in", "Someone signed in.";
    SignedOut => "session.signed_out", "Someone signed out.";
    Reauthenticated => "session.reauthenticated", "Someone confirmed it was them with a passkey.";
    EndedElsewhere => "session.ended_elsewhere", "Someone signed another device out.";
    SessionEnded => "session.ended", "Someone signed out other devices, or everywhere.";
    RecordDownloaded => "record.downloaded", "Someone downloaded the whole record.";
    RecordExported => "record.exported", "The council exported the whole record.";
    PaperCopyPrinted => "paper_copy.printed", "Someone printed the paper copy.";
    PreferencesChanged => "preferences.changed", "Format and communication needs changed.";
    NotificationChoicesChanged => "notifications.choices_changed", "The person changed how they are told about each kind of message.";
    ContactCheckSent => "contact.check_sent", "A code was sent to check a new email address or mobile number.";
    ContactVerified => "contact.verified", "A new email address or mobile number was confirmed with its code.";
    ContactCheckLocked => "contact.check_locked", "A code to check an email address or mobile number was locked after wrong tries.";
    CommentsViewed => "comments.viewed", "Someone looked at comments.";
    CommentAdded => "comment.added", "Someone added a comment.";
    DiscussionConfirmed => "consent_discussion.confirmed", "A consent discussion was confirmed.";
    DiscussionDisputed => "consent_discussion.disputed", "A consent discussion was disputed.";
    MonitoringViewed => "monitoring.viewed", "Council staff looked at the monitoring report.";
    CredentialCreated => "credential.created", "A system credential was made.";
    CredentialRevoked => "credential.revoked", "A system credential was revoked.";
    EmergencyCodeTurnedOn => "emergency.code_turned_on", "The emergency code was turned on.";
    EmergencyCodeTurnedOff => "emergency.code_turned_off", "The emergency code was turned off.";
    EmergencyCodeReplaced => "emergency.code_replaced", "The emergency code was replaced.";
    EmergencyCodeLocked => "emergency.code_locked", "The emergency code was locked after wrong tries.";
    EmergencyAccessStarted => "emergency.access_started", "A clinician started emergency access.";
    EmergencyViewed => "emergency.viewed", "A clinician looked at the emergency record.";
    EmergencyLeft => "emergency.left", "A clinician left the emergency record.";
    EmergencyStopped => "emergency.stopped", "Someone told of an emergency access stopped it.";
    PersonListed => "api.person_listed", "A system listed the person.";
    PersonViewed => "api.person_viewed", "A system read the person's details.";
    NeedChangesRead => "api.need_changes_read", "A system read changes of needs.";
    MonitoringRead => "api.monitoring_read", "A council system read the monitoring report.";
    DiscussionsRead => "api.consent_discussions_read", "A system read consent discussions.";
    DiscussionRecorded => "api.consent_discussion_recorded", "A system recorded a consent discussion.";
    CommentsRead => "api.comments_read", "A system read comments.";
    CommentAnswered => "api.comment_answered", "A comment was answered.";
    CommentAnsweredByStaff => "comment.answered", "Provider staff answered a comment in the portal.";
    DiscussionRecordedByStaff => "consent_discussion.recorded", "Provider staff recorded a consent discussion in the portal.";
    TodayListViewed => "provider.today_viewed", "Provider staff saw the person on their list of people to support today.";
    VisitRecorded => "api.visit_recorded", "A system recorded a visit.";
    AdministrationRecorded => "api.administration_recorded", "A system recorded a medication administration.";
    CarePlanWritten => "record.care_plan_written", "The care plan was put in or changed.";
    GuideWritten => "record.guide_written", "The service user guide was put in or changed.";
    MedicineStarted => "record.medicine_started", "A medicine was started.";
    MedicineChanged => "record.medicine_changed", "A medicine was changed.";
    MedicineStopped => "record.medicine_stopped", "A medicine was stopped.";
    AllergyRecorded => "record.allergy_recorded", "An allergy was recorded.";
    AllergyEnteredInError => "record.allergy_entered_in_error", "An allergy was marked as recorded in error.";
    ContactsWritten => "record.contacts_written", "The contacts were put in or changed.";
    DocumentAdded => "record.document_added", "A document was added.";
    VisitScheduleWritten => "record.visit_schedule_written", "The planned visits of a period were put in or changed.";
    VisitStatusRecorded => "record.visit_status_recorded", "A visit's live status was recorded (checked in, checked out, late, missed).";
    RecordExportedBySystem => "api.record_exported", "A council system exported the whole record.";
    PersonAdded => "person.added", "The council added the person to carefront.";
    PersonDetailsViewed => "person.details_viewed", "Council staff looked at the person's details and who supports them.";
    RepresentativeRecorded => "representative.recorded", "The council recorded a representative with their legal basis.";
    ProviderCommissioned => "provider.commissioned", "The council commissioned a provider to give the person care.";
    FhirBundleImported => "api.fhir_bundle_imported", "A system put part of the record in from a FHIR R4 Bundle.";
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str())
    }
}

impl PartialEq<&str> for AuditAction {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for AuditAction {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<str> for AuditAction {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl Serialize for AuditAction {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.as_str())
    }
}

impl<'de> Deserialize<'de> for AuditAction {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<AuditAction, D::Error> {
        let text = String::deserialize(deserializer)?;
        AuditAction::parse(&text).ok_or_else(|| serde::de::Error::custom(format!("unknown audit action {text}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default()
    }

    fn grant(id: &str, categories: &[Category], actions: &[Action], act_for: bool, ends_at: Option<DateTime<Utc>>) -> Grant {
        Grant {
            id: id.into(),
            version: 1,
            subject_id: "margaret".into(),
            grantee: Grantee::Person("sam".into()),
            categories: categories.iter().copied().collect(),
            actions: actions.iter().copied().collect(),
            act_for,
            purpose: "help".into(),
            starts_at: at() - chrono::Duration::days(1),
            ends_at,
            basis: Basis::Consent,
            evidence: None,
            recorded_by: "margaret".into(),
            revoked_at: None,
        }
    }

    fn sam() -> Actor {
        Actor { person_id: "sam".into(), role: Role::Representative, organisation_id: None }
    }

    #[test]
    fn every_action_round_trips_through_its_stored_text() {
        for category in Category::ALL {
            for action in [AuditAction::Viewed(category), AuditAction::SystemRead(category)] {
                assert_eq!(AuditAction::parse(&action.as_str()), Some(action));
            }
        }
        assert_eq!(AuditAction::parse("grant.revoked"), Some(AuditAction::GrantRevoked));
        assert_eq!(AuditAction::parse("made.up"), None);
    }

    #[test]
    fn a_permit_covers_only_what_was_decided_and_its_events_name_the_ground() {
        let grants = [grant("g1", &[Category::Medication], &[Action::View], false, None)];
        let permit = Permit::ask(&sam(), "margaret", Action::View, Category::Medication, &grants, at()).unwrap();
        assert_eq!(permit.subject_for(Category::Medication), Ok("margaret"));
        assert_eq!(permit.subject_for(Category::Contacts), Err(NotCovered(Category::Contacts)));
        let event = permit.viewed("e1".into(), Category::Medication, "looked").unwrap();
        assert_eq!(event.basis.as_ref().map(AuditBasis::as_str), Some("grant:g1 (consent)"));
        assert_eq!(event.action, AuditAction::Viewed(Category::Medication));
        assert!(permit.viewed("e2".into(), Category::Contacts, "looked").is_err());
        assert_eq!(Permit::ask(&sam(), "margaret", Action::View, Category::Contacts, &grants, at()), Err(Refused::NoGrant));
        let each = Permit::ask_each(&sam(), "margaret", Action::View, &Category::ALL, &grants, at()).unwrap();
        assert_eq!(each.categories(), BTreeSet::from([Category::Medication]));
    }

    #[test]
    fn acting_for_has_a_ceiling() {
        let until = at() + chrono::Duration::days(30);
        let grants = [grant("power", &[Category::Medication, Category::CarePlan], &[Action::View], true, Some(until))];
        let power = Power::ask(&sam(), "margaret", Action::Contribute, &grants, at()).unwrap();
        let mut wanted = grant("new", &[Category::Medication], &[Action::View], false, Some(until - chrono::Duration::days(1)));
        wanted.grantee = Grantee::Person("ada".into());
        assert_eq!(power.check_ceiling(&grants, &wanted), Ok(()));
        let wider = Grant { categories: BTreeSet::from([Category::Medication, Category::Documents]), ..wanted.clone() };
        assert_eq!(power.check_ceiling(&grants, &wider), Err(AboveCeiling::Categories(BTreeSet::from([Category::Documents]))));
        let contribute = Grant { actions: BTreeSet::from([Action::View, Action::Contribute]), ..wanted.clone() };
        assert_eq!(power.check_ceiling(&grants, &contribute), Err(AboveCeiling::Actions));
        let forever = Grant { ends_at: None, ..wanted.clone() };
        assert_eq!(power.check_ceiling(&grants, &forever), Err(AboveCeiling::LastsLonger));
        let passing_on = Grant { act_for: true, ..wanted.clone() };
        assert_eq!(power.check_ceiling(&grants, &passing_on), Err(AboveCeiling::ActFor));
        // The person themselves has no ceiling.
        let margaret = Actor { person_id: "margaret".into(), role: Role::ServiceUser, organisation_id: None };
        let own = Power::ask(&margaret, "margaret", Action::Contribute, &grants, at()).unwrap();
        assert_eq!(own.check_ceiling(&grants, &wider), Ok(()));
    }
}
