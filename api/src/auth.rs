//! Authenticating a signed request: the pure checks of `shared::credential` (headers, clock
//! skew, body digest, signature), then the store's (the credential is live, the nonce is new).
//! The handler gets a [`Caller`]; every refusal is a 401 problem document with a
//! `WWW-Authenticate` challenge (400 for a malformed `Content-Digest`).

use carefront_shared::store::prelude::*;
use std::collections::BTreeSet;

use carefront_shared::consent::Actor;
use carefront_shared::context::RequestContext;
use carefront_shared::credential::{self, AuthError, CredentialInUse, Permission};
use carefront_shared::domain::{Organisation, OrganisationKind};
use carefront_shared::problem::Problem;
use carefront_shared::uk_time;
use chrono::{DateTime, Utc};
use http::{HeaderValue, StatusCode, header};

use crate::{Request, Response, problem_with, store_problem};

/// How often (1 in this many accepted requests) expired nonces are purged.
const PURGE_ONE_IN: u8 = 64;

/// The system a signed request came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    /// The organisation whose system it is: it sees what the organisation may see.
    pub organisation: Organisation,
    /// The credential's key id.
    pub credential_id: String,
    /// What the credential allows (council-only permissions only ever for the council).
    pub permissions: BTreeSet<Permission>,
    /// Who made the credential, as people read it ("Ann Council").
    pub made_by: String,
    /// When the credential was made.
    pub made_at: DateTime<Utc>,
}

impl Caller {
    /// The actor the consent decision is asked about: the organisation's grants, never a record of its own.
    pub fn actor(&self) -> Actor {
        credential::system_actor(&self.credential_id, &self.organisation)
    }

    /// Whether the credential has `permission`.
    pub fn may(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }

    /// How the caller is named in the person's access log: the organisation and who made its
    /// credential, so nothing a system does is unattributed — "Brookside Home Care's computer
    /// system (credential ck_…, made by Ann Council on 3 November 2026)".
    pub fn described(&self) -> String {
        format!("{}'s computer system (credential {}, made by {} on {})", self.organisation.name, self.credential_id, self.made_by, uk_time::day(self.made_at))
    }
}

/// Authenticates a request, or answers it with the reason it was refused.
pub async fn authenticate(context: &RequestContext<'_>, request: &Request) -> Result<Caller, Response> {
    let signed = credential::verify_request(&context.config.credential_key, request, context.now).map_err(refusal)?;
    // The credential, its organisation and its maker in one query.
    let in_use = context.store.credential_in_use(&signed.key_id).await.map_err(|error| store_problem(context, error).into_response())?;
    let (stored, organisation, made_by) = match in_use {
        Some(CredentialInUse { credential, organisation, maker }) => (Some(credential), Some(organisation), maker),
        None => (None, None, String::new()),
    };
    let credential = credential::check_credential(stored, &signed).map_err(refusal)?;
    let organisation = organisation.ok_or_else(|| refusal(AuthError::InvalidSignature))?;
    // Last, once the request is known to be genuine: unauthenticated traffic writes nothing.
    let fresh = context
        .store
        .take_nonce(&signed.key_id, &signed.nonce, signed.nonce_expires_at(), context.now)
        .await
        .map_err(|error| store_problem(context, error).into_response())?;
    if !fresh {
        return Err(refusal(AuthError::Replayed));
    }
    if credential.needs_use_record(context.now) {
        context.store.record_credential_use(&credential.key_id, context.now).await.map_err(|error| store_problem(context, error).into_response())?;
    }
    let mut roll = [0_u8];
    context.random.fill(&mut roll);
    if roll[0].is_multiple_of(PURGE_ONE_IN) {
        // Housekeeping only: a failure here must not refuse a genuine request.
        if let Err(error) = context.store.purge_expired_nonces(context.now).await {
            carefront_shared::log_error!("carefront-api: purging expired nonces failed: {error}");
        }
    }
    let mut permissions = credential.permissions;
    // Defence in depth: whatever the row says, only the council's systems hold council-only
    // permissions.
    permissions.retain(|permission| !permission.council_only() || organisation.kind == OrganisationKind::Council);
    Ok(Caller { organisation, credential_id: credential.key_id, permissions, made_by, made_at: credential.created_at })
}

/// The problem document for a refused request.
pub fn refusal(error: AuthError) -> Response {
    let detail = error.to_string();
    let (status, slug, title) = match &error {
        AuthError::MissingAuthorization => (StatusCode::UNAUTHORIZED, "unauthenticated", "The request is not signed"),
        AuthError::MalformedAuthorization(_) => (StatusCode::UNAUTHORIZED, "malformed-authorization", "The Authorization header is malformed"),
        AuthError::MissingHeader(_) => (StatusCode::UNAUTHORIZED, "missing-signature-header", "A signing header is missing"),
        AuthError::MalformedHeader(..) => (StatusCode::UNAUTHORIZED, "malformed-signature-header", "A signing header is malformed"),
        AuthError::MalformedDigest => (StatusCode::BAD_REQUEST, "malformed-digest", "The Content-Digest header is malformed"),
        AuthError::ClockSkew { .. } => (StatusCode::UNAUTHORIZED, "clock-skew", "The request's time is too far from the server's"),
        AuthError::DigestMismatch => (StatusCode::UNAUTHORIZED, "digest-mismatch", "The body does not match its digest"),
        AuthError::InvalidSignature => (StatusCode::UNAUTHORIZED, "invalid-credentials", "The credential or signature is not valid"),
        AuthError::Replayed => (StatusCode::UNAUTHORIZED, "replayed-request", "The request was already received"),
    };
    let problem = Problem::new(status).with_type(slug, title).with_detail(detail);
    let mut extensions = serde_json::Map::new();
    if let AuthError::ClockSkew { server_time } = error {
        extensions.insert("serverTime".into(), server_time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true).into());
        extensions.insert("serverTimestamp".into(), server_time.timestamp().into());
    }
    let mut response = problem_with(problem, extensions);
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(credential::SCHEME));
    }
    response
}
