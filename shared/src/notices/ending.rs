//! Access ending in 14 days: a scheduled scan (the Workers cron; Spin's scheduled
//! `POST /api/v1/outbox/send`) finds the live grants whose end is near and tells both sides —
//! the person whose information it is, whoever acts for them, and the grantee when that is a
//! person. Each notice's id is made from the grant's id and version, the person told and the
//! channel, so a notice is queued once per version of a grant however often (or however many
//! at once) the scan runs, and an extended grant nearing its new end is told of again.

use crate::store::SqlStore;
use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Timelike, Utc};

use super::discussion::acting_for;
use super::{link, to_person};
use crate::consent::{Grant, GrantState, Grantee};
use crate::outbox::{Channel, Notification, NotificationKind};
use crate::random::Random;
use crate::store::{OutboxStore, Store, StoreError};
use crate::uk_time;

/// How long before a grant ends its notice is sent.
pub const NOTICE_BEFORE: Duration = Duration::days(14);

/// The first UK hour at which the scan queues notices, and the hour it stops: a notice that is
/// days early can wait for the morning rather than wake someone at midnight.
pub const WAKING_HOURS: (u32, u32) = (8, 21);

/// The outbox id of the notice to `person_id` by `channel` that `grant` (this version of it)
/// is ending.
pub fn notice_id(grant: &Grant, person_id: &str, channel: Channel) -> String {
    format!("ending-{}-{}-{}-{}", grant.id, grant.version, person_id, channel.as_str())
}

/// Whether `now` is within [`WAKING_HOURS`] in the UK.
pub fn in_waking_hours(now: DateTime<Utc>) -> bool {
    let hour = uk_time::local(now).hour();
    (WAKING_HOURS.0..WAKING_HOURS.1).contains(&hour)
}

/// One side of an ending grant, and what they read.
struct Told {
    person_id: String,
    access: String,
    name: String,
    path: String,
}

/// The notices that `grant` ends within [`NOTICE_BEFORE`] of `now`, one per person told per
/// channel, with ids from [`notice_id`]. `access` says whose access to whose information in
/// plain words, `name` is the other side, `ends` the UK date, `link` the page to see (and, for
/// the person or someone acting for them, extend) it.
pub async fn access_ending(
    store: &SqlStore<'_>,
    grant: &Grant,
    origin: &url::Url,
    now: DateTime<Utc>,
    random: &dyn Random,
) -> Result<Vec<Notification>, StoreError> {
    let Some(ends_at) = grant.ends_at else { return Ok(Vec::new()) };
    if grant.state(now) != GrantState::Active || ends_at > now + NOTICE_BEFORE {
        return Ok(Vec::new());
    }
    let subject = &grant.subject_id;
    let subject_name = store.person(subject).await?.map_or_else(String::new, |person| person.display_name);
    let grantee_name = match &grant.grantee {
        Grantee::Person(id) => store.person(id).await?.map(|person| person.display_name),
        Grantee::Organisation(id) => store.organisation(id).await?.map(|organisation| organisation.name),
    }
    .unwrap_or_else(|| "someone".to_owned());
    let representatives_page = format!("/people/{subject}/access");
    let mut told = vec![Told {
        person_id: subject.clone(),
        access: format!("{grantee_name}'s access to your information"),
        name: grantee_name.clone(),
        path: "/access".to_owned(),
    }];
    for person_id in acting_for(store, subject, now).await? {
        told.push(Told {
            person_id,
            access: format!("{grantee_name}'s access to {subject_name}'s information"),
            name: grantee_name.clone(),
            path: representatives_page.clone(),
        });
    }
    if let Grantee::Person(grantee) = &grant.grantee {
        // Someone who acts for the person is told once, as the grantee, with the page where they
        // can extend it.
        let path = told.iter().find(|one| &one.person_id == grantee).map_or_else(|| "/home".to_owned(), |one| one.path.clone());
        told.retain(|one| &one.person_id != grantee);
        told.push(Told { person_id: grantee.clone(), access: format!("Your access to {subject_name}'s information"), name: subject_name.clone(), path });
    }
    let ends = uk_time::day(ends_at);
    let mut notifications = Vec::new();
    for one in &told {
        let personalisation = BTreeMap::from([
            ("access".to_owned(), one.access.clone()),
            ("name".to_owned(), one.name.clone()),
            ("ends".to_owned(), ends.clone()),
            ("link".to_owned(), link(origin, &one.path)),
        ]);
        for notification in to_person(store, &one.person_id, subject, NotificationKind::AccessEnding, &personalisation, now, random).await? {
            let id = notice_id(grant, &one.person_id, notification.channel);
            notifications.push(Notification { id, ..notification });
        }
    }
    Ok(notifications)
}

/// Queues the notices of every live grant ending within [`NOTICE_BEFORE`] of `now` (found with
/// one read), each once per version of its grant; how many were queued now. Outside
/// [`WAKING_HOURS`] it queues nothing: the next scan in the day does. Not a plan: the scan
/// changes nothing else, and each notice stands alone.
pub async fn queue_access_ending(store: &SqlStore<'_>, origin: &url::Url, now: DateTime<Utc>, random: &dyn Random) -> Result<usize, StoreError> {
    if !in_waking_hours(now) {
        return Ok(0);
    }
    let mut queued = 0;
    for grant in store.grants_ending_between(now, now + NOTICE_BEFORE).await? {
        for notification in access_ending(store, &grant, origin, now, random).await? {
            if OutboxStore::queue_notification_once(store, &notification).await? {
                queued += 1;
            }
        }
    }
    Ok(queued)
}
