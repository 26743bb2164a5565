//! A consent discussion to confirm: when a provider writes down the conversation it held with a
//! person, the person (and whoever acts for them) is told there is something to confirm, with a
//! link to their discussions page. The message names the provider, never what was decided.

use crate::store::SqlStore;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{link, to_person};
use crate::consent::{GrantState, Grantee};
use crate::discussion::Discussion;
use crate::outbox::{Notification, NotificationKind};
use crate::random::Random;
use crate::store::{Store, StoreError};

/// The people who may act for `subject_id` at `now`: the person grantees of their live grants
/// with the act-for power, each once, oldest grant first.
pub async fn acting_for(store: &SqlStore<'_>, subject_id: &str, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
    let mut people: Vec<String> = Vec::new();
    for grant in store.grants_for_subject(subject_id).await? {
        if let Grantee::Person(person_id) = &grant.grantee
            && grant.act_for
            && grant.state(now) == GrantState::Active
            && !people.contains(person_id)
        {
            people.push(person_id.clone());
        }
    }
    Ok(people)
}

/// Who hears that `discussion` waits to be confirmed: the person it was held with, and whoever
/// acts for them; `provider` (the organisation that held it) and `link` (the person's
/// discussions page under `origin`) are the message's only details.
pub async fn discussion_to_confirm(
    store: &SqlStore<'_>,
    discussion: &Discussion,
    origin: &url::Url,
    now: DateTime<Utc>,
    random: &dyn Random,
) -> Result<Vec<Notification>, StoreError> {
    let subject = &discussion.person_id;
    let provider = store.organisation(&discussion.organisation_id).await?.map_or_else(|| "Your care provider".to_owned(), |organisation| organisation.name);
    let personalisation = BTreeMap::from([("provider".to_owned(), provider), ("link".to_owned(), link(origin, &format!("/people/{subject}/discussions")))]);
    let mut told = vec![subject.clone()];
    told.extend(acting_for(store, subject, now).await?.into_iter().filter(|person_id| person_id != subject));
    let mut notifications = Vec::new();
    for person_id in &told {
        notifications.extend(to_person(store, person_id, subject, NotificationKind::DiscussionToConfirm, &personalisation, now, random).await?);
    }
    Ok(notifications)
}
