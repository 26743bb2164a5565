//! A person's leave over their own whole record, for tests that read the store directly.

use carefront_shared::access::Permit;
use carefront_shared::consent::{Action, Actor, Category};
use carefront_shared::domain::Role;
use chrono::{DateTime, Utc};

/// Every category of `person_id`'s record, as the person, at `now`.
pub fn own_record(person_id: &str, now: DateTime<Utc>) -> Permit {
    let actor = Actor { person_id: person_id.to_owned(), role: Role::ServiceUser, organisation_id: None };
    match Permit::ask_each(&actor, person_id, Action::View, &Category::ALL, &[], now) {
        Ok(permit) => permit,
        Err(refused) => unreachable!("a person may read their own record: {refused:?}"),
    }
}
