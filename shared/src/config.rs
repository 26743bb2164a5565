//! Runtime configuration, read once at the entry from Workers vars/secrets or Spin variables.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use url::Url;

use crate::crypto::SigningKey;

/// Everything a handler needs to know about its deployment.
#[derive(Clone)]
pub struct Config {
    /// Key for HMAC-signed cookies and CSRF tokens (at least 32 bytes).
    pub session_key: SigningKey,
    /// WebAuthn relying-party id: the portal's host name, never an IP address.
    pub rp_id: String,
    /// The portal's origin, e.g. `https://care.example.gov.uk`.
    pub origin: Url,
    /// The relying-party name shown by authenticators.
    pub rp_name: String,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("session_key", &"<redacted>")
            .field("rp_id", &self.rp_id)
            .field("origin", &self.origin.as_str())
            .field("rp_name", &self.rp_name)
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

impl Config {
    /// Builds the configuration from a lookup of named settings (`SESSION_KEY`, `RP_ID`,
    /// `ORIGIN`, `RP_NAME`); the runtime entry supplies the lookup.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let required = |name: &'static str| lookup(name).filter(|value| !value.trim().is_empty()).ok_or(ConfigError::Missing(name));
        let session_key = URL_SAFE_NO_PAD
            .decode(required("SESSION_KEY")?.trim().trim_end_matches('='))
            .map_err(|_| ConfigError::Invalid { name: "SESSION_KEY", reason: "not base64url" })?;
        let session_key = SigningKey::new(&session_key).map_err(|_| ConfigError::Invalid { name: "SESSION_KEY", reason: "shorter than 32 bytes" })?;
        let rp_id = required("RP_ID")?;
        if rp_id.parse::<std::net::IpAddr>().is_ok() {
            return Err(ConfigError::Invalid { name: "RP_ID", reason: "an IP address cannot be a relying-party id" });
        }
        let origin = Url::parse(&required("ORIGIN")?).map_err(|_| ConfigError::Invalid { name: "ORIGIN", reason: "not a URL" })?;
        if origin.host_str() != Some(rp_id.as_str()) && !origin.host_str().is_some_and(|host| host.ends_with(&format!(".{rp_id}"))) {
            return Err(ConfigError::Invalid { name: "ORIGIN", reason: "its host is not RP_ID or a subdomain of it" });
        }
        let rp_name = lookup("RP_NAME").filter(|name| !name.trim().is_empty()).unwrap_or_else(|| "carefront".to_owned());
        Ok(Config { session_key, rp_id, origin, rp_name })
    }

    /// The origin as browsers send it in the `Origin` header (no trailing slash).
    pub fn origin_header(&self) -> String {
        self.origin.origin().ascii_serialization()
    }
}
