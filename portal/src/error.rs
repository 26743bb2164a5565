//! Everything that can go wrong answering a portal request, and the one place it becomes a page
//! or a problem document.

use carefront_shared::db::DbError;
use carefront_shared::passkey::PasskeyError;
use carefront_shared::problem::Problem;
use http::StatusCode;

/// Why a portal request failed.
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    /// The request was malformed (bad form, bad JSON, invalid UTF-8).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The request was understood but cannot be used; the message is written for the person
    /// and shown to them.
    #[error("{0}")]
    Unusable(String),
    /// A form or script request arrived without a valid CSRF token, or from another site.
    #[error("the request failed the CSRF check")]
    Csrf,
    /// Nothing is here, or nothing the visitor may see.
    #[error("not found")]
    NotFound,
    /// The page exists but not for this method.
    #[error("method not allowed")]
    MethodNotAllowed(String),
    /// The request body is over the limit.
    #[error("request body too large")]
    PayloadTooLarge,
    /// Too many attempts from this source; try again later.
    #[error("too many attempts")]
    TooManyRequests {
        /// Seconds until the limit's window ends (the `Retry-After` header).
        retry_after: i64,
    },
    /// The page needs a signed-in person.
    #[error("sign-in required")]
    SignInRequired,
    /// The change needs a passkey check within the last 5 minutes, and there was none.
    #[error("a recent passkey check is required")]
    ReauthenticationRequired,
    /// A passkey ceremony failed.
    #[error(transparent)]
    Passkey(#[from] PasskeyError),
    /// The backing store failed.
    #[error(transparent)]
    Store(#[from] DbError),
    /// A bug: something that should not happen did.
    #[error("internal error: {0}")]
    Internal(String),
}

impl PortalError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            PortalError::BadRequest(_) | PortalError::Unusable(_) => StatusCode::BAD_REQUEST,
            PortalError::Csrf | PortalError::ReauthenticationRequired => StatusCode::FORBIDDEN,
            PortalError::NotFound => StatusCode::NOT_FOUND,
            PortalError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            PortalError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            PortalError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            PortalError::SignInRequired => StatusCode::UNAUTHORIZED,
            PortalError::Passkey(PasskeyError::Configuration(_) | PasskeyError::State(_)) => StatusCode::INTERNAL_SERVER_ERROR,
            PortalError::Passkey(_) => StatusCode::BAD_REQUEST,
            PortalError::Store(error) if error.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
            PortalError::Store(_) | PortalError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The page title and plain-language lines for an error page.
    pub fn explain(&self) -> (&'static str, Vec<String>) {
        match self {
            PortalError::BadRequest(_) => ("Sorry, we could not understand that request", vec!["Go back and try again.".into()]),
            PortalError::Unusable(message) => ("Sorry, we could not understand that request", vec![message.clone(), "Go back and try again.".into()]),
            PortalError::Csrf => (
                "Your form has expired",
                vec![
                    "For your security, forms stop working after a while or when you sign in or out.".into(),
                    "Go back, refresh the page and try again.".into(),
                ],
            ),
            PortalError::NotFound => (
                "Page not found",
                vec!["If you typed the web address, check it is correct.".into(), "If you pasted the web address, check you copied the entire address.".into()],
            ),
            PortalError::MethodNotAllowed(_) => ("Sorry, that did not work", vec!["This page cannot be used that way. Go back and try again.".into()]),
            PortalError::PayloadTooLarge => ("What you sent is too large", vec!["Go back, shorten it and try again.".into()]),
            PortalError::TooManyRequests { retry_after } => (
                "Too many attempts",
                vec![format!(
                    "There have been too many attempts from your device or network. Wait {}, then try again.",
                    crate::limits::wait_words(*retry_after)
                )],
            ),
            PortalError::SignInRequired => ("You need to sign in", vec!["Sign in to see this page.".into()]),
            PortalError::ReauthenticationRequired => (
                "Confirm it is you",
                vec!["Use your passkey again (your fingerprint, face or screen lock), then try again.".into(), "Refresh the page to start.".into()],
            ),
            PortalError::Passkey(error) => ("There is a problem with your passkey", vec![passkey_advice(error).into()]),
            PortalError::Store(error) if error.is_unavailable() => (
                "Sorry, the service is unavailable",
                vec![
                    "We cannot reach the care records right now. Try again in a few minutes.".into(),
                    "If you need care information urgently, use the paper copy in your home or call your care provider.".into(),
                ],
            ),
            PortalError::Store(_) | PortalError::Internal(_) => ("Sorry, there is a problem with the service", vec!["Try again later.".into()]),
        }
    }

    /// Seconds the client should wait before trying again, for `Retry-After`.
    pub fn retry_after(&self) -> Option<i64> {
        match self {
            PortalError::TooManyRequests { retry_after } => Some(*retry_after),
            // The store was already retried inside the request; a moment later usually works.
            PortalError::Store(error) if error.is_unavailable() => Some(i64::from(carefront_shared::problem::STORE_RETRY_AFTER_SECONDS)),
            _ => None,
        }
    }

    /// Whether this error is our fault and should carry a reference for support.
    pub fn needs_reference(&self) -> bool {
        self.status().is_server_error()
    }

    /// The error as a problem document, for the portal's script-facing JSON endpoints.
    pub fn problem(&self, reference: Option<&str>) -> Problem {
        let (title, lines) = self.explain();
        let detail = match self {
            PortalError::Passkey(error) => passkey_advice(error).to_owned(),
            _ => lines.join(" "),
        };
        let problem = Problem::new(self.status()).with_detail(detail);
        let problem = Problem { title: title.to_owned(), ..problem };
        match reference {
            Some(reference) => problem.with_instance(format!("urn:carefront:error:{reference}")),
            None => problem,
        }
    }
}

fn passkey_advice(error: &PasskeyError) -> &'static str {
    match error {
        PasskeyError::NoCeremony => "This request has already been used or was never started. Refresh the page and try again.",
        PasskeyError::Expired => "You took longer than 5 minutes. Refresh the page and try again.",
        PasskeyError::NotDiscoverable => "Your phone or computer did not save the passkey on the device. Try again, or use another device.",
        PasskeyError::UnknownCredential => "We do not recognise this passkey. It may have been removed. Use another passkey, or your invitation code.",
        PasskeyError::Rejected(_) => "Your passkey could not be checked. Try again.",
        PasskeyError::Configuration(_) | PasskeyError::State(_) => "Something went wrong on our side. Try again later.",
    }
}
