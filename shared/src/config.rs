//! Runtime configuration, read once at the entry from Workers vars/secrets or Spin variables.
//!
//! Each secret has one purpose, and each app is given only the secrets it uses:
//!
//! | setting | purpose | portal | API |
//! |---|---|---|---|
//! | `SESSION_KEY` | session, sign-in ceremony and emergency access cookies | yes | no |
//! | `CSRF_KEY` | CSRF tokens and the change-access drafts | yes | no |
//! | `RECEIPT_KEYS` | consent receipts: the first key signs, all verify | signs | verifies |
//! | `RECEIPT_LEGACY_KEY` | optional: receipts made before key ids | no | verifies |
//! | `CREDENTIAL_KEY` | system credentials' keys are derived from it | mints | verifies |
//! | `NOTIFY_API_KEY` | optional: GOV.UK Notify; without it messages wait in the outbox | sends | sends |
//! | `NOTIFY_CALLBACK_TOKEN` | optional: Notify's delivery-status callbacks carry it | checks | checks |
//!
//! Not secret: `NOTIFY_BASE_URL` (default Notify's own) and `NOTIFY_TEMPLATES` (a JSON map
//! from `kind.channel` to a template id).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use url::Url;

use crate::credential::CredentialKey;
use crate::crypto::SigningKey;
use crate::notify::callback::CallbackToken;
use crate::notify::{ApiKey, Notify, PRODUCTION_BASE_URL, Templates};
use crate::receipt::ReceiptKeys;

/// Which app a configuration is read for: it decides which secrets are read at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum App {
    /// The HTML portal: signs cookies, CSRF tokens and receipts, and mints system credentials
    /// (the council's credentials page).
    Portal,
    /// The JSON API: verifies signed requests and presented receipts; it has no cookies.
    Api,
}

impl App {
    /// The settings this app reads, required or optional; a runtime passes exactly these.
    pub fn settings(self) -> &'static [&'static str] {
        match self {
            App::Portal => &[
                "RP_ID",
                "ORIGIN",
                "RP_NAME",
                "SESSION_KEY",
                "CSRF_KEY",
                "RECEIPT_KEYS",
                "CREDENTIAL_KEY",
                "NOTIFY_BASE_URL",
                "NOTIFY_API_KEY",
                "NOTIFY_TEMPLATES",
                "NOTIFY_CALLBACK_TOKEN",
            ],
            App::Api => &[
                "RP_ID",
                "ORIGIN",
                "RP_NAME",
                "RECEIPT_KEYS",
                "RECEIPT_LEGACY_KEY",
                "CREDENTIAL_KEY",
                "NOTIFY_BASE_URL",
                "NOTIFY_API_KEY",
                "NOTIFY_TEMPLATES",
                "NOTIFY_CALLBACK_TOKEN",
            ],
        }
    }
}

/// The portal's keys for what the browser holds; the API has none.
#[derive(Clone)]
pub struct BrowserKeys {
    /// Signs session, sign-in ceremony, enrolment and emergency access cookies (`SESSION_KEY`).
    pub session: SigningKey,
    /// Signs CSRF tokens and the drafts of a change of access (`CSRF_KEY`).
    pub csrf: SigningKey,
}

/// How this deployment reaches GOV.UK Notify.
#[derive(Debug, Clone)]
pub struct NotifySettings {
    /// Notify's API (`NOTIFY_BASE_URL`): Notify's own unless a stand-in or proxy is configured.
    pub base_url: Url,
    /// The API key (`NOTIFY_API_KEY`); `None`: nothing is sent and messages wait in the outbox.
    pub api_key: Option<ApiKey>,
    /// Template ids by message kind and channel (`NOTIFY_TEMPLATES`).
    pub templates: Templates,
    /// The bearer token Notify's delivery-status callbacks carry (`NOTIFY_CALLBACK_TOKEN`);
    /// `None`: every callback is refused.
    pub callback_token: Option<CallbackToken>,
}

impl NotifySettings {
    /// Notify as a sender, if an API key is configured.
    pub fn sender(&self) -> Option<Notify> {
        self.api_key.clone().map(|key| Notify::new(&self.base_url, key))
    }

    fn from_lookup(optional: &dyn Fn(&'static str) -> Option<String>) -> Result<NotifySettings, ConfigError> {
        let base_url = match optional("NOTIFY_BASE_URL") {
            Some(text) => Url::parse(text.trim()).ok().filter(|url| matches!(url.scheme(), "https" | "http") && url.host_str().is_some()),
            None => Url::parse(PRODUCTION_BASE_URL).ok(),
        }
        .ok_or(ConfigError::Invalid { name: "NOTIFY_BASE_URL", reason: "not an http or https URL" })?;
        let api_key = optional("NOTIFY_API_KEY")
            .map(|text| ApiKey::parse(&text))
            .transpose()
            .map_err(|_| ConfigError::Invalid { name: "NOTIFY_API_KEY", reason: "not a Notify API key (name-serviceid-secret, both ids UUIDs)" })?;
        let templates = Templates::parse(&optional("NOTIFY_TEMPLATES").unwrap_or_default())
            .map_err(|_| ConfigError::Invalid { name: "NOTIFY_TEMPLATES", reason: "not a JSON object from \"kind.email|sms|letter\" to a template id" })?;
        let callback_token = optional("NOTIFY_CALLBACK_TOKEN")
            .map(|text| CallbackToken::new(&text))
            .map(|token| token.ok_or(ConfigError::Invalid { name: "NOTIFY_CALLBACK_TOKEN", reason: "shorter than 10 characters (Notify's minimum)" }))
            .transpose()?;
        Ok(NotifySettings { base_url, api_key, templates, callback_token })
    }
}

/// Everything a handler needs to know about its deployment.
#[derive(Clone)]
pub struct Config {
    /// WebAuthn relying-party id: the portal's host name, never an IP address.
    pub rp_id: String,
    /// The portal's origin, e.g. `https://care.example.gov.uk`.
    pub origin: Url,
    /// The relying-party name shown by authenticators.
    pub rp_name: String,
    /// The portal's cookie and CSRF keys: `Some` exactly for [`App::Portal`].
    pub browser: Option<BrowserKeys>,
    /// The consent receipt keys (`RECEIPT_KEYS`, and in the API `RECEIPT_LEGACY_KEY`).
    pub receipt_keys: ReceiptKeys,
    /// The secret every system credential's signing key is derived from (at least 32 bytes).
    /// Rotating it invalidates every credential at once.
    pub credential_key: CredentialKey,
    /// GOV.UK Notify: where, with which key and templates.
    pub notify: NotifySettings,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("rp_id", &self.rp_id)
            .field("origin", &self.origin.as_str())
            .field("rp_name", &self.rp_name)
            .field("browser", &self.browser.as_ref().map(|_| "<redacted>"))
            .field("receipt_keys", &self.receipt_keys)
            .field("credential_key", &"<redacted>")
            .field("notify", &self.notify)
            .finish()
    }
}

/// Why the configuration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required setting is not set.
    #[error("the setting {0} is required but not set")]
    Missing(&'static str),
    /// A setting is set but unusable.
    #[error("the setting {name} is invalid: {reason}")]
    Invalid {
        /// Which setting.
        name: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// A signing key from base64url of at least 32 bytes.
fn signing_key(name: &'static str, text: &str) -> Result<SigningKey, ConfigError> {
    let bytes = URL_SAFE_NO_PAD.decode(text.trim().trim_end_matches('=')).map_err(|_| ConfigError::Invalid { name, reason: "not base64url" })?;
    SigningKey::new(&bytes).map_err(|_| ConfigError::Invalid { name, reason: "shorter than 32 bytes" })
}

/// Refuses one secret used for two purposes: separating them is what lets one be rotated
/// without the others. (`RECEIPT_LEGACY_KEY` is exempt: it is an old key, kept to verify only.)
fn distinct(app: App, setting: &dyn Fn(&'static str) -> Option<String>) -> Result<(), ConfigError> {
    let mut names: Vec<&'static str> = vec!["CREDENTIAL_KEY"];
    if app == App::Portal {
        names.extend(["SESSION_KEY", "CSRF_KEY"]);
    }
    let mut seen: Vec<String> = Vec::new();
    let keys = names.into_iter().filter_map(|name| setting(name).map(|text| (name, text)));
    let receipt_keys = setting("RECEIPT_KEYS").unwrap_or_default();
    let receipt_keys = receipt_keys.split(',').filter_map(|entry| entry.split_once(':')).map(|(_, key)| ("RECEIPT_KEYS", key.to_owned()));
    for (name, text) in keys.chain(receipt_keys) {
        let normalised = text.trim().trim_end_matches('=').to_owned();
        if seen.contains(&normalised) {
            return Err(ConfigError::Invalid { name, reason: "the same key as another setting: give each purpose its own secret" });
        }
        seen.push(normalised);
    }
    Ok(())
}

impl Config {
    /// Builds `app`'s configuration from a lookup of named settings ([`App::settings`]); the
    /// runtime entry supplies the lookup. Settings another app needs are never asked for.
    pub fn from_lookup(app: App, lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let optional = |name: &'static str| lookup(name).filter(|value| !value.trim().is_empty());
        let required = |name: &'static str| optional(name).ok_or(ConfigError::Missing(name));
        let rp_id = required("RP_ID")?;
        if rp_id.parse::<std::net::IpAddr>().is_ok() {
            return Err(ConfigError::Invalid { name: "RP_ID", reason: "an IP address cannot be a relying-party id" });
        }
        let origin = Url::parse(&required("ORIGIN")?).map_err(|_| ConfigError::Invalid { name: "ORIGIN", reason: "not a URL" })?;
        if origin.host_str() != Some(rp_id.as_str()) && !origin.host_str().is_some_and(|host| host.ends_with(&format!(".{rp_id}"))) {
            return Err(ConfigError::Invalid { name: "ORIGIN", reason: "its host is not RP_ID or a subdomain of it" });
        }
        let rp_name = optional("RP_NAME").unwrap_or_else(|| "carefront".to_owned());
        let browser = match app {
            App::Portal => {
                let session = signing_key("SESSION_KEY", &required("SESSION_KEY")?)?;
                let csrf = signing_key("CSRF_KEY", &required("CSRF_KEY")?)?;
                Some(BrowserKeys { session, csrf })
            }
            App::Api => None,
        };
        let receipt_keys = ReceiptKeys::parse(&required("RECEIPT_KEYS")?)
            .map_err(|_| ConfigError::Invalid { name: "RECEIPT_KEYS", reason: "not a list of keyid:base64url (at least 32 bytes), the signing key first" })?;
        let receipt_keys = match app {
            App::Api => match optional("RECEIPT_LEGACY_KEY") {
                Some(text) => receipt_keys.with_legacy(signing_key("RECEIPT_LEGACY_KEY", &text)?),
                None => receipt_keys,
            },
            App::Portal => receipt_keys,
        };
        let credential_key = CredentialKey::from_base64url(&required("CREDENTIAL_KEY")?)
            .ok_or(ConfigError::Invalid { name: "CREDENTIAL_KEY", reason: "not base64url of at least 32 bytes" })?;
        distinct(app, &optional)?;
        let notify = NotifySettings::from_lookup(&optional)?;
        Ok(Config { rp_id, origin, rp_name, browser, receipt_keys, credential_key, notify })
    }

    /// The origin as browsers send it in the `Origin` header (no trailing slash).
    pub fn origin_header(&self) -> String {
        self.origin.origin().ascii_serialization()
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    const SESSION: &str = "c2Vzc2lvbi1rZXktZm9yLXRlc3RzLW9ubHktMzItYnl0ZXMhISE";
    const CSRF: &str = "Y3NyZi1rZXktZm9yLXRlc3RzLW9ubHktMzItYnl0ZXMhISEhISE";
    const RECEIPTS: &str = "test1:cmVjZWlwdC1rZXktZm9yLXRlc3RzLW9ubHktMzItYnl0ZXMhIQ";
    const CREDENTIAL: &str = "Y3JlZGVudGlhbC1rZXktZm9yLXRlc3RzLW9ubHktMzItYnl0ZXMhIQ";

    fn lookup(app: App, overrides: &[(&str, Option<&str>)]) -> Result<Config, ConfigError> {
        Config::from_lookup(app, |name| {
            if let Some((_, value)) = overrides.iter().find(|(key, _)| *key == name) {
                return value.map(str::to_owned);
            }
            match name {
                "SESSION_KEY" => Some(SESSION.into()),
                "CSRF_KEY" => Some(CSRF.into()),
                "RECEIPT_KEYS" => Some(RECEIPTS.into()),
                "RP_ID" => Some("localhost".into()),
                "ORIGIN" => Some("http://localhost:8787".into()),
                "CREDENTIAL_KEY" => Some(CREDENTIAL.into()),
                _ => None,
            }
        })
    }

    #[test]
    fn the_credential_key_is_required_and_at_least_32_bytes() {
        for app in [App::Portal, App::Api] {
            assert_eq!(lookup(app, &[("CREDENTIAL_KEY", None)]).unwrap_err(), ConfigError::Missing("CREDENTIAL_KEY"));
            assert!(matches!(lookup(app, &[("CREDENTIAL_KEY", Some("c2hvcnQ"))]), Err(ConfigError::Invalid { name: "CREDENTIAL_KEY", .. })));
            assert!(matches!(lookup(app, &[("CREDENTIAL_KEY", Some("not base64url!"))]), Err(ConfigError::Invalid { name: "CREDENTIAL_KEY", .. })));
        }
        let config = lookup(App::Portal, &[]).unwrap();
        let debug = format!("{config:?}");
        for secret in [SESSION, CSRF, RECEIPTS, CREDENTIAL] {
            assert!(!debug.contains(&secret[5..]), "{debug}");
        }
    }

    #[test]
    fn the_portal_needs_its_browser_keys_and_the_api_is_never_asked_for_them() {
        assert_eq!(lookup(App::Portal, &[("SESSION_KEY", None)]).unwrap_err(), ConfigError::Missing("SESSION_KEY"));
        assert_eq!(lookup(App::Portal, &[("CSRF_KEY", None)]).unwrap_err(), ConfigError::Missing("CSRF_KEY"));
        assert!(matches!(lookup(App::Portal, &[("CSRF_KEY", Some("c2hvcnQ"))]), Err(ConfigError::Invalid { name: "CSRF_KEY", .. })));
        assert!(lookup(App::Portal, &[]).unwrap().browser.is_some());
        for app in [App::Portal, App::Api] {
            assert_eq!(lookup(app, &[("RECEIPT_KEYS", None)]).unwrap_err(), ConfigError::Missing("RECEIPT_KEYS"));
            assert!(matches!(lookup(app, &[("RECEIPT_KEYS", Some(CREDENTIAL))]), Err(ConfigError::Invalid { name: "RECEIPT_KEYS", .. })));
        }
        let asked = RefCell::new(Vec::new());
        let api = Config::from_lookup(App::Api, |name| {
            asked.borrow_mut().push(name.to_owned());
            match name {
                "RECEIPT_KEYS" => Some(RECEIPTS.into()),
                "RP_ID" => Some("localhost".into()),
                "ORIGIN" => Some("http://localhost:8787".into()),
                "CREDENTIAL_KEY" => Some(CREDENTIAL.into()),
                _ => None,
            }
        })
        .unwrap();
        assert!(api.browser.is_none());
        assert!(asked.borrow().iter().all(|name| App::Api.settings().contains(&name.as_str())), "{asked:?}");
        assert!(!asked.borrow().iter().any(|name| name == "SESSION_KEY" || name == "CSRF_KEY"));
    }

    #[test]
    fn finding_11_a_csrf_token_is_not_a_session_signature() {
        let config = lookup(App::Portal, &[]).unwrap();
        let keys = config.browser.unwrap();
        let token = keys.csrf.sign("csrf", "nonce:session");
        assert!(keys.csrf.verify("csrf", "nonce:session", &token));
        assert!(!keys.session.verify("csrf", "nonce:session", &token), "SESSION_KEY does not make or check CSRF tokens");
        // One secret for two purposes is refused, so rotating one never leaves the other behind.
        assert!(matches!(lookup(App::Portal, &[("CSRF_KEY", Some(SESSION))]), Err(ConfigError::Invalid { name: "CSRF_KEY", .. })));
        let reused = format!("r1:{SESSION}");
        assert!(matches!(lookup(App::Portal, &[("RECEIPT_KEYS", Some(&reused))]), Err(ConfigError::Invalid { name: "RECEIPT_KEYS", .. })));
        let reused = format!("r1:{CREDENTIAL}");
        assert!(matches!(lookup(App::Api, &[("RECEIPT_KEYS", Some(&reused))]), Err(ConfigError::Invalid { name: "RECEIPT_KEYS", .. })));
        assert!(lookup(App::Api, &[("RECEIPT_LEGACY_KEY", Some(SESSION))]).is_ok(), "the API has no SESSION_KEY: the old one may verify old receipts");
    }

    const NOTIFY_KEY: &str = "carefront_test-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0";

    #[test]
    fn notify_is_optional_defaults_to_notifys_own_api_and_is_checked() {
        for app in [App::Portal, App::Api] {
            let config = lookup(app, &[]).unwrap();
            assert_eq!(config.notify.base_url.as_str(), "https://api.notifications.service.gov.uk/");
            assert!(config.notify.api_key.is_none() && config.notify.sender().is_none(), "no key: nothing is sent");
            assert!(config.notify.callback_token.is_none());
            let templates = r#"{"emergency_access.sms": "f33517ff-2a88-4f6e-b855-c550268ce08a"}"#;
            let config = lookup(
                app,
                &[
                    ("NOTIFY_BASE_URL", Some("http://127.0.0.1:6011")),
                    ("NOTIFY_API_KEY", Some(NOTIFY_KEY)),
                    ("NOTIFY_TEMPLATES", Some(templates)),
                    ("NOTIFY_CALLBACK_TOKEN", Some("callback-token-for-tests")),
                ],
            )
            .unwrap();
            assert_eq!(config.notify.sender().unwrap().service_id().to_string(), "26785a09-ab16-4eb0-8407-a37497a57506");
            assert!(config.notify.templates.get("emergency_access", crate::notify::Channel::Sms).is_some());
            let debug = format!("{config:?}");
            assert!(!debug.contains("3d844edf") && !debug.contains("callback-token-for"), "{debug}");
            for (name, bad) in
                [("NOTIFY_BASE_URL", "ftp://x"), ("NOTIFY_API_KEY", "nope"), ("NOTIFY_TEMPLATES", "{\"x\": 1}"), ("NOTIFY_CALLBACK_TOKEN", "short")]
            {
                assert!(matches!(lookup(app, &[(name, Some(bad))]), Err(ConfigError::Invalid { name: invalid, .. }) if invalid == name), "{name}");
            }
        }
    }

    #[test]
    fn the_legacy_receipt_key_is_optional_and_checked() {
        assert!(lookup(App::Api, &[("RECEIPT_LEGACY_KEY", Some(SESSION))]).is_ok());
        assert!(matches!(lookup(App::Api, &[("RECEIPT_LEGACY_KEY", Some("c2hvcnQ"))]), Err(ConfigError::Invalid { name: "RECEIPT_LEGACY_KEY", .. })));
    }
}
