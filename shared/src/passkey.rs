//! Passkey ceremonies with webauthn-rs: resident key and user verification required,
//! discoverable (username-less) sign-in, state kept server-side by the caller.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, Passkey, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse, Uuid, Webauthn, WebauthnBuilder,
};

use webauthn_rs_proto::ResidentKeyRequirement;

use crate::config::Config;
use crate::domain::{CeremonyKind, CeremonyRecord, PasskeyRecord, Person};

/// How long a started ceremony may take.
pub const CEREMONY_LIFETIME: Duration = Duration::minutes(5);
/// How long an accepted invitation waits for its first passkey.
pub const ENROLMENT_LIFETIME: Duration = Duration::minutes(30);
/// Longest name a person may give a passkey.
pub const MAX_NAME_CHARS: usize = 60;

/// Why a passkey ceremony failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasskeyError {
    /// The relying-party configuration was refused by webauthn-rs.
    #[error("the passkey configuration is invalid: {0}")]
    Configuration(String),
    /// No ceremony is in progress for this browser, or it was already used.
    #[error("no passkey request is in progress; it may have been used already")]
    NoCeremony,
    /// The ceremony took longer than five minutes.
    #[error("the passkey request timed out")]
    Expired,
    /// The browser's response did not verify.
    #[error("the passkey could not be verified")]
    Rejected(String),
    /// The authenticator did not store the passkey on the device, so it cannot sign in without
    /// a username.
    #[error("this authenticator did not save a discoverable passkey")]
    NotDiscoverable,
    /// The passkey is not registered with carefront.
    #[error("this passkey is not registered")]
    UnknownCredential,
    /// Stored ceremony state could not be read back.
    #[error("stored ceremony state is unreadable: {0}")]
    State(String),
}

/// Checks a ceremony taken from the store: right kind and not expired at `now`.
pub fn check_ceremony(ceremony: Option<CeremonyRecord>, kind: CeremonyKind, now: DateTime<Utc>) -> Result<CeremonyRecord, PasskeyError> {
    let ceremony = ceremony.filter(|ceremony| ceremony.kind == kind).ok_or(PasskeyError::NoCeremony)?;
    if now >= ceremony.expires_at {
        return Err(PasskeyError::Expired);
    }
    Ok(ceremony)
}

/// The portal as a WebAuthn relying party.
pub struct RelyingParty {
    webauthn: Webauthn,
}

impl RelyingParty {
    /// A relying party for the configured id, origin and name.
    pub fn new(config: &Config) -> Result<RelyingParty, PasskeyError> {
        let webauthn = WebauthnBuilder::new(&config.rp_id, &config.origin)
            .and_then(|builder| builder.rp_name(&config.rp_name).timeout(std::time::Duration::from_secs(300)).build())
            .map_err(|error| PasskeyError::Configuration(error.to_string()))?;
        Ok(RelyingParty { webauthn })
    }

    /// Starts registering a passkey for `person`, excluding the ones they already have.
    /// Returns the options for the browser and the state to keep server-side (JSON).
    pub fn start_registration(&self, person: &Person, existing: &[PasskeyRecord]) -> Result<(CreationChallengeResponse, String), PasskeyError> {
        let exclude = existing.iter().map(|record| record.passkey.cred_id().clone()).collect::<Vec<_>>();
        let (mut options, state) = self
            .webauthn
            .start_passkey_registration(person.webauthn_handle, &person.display_name, &person.display_name, Some(exclude).filter(|list| !list.is_empty()))
            .map_err(|error| PasskeyError::Rejected(error.to_string()))?;
        // Sign-in is username-less, so the passkey must live on the authenticator.
        if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
            selection.resident_key = Some(ResidentKeyRequirement::Required);
            selection.require_resident_key = true;
        }
        Ok((options, to_state(&state)?))
    }

    /// Finishes a registration against the stored state.
    pub fn finish_registration(&self, response: &RegisterPublicKeyCredential, state: &str) -> Result<Passkey, PasskeyError> {
        let state: PasskeyRegistration = from_state(state)?;
        if response.extensions.cred_props.as_ref().and_then(|props| props.rk) == Some(false) {
            return Err(PasskeyError::NotDiscoverable);
        }
        self.webauthn.finish_passkey_registration(response, &state).map_err(|error| PasskeyError::Rejected(error.to_string()))
    }

    /// Starts a discoverable sign-in: the browser offers whichever passkey the person picks.
    pub fn start_authentication(&self) -> Result<(RequestChallengeResponse, String), PasskeyError> {
        let (options, state) = self.webauthn.start_discoverable_authentication().map_err(|error| PasskeyError::Rejected(error.to_string()))?;
        Ok((options, to_state(&state)?))
    }

    /// Reads who the browser says signed in: their user handle and the credential id
    /// (base64url), to look up the stored passkey. Nothing is verified yet.
    pub fn identify(&self, response: &PublicKeyCredential) -> Result<(Uuid, String), PasskeyError> {
        let (handle, credential_id) = self.webauthn.identify_discoverable_authentication(response).map_err(|_| PasskeyError::UnknownCredential)?;
        Ok((handle, URL_SAFE_NO_PAD.encode(credential_id)))
    }

    /// Verifies a sign-in against the stored state and the person's passkey, updating its
    /// signature counter in place.
    pub fn finish_authentication(&self, response: &PublicKeyCredential, state: &str, passkey: &mut Passkey) -> Result<(), PasskeyError> {
        let state: DiscoverableAuthentication = from_state(state)?;
        let result =
            self.webauthn.finish_discoverable_authentication_v2(response, state, &*passkey).map_err(|error| PasskeyError::Rejected(error.to_string()))?;
        if !result.user_verified() {
            return Err(PasskeyError::Rejected("user verification was not performed".into()));
        }
        passkey.update_credential(&result);
        Ok(())
    }
}

/// The base64url credential id of a passkey, as stored.
pub fn credential_id(passkey: &Passkey) -> String {
    URL_SAFE_NO_PAD.encode(passkey.cred_id())
}

fn to_state<T: serde::Serialize>(state: &T) -> Result<String, PasskeyError> {
    serde_json::to_string(state).map_err(|error| PasskeyError::State(error.to_string()))
}

fn from_state<T: serde::de::DeserializeOwned>(state: &str) -> Result<T, PasskeyError> {
    serde_json::from_str(state).map_err(|error| PasskeyError::State(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::days(20_000) + Duration::minutes(minutes)
    }

    fn ceremony(kind: CeremonyKind) -> CeremonyRecord {
        CeremonyRecord {
            id_hash: "h".into(),
            kind,
            person_id: None,
            invitation_id: None,
            state: String::new(),
            created_at: at(0),
            expires_at: at(0) + CEREMONY_LIFETIME,
        }
    }

    #[test]
    fn ceremony_checks() {
        assert!(check_ceremony(Some(ceremony(CeremonyKind::Authenticate)), CeremonyKind::Authenticate, at(4)).is_ok());
        assert_eq!(check_ceremony(Some(ceremony(CeremonyKind::Authenticate)), CeremonyKind::Authenticate, at(5)), Err(PasskeyError::Expired));
        assert_eq!(check_ceremony(Some(ceremony(CeremonyKind::Register)), CeremonyKind::Authenticate, at(1)), Err(PasskeyError::NoCeremony));
        // A ceremony already taken (used) is simply absent.
        assert_eq!(check_ceremony(None, CeremonyKind::Authenticate, at(1)), Err(PasskeyError::NoCeremony));
    }
}
