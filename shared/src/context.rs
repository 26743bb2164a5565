//! What a handler is given for one request: the store, the configuration, the time and a source
//! of randomness, all supplied by the runtime entry.

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::random::Random;
use crate::store::Store;

/// The capabilities one request may use.
pub struct RequestContext<'a> {
    /// The council's backing store.
    pub store: &'a dyn Store,
    /// Deployment configuration, read once at the entry.
    pub config: &'a Config,
    /// The time the request arrived.
    pub now: DateTime<Utc>,
    /// Cryptographically secure randomness.
    pub random: &'a dyn Random,
}
