//! What a handler is given for one request: the store, the configuration, the time and a source
//! of randomness, all supplied by the runtime entry.

use crate::store::SqlStore;
use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::outbound::Outbound;
use crate::random::Random;

/// The capabilities one request may use.
pub struct RequestContext<'a> {
    /// The council's backing store.
    pub store: &'a SqlStore<'a>,
    /// Deployment configuration, read once at the entry.
    pub config: &'a Config,
    /// The time the request arrived.
    pub now: DateTime<Utc>,
    /// Cryptographically secure randomness.
    pub random: &'a dyn Random,
    /// The client's address as the platform vouches for it (Cloudflare's `CF-Connecting-IP`,
    /// Spin's `spin-client-addr`), for per-source limits; `None` if the platform gave none.
    /// The entry reads it, so the router never trusts a header a client could have sent.
    pub client: Option<String>,
    /// Outbound HTTP (to GOV.UK Notify), where the runtime has it; `None` in router tests and
    /// wherever the entry gives none, and then messages wait in the outbox for the sweep.
    pub outbound: Option<&'a dyn Outbound>,
}
