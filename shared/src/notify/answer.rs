//! Reading Notify's answer to a send: its notification id, or whether and when to try again.

use uuid::Uuid;

use crate::outbound::{OutboundError, OutboundResponse};

/// One entry of Notify's error body (`{"status_code":…,"errors":[{"error":…,"message":…}]}`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct ApiError {
    /// Notify's error class, e.g. `BadRequestError`, `AuthError`, `RateLimitError`.
    pub error: String,
    /// Notify's explanation, kept whole for the council's failures page.
    pub message: String,
}

/// Why a send did not succeed, with everything Notify said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Notify's HTTP status; `None` when no answer came (network, or the runtime refused).
    pub status: Option<u16>,
    /// Notify's errors, or one made from the body or the network error when there were none.
    pub errors: Vec<ApiError>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(status) => write!(f, "HTTP {status}")?,
            None => f.write_str("no answer")?,
        }
        for error in &self.errors {
            write!(f, "; {}: {}", error.error, error.message)?;
        }
        Ok(())
    }
}

/// What to do after a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Notify took the message (201): record its id; callbacks and status reads use it.
    Accepted(Uuid),
    /// Worth sending again after a delay ([`backoff`]): rate limited (429), a Notify server error
    /// (5xx), a timeout, or no answer. Same reference, so a callback still finds the message.
    Retry(Failure),
    /// Sending again would get the same answer: the request is wrong (400), the key is wrong or
    /// revoked (403), or Notify answered 201 with a body we cannot read (sending again could
    /// deliver twice). Surface it to the council.
    Permanent(Failure),
}

#[derive(serde::Deserialize)]
struct Created {
    id: Uuid,
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ApiError>,
}

/// Reads the result of sending a message to Notify.
pub fn outcome(result: Result<OutboundResponse, OutboundError>) -> Outcome {
    let response = match result {
        Ok(response) => response,
        Err(error) => {
            let (kind, retry) = match &error {
                OutboundError::Network(_) => ("NetworkError", true),
                // The deployment does not let the runtime reach Notify: a configuration fault that
                // retrying will not mend, so it is shown at once.
                OutboundError::Refused(_) => ("OutboundRefused", false),
            };
            let failure = Failure { status: None, errors: vec![ApiError { error: kind.into(), message: error.to_string() }] };
            return if retry { Outcome::Retry(failure) } else { Outcome::Permanent(failure) };
        }
    };
    let status = response.status;
    if (200..300).contains(&status) {
        return match serde_json::from_slice::<Created>(&response.body) {
            Ok(created) => Outcome::Accepted(created.id),
            Err(_) => Outcome::Permanent(Failure { status: Some(status), errors: vec![unreadable(&response.body)] }),
        };
    }
    let errors = match serde_json::from_slice::<ErrorBody>(&response.body) {
        Ok(body) if !body.errors.is_empty() => body.errors,
        _ => vec![unreadable(&response.body)],
    };
    let failure = Failure { status: Some(status), errors };
    if status == 408 || status == 429 || status >= 500 { Outcome::Retry(failure) } else { Outcome::Permanent(failure) }
}

/// An error standing for a body that is not Notify's JSON, keeping its first 500 characters.
fn unreadable(body: &[u8]) -> ApiError {
    let text: String = String::from_utf8_lossy(body).chars().take(500).collect();
    ApiError { error: "UnreadableAnswer".into(), message: text }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Outcome {
        outcome(Ok(OutboundResponse { status, body: body.as_bytes().to_vec() }))
    }

    #[test]
    fn a_201_gives_notifys_id() {
        let body = r#"{"id":"740e5834-3a29-46b4-9a6f-16142fde533a","reference":"outbox-1","content":{"body":"Hello","from_number":"GOVUK"},"uri":"https://api.notifications.service.gov.uk/v2/notifications/740e5834-3a29-46b4-9a6f-16142fde533a","template":{"id":"f33517ff-2a88-4f6e-b855-c550268ce08a","version":1,"uri":"x"}}"#;
        assert_eq!(answer(201, body), Outcome::Accepted(Uuid::try_parse("740e5834-3a29-46b4-9a6f-16142fde533a").unwrap()));
    }

    #[test]
    fn an_unreadable_201_is_not_sent_again() {
        let Outcome::Permanent(failure) = answer(201, "<html>ok</html>") else { panic!("a 201 is never retried") };
        assert_eq!(failure.errors[0].message, "<html>ok</html>");
    }

    #[test]
    fn bad_requests_and_auth_errors_are_permanent_and_keep_notifys_words() {
        let body = r#"{"status_code":400,"errors":[{"error":"BadRequestError","message":"Can't send to this recipient using a team-only API key"},{"error":"ValidationError","message":"phone_number Not a UK mobile number"}]}"#;
        let Outcome::Permanent(failure) = answer(400, body) else { panic!("400 is permanent") };
        assert_eq!(failure.status, Some(400));
        assert_eq!(failure.errors.len(), 2);
        assert_eq!(
            failure.to_string(),
            "HTTP 400; BadRequestError: Can't send to this recipient using a team-only API key; ValidationError: phone_number Not a UK mobile number"
        );
        let body = r#"{"errors":[{"error":"AuthError","message":"Error: Your system clock must be accurate to within 30 seconds"}],"status_code":403}"#;
        assert!(matches!(answer(403, body), Outcome::Permanent(Failure { status: Some(403), .. })));
    }

    #[test]
    fn rate_limits_server_errors_and_the_network_are_retried() {
        let body =
            r#"{"status_code":429,"errors":[{"error":"RateLimitError","message":"Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds"}]}"#;
        let Outcome::Retry(failure) = answer(429, body) else { panic!("429 is retried") };
        assert!(failure.to_string().contains("Exceeded rate limit"));
        for status in [500, 502, 503, 504, 408] {
            assert!(matches!(answer(status, "Bad gateway"), Outcome::Retry(_)), "{status}");
        }
        let Outcome::Retry(failure) = outcome(Err(OutboundError::Network("connection reset".into()))) else { panic!("the network is retried") };
        assert_eq!(failure.status, None);
        assert!(failure.to_string().contains("connection reset"));
        assert!(matches!(outcome(Err(OutboundError::Refused("host not allowed".into()))), Outcome::Permanent(_)));
    }
}
