//! Runtime configuration, read once at the entry from Workers vars/secrets or Spin variables.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use url::Url;

use crate::credential::CredentialKey;
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
    /// The secret every system credential's signing key is derived from (at least 32 bytes).
    /// Rotating it invalidates every credential at once.
    pub credential_key: CredentialKey,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("session_key", &"<redacted>")
            .field("rp_id", &self.rp_id)
            .field("origin", &self.origin.as_str())
            .field("rp_name", &self.rp_name)
            .field("credential_key", &"<redacted>")
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
    /// `ORIGIN`, `RP_NAME`, `CREDENTIAL_KEY`); the runtime entry supplies the lookup.
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
        let credential_key = CredentialKey::from_base64url(&required("CREDENTIAL_KEY")?)
            .ok_or(ConfigError::Invalid { name: "CREDENTIAL_KEY", reason: "not base64url of at least 32 bytes" })?;
        Ok(Config { session_key, rp_id, origin, rp_name, credential_key })
    }

    /// The origin as browsers send it in the `Origin` header (no trailing slash).
    pub fn origin_header(&self) -> String {
        self.origin.origin().ascii_serialization()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(credential_key: Option<&str>) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| match name {
            "SESSION_KEY" => Some("c2Vzc2lvbi1rZXktZm9yLXRlc3RzLW9ubHktMzItYnl0ZXMhISE".into()),
            "RP_ID" => Some("localhost".into()),
            "ORIGIN" => Some("http://localhost:8787".into()),
            "CREDENTIAL_KEY" => credential_key.map(str::to_owned),
            _ => None,
        })
    }

    #[test]
    fn the_credential_key_is_required_and_at_least_32_bytes() {
        assert_eq!(lookup(None).unwrap_err(), ConfigError::Missing("CREDENTIAL_KEY"));
        assert!(matches!(lookup(Some("c2hvcnQ")), Err(ConfigError::Invalid { name: "CREDENTIAL_KEY", .. })));
        assert!(matches!(lookup(Some("not base64url!")), Err(ConfigError::Invalid { name: "CREDENTIAL_KEY", .. })));
        let config = lookup(Some("Y3JlZGVudGlhbC1rZXktZm9yLXRlc3RzLW9ubHktMzItYnl0ZXMhIQ")).unwrap();
        assert!(!format!("{config:?}").contains("Y3JlZGVudGlh"));
    }
}
