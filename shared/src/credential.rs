//! System credentials: how providers' and the council's systems prove who they are to the API.
//!
//! Every request is signed with HMAC-SHA256 over its method, path and query, `Host`,
//! `Content-Type`, `Idempotency-Key`, a timestamp, a nonce and the digest of its body (RFC 9530
//! `Content-Digest`), so a captured request can be neither changed, nor replayed, nor sent to
//! another deployment that shares the key. A credential's signing key is derived from the deployment secret
//! `CREDENTIAL_KEY` and the key id, shown once when the credential is made and never stored: the
//! store keeps its SHA-256 fingerprint only. Pure: the time and randomness are passed in.

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::consent::Actor;
use crate::crypto::KeyTooShort;
use crate::domain::{Organisation, OrganisationKind, Role};
use crate::random::{Random, token};

type HmacSha256 = Hmac<Sha256>;

/// The authentication scheme named in the `Authorization` header.
pub const SCHEME: &str = "Carefront-HMAC-SHA256";
/// The header carrying the request's time, in whole seconds since the Unix epoch.
pub const TIMESTAMP_HEADER: &str = "carefront-timestamp";
/// The header carrying the request's nonce: 16 to 64 characters of `A-Z a-z 0-9 - _`.
pub const NONCE_HEADER: &str = "carefront-nonce";
/// The RFC 9530 header carrying the SHA-256 digest of the body (of the empty body too).
pub const DIGEST_HEADER: &str = "content-digest";
/// How far a request's timestamp may be from the server's clock, either way.
pub const MAX_CLOCK_SKEW: Duration = Duration::minutes(5);
/// How often a credential's `last_used_at` is brought up to date (not on every request).
pub const USE_RECORD_INTERVAL: Duration = Duration::minutes(1);
/// `created_by` of credentials made with the command-line tool.
pub const CREATED_BY_ADMIN_TOOL: &str = "carefront-admin";
/// The longest name an administrator may give a credential.
pub const MAX_NAME_CHARS: usize = 80;

const DERIVATION_CONTEXT: &str = "carefront credential v1|";
const KEY_ID_PREFIX: &str = "ck_";
const MAX_KEY_ID_CHARS: usize = 64;
const NONCE_CHARS: std::ops::RangeInclusive<usize> = 16..=64;

/// What a credential allows its system to do. Checked after authentication (403 if missing);
/// what the organisation may see of a person is still decided by the grants (404 if nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Permission {
    /// List the people the organisation supports and what it may see of each.
    #[serde(rename = "people:read")]
    PeopleRead,
    /// Read the record categories a grant allows.
    #[serde(rename = "record:read")]
    RecordRead,
    /// Write visit notes.
    #[serde(rename = "visits:write")]
    VisitsWrite,
    /// Write medication administrations, and start, change and stop medicines and record allergies.
    #[serde(rename = "medication:write")]
    MedicationWrite,
    /// Put in the care plan, service user guide, contacts and documents.
    #[serde(rename = "record:write")]
    RecordWrite,
    /// Record consent discussions held with people and their families.
    #[serde(rename = "consent-discussions:write")]
    ConsentDiscussionsWrite,
    /// Read format and communication needs, and their changes feed.
    #[serde(rename = "needs:read")]
    NeedsRead,
    /// List and answer comments and correction requests.
    #[serde(rename = "comments:write")]
    CommentsWrite,
    /// Export a person's whole record (council only).
    #[serde(rename = "export:read")]
    ExportRead,
    /// Read the monitoring report per provider (council only).
    #[serde(rename = "monitoring:read")]
    MonitoringRead,
    /// Add people to carefront, one at a time or a caseload at once (council only).
    #[serde(rename = "people:write")]
    PeopleWrite,
    /// Put the record in as a FHIR R4 Bundle (each category it writes still needs a grant to
    /// contribute).
    #[serde(rename = "fhir:write")]
    FhirWrite,
    /// Send what is waiting in the outbox (a deployment's scheduled sweep, e.g. a Kubernetes
    /// CronJob for Spin).
    #[serde(rename = "outbox:send")]
    OutboxSend,
}

impl Permission {
    /// Every permission, in display order.
    pub const ALL: [Permission; 13] = [
        Permission::PeopleRead,
        Permission::RecordRead,
        Permission::VisitsWrite,
        Permission::MedicationWrite,
        Permission::RecordWrite,
        Permission::ConsentDiscussionsWrite,
        Permission::NeedsRead,
        Permission::CommentsWrite,
        Permission::ExportRead,
        Permission::MonitoringRead,
        Permission::PeopleWrite,
        Permission::FhirWrite,
        Permission::OutboxSend,
    ];

    /// The stored (and documented) name, e.g. `people:read`.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::PeopleRead => "people:read",
            Permission::RecordRead => "record:read",
            Permission::VisitsWrite => "visits:write",
            Permission::MedicationWrite => "medication:write",
            Permission::RecordWrite => "record:write",
            Permission::ConsentDiscussionsWrite => "consent-discussions:write",
            Permission::NeedsRead => "needs:read",
            Permission::CommentsWrite => "comments:write",
            Permission::ExportRead => "export:read",
            Permission::MonitoringRead => "monitoring:read",
            Permission::PeopleWrite => "people:write",
            Permission::FhirWrite => "fhir:write",
            Permission::OutboxSend => "outbox:send",
        }
    }

    /// Parses a stored name; unknown names are refused.
    pub fn parse(text: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|permission| permission.as_str() == text)
    }

    /// Whether only the council's own systems may hold it.
    pub fn council_only(self) -> bool {
        matches!(self, Permission::ExportRead | Permission::MonitoringRead | Permission::PeopleWrite | Permission::OutboxSend)
    }

    /// What it allows, in words an administrator reads.
    pub fn describe(self) -> &'static str {
        match self {
            Permission::PeopleRead => "See the people the organisation supports, and what it may see of each",
            Permission::RecordRead => "Read the parts of a person's record the organisation has been given",
            Permission::VisitsWrite => "Add visit notes, the visit schedule and each visit's status",
            Permission::MedicationWrite => "Record medicines given, refused or not given; start, change and stop medicines; record allergies",
            Permission::RecordWrite => "Put in the care plan, service user guide, contacts and documents",
            Permission::ConsentDiscussionsWrite => "Record consent discussions with people and their families",
            Permission::NeedsRead => "Read people's format and communication needs",
            Permission::CommentsWrite => "Read and answer people's comments and correction requests",
            Permission::ExportRead => "Export a person's whole record (council only)",
            Permission::MonitoringRead => "Read the monitoring report on providers (council only)",
            Permission::PeopleWrite => "Add people, one at a time or a whole caseload (council only)",
            Permission::FhirWrite => "Put in care plans, medicines, allergies, visits and documents as a FHIR R4 Bundle",
            Permission::OutboxSend => "Send the messages waiting to go to people, from a scheduled job (council only)",
        }
    }
}

/// Parses a comma-separated list of permission names (`people:read,record:read`).
pub fn parse_permissions(text: &str) -> Result<BTreeSet<Permission>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| Permission::parse(name).ok_or_else(|| format!("unknown permission {name:?}")))
        .collect()
}

/// The deployment secret every credential's signing key is derived from (`CREDENTIAL_KEY`).
#[derive(Clone)]
pub struct CredentialKey(HmacSha256);

impl std::fmt::Debug for CredentialKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CredentialKey(<redacted>)")
    }
}

impl CredentialKey {
    /// Keys the derivation with `bytes`, which must be at least 32 bytes long.
    pub fn new(bytes: &[u8]) -> Result<CredentialKey, KeyTooShort> {
        if bytes.len() < 32 {
            return Err(KeyTooShort);
        }
        HmacSha256::new_from_slice(bytes).map(CredentialKey).map_err(|_| KeyTooShort)
    }

    /// Decodes base64url (padding allowed) of at least 32 bytes, as configured.
    pub fn from_base64url(text: &str) -> Option<CredentialKey> {
        let bytes = URL_SAFE_NO_PAD.decode(text.trim().trim_end_matches('=')).ok()?;
        CredentialKey::new(&bytes).ok()
    }

    /// The signing key of the credential `key_id`:
    /// `HMAC-SHA256(CREDENTIAL_KEY, "carefront credential v1|" + key_id)`.
    pub fn derive(&self, key_id: &str) -> DerivedKey {
        let mut mac = self.0.clone();
        mac.update(DERIVATION_CONTEXT.as_bytes());
        mac.update(key_id.as_bytes());
        DerivedKey(mac.finalize().into_bytes().into())
    }
}

/// One credential's signing key: 32 bytes, handed to its system once as base64url.
pub struct DerivedKey([u8; 32]);

impl std::fmt::Debug for DerivedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DerivedKey(<redacted>)")
    }
}

impl DerivedKey {
    /// The key as its system receives it: base64url without padding.
    pub fn secret(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// A key from its base64url secret (how a client holds it).
    pub fn from_secret(secret: &str) -> Option<DerivedKey> {
        let bytes = URL_SAFE_NO_PAD.decode(secret.trim().trim_end_matches('=')).ok()?;
        bytes.try_into().ok().map(DerivedKey)
    }

    /// SHA-256 of the key, base64url: what the store keeps. It reveals nothing usable.
    pub fn fingerprint(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.0))
    }

    fn mac(&self, canonical: &str) -> HmacSha256 {
        // A 32-byte key is always accepted by HMAC; the fallback is never taken.
        let mut mac = HmacSha256::new_from_slice(&self.0).unwrap_or_else(|_| <HmacSha256 as Mac>::new(&Default::default()));
        mac.update(canonical.as_bytes());
        mac
    }

    /// The signature of a canonical request: base64url HMAC-SHA256.
    pub fn sign(&self, canonical: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(canonical).finalize().into_bytes())
    }

    /// Checks a base64url signature in constant time.
    pub fn verify(&self, canonical: &str, signature: &str) -> bool {
        match URL_SAFE_NO_PAD.decode(signature.trim_end_matches('=')) {
            Ok(bytes) => self.mac(canonical).verify_slice(&bytes).is_ok(),
            Err(_) => false,
        }
    }
}

/// A credential as stored: everything but its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemCredential {
    /// The public key id the system names in every request (`ck_…`).
    pub key_id: String,
    /// The organisation whose system it is; it sees what that organisation may see.
    pub organisation_id: String,
    /// What it is for, in the administrator's words.
    pub name: String,
    /// What it may do.
    pub permissions: BTreeSet<Permission>,
    /// SHA-256 of its derived key (base64url).
    pub fingerprint: String,
    /// Who made it: a person id, or [`CREATED_BY_ADMIN_TOOL`].
    pub created_by: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it was revoked; a revoked credential is refused at once.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Who revoked it: a person id, or the tool's `carefront-admin[:operator]`.
    pub revoked_by: Option<String>,
    /// When a request signed with it was last accepted (to within [`USE_RECORD_INTERVAL`]).
    pub last_used_at: Option<DateTime<Utc>>,
}

impl SystemCredential {
    /// Whether the credential can still be used.
    pub fn is_live(&self) -> bool {
        self.revoked_at.is_none()
    }

    /// Whether its last use should be written now (at most once per [`USE_RECORD_INTERVAL`]).
    pub fn needs_use_record(&self, now: DateTime<Utc>) -> bool {
        self.last_used_at.is_none_or(|last| now - last >= USE_RECORD_INTERVAL)
    }
}

/// A newly made credential and its secret, which is shown once and then forgotten.
pub struct IssuedCredential {
    /// What is stored.
    pub credential: SystemCredential,
    /// The signing key as base64url, for the system's configuration.
    pub secret: String,
}

impl std::fmt::Debug for IssuedCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCredential").field("credential", &self.credential).field("secret", &"<redacted>").finish()
    }
}

/// Why a credential cannot be made as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CredentialProblem {
    /// No permission was chosen.
    #[error("choose at least one permission")]
    NoPermissions,
    /// A council-only permission was asked for a provider's system.
    #[error("only the council's own systems may have {}", .0.as_str())]
    CouncilOnly(Permission),
    /// The name is empty, too long or has control characters.
    #[error("give the credential a name of up to 80 characters, saying which system uses it")]
    BadName,
}

/// Checks what a credential for `organisation` would allow.
pub fn check_request(organisation: &Organisation, name: &str, permissions: &BTreeSet<Permission>) -> Result<(), CredentialProblem> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(CredentialProblem::BadName);
    }
    if permissions.is_empty() {
        return Err(CredentialProblem::NoPermissions);
    }
    if organisation.kind != OrganisationKind::Council
        && let Some(permission) = permissions.iter().find(|permission| permission.council_only())
    {
        return Err(CredentialProblem::CouncilOnly(*permission));
    }
    Ok(())
}

/// A new random key id: `ck_` and 96 random bits.
pub fn new_key_id(random: &dyn Random) -> String {
    format!("{KEY_ID_PREFIX}{}", token(random, 12))
}

/// Makes a credential for `organisation`'s system: a new key id, its derived key (the secret,
/// returned once) and the row to store (its fingerprint only).
pub fn issue(
    key: &CredentialKey,
    organisation: &Organisation,
    name: &str,
    permissions: BTreeSet<Permission>,
    created_by: &str,
    random: &dyn Random,
    now: DateTime<Utc>,
) -> Result<IssuedCredential, CredentialProblem> {
    check_request(organisation, name, &permissions)?;
    let key_id = new_key_id(random);
    let derived = key.derive(&key_id);
    let credential = SystemCredential {
        key_id,
        organisation_id: organisation.id.clone(),
        name: name.trim().to_owned(),
        permissions,
        fingerprint: derived.fingerprint(),
        created_by: created_by.to_owned(),
        created_at: now,
        revoked_at: None,
        revoked_by: None,
        last_used_at: None,
    };
    Ok(IssuedCredential { credential, secret: derived.secret() })
}

/// How the command-line tool is recorded as a credential's maker or revoker:
/// `carefront-admin`, or `carefront-admin:<operator>` when the operator gave their name.
pub fn tool_actor(operator: Option<&str>) -> String {
    match operator.map(str::trim).filter(|operator| !operator.is_empty()) {
        Some(operator) => format!("{CREATED_BY_ADMIN_TOOL}:{operator}"),
        None => CREATED_BY_ADMIN_TOOL.to_owned(),
    }
}

/// How a credential's maker (or revoker) is named to people: the person's name when it is a
/// person (`person_name`, looked up with the credential), else the command-line tool and its
/// operator.
pub fn maker_name(recorded: &str, person_name: Option<&str>) -> String {
    if let Some(name) = person_name {
        return name.to_owned();
    }
    match recorded.strip_prefix(CREATED_BY_ADMIN_TOOL) {
        Some("") => "the carefront-admin tool".to_owned(),
        Some(rest) => match rest.strip_prefix(':') {
            Some(operator) => format!("{operator} with the carefront-admin tool"),
            None => "someone no longer on carefront".to_owned(),
        },
        None => "someone no longer on carefront".to_owned(),
    }
}

/// A credential as a request signed with it is authenticated: with its organisation and the
/// name of whoever made it, loaded in one query.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialInUse {
    /// The credential.
    pub credential: SystemCredential,
    /// The organisation whose system it is.
    pub organisation: Organisation,
    /// Who made it, as people read it ([`maker_name`]).
    pub maker: String,
}

/// The `Content-Digest` value of a body: `sha-256=:<base64>:` (RFC 9530).
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", STANDARD.encode(Sha256::digest(body)))
}

/// The headers a signature covers after the method and the path, in this order.
pub const SIGNED_HEADERS: [&str; 6] = ["host", "content-type", "idempotency-key", TIMESTAMP_HEADER, NONCE_HEADER, DIGEST_HEADER];

/// What a request's signature covers, each value as sent with surrounding whitespace removed,
/// and empty when the header is absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SignedParts<'a> {
    /// The method, as sent (`GET`, `POST`).
    pub method: &'a str,
    /// The path and query, exactly as sent (no decoding or reordering).
    pub path_and_query: &'a str,
    /// `Host`: the host name, and the port if the URL names one.
    pub host: &'a str,
    /// `Content-Type`.
    pub content_type: &'a str,
    /// `Idempotency-Key`.
    pub idempotency_key: &'a str,
    /// `Carefront-Timestamp`.
    pub timestamp: &'a str,
    /// `Carefront-Nonce`.
    pub nonce: &'a str,
    /// `Content-Digest`.
    pub content_digest: &'a str,
}

/// The string a request's signature covers: the method, the path and query, then one
/// `name:value` line per header of [`SIGNED_HEADERS`] (names lower-case), joined by `\n`, with no
/// newline at the end.
pub fn canonical_request(parts: &SignedParts<'_>) -> String {
    let values = [parts.host, parts.content_type, parts.idempotency_key, parts.timestamp, parts.nonce, parts.content_digest];
    let mut lines = vec![parts.method.to_owned(), parts.path_and_query.to_owned()];
    lines.extend(SIGNED_HEADERS.iter().zip(values).map(|(name, value)| format!("{name}:{value}")));
    lines.join("\n")
}

/// The headers a signed request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeaders {
    /// `Authorization: Carefront-HMAC-SHA256 Credential=<key id>, Signature=<base64url>`.
    pub authorization: String,
    /// `Carefront-Timestamp`.
    pub timestamp: String,
    /// `Carefront-Nonce`.
    pub nonce: String,
    /// `Content-Digest`.
    pub content_digest: String,
}

impl SignatureHeaders {
    /// Adds the four headers to a request's headers, replacing any there.
    pub fn insert_into(self, headers: &mut http::HeaderMap) -> Result<(), http::header::InvalidHeaderValue> {
        for (name, value) in
            [("authorization", self.authorization), (TIMESTAMP_HEADER, self.timestamp), (NONCE_HEADER, self.nonce), (DIGEST_HEADER, self.content_digest)]
        {
            headers.insert(name, value.parse()?);
        }
        Ok(())
    }
}

/// The request's `Host`: the header, else the authority of an absolute URI, else empty.
fn host(request: &http::Request<Vec<u8>>) -> Result<&str, AuthError> {
    Ok(match single_header(request, "host")? {
        Some(host) => host,
        None => request.uri().authority().map_or("", |authority| authority.as_str()),
    })
}

/// Signs a request as it will be sent (method, path and query, `Host`, `Content-Type`,
/// `Idempotency-Key` and body), the way a client does: tests, tools, and the reference for other
/// languages. A header sent twice is signed as absent, and the server refuses it anyway.
pub fn sign_request(key: &DerivedKey, key_id: &str, request: &http::Request<Vec<u8>>, timestamp: i64, nonce: &str) -> SignatureHeaders {
    let timestamp = timestamp.to_string();
    let content_digest = content_digest(request.body());
    let optional = |name: &'static str| single_header(request, name).ok().flatten().unwrap_or_default();
    let parts = SignedParts {
        method: request.method().as_str(),
        path_and_query: request.uri().path_and_query().map_or("/", |path| path.as_str()),
        host: host(request).unwrap_or_default(),
        content_type: optional("content-type"),
        idempotency_key: optional("idempotency-key"),
        timestamp: &timestamp,
        nonce,
        content_digest: &content_digest,
    };
    let signature = key.sign(&canonical_request(&parts));
    SignatureHeaders { authorization: format!("{SCHEME} Credential={key_id}, Signature={signature}"), timestamp, nonce: nonce.to_owned(), content_digest }
}

/// The parts of an `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The credential's key id.
    pub key_id: String,
    /// The base64url signature.
    pub signature: String,
}

/// Why a request could not be authenticated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// There is no `Authorization` header.
    #[error("sign the request with a system credential: the Authorization header is missing")]
    MissingAuthorization,
    /// The `Authorization` header is not `Carefront-HMAC-SHA256 Credential=…, Signature=…`.
    #[error("the Authorization header is malformed: {0}")]
    MalformedAuthorization(&'static str),
    /// A header every signed request carries is missing.
    #[error("the {0} header is required on every signed request")]
    MissingHeader(&'static str),
    /// A signing header is not in its format.
    #[error("the {0} header is malformed: {1}")]
    MalformedHeader(&'static str, &'static str),
    /// `Content-Digest` is not an RFC 9530 dictionary with a `sha-256` member.
    #[error("the Content-Digest header must be sha-256=:<base64 of the SHA-256 of the body>:")]
    MalformedDigest,
    /// The timestamp is more than [`MAX_CLOCK_SKEW`] from the server's clock.
    #[error("the request's timestamp is more than 5 minutes from the server's clock")]
    ClockSkew {
        /// The server's time, so the client can see how far off it is.
        server_time: DateTime<Utc>,
    },
    /// `Content-Digest` does not match the body received.
    #[error("the body does not match its Content-Digest")]
    DigestMismatch,
    /// The key id is unknown or revoked, `CREDENTIAL_KEY` was rotated, or the signature does
    /// not match: one answer for all, so that no one can learn which key ids exist.
    #[error("the credential is not valid or the signature does not match the request")]
    InvalidSignature,
    /// This key id and nonce were accepted before, within the replay window.
    #[error("this request was already received: sign each request with a new nonce")]
    Replayed,
}

fn is_token_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'
}

/// Parses `Carefront-HMAC-SHA256 Credential=<key id>, Signature=<base64url>` (scheme and
/// parameter names in any case; values may be quoted).
pub fn parse_authorization(value: &str) -> Result<Authorization, AuthError> {
    let value = value.trim();
    let (scheme, params) = value.split_once(|c: char| c.is_ascii_whitespace()).ok_or(AuthError::MalformedAuthorization("expected a scheme and parameters"))?;
    if !scheme.eq_ignore_ascii_case(SCHEME) {
        return Err(AuthError::MalformedAuthorization("the scheme must be Carefront-HMAC-SHA256"));
    }
    let (mut key_id, mut signature) = (None, None);
    for param in params.split(',') {
        let (name, raw) = param.trim().split_once('=').ok_or(AuthError::MalformedAuthorization("parameters are name=value pairs"))?;
        let raw = raw.trim();
        let unquoted = raw.strip_prefix('"').and_then(|rest| rest.strip_suffix('"')).unwrap_or(raw);
        let slot = match name.trim().to_ascii_lowercase().as_str() {
            "credential" => &mut key_id,
            "signature" => &mut signature,
            _ => return Err(AuthError::MalformedAuthorization("only the Credential and Signature parameters are allowed")),
        };
        if slot.replace(unquoted.to_owned()).is_some() {
            return Err(AuthError::MalformedAuthorization("a parameter is given twice"));
        }
    }
    let key_id = key_id.ok_or(AuthError::MalformedAuthorization("the Credential parameter is missing"))?;
    let signature = signature.ok_or(AuthError::MalformedAuthorization("the Signature parameter is missing"))?;
    if key_id.is_empty() || key_id.len() > MAX_KEY_ID_CHARS || !key_id.bytes().all(is_token_char) {
        return Err(AuthError::MalformedAuthorization("the Credential parameter is not a key id"));
    }
    let bare = signature.trim_end_matches('=');
    if bare.is_empty() || bare.len() > 88 || !bare.bytes().all(is_token_char) {
        return Err(AuthError::MalformedAuthorization("the Signature parameter is not base64url"));
    }
    Ok(Authorization { key_id, signature })
}

/// Parses the `sha-256` member of an RFC 9530 `Content-Digest` dictionary.
pub fn parse_content_digest(value: &str) -> Result<[u8; 32], AuthError> {
    let mut found = None;
    for member in value.split(',') {
        let (name, rest) = member.trim().split_once('=').ok_or(AuthError::MalformedDigest)?;
        // Parameters (`;name=value`) after the byte sequence are allowed and ignored.
        let bytes = rest.split(';').next().unwrap_or_default().trim();
        if name.trim().eq_ignore_ascii_case("sha-256") {
            let encoded = bytes.strip_prefix(':').and_then(|rest| rest.strip_suffix(':')).ok_or(AuthError::MalformedDigest)?;
            let digest: [u8; 32] = STANDARD.decode(encoded).ok().and_then(|bytes| bytes.try_into().ok()).ok_or(AuthError::MalformedDigest)?;
            if found.replace(digest).is_some() {
                return Err(AuthError::MalformedDigest);
            }
        }
    }
    found.ok_or(AuthError::MalformedDigest)
}

/// The one value of a header, trimmed; `None` if absent.
fn single_header<'a>(request: &'a http::Request<Vec<u8>>, name: &'static str) -> Result<Option<&'a str>, AuthError> {
    let mut values = request.headers().get_all(name).iter();
    let Some(first) = values.next() else { return Ok(None) };
    if values.next().is_some() {
        return Err(AuthError::MalformedHeader(name, "send it once"));
    }
    first.to_str().map(|text| Some(text.trim())).map_err(|_| AuthError::MalformedHeader(name, "not visible ASCII"))
}

fn required_header<'a>(request: &'a http::Request<Vec<u8>>, name: &'static str) -> Result<&'a str, AuthError> {
    single_header(request, name)?.ok_or(AuthError::MissingHeader(name))
}

/// A request whose signature checked out, before the store is asked about its credential and
/// nonce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    /// The credential it names.
    pub key_id: String,
    /// Its nonce.
    pub nonce: String,
    /// Its timestamp.
    pub timestamp: DateTime<Utc>,
    /// The fingerprint of the key that verified it, to compare with the stored one.
    pub fingerprint: String,
}

impl SignedRequest {
    /// Until when its nonce must be remembered: after that its timestamp is refused anyway.
    pub fn nonce_expires_at(&self) -> DateTime<Utc> {
        self.timestamp + MAX_CLOCK_SKEW
    }
}

/// Checks everything about a signed request that needs no store: the headers, the clock skew,
/// the body digest and the signature (in constant time, with the key derived from the key id,
/// so an unknown key id costs the same as a known one). The store checks follow in
/// [`check_credential`] and the nonce.
pub fn verify_request(key: &CredentialKey, request: &http::Request<Vec<u8>>, now: DateTime<Utc>) -> Result<SignedRequest, AuthError> {
    let authorization = single_header(request, "authorization")?.ok_or(AuthError::MissingAuthorization)?;
    let authorization = parse_authorization(authorization)?;
    let timestamp_text = required_header(request, TIMESTAMP_HEADER)?;
    if timestamp_text.is_empty() || timestamp_text.len() > 12 || !timestamp_text.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(AuthError::MalformedHeader(TIMESTAMP_HEADER, "whole seconds since 1970-01-01T00:00:00Z"));
    }
    let timestamp = timestamp_text
        .parse::<i64>()
        .ok()
        .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
        .ok_or(AuthError::MalformedHeader(TIMESTAMP_HEADER, "whole seconds since 1970-01-01T00:00:00Z"))?;
    if (now - timestamp).abs() > MAX_CLOCK_SKEW {
        return Err(AuthError::ClockSkew { server_time: now });
    }
    let nonce = required_header(request, NONCE_HEADER)?;
    if !NONCE_CHARS.contains(&nonce.len()) || !nonce.bytes().all(is_token_char) {
        return Err(AuthError::MalformedHeader(NONCE_HEADER, "16 to 64 characters of A-Z, a-z, 0-9, - and _"));
    }
    let digest_header = required_header(request, DIGEST_HEADER)?;
    let claimed = parse_content_digest(digest_header)?;
    if claimed[..] != Sha256::digest(request.body())[..] {
        return Err(AuthError::DigestMismatch);
    }
    let parts = SignedParts {
        method: request.method().as_str(),
        path_and_query: request.uri().path_and_query().map_or("/", |path| path.as_str()),
        host: host(request)?,
        content_type: single_header(request, "content-type")?.unwrap_or_default(),
        idempotency_key: single_header(request, "idempotency-key")?.unwrap_or_default(),
        timestamp: timestamp_text,
        nonce,
        content_digest: digest_header,
    };
    let canonical = canonical_request(&parts);
    let derived = key.derive(&authorization.key_id);
    if !derived.verify(&canonical, &authorization.signature) {
        return Err(AuthError::InvalidSignature);
    }
    Ok(SignedRequest { key_id: authorization.key_id, nonce: nonce.to_owned(), timestamp, fingerprint: derived.fingerprint() })
}

/// Accepts the stored credential a verified request names only if it exists, is not revoked,
/// and its fingerprint is that of the key that verified the request (not so after
/// `CREDENTIAL_KEY` was rotated). Every refusal is the same [`AuthError::InvalidSignature`].
pub fn check_credential(stored: Option<SystemCredential>, signed: &SignedRequest) -> Result<SystemCredential, AuthError> {
    match stored {
        Some(credential) if credential.is_live() && credential.key_id == signed.key_id && credential.fingerprint == signed.fingerprint => Ok(credential),
        _ => Err(AuthError::InvalidSignature),
    }
}

/// The actor a system is when `decide` is asked: it holds exactly the grants to its
/// organisation. Its id (`credential:<key id>`) can be no person's, so it never owns a record.
pub fn system_actor(key_id: &str, organisation: &Organisation) -> Actor {
    let role = match organisation.kind {
        OrganisationKind::Council => Role::CouncilStaff,
        OrganisationKind::Provider => Role::ProviderStaff,
    };
    Actor { person_id: format!("credential:{key_id}"), role, organisation_id: Some(organisation.id.clone()) }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::random::SeededRandom;

    fn key() -> CredentialKey {
        CredentialKey::new(b"credential-key-for-tests-only-32-bytes!!").unwrap()
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-21T09:00:00Z").unwrap().with_timezone(&Utc)
    }

    fn organisation(kind: OrganisationKind) -> Organisation {
        Organisation { id: "org-brookside-care".into(), kind, name: "Brookside Home Care".into(), created_at: now() }
    }

    const KEY_ID: &str = "ck_testkey0000001";
    const NONCE: &str = "nonce-0123456789abcdef";

    const HOST: &str = "api.care.example.gov.uk";

    /// `request` with the signature headers of `key_id`'s key, made at `at` with `nonce`.
    fn sign_as(key: &DerivedKey, key_id: &str, mut request: http::Request<Vec<u8>>, at: DateTime<Utc>, nonce: &str) -> http::Request<Vec<u8>> {
        sign_request(key, key_id, &request, at.timestamp(), nonce).insert_into(request.headers_mut()).unwrap();
        request
    }

    fn signed(method: &str, path: &str, body: &[u8], at: DateTime<Utc>, nonce: &str) -> http::Request<Vec<u8>> {
        let request = http::Request::builder().method(method).uri(path).header("host", HOST).body(body.to_vec()).unwrap();
        sign_as(&key().derive(KEY_ID), KEY_ID, request, at, nonce)
    }

    #[test]
    fn a_short_key_is_refused_and_keys_are_redacted() {
        assert!(CredentialKey::new(&[7; 31]).is_err());
        assert!(CredentialKey::from_base64url("c2hvcnQ").is_none());
        assert!(CredentialKey::from_base64url(&URL_SAFE_NO_PAD.encode([7; 32])).is_some());
        assert_eq!(format!("{:?}", key()), "CredentialKey(<redacted>)");
        assert_eq!(format!("{:?}", key().derive("a")), "DerivedKey(<redacted>)");
    }

    #[test]
    fn derivation_is_the_documented_hmac_and_differs_per_key_id() {
        let expected = {
            let mut mac = HmacSha256::new_from_slice(b"credential-key-for-tests-only-32-bytes!!").unwrap();
            mac.update(b"carefront credential v1|ck_a");
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        };
        assert_eq!(key().derive("ck_a").secret(), expected);
        assert_ne!(key().derive("ck_a").secret(), key().derive("ck_b").secret());
        let other = CredentialKey::new(&[9; 32]).unwrap();
        assert_ne!(other.derive("ck_a").secret(), expected, "a rotated CREDENTIAL_KEY gives other keys");
        let secret = key().derive("ck_a").secret();
        assert_eq!(DerivedKey::from_secret(&secret).unwrap().fingerprint(), key().derive("ck_a").fingerprint());
        assert_ne!(key().derive("ck_a").fingerprint(), secret, "the fingerprint is not the key");
        assert!(DerivedKey::from_secret("dG9vIHNob3J0").is_none());
    }

    #[test]
    fn the_canonical_string_and_digest_are_as_documented() {
        assert_eq!(content_digest(b""), "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:");
        assert_eq!(content_digest(br#"{"hello": "world"}"#), "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:", "RFC 9530 appendix example");
        let parts = SignedParts {
            method: "GET",
            path_and_query: "/api/v1/people?limit=2",
            host: HOST,
            timestamp: "1795251600",
            nonce: NONCE,
            content_digest: "sha-256=:x:",
            ..SignedParts::default()
        };
        assert_eq!(
            canonical_request(&parts),
            format!(
                "GET\n/api/v1/people?limit=2\nhost:{HOST}\ncontent-type:\nidempotency-key:\ncarefront-timestamp:1795251600\ncarefront-nonce:{NONCE}\ncontent-digest:sha-256=:x:"
            )
        );
    }

    /// The README's worked example (section "Signing a request"), and a fixed vector for other
    /// implementations (e2e/unit/sign.test.mjs checks the same numbers).
    #[test]
    fn known_answer() {
        let key = CredentialKey::new(&[0x42; 32]).unwrap();
        let derived = key.derive("ck_example");
        assert_eq!(derived.secret(), "tHfOXh252rZtJ0uCX3gHS-e2MkV4I2hSU0BfwkUZ-94");
        let request = http::Request::post("/api/v1/people/person-margaret/visits")
            .header("host", "api.care.example.gov.uk")
            .header("content-type", "application/json")
            .header("idempotency-key", "visit-2026-11-21-0800")
            .body(br#"{"status":"completed"}"#.to_vec())
            .unwrap();
        let headers = sign_request(&derived, "ck_example", &request, 1_795_251_600, "AAAAAAAAAAAAAAAAAAAAAA");
        let parts = SignedParts {
            method: "POST",
            path_and_query: "/api/v1/people/person-margaret/visits",
            host: "api.care.example.gov.uk",
            content_type: "application/json",
            idempotency_key: "visit-2026-11-21-0800",
            timestamp: "1795251600",
            nonce: "AAAAAAAAAAAAAAAAAAAAAA",
            content_digest: &headers.content_digest,
        };
        assert_eq!(
            canonical_request(&parts),
            "POST\n/api/v1/people/person-margaret/visits\nhost:api.care.example.gov.uk\ncontent-type:application/json\n\
             idempotency-key:visit-2026-11-21-0800\ncarefront-timestamp:1795251600\ncarefront-nonce:AAAAAAAAAAAAAAAAAAAAAA\n\
             content-digest:sha-256=:0HZfc81dHfOb41PVOOp8R6AX1mqL0AHcRwckDbtx5Yw=:"
        );
        assert_eq!(headers.authorization, "Carefront-HMAC-SHA256 Credential=ck_example, Signature=801M9X0ZnZthUgZx7-_fdyEu8ti9y4014SkWX8RJg9c");
        let get = http::Request::get("/api/v1/people?limit=2").header("host", "localhost:8788").body(Vec::new()).unwrap();
        let headers = sign_request(&derived, "ck_example", &get, 1_795_251_600, "AAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(headers.authorization, "Carefront-HMAC-SHA256 Credential=ck_example, Signature=SCjUYxLFqe_XDhtFeB11Lwni7z31y4GlD0oPxqQ91Rs");
    }

    #[test]
    fn finding_11_a_request_signed_for_another_host_is_refused() {
        let base = signed("GET", "/api/v1/people", b"", now(), NONCE);
        assert!(verify_request(&key(), &base, now()).is_ok());
        for host in ["api.staging.care.example.gov.uk", "API.CARE.EXAMPLE.GOV.UK:443", ""] {
            let mut moved = base.clone();
            moved.headers_mut().insert("host", host.parse().unwrap());
            assert_eq!(verify_request(&key(), &moved, now()), Err(AuthError::InvalidSignature), "{host:?}");
        }
        let mut without = base.clone();
        without.headers_mut().remove("host");
        assert_eq!(verify_request(&key(), &without, now()), Err(AuthError::InvalidSignature));
        // Without a Host header, an absolute URI's authority stands for it.
        let absolute = http::Request::get(format!("https://{HOST}/api/v1/people")).body(Vec::new()).unwrap();
        let absolute = sign_as(&key().derive(KEY_ID), KEY_ID, absolute, now(), NONCE);
        assert!(verify_request(&key(), &absolute, now()).is_ok());
        let mut elsewhere = absolute.clone();
        *elsewhere.uri_mut() = "https://api.staging.care.example.gov.uk/api/v1/people".parse().unwrap();
        assert_eq!(verify_request(&key(), &elsewhere, now()), Err(AuthError::InvalidSignature));
    }

    #[test]
    fn finding_11_content_type_and_idempotency_key_are_signed() {
        let request = http::Request::post("/api/v1/people/p/visits")
            .header("host", HOST)
            .header("content-type", "application/json")
            .header("idempotency-key", "k1")
            .body(b"{}".to_vec())
            .unwrap();
        let base = sign_as(&key().derive(KEY_ID), KEY_ID, request, now(), NONCE);
        assert!(verify_request(&key(), &base, now()).is_ok());
        for (name, value) in [("content-type", "text/plain"), ("content-type", "application/json; charset=utf-8"), ("idempotency-key", "k2")] {
            let mut tampered = base.clone();
            tampered.headers_mut().insert(name, value.parse().unwrap());
            assert_eq!(verify_request(&key(), &tampered, now()), Err(AuthError::InvalidSignature), "{name}: {value}");
        }
        for name in ["content-type", "idempotency-key"] {
            let mut removed = base.clone();
            removed.headers_mut().remove(name);
            assert_eq!(verify_request(&key(), &removed, now()), Err(AuthError::InvalidSignature), "{name} removed");
            let mut twice = base.clone();
            twice.headers_mut().append(name, "again".parse().unwrap());
            assert!(matches!(verify_request(&key(), &twice, now()), Err(AuthError::MalformedHeader(..))), "{name} twice");
        }
        // An Idempotency-Key added to a request signed without one is refused too.
        let mut added = signed("POST", "/api/v1/people/p/visits", b"{}", now(), NONCE);
        added.headers_mut().insert("idempotency-key", "k3".parse().unwrap());
        assert_eq!(verify_request(&key(), &added, now()), Err(AuthError::InvalidSignature));
    }

    #[test]
    fn authorization_headers_are_parsed_strictly() {
        let good = parse_authorization("Carefront-HMAC-SHA256 Credential=ck_abc, Signature=c2ln").unwrap();
        assert_eq!(good, Authorization { key_id: "ck_abc".into(), signature: "c2ln".into() });
        assert_eq!(parse_authorization(r#"carefront-hmac-sha256 signature="c2ln",credential="ck_abc""#).unwrap(), good);
        for bad in [
            "",
            "Carefront-HMAC-SHA256",
            "Bearer abc",
            "Carefront-HMAC-SHA256 Credential=ck_abc",
            "Carefront-HMAC-SHA256 Signature=c2ln",
            "Carefront-HMAC-SHA256 Credential=ck_abc, Signature=c2ln, Extra=1",
            "Carefront-HMAC-SHA256 Credential=ck_abc, Credential=ck_abd, Signature=c2ln",
            "Carefront-HMAC-SHA256 Credential=ck abc, Signature=c2ln",
            "Carefront-HMAC-SHA256 Credential=ck_abc, Signature=c2l+",
            "Carefront-HMAC-SHA256 Credential=, Signature=c2ln",
            "Carefront-HMAC-SHA256 Credential=ck_abc Signature=c2ln",
        ] {
            assert!(matches!(parse_authorization(bad), Err(AuthError::MalformedAuthorization(_))), "{bad:?}");
        }
    }

    #[test]
    fn content_digests_are_parsed() {
        let empty = content_digest(b"");
        assert_eq!(parse_content_digest(&empty).unwrap()[..], Sha256::digest(b"")[..]);
        let with_other = format!("sha-512=:AAAA:, {empty}");
        assert_eq!(parse_content_digest(&with_other).unwrap()[..], Sha256::digest(b"")[..]);
        for bad in ["", "sha-256", "sha-256=abc", "sha-256=:not base64:", "sha-256=:AAAA:", "sha-512=:AAAA:", &format!("{empty}, {empty}")] {
            assert_eq!(parse_content_digest(bad), Err(AuthError::MalformedDigest), "{bad:?}");
        }
    }

    #[test]
    fn a_well_signed_request_verifies() {
        let request = signed("POST", "/api/v1/people?limit=2", b"{\"a\":1}", now(), NONCE);
        let verified = verify_request(&key(), &request, now()).unwrap();
        assert_eq!(verified.key_id, KEY_ID);
        assert_eq!(verified.nonce, NONCE);
        assert_eq!(verified.fingerprint, key().derive(KEY_ID).fingerprint());
        assert_eq!(verified.nonce_expires_at(), now() + MAX_CLOCK_SKEW);
    }

    #[test]
    fn clock_skew_is_refused_beyond_five_minutes_either_way() {
        for (offset, accepted) in [(-300, true), (300, true), (-301, false), (301, false), (-3600, false), (3600, false)] {
            let request = signed("GET", "/api/v1/people", b"", now() + Duration::seconds(offset), NONCE);
            let result = verify_request(&key(), &request, now());
            assert_eq!(result.is_ok(), accepted, "offset {offset}s");
            if !accepted {
                assert_eq!(result, Err(AuthError::ClockSkew { server_time: now() }));
            }
        }
    }

    #[test]
    fn anything_changed_after_signing_is_refused() {
        let base = signed("POST", "/api/v1/people?limit=2", b"{\"a\":1}", now(), NONCE);
        let verify = |request: &http::Request<Vec<u8>>| verify_request(&key(), request, now());

        let mut body = base.clone();
        *body.body_mut() = b"{\"a\":2}".to_vec();
        assert_eq!(verify(&body), Err(AuthError::DigestMismatch));

        let mut digest_and_body = body.clone();
        digest_and_body.headers_mut().insert(DIGEST_HEADER, content_digest(b"{\"a\":2}").parse().unwrap());
        assert_eq!(verify(&digest_and_body), Err(AuthError::InvalidSignature), "a recomputed digest is not signed");

        let mut path = base.clone();
        *path.uri_mut() = "/api/v1/people?limit=3".parse().unwrap();
        assert_eq!(verify(&path), Err(AuthError::InvalidSignature));

        let mut method = base.clone();
        *method.method_mut() = http::Method::PUT;
        assert_eq!(verify(&method), Err(AuthError::InvalidSignature));

        let mut nonce = base.clone();
        nonce.headers_mut().insert(NONCE_HEADER, "another-nonce-0123456789".parse().unwrap());
        assert_eq!(verify(&nonce), Err(AuthError::InvalidSignature));

        let mut time = base.clone();
        time.headers_mut().insert(TIMESTAMP_HEADER, (now().timestamp() + 1).to_string().parse().unwrap());
        assert_eq!(verify(&time), Err(AuthError::InvalidSignature));

        let mut key_id = base.clone();
        let authorization = key_id.headers()["authorization"].to_str().unwrap().replace(KEY_ID, "ck_testkey0000002");
        key_id.headers_mut().insert("authorization", authorization.parse().unwrap());
        assert_eq!(verify(&key_id), Err(AuthError::InvalidSignature), "another key id's key does not match");

        let rotated = CredentialKey::new(&[1; 32]).unwrap();
        assert_eq!(verify_request(&rotated, &base, now()), Err(AuthError::InvalidSignature));
    }

    #[test]
    fn missing_and_malformed_headers_are_named() {
        let base = signed("GET", "/api/v1/people", b"", now(), NONCE);
        let without = |name: &str| {
            let mut request = base.clone();
            request.headers_mut().remove(name);
            verify_request(&key(), &request, now())
        };
        assert_eq!(without("authorization"), Err(AuthError::MissingAuthorization));
        assert_eq!(without(TIMESTAMP_HEADER), Err(AuthError::MissingHeader(TIMESTAMP_HEADER)));
        assert_eq!(without(NONCE_HEADER), Err(AuthError::MissingHeader(NONCE_HEADER)));
        assert_eq!(without(DIGEST_HEADER), Err(AuthError::MissingHeader(DIGEST_HEADER)));

        let with = |name: &'static str, value: &str| {
            let mut request = base.clone();
            request.headers_mut().insert(name, value.parse().unwrap());
            verify_request(&key(), &request, now())
        };
        assert!(matches!(with(TIMESTAMP_HEADER, "2026-11-21T09:00:00Z"), Err(AuthError::MalformedHeader(TIMESTAMP_HEADER, _))));
        assert!(matches!(with(TIMESTAMP_HEADER, "-1"), Err(AuthError::MalformedHeader(TIMESTAMP_HEADER, _))));
        assert!(matches!(with(TIMESTAMP_HEADER, "99999999999999999"), Err(AuthError::MalformedHeader(TIMESTAMP_HEADER, _))));
        assert!(matches!(with(NONCE_HEADER, "short"), Err(AuthError::MalformedHeader(NONCE_HEADER, _))));
        assert!(matches!(with(NONCE_HEADER, "has spaces in it, quite long"), Err(AuthError::MalformedHeader(NONCE_HEADER, _))));
        assert_eq!(with(DIGEST_HEADER, "md5=:AAAA:"), Err(AuthError::MalformedDigest));
        assert!(matches!(with("authorization", "Bearer token"), Err(AuthError::MalformedAuthorization(_))));

        let mut twice = base.clone();
        twice.headers_mut().append(NONCE_HEADER, "second-nonce-0123456789".parse().unwrap());
        assert!(matches!(verify_request(&key(), &twice, now()), Err(AuthError::MalformedHeader(NONCE_HEADER, _))));
    }

    #[test]
    fn stored_credentials_must_be_live_and_match_the_key() {
        let random = SeededRandom::new(3);
        let issued =
            issue(&key(), &organisation(OrganisationKind::Provider), " Rostering ", [Permission::PeopleRead].into(), "person-daniel", &random, now()).unwrap();
        let credential = issued.credential.clone();
        assert_eq!(credential.name, "Rostering");
        assert!(credential.key_id.starts_with("ck_") && credential.key_id.len() == 19, "{}", credential.key_id);
        assert_eq!(DerivedKey::from_secret(&issued.secret).unwrap().fingerprint(), credential.fingerprint);
        assert!(!format!("{issued:?}").contains(&issued.secret), "the secret is never in debug output");

        let request = http::Request::get("/").header("host", HOST).body(Vec::new()).unwrap();
        let request = sign_as(&DerivedKey::from_secret(&issued.secret).unwrap(), &credential.key_id, request, now(), NONCE);
        let verified = verify_request(&key(), &request, now()).unwrap();
        assert_eq!(check_credential(Some(credential.clone()), &verified), Ok(credential.clone()));
        assert_eq!(check_credential(None, &verified), Err(AuthError::InvalidSignature), "unknown");
        let revoked = SystemCredential { revoked_at: Some(now()), ..credential.clone() };
        assert_eq!(check_credential(Some(revoked), &verified), Err(AuthError::InvalidSignature), "revoked: the same answer");
        let rotated = SystemCredential { fingerprint: "other".into(), ..credential };
        assert_eq!(check_credential(Some(rotated), &verified), Err(AuthError::InvalidSignature), "made under another CREDENTIAL_KEY");
    }

    #[test]
    fn permissions_have_stable_names_and_council_only_ones_are_kept_to_the_council() {
        for permission in Permission::ALL {
            assert_eq!(Permission::parse(permission.as_str()), Some(permission));
            assert_eq!(serde_json::to_value(permission).unwrap(), permission.as_str());
        }
        assert_eq!(parse_permissions("people:read, record:read").unwrap(), BTreeSet::from([Permission::PeopleRead, Permission::RecordRead]));
        assert!(parse_permissions("people:read,people:delete").is_err());

        let random = SeededRandom::new(1);
        let provider = organisation(OrganisationKind::Provider);
        let council = organisation(OrganisationKind::Council);
        let export = BTreeSet::from([Permission::PeopleRead, Permission::ExportRead]);
        assert_eq!(issue(&key(), &provider, "x", export.clone(), "p", &random, now()).unwrap_err(), CredentialProblem::CouncilOnly(Permission::ExportRead));
        assert!(issue(&key(), &council, "x", export, "p", &random, now()).is_ok());
        assert_eq!(issue(&key(), &provider, "x", BTreeSet::new(), "p", &random, now()).unwrap_err(), CredentialProblem::NoPermissions);
        for name in ["", "   ", &"x".repeat(81), "tab\there"] {
            assert_eq!(issue(&key(), &provider, name, [Permission::PeopleRead].into(), "p", &random, now()).unwrap_err(), CredentialProblem::BadName);
        }
    }

    #[test]
    fn makers_are_named_by_person_or_by_the_tool_and_its_operator() {
        assert_eq!(maker_name("person-ann", Some("Ann Council")), "Ann Council");
        assert_eq!(maker_name(&tool_actor(None), None), "the carefront-admin tool");
        assert_eq!(maker_name(&tool_actor(Some("  ")), None), "the carefront-admin tool");
        assert_eq!(maker_name(&tool_actor(Some("Jo Bloggs")), None), "Jo Bloggs with the carefront-admin tool");
        assert_eq!(maker_name("person-gone", None), "someone no longer on carefront");
        assert_eq!(maker_name("carefront-administrator", None), "someone no longer on carefront");
    }

    #[test]
    fn use_is_recorded_at_most_once_a_minute() {
        let credential = SystemCredential {
            key_id: "ck_a".into(),
            organisation_id: "o".into(),
            name: "n".into(),
            permissions: BTreeSet::new(),
            fingerprint: "f".into(),
            created_by: "p".into(),
            created_at: now(),
            revoked_at: None,
            revoked_by: None,
            last_used_at: None,
        };
        assert!(credential.needs_use_record(now()));
        let used = SystemCredential { last_used_at: Some(now()), ..credential };
        assert!(!used.needs_use_record(now() + Duration::seconds(59)));
        assert!(used.needs_use_record(now() + Duration::seconds(60)));
    }

    #[test]
    fn a_system_never_owns_a_record() {
        let actor = system_actor("ck_a", &organisation(OrganisationKind::Provider));
        assert_eq!(actor.person_id, "credential:ck_a");
        assert_eq!(actor.organisation_id.as_deref(), Some("org-brookside-care"));
        assert_eq!(system_actor("ck_a", &organisation(OrganisationKind::Council)).role, Role::CouncilStaff);
    }
}
