//! GOV.UK Notify as data: the API key, the JWT Notify's own clients make, a message as the
//! `POST /v2/notifications/{email,sms,letter}` request Notify expects, reading its answers
//! ([`answer`]) and its delivery-status callbacks ([`callback`]). No I/O and no clock: the time
//! is passed in and the request is handed to an [`crate::outbound::Outbound`] by the caller.

pub mod answer;
pub mod callback;
pub mod courier;

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use url::Url;
use uuid::Uuid;

use crate::outbound::OutboundRequest;

/// Notify's production API, the default base URL.
pub const PRODUCTION_BASE_URL: &str = "https://api.notifications.service.gov.uk";

/// The `User-Agent` carefront sends, so Notify's logs name the client (as its own clients do).
pub const USER_AGENT: &str = concat!("carefront/", env!("CARGO_PKG_VERSION"), " (GOV.UK Notify API v2)");

/// A Notify API key: `{key_name}-{service_id}-{secret}`, both ids UUIDs in hyphenated form.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    name: String,
    service_id: Uuid,
    secret: String,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey").field("name", &self.name).field("service_id", &self.service_id).field("secret", &"<redacted>").finish()
    }
}

/// Why a Notify API key was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ApiKeyError {
    /// Shorter than a service id and a secret with their hyphens (73 characters).
    #[error("a Notify API key ends with the service id and the secret key, 73 characters with their hyphens")]
    TooShort,
    /// The last 36 characters are not a UUID.
    #[error("the last 36 characters of a Notify API key (the secret key) are not a UUID")]
    Secret,
    /// The 36 characters before the secret are not a UUID.
    #[error("the service id in a Notify API key (the 36 characters before the secret) is not a UUID")]
    ServiceId,
    /// The service id and secret are not separated by a hyphen.
    #[error("a Notify API key separates its service id and secret key with a hyphen")]
    Separator,
}

/// The length of a hyphenated UUID.
const UUID_LENGTH: usize = 36;

impl ApiKey {
    /// Parses a key as Notify's clients do: the secret is the last 36 characters, the service id
    /// the 36 before the hyphen before it; whatever precedes is the key's name.
    pub fn parse(text: &str) -> Result<ApiKey, ApiKeyError> {
        let text = text.trim();
        if !text.is_ascii() || text.len() < 2 * UUID_LENGTH + 1 {
            return Err(ApiKeyError::TooShort);
        }
        let (rest, secret) = text.split_at(text.len() - UUID_LENGTH);
        let rest = rest.strip_suffix('-').ok_or(ApiKeyError::Separator)?;
        let (name, service_id) = rest.split_at(rest.len() - UUID_LENGTH);
        let hyphenated = |part: &str| part.len() == UUID_LENGTH && part.as_bytes()[8] == b'-' && Uuid::try_parse(part).is_ok();
        if !hyphenated(secret) {
            return Err(ApiKeyError::Secret);
        }
        if !hyphenated(service_id) {
            return Err(ApiKeyError::ServiceId);
        }
        let service_id = Uuid::try_parse(service_id).map_err(|_| ApiKeyError::ServiceId)?;
        Ok(ApiKey { name: name.trim_end_matches('-').to_owned(), service_id, secret: secret.to_owned() })
    }

    /// The key's name as created in Notify (may be empty).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The Notify service the key belongs to: the JWT's `iss`.
    pub fn service_id(&self) -> Uuid {
        self.service_id
    }

    /// The JWT Notify's clients send as `Authorization: Bearer …`: HS256 keyed with the secret
    /// as text, claims `iss` (the service id) and `iat` (seconds). Notify refuses one whose `iat`
    /// is more than 30 seconds from its own clock, so a token is made per request.
    pub fn token(&self, now: DateTime<Utc>) -> String {
        // Byte for byte what notifications-node-client (jsonwebtoken) and the Python client (PyJWT)
        // produce, so a known-answer test can hold us to them.
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let claims = URL_SAFE_NO_PAD.encode(format!(r#"{{"iss":"{}","iat":{}}}"#, self.service_id, now.timestamp()));
        let signing_input = format!("{header}.{claims}");
        let signature = sign(self.secret.as_bytes(), signing_input.as_bytes());
        format!("{signing_input}.{signature}")
    }
}

/// HMAC-SHA256 of `message` keyed with `key`, base64url without padding (JWS HS256).
fn sign(key: &[u8], message: &[u8]) -> String {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(message);
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        }
        // HMAC takes a key of any length; this arm is unreachable.
        Err(_) => String::new(),
    }
}

/// The three ways Notify delivers a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// An email.
    Email,
    /// A text message (Notify's `sms`).
    Sms,
    /// A printed letter sent by post.
    Letter,
}

impl Channel {
    /// The name Notify uses in paths, callbacks and template keys: `email`, `sms`, `letter`.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Letter => "letter",
        }
    }

    /// The channel from its Notify name.
    pub fn parse(text: &str) -> Option<Channel> {
        [Channel::Email, Channel::Sms, Channel::Letter].into_iter().find(|channel| channel.as_str() == text)
    }
}

/// A postal address for a letter: 3 to 7 lines, the last a UK postcode (Notify's rule for UK
/// letters; it prints the lines in this order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address(Vec<String>);

impl Address {
    /// An address from its lines, blank lines dropped; refused unless Notify would accept it.
    pub fn new(lines: impl IntoIterator<Item = impl Into<String>>) -> Result<Address, MessageError> {
        let lines: Vec<String> = lines.into_iter().map(|line| line.into().trim().to_owned()).filter(|line| !line.is_empty()).collect();
        if !(3..=7).contains(&lines.len()) {
            return Err(MessageError::AddressLines(lines.len()));
        }
        if lines.iter().take(2).any(|line| !line.chars().any(char::is_alphanumeric)) {
            return Err(MessageError::AddressText);
        }
        if !lines.last().is_some_and(|line| is_uk_postcode(line)) {
            return Err(MessageError::Postcode);
        }
        Ok(Address(lines))
    }

    /// The lines, first to last.
    pub fn lines(&self) -> &[String] {
        &self.0
    }
}

/// Whether `text` has the shape of a UK postcode (outward code, optional space, inward code:
/// `SW1A 1AA`, `M1 1AE`, `B33 8TH`, `CR2 6XH`, `DN55 1PT`).
pub fn is_uk_postcode(text: &str) -> bool {
    let compact: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect();
    if !(5..=7).contains(&compact.len()) {
        return false;
    }
    let (outward, inward) = compact.split_at(compact.len() - 3);
    let inward_ok = inward[0].is_ascii_digit() && inward[1..].iter().all(char::is_ascii_alphabetic);
    let outward_ok = outward[0].is_ascii_alphabetic() && outward.iter().all(char::is_ascii_alphanumeric) && outward.iter().any(char::is_ascii_digit);
    inward_ok && outward_ok
}

/// Who a message goes to, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// An email address, optionally with one of the service's reply-to addresses.
    Email {
        /// The address.
        address: String,
        /// Notify's id of the reply-to address to use (`email_reply_to_id`), else the default.
        reply_to_id: Option<Uuid>,
    },
    /// A mobile number, optionally with one of the service's text message senders.
    Sms {
        /// The number as the person gave it (Notify normalises UK and international numbers).
        phone_number: String,
        /// Notify's id of the sender to use (`sms_sender_id`), else the default.
        sender_id: Option<Uuid>,
    },
    /// A postal address.
    Letter(Address),
}

impl Recipient {
    /// The channel this recipient is reached by.
    pub fn channel(&self) -> Channel {
        match self {
            Recipient::Email { .. } => Channel::Email,
            Recipient::Sms { .. } => Channel::Sms,
            Recipient::Letter(_) => Channel::Letter,
        }
    }
}

/// One message to send through Notify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Who, and by which channel.
    pub recipient: Recipient,
    /// The Notify template (its channel must match the recipient's).
    pub template_id: Uuid,
    /// The template's placeholders. For a letter the address lines are added as
    /// `address_line_1`…`address_line_7`, so these keys are not allowed here.
    pub personalisation: BTreeMap<String, String>,
    /// Our reference for the message, returned in Notify's answers and callbacks: the outbox id,
    /// so a callback finds its message. No personal data (Notify shows it in its dashboard).
    pub reference: String,
}

/// Why a message cannot be turned into a Notify request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// An address needs 3 to 7 non-blank lines.
    #[error("a letter's address needs 3 to 7 lines, not {0}")]
    AddressLines(usize),
    /// The first two address lines must have letters or numbers in them.
    #[error("the first two lines of a letter's address must contain letters or numbers")]
    AddressText,
    /// The last address line must be a UK postcode.
    #[error("the last line of a letter's address must be a UK postcode")]
    Postcode,
    /// The personalisation sets an address line itself.
    #[error("the personalisation for a letter cannot set {0}: the address sets it")]
    AddressInPersonalisation(String),
    /// The email address, phone number or reference is empty.
    #[error("the {0} is empty")]
    Empty(&'static str),
}

/// Notify for one service: where its API is and the key to sign requests with.
#[derive(Debug, Clone)]
pub struct Notify {
    base_url: String,
    key: ApiKey,
}

impl Notify {
    /// Notify at `base_url` (Notify's own, [`PRODUCTION_BASE_URL`], or a stand-in), signing with `key`.
    pub fn new(base_url: &Url, key: ApiKey) -> Notify {
        // Paths are appended to the base as text, as Notify's clients do, so a base with a path
        // prefix (a proxy) keeps it.
        Notify { base_url: base_url.as_str().trim_end_matches('/').to_owned(), key }
    }

    /// The key's service id.
    pub fn service_id(&self) -> Uuid {
        self.key.service_id()
    }

    fn url(&self, path: &str) -> Result<Url, MessageError> {
        Url::parse(&format!("{}{path}", self.base_url)).map_err(|_| MessageError::Empty("base URL"))
    }

    fn headers(&self, now: DateTime<Utc>) -> Vec<(String, String)> {
        vec![
            ("authorization".to_owned(), format!("Bearer {}", self.key.token(now))),
            ("content-type".to_owned(), "application/json".to_owned()),
            ("accept".to_owned(), "application/json".to_owned()),
            ("user-agent".to_owned(), USER_AGENT.to_owned()),
        ]
    }

    /// The request that sends `message`, signed at `now`.
    pub fn send_request(&self, message: &Message, now: DateTime<Utc>) -> Result<OutboundRequest, MessageError> {
        let body = body(message)?;
        let url = self.url(&format!("/v2/notifications/{}", message.recipient.channel().as_str()))?;
        let body = serde_json::to_vec(&body).map_err(|_| MessageError::Empty("body"))?;
        Ok(OutboundRequest { method: http::Method::POST, url, headers: self.headers(now), body })
    }

    /// The request that asks for one notification's status (`GET /v2/notifications/{id}`).
    pub fn status_request(&self, notification_id: Uuid, now: DateTime<Utc>) -> Result<OutboundRequest, MessageError> {
        let url = self.url(&format!("/v2/notifications/{notification_id}"))?;
        let headers = self.headers(now).into_iter().filter(|(name, _)| name != "content-type").collect();
        Ok(OutboundRequest { method: http::Method::GET, url, headers, body: Vec::new() })
    }
}

/// The JSON body Notify expects for `message`.
fn body(message: &Message) -> Result<serde_json::Value, MessageError> {
    if message.reference.trim().is_empty() {
        return Err(MessageError::Empty("reference"));
    }
    let mut body = serde_json::Map::new();
    body.insert("template_id".into(), message.template_id.to_string().into());
    let mut personalisation: serde_json::Map<String, serde_json::Value> =
        message.personalisation.iter().map(|(key, value)| (key.clone(), value.clone().into())).collect();
    match &message.recipient {
        Recipient::Email { address, reply_to_id } => {
            if address.trim().is_empty() {
                return Err(MessageError::Empty("email address"));
            }
            body.insert("email_address".into(), address.trim().into());
            if let Some(id) = reply_to_id {
                body.insert("email_reply_to_id".into(), id.to_string().into());
            }
        }
        Recipient::Sms { phone_number, sender_id } => {
            if phone_number.trim().is_empty() {
                return Err(MessageError::Empty("phone number"));
            }
            body.insert("phone_number".into(), phone_number.trim().into());
            if let Some(id) = sender_id {
                body.insert("sms_sender_id".into(), id.to_string().into());
            }
        }
        Recipient::Letter(address) => {
            if let Some(key) = message.personalisation.keys().find(|key| key.starts_with("address_line_") || key.as_str() == "postcode") {
                return Err(MessageError::AddressInPersonalisation(key.clone()));
            }
            for (index, line) in address.lines().iter().enumerate() {
                personalisation.insert(format!("address_line_{}", index + 1), line.clone().into());
            }
        }
    }
    // Notify requires personalisation for a letter (the address) and takes none otherwise.
    if !personalisation.is_empty() {
        body.insert("personalisation".into(), personalisation.into());
    }
    body.insert("reference".into(), message.reference.clone().into());
    Ok(body.into())
}

/// Template ids by message kind and channel, from the `NOTIFY_TEMPLATES` setting: a JSON object
/// such as `{"emergency_access.sms": "…uuid…", "emergency_access.email": "…"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Templates(BTreeMap<(String, Channel), Uuid>);

/// Why the template map was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplatesError {
    /// Not a JSON object of strings.
    #[error("not a JSON object from \"kind.channel\" to a template id")]
    NotAnObject,
    /// A key is not `kind.email`, `kind.sms` or `kind.letter`.
    #[error("the key {0:?} is not kind.email, kind.sms or kind.letter")]
    Key(String),
    /// A value is not a UUID.
    #[error("the template id for {0:?} is not a UUID")]
    Id(String),
}

impl Templates {
    /// Parses the setting; empty text is an empty map (no templates: nothing can be sent).
    pub fn parse(text: &str) -> Result<Templates, TemplatesError> {
        if text.trim().is_empty() {
            return Ok(Templates::default());
        }
        let map: BTreeMap<String, String> = serde_json::from_str(text).map_err(|_| TemplatesError::NotAnObject)?;
        let mut templates = BTreeMap::new();
        for (key, id) in map {
            let (kind, channel) = key.rsplit_once('.').ok_or_else(|| TemplatesError::Key(key.clone()))?;
            let channel = Channel::parse(channel).filter(|_| !kind.is_empty()).ok_or_else(|| TemplatesError::Key(key.clone()))?;
            let id = Uuid::try_parse(id.trim()).map_err(|_| TemplatesError::Id(key.clone()))?;
            templates.insert((kind.to_owned(), channel), id);
        }
        Ok(Templates(templates))
    }

    /// The template for messages of `kind` sent by `channel`, if one is configured.
    pub fn get(&self, kind: &str, channel: Channel) -> Option<Uuid> {
        self.0.get(&(kind.to_owned(), channel)).copied()
    }

    /// The channels `kind` has a template for.
    pub fn channels(&self, kind: &str) -> Vec<Channel> {
        self.0.keys().filter(|(each, _)| each == kind).map(|(_, channel)| *channel).collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A key in Notify's format; the ids are made up.
    pub(crate) const KEY: &str = "carefront_test-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0";
    const SERVICE: &str = "26785a09-ab16-4eb0-8407-a37497a57506";
    const TEMPLATE: &str = "f33517ff-2a88-4f6e-b855-c550268ce08a";

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    fn notify() -> Notify {
        Notify::new(&Url::parse("http://127.0.0.1:6011/").unwrap(), ApiKey::parse(KEY).unwrap())
    }

    #[test]
    fn a_key_splits_into_name_service_and_secret_and_never_prints_the_secret() {
        let key = ApiKey::parse(KEY).unwrap();
        assert_eq!(key.name(), "carefront_test");
        assert_eq!(key.service_id().to_string(), SERVICE);
        let debug = format!("{key:?}");
        assert!(!debug.contains("3d844edf"), "{debug}");
        assert!(debug.contains(SERVICE));
        // A key with no name (Notify's older format) is the two UUIDs.
        assert_eq!(ApiKey::parse(&KEY["carefront_test-".len()..]).unwrap().name(), "");
    }

    #[test]
    fn a_malformed_key_is_refused_with_the_reason() {
        assert_eq!(ApiKey::parse("short"), Err(ApiKeyError::TooShort));
        assert_eq!(ApiKey::parse(&KEY.replace("3d844edf-8d35", "3d844edf_8d35")), Err(ApiKeyError::Secret));
        assert_eq!(ApiKey::parse(&KEY.replace("ab16-4eb0", "ab16x4eb0")), Err(ApiKeyError::ServiceId));
        assert_eq!(ApiKey::parse(&KEY.replace("a57506-3d844edf", "a575063d844edf-")), Err(ApiKeyError::Separator));
        assert_eq!(ApiKey::parse(&KEY.replace('a', "é")), Err(ApiKeyError::TooShort));
    }

    #[test]
    fn the_jwt_matches_notifications_node_client_byte_for_byte() {
        // Made by notifications-node-client 8.4.0's own createGovukNotifyToken (jsonwebtoken) for
        // KEY at iat 1764504000; see shared/tests/fixtures/notify-jwt.json and
        // e2e/notify-contract.test.mjs, which regenerates it with the client and compares.
        let fixture: serde_json::Value = serde_json::from_str(include_str!("../tests/fixtures/notify-jwt.json")).unwrap();
        assert_eq!(fixture["key"], KEY);
        let iat = fixture["iat"].as_i64().unwrap();
        let key = ApiKey::parse(KEY).unwrap();
        assert_eq!(key.token(at(iat)), fixture["token"].as_str().unwrap());
    }

    #[test]
    fn the_jwt_has_notifys_header_and_claims() {
        let token = ApiKey::parse(KEY).unwrap().token(at(1_764_504_000));
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let decode = |part: &str| serde_json::from_slice::<serde_json::Value>(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap();
        assert_eq!(decode(parts[0]), serde_json::json!({"typ": "JWT", "alg": "HS256"}));
        assert_eq!(decode(parts[1]), serde_json::json!({"iss": SERVICE, "iat": 1_764_504_000}));
        assert_eq!(parts[2], sign(b"3d844edf-8d35-48ac-975b-e847b4f122b0", format!("{}.{}", parts[0], parts[1]).as_bytes()));
    }

    fn email() -> Message {
        Message {
            recipient: Recipient::Email { address: "sarah@example.com".into(), reply_to_id: None },
            template_id: Uuid::try_parse(TEMPLATE).unwrap(),
            personalisation: BTreeMap::from([("name".to_owned(), "Sarah".to_owned())]),
            reference: "outbox-1".into(),
        }
    }

    #[test]
    fn an_email_is_a_post_to_the_email_endpoint_with_notifys_body() {
        let request = notify().send_request(&email(), at(1_764_504_000)).unwrap();
        assert_eq!(request.method, http::Method::POST);
        assert_eq!(request.url.as_str(), "http://127.0.0.1:6011/v2/notifications/email");
        let header = |name: &str| request.headers.iter().find(|(each, _)| each == name).map(|(_, value)| value.as_str());
        assert_eq!(header("content-type"), Some("application/json"));
        assert!(header("user-agent").unwrap().starts_with("carefront/"));
        assert_eq!(header("authorization").map(str::to_owned), Some(format!("Bearer {}", ApiKey::parse(KEY).unwrap().token(at(1_764_504_000)))));
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"template_id": TEMPLATE, "email_address": "sarah@example.com", "personalisation": {"name": "Sarah"}, "reference": "outbox-1"})
        );
    }

    #[test]
    fn a_text_message_and_its_sender_and_an_email_reply_to() {
        let sender = Uuid::from_u128(7);
        let mut sms = email();
        sms.recipient = Recipient::Sms { phone_number: " 07700 900123 ".into(), sender_id: Some(sender) };
        sms.personalisation.clear();
        let request = notify().send_request(&sms, at(0)).unwrap();
        assert_eq!(request.url.path(), "/v2/notifications/sms");
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"template_id": TEMPLATE, "phone_number": "07700 900123", "sms_sender_id": sender.to_string(), "reference": "outbox-1"})
        );
        let mut reply = email();
        reply.recipient = Recipient::Email { address: "a@example.com".into(), reply_to_id: Some(sender) };
        let body: serde_json::Value = serde_json::from_slice(&notify().send_request(&reply, at(0)).unwrap().body).unwrap();
        assert_eq!(body["email_reply_to_id"], sender.to_string());
    }

    #[test]
    fn a_letter_puts_its_address_into_the_personalisation() {
        let mut letter = email();
        letter.recipient = Recipient::Letter(Address::new(["Margaret Jones", "1 High Street", "", "Leeds", "ls1 4ap"]).unwrap());
        let request = notify().send_request(&letter, at(0)).unwrap();
        assert_eq!(request.url.path(), "/v2/notifications/letter");
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"template_id": TEMPLATE, "reference": "outbox-1", "personalisation": {
                "name": "Sarah", "address_line_1": "Margaret Jones", "address_line_2": "1 High Street",
                "address_line_3": "Leeds", "address_line_4": "ls1 4ap"}})
        );
        letter.personalisation.insert("address_line_1".into(), "Someone else".into());
        assert_eq!(notify().send_request(&letter, at(0)), Err(MessageError::AddressInPersonalisation("address_line_1".into())));
    }

    #[test]
    fn an_address_notify_would_refuse_is_refused_here() {
        assert_eq!(Address::new(["Margaret Jones", "LS1 4AP"]), Err(MessageError::AddressLines(2)));
        assert_eq!(Address::new(["a", "b", "c", "d", "e", "f", "g", "LS1 4AP"]), Err(MessageError::AddressLines(8)));
        assert_eq!(Address::new(["Margaret Jones", "1 High Street", "Leeds"]), Err(MessageError::Postcode));
        assert_eq!(Address::new(["--", "1 High Street", "LS1 4AP"]), Err(MessageError::AddressText));
        for good in ["SW1A 1AA", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "ec1a1bb"] {
            assert!(is_uk_postcode(good), "{good}");
        }
        for bad in ["LEEDS", "12345", "SW1A 1A", "1AA 1AA", "SW1A-1AA", ""] {
            assert!(!is_uk_postcode(bad), "{bad}");
        }
    }

    #[test]
    fn empty_recipients_and_references_are_refused() {
        let mut message = email();
        message.reference = " ".into();
        assert_eq!(notify().send_request(&message, at(0)), Err(MessageError::Empty("reference")));
        let mut message = email();
        message.recipient = Recipient::Email { address: "".into(), reply_to_id: None };
        assert_eq!(notify().send_request(&message, at(0)), Err(MessageError::Empty("email address")));
    }

    #[test]
    fn a_base_url_with_a_path_keeps_it_and_status_is_a_get() {
        let notify = Notify::new(&Url::parse("https://proxy.example.gov.uk/notify/").unwrap(), ApiKey::parse(KEY).unwrap());
        let id = Uuid::from_u128(42);
        let request = notify.status_request(id, at(0)).unwrap();
        assert_eq!(request.method, http::Method::GET);
        assert_eq!(request.url.as_str(), format!("https://proxy.example.gov.uk/notify/v2/notifications/{id}"));
        assert!(request.body.is_empty());
    }

    #[test]
    fn templates_map_kind_and_channel_to_ids() {
        let templates = Templates::parse(&format!(r#"{{"emergency_access.sms": "{TEMPLATE}", "emergency_access.email": "{TEMPLATE}"}}"#)).unwrap();
        assert_eq!(templates.get("emergency_access", Channel::Sms), Some(Uuid::try_parse(TEMPLATE).unwrap()));
        assert_eq!(templates.get("emergency_access", Channel::Letter), None);
        assert_eq!(templates.channels("emergency_access"), vec![Channel::Email, Channel::Sms]);
        assert_eq!(Templates::parse(""), Ok(Templates::default()));
        assert_eq!(Templates::parse("[1]"), Err(TemplatesError::NotAnObject));
        assert_eq!(Templates::parse(&format!(r#"{{"invite.fax": "{TEMPLATE}"}}"#)), Err(TemplatesError::Key("invite.fax".into())));
        assert_eq!(Templates::parse(&format!(r#"{{".sms": "{TEMPLATE}"}}"#)), Err(TemplatesError::Key(".sms".into())));
        assert_eq!(Templates::parse(r#"{"invite.sms": "nope"}"#), Err(TemplatesError::Id("invite.sms".into())));
    }
}
