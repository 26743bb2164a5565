//! The carefront core: domain types, sessions, invitations, passkey ceremonies, audit, the
//! `Store` trait and the one SQL schema. Pure: no clock, no RNG, no I/O of its own, and no
//! runtime crate (`worker`, `spin-sdk`, `wasm-bindgen`) in its dependency tree.

pub mod access;
pub mod administration;
pub mod comments;
pub mod config;
pub mod consent;
pub mod contact;
pub mod context;
pub mod credential;
pub mod crypto;
pub mod db;
pub mod device;
pub mod discussion;
pub mod domain;
pub mod emergency;
pub mod export;
pub mod fhir_in;
pub mod import;
pub mod invitation;
pub mod limits;
pub mod live;
pub mod log;
pub mod method;
pub mod migrations;
pub mod monitoring;
#[cfg(not(target_family = "wasm"))]
pub mod native_store;
pub mod needs;
pub mod notices;
pub mod notify;
pub mod onboarding;
pub mod outbound;
pub mod outbox;
pub mod passkey;
pub mod person;
pub mod plan;
pub mod postgres;
#[cfg(not(target_family = "wasm"))]
pub mod postgres_native;
pub mod preferences;
pub mod problem;
pub mod random;
pub mod receipt;
pub mod record;
pub mod record_writes;
pub mod retry;
pub mod routing;
pub mod session;
#[cfg(not(target_family = "wasm"))]
pub mod sqlite;
pub mod staff;
pub mod store;
pub mod today;
pub mod uk_time;

pub use webauthn_rs;

/// Whether the request declares or carries a body larger than `limit` bytes.
pub fn body_too_large(request: &http::Request<Vec<u8>>, limit: usize) -> bool {
    let declared = request.headers().get(http::header::CONTENT_LENGTH).and_then(|value| value.to_str().ok()).and_then(|value| value.parse::<usize>().ok());
    declared.is_some_and(|length| length > limit) || request.body().len() > limit
}
