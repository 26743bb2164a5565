//! Care providers' duty contacts: when someone uses a person's emergency code, the on-call duty
//! manager of every care provider holding live access to that person is told, at each confirmed
//! duty contact point, with a stop link of the provider's own (so the log says the duty manager
//! stopped it). A provider without live access to the person hears nothing.

use crate::store::SqlStore;
use crate::store::prelude::*;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::consent::{GrantState, Grantee};
use crate::contact::ContactPoint;
use crate::crypto::SigningKey;
use crate::domain::OrganisationKind;
use crate::emergency::{EmergencyAccess, StopLink};
use crate::outbox::{Notification, NotificationKind};
use crate::random::{Random, new_id};
use crate::store::{Store, StoreError};
use crate::uk_time;

/// The care providers (organisation ids, each once) holding a live grant to `person_id` at `now`.
pub async fn providers_of(store: &SqlStore<'_>, person_id: &str, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
    let mut providers: Vec<String> = Vec::new();
    for grant in store.grants_for_subject(person_id).await? {
        let Grantee::Organisation(organisation_id) = &grant.grantee else { continue };
        if grant.state(now) != GrantState::Active || providers.contains(organisation_id) {
            continue;
        }
        if store.organisation(organisation_id).await?.is_some_and(|organisation| organisation.kind == OrganisationKind::Provider) {
            providers.push(organisation_id.clone());
        }
    }
    Ok(providers)
}

/// One message per confirmed duty contact point of each provider with live access to
/// `access.person_id` (named `name`): the emergency access template's keys, each provider with
/// its own stop link (signed with `key`, under `origin`).
pub async fn emergency_access(
    store: &SqlStore<'_>,
    access: &EmergencyAccess,
    name: &str,
    origin: &url::Url,
    key: &SigningKey,
    now: DateTime<Utc>,
    random: &dyn Random,
) -> Result<Vec<Notification>, StoreError> {
    let mut told = Vec::new();
    for organisation_id in providers_of(store, &access.person_id, now).await? {
        let stop = StopLink::for_duty_contact(access, &organisation_id).token(key);
        let personalisation = BTreeMap::from([
            ("name".to_owned(), name.to_owned()),
            ("clinician".to_owned(), access.clinician.describe()),
            ("when".to_owned(), uk_time::day_and_time(access.started_at)),
            ("until".to_owned(), uk_time::day_and_time(access.expires_at)),
            ("stop_link".to_owned(), super::link(origin, &format!("/emergency/stop/{stop}"))),
        ]);
        for point in store.duty_contact_points(&organisation_id).await? {
            let Some(address) = point.verified() else { continue };
            told.push(
                Notification::queued(
                    new_id(random),
                    NotificationKind::EmergencyAccess,
                    point.medium.channel(),
                    address.to_owned(),
                    personalisation.clone(),
                    now,
                )
                .about(&access.person_id),
            );
        }
    }
    Ok(told)
}

/// Whether a care provider has a duty contact messages can go to (a confirmed point).
pub fn is_set(points: &[ContactPoint]) -> bool {
    points.iter().any(|point| point.verified().is_some())
}
