//! The carefront core: domain types, sessions, invitations, passkey ceremonies, audit, the
//! `Store` trait and the one SQL schema. Pure: no clock, no RNG, no I/O of its own, and no
//! runtime crate (`worker`, `spin-sdk`, `wasm-bindgen`) in its dependency tree.

pub mod config;
pub mod context;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod invitation;
pub mod migrations;
pub mod passkey;
pub mod random;
pub mod session;
#[cfg(not(target_family = "wasm"))]
pub mod sqlite;
pub mod store;

pub use webauthn_rs;
