//! Who is told of what, and how: the notifications an event puts in the outbox, made from what
//! the store holds before the change (the caller records them in the change's own plan, so the
//! change and its messages stand or fall together). Each recipient is told the way they chose
//! ([`crate::store::preferences::recipients_for`]); the message carries no care detail, only
//! names, times and links into the portal.

pub mod discussion;
pub mod duty;
pub mod ending;
pub mod invitation;

use crate::store::SqlStore;
use crate::store::prelude::*;
use std::collections::BTreeMap;

pub mod device;

use chrono::{DateTime, Utc};

use crate::consent::{Category, GrantState, Grantee};
use crate::crypto::SigningKey;
use crate::emergency::{EmergencyAccess, StopLink};
use crate::outbox::{Notification, NotificationKind};
use crate::random::{Random, new_id};
use crate::store::preferences::recipients_for;
use crate::store::{Store, StoreError};
use crate::uk_time;

/// One message per way `person_id` is to be told of `kind`, each with `personalisation`.
pub async fn to_person(
    store: &SqlStore<'_>,
    person_id: &str,
    subject_id: &str,
    kind: NotificationKind,
    personalisation: &BTreeMap<String, String>,
    now: DateTime<Utc>,
    random: &dyn Random,
) -> Result<Vec<Notification>, StoreError> {
    Ok(recipients_for(store, person_id, kind)
        .await?
        .to
        .into_iter()
        .map(|(channel, recipient)| {
            Notification::queued(new_id(random), kind, channel, recipient, personalisation.clone(), now).to_person(person_id).about(subject_id)
        })
        .collect())
}

/// Who hears of an emergency access to `access.person_id`'s medicines: the person, whoever may
/// act for them, family members with live access to their medicines who asked to be told (a
/// choice for emergency access on their own settings page), and the confirmed duty contact of
/// each care provider with live access to the person ([`duty::emergency_access`]). Each gets
/// their own stop link (signed with `key`, under `origin`), so the log can say who stopped it.
pub async fn emergency_access(
    store: &SqlStore<'_>,
    access: &EmergencyAccess,
    origin: &url::Url,
    key: &SigningKey,
    now: DateTime<Utc>,
    random: &dyn Random,
) -> Result<Vec<Notification>, StoreError> {
    let subject = &access.person_id;
    let name = store.person(subject).await?.map_or_else(String::new, |person| person.display_name);
    let mut told: Vec<String> = vec![subject.clone()];
    for grant in store.grants_for_subject(subject).await? {
        let Grantee::Person(person_id) = &grant.grantee else { continue };
        if grant.state(now) != GrantState::Active || told.contains(person_id) {
            continue;
        }
        let asked = grant.categories.contains(&Category::Medication)
            && store.notification_choices(person_id).await?.get(&NotificationKind::EmergencyAccess).is_some_and(|channels| !channels.is_empty());
        if grant.act_for || asked {
            told.push(person_id.clone());
        }
    }
    let mut notifications = Vec::new();
    for person_id in &told {
        let stop = StopLink::for_access(access, person_id).token(key);
        let personalisation = BTreeMap::from([
            ("name".to_owned(), if person_id == subject { "you".to_owned() } else { name.clone() }),
            ("clinician".to_owned(), access.clinician.describe()),
            ("when".to_owned(), uk_time::day_and_time(access.started_at)),
            ("until".to_owned(), uk_time::day_and_time(access.expires_at)),
            ("stop_link".to_owned(), link(origin, &format!("/emergency/stop/{stop}"))),
        ]);
        notifications.extend(to_person(store, person_id, subject, NotificationKind::EmergencyAccess, &personalisation, now, random).await?);
    }
    notifications.extend(duty::emergency_access(store, access, &name, origin, key, now, random).await?);
    Ok(notifications)
}

/// `path` under the portal's `origin`.
pub fn link(origin: &url::Url, path: &str) -> String {
    origin.join(path).map_or_else(|_| format!("{}{path}", origin.as_str().trim_end_matches('/')), String::from)
}

/// Who hears that `grant` (to someone's information) was stopped: the person who lost access,
/// if it was a person's; `subject_name` is whose information it was.
pub async fn access_stopped(
    store: &SqlStore<'_>,
    grant: &crate::consent::Grant,
    subject_name: &str,
    origin: &url::Url,
    now: DateTime<Utc>,
    random: &dyn Random,
) -> Result<Vec<Notification>, StoreError> {
    let Grantee::Person(person_id) = &grant.grantee else { return Ok(Vec::new()) };
    let personalisation = BTreeMap::from([("name".to_owned(), subject_name.to_owned()), ("link".to_owned(), link(origin, "/home"))]);
    to_person(store, person_id, &grant.subject_id, NotificationKind::AccessStopped, &personalisation, now, random).await
}

/// A notice about `person_id`'s own account (a passkey added or removed, a sign-in on a new
/// device): to them, with a link to their passkeys.
pub async fn account(
    store: &SqlStore<'_>,
    person_id: &str,
    kind: NotificationKind,
    origin: &url::Url,
    now: DateTime<Utc>,
    random: &dyn Random,
) -> Result<Vec<Notification>, StoreError> {
    let when = uk_time::day_and_time(now);
    let personalisation = BTreeMap::from([("when".to_owned(), when), ("link".to_owned(), link(origin, "/passkeys"))]);
    to_person(store, person_id, person_id, kind, &personalisation, now, random).await
}

/// Records every notification of `told` in the plan being recorded.
pub async fn queue(recorder: &crate::plan::Recorder, told: &[Notification]) -> Result<(), StoreError> {
    for notification in told {
        crate::store::OutboxStore::queue_notification(&recorder.store(), notification).await?;
    }
    Ok(())
}

/// Who hears that `comment` was answered: whoever wrote it, with a link to the comments on
/// the record it is about.
pub async fn comment_answered(
    store: &SqlStore<'_>,
    comment: &crate::comments::Comment,
    origin: &url::Url,
    now: DateTime<Utc>,
    random: &dyn Random,
) -> Result<Vec<Notification>, StoreError> {
    let personalisation = BTreeMap::from([("link".to_owned(), link(origin, &format!("/people/{}/comments", comment.person_id)))]);
    to_person(store, &comment.author_id, &comment.person_id, NotificationKind::CommentAnswered, &personalisation, now, random).await
}
