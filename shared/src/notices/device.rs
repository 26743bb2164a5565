//! Notices about how an account is reached: a sign-in from a device the account has not been
//! used on before (opt-out, to the account holder the way they chose), and a confirmed email
//! address or mobile number replaced by a new one (to the old one directly: whoever lost it
//! must hear of it there, whatever the account now says).

use crate::store::SqlStore;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{link, to_person};
use crate::contact::Medium;
use crate::outbox::{Notification, NotificationKind};
use crate::random::{Random, new_id};
use crate::store::StoreError;
use crate::uk_time;

/// Where the settings page is, for a link in a message to the account holder.
const SETTINGS: &str = "/account/notifications";

/// Who hears that `person_id` signed in on a new device: they do, the way they chose, with
/// when, the device in a few words ([`crate::device::describe`]) and a link to the passkeys
/// page, where its session can be ended.
pub async fn new_device_sign_in(
    store: &SqlStore<'_>,
    person_id: &str,
    device: &str,
    origin: &url::Url,
    now: DateTime<Utc>,
    random: &dyn Random,
) -> Result<Vec<Notification>, StoreError> {
    let personalisation = BTreeMap::from([
        ("when".to_owned(), uk_time::day_and_time(now)),
        ("device".to_owned(), device.to_owned()),
        ("link".to_owned(), link(origin, "/passkeys")),
    ]);
    to_person(store, person_id, person_id, NotificationKind::NewDeviceSignIn, &personalisation, now, random).await
}

/// The message to `old_address`, `person_id`'s confirmed `medium` until now, that a new one
/// replaced it: what changed, when, and a link to the settings page. It goes to the old
/// address whatever the person's choices are (it is how someone who did not make the change
/// finds out).
pub fn contact_changed(person_id: &str, medium: Medium, old_address: &str, origin: &url::Url, now: DateTime<Utc>, random: &dyn Random) -> Notification {
    let personalisation = BTreeMap::from([
        ("what".to_owned(), medium.label().to_owned()),
        ("when".to_owned(), uk_time::day_and_time(now)),
        ("link".to_owned(), link(origin, SETTINGS)),
    ]);
    Notification::queued(new_id(random), NotificationKind::ContactChanged, medium.channel(), old_address.to_owned(), personalisation, now)
        .to_person(person_id)
        .about(person_id)
}
