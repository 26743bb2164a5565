//! RFC 9457 problem documents: the one error shape of every JSON endpoint.

use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

/// Media type of a problem document.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Seconds a client is asked to wait (`Retry-After`) when the store is unavailable: the store
/// was already retried inside the request, so the lock or outage outlasted that; a second is
/// enough for a lock, and is not long for a person to wait.
pub const STORE_RETRY_AFTER_SECONDS: u32 = 1;

/// The reference for one failed request, quoted in the log line and to the person or client:
/// Cloudflare's `cf-ray` request id when the request carries one (so the log, Cloudflare's own
/// logs and the person's reference agree), else 6 random bytes as base64url. A `cf-ray` is used
/// only if it looks like one (hex digits, a dash and a data centre code), so a client cannot
/// write into the log; it is a reference for support, never trusted for anything else.
pub fn error_reference(headers: &http::HeaderMap, random: &dyn crate::random::Random) -> String {
    let ray = headers
        .get("cf-ray")
        .and_then(|value| value.to_str().ok())
        .filter(|ray| (8..=40).contains(&ray.len()) && ray.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-'));
    ray.map_or_else(|| crate::random::token(random, 6), str::to_owned)
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// A URI naming the kind of problem; `about:blank` when the status says it all.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// A short summary of the kind of problem, the same for every occurrence.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong this time, in words a person can act on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// A reference for this occurrence (quoted to support when something broke on our side).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

impl Problem {
    /// A problem of `status` with the status's own reason as title.
    pub fn new(status: StatusCode) -> Problem {
        Problem {
            type_uri: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail: None,
            instance: None,
        }
    }

    /// The same problem with a detail.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Problem {
        self.detail = Some(detail.into());
        self
    }

    /// The same problem with a more specific type and title.
    pub fn with_type(mut self, slug: &str, title: impl Into<String>) -> Problem {
        self.type_uri = format!("https://carefront.example/problems/{slug}");
        self.title = title.into();
        self
    }

    /// The same problem with an occurrence reference.
    pub fn with_instance(mut self, instance: impl Into<String>) -> Problem {
        self.instance = Some(instance.into());
        self
    }

    /// The problem as an HTTP response.
    pub fn into_response(self) -> http::Response<Vec<u8>> {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_else(|_| br#"{"type":"about:blank","title":"Internal Server Error","status":500}"#.to_vec());
        let mut response = http::Response::new(body);
        *response.status_mut() = status;
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        // Every 503 says when to try again (RFC 9110 section 10.2.3).
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(STORE_RETRY_AFTER_SECONDS));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Zeros;

    impl crate::random::Random for Zeros {
        fn fill(&self, buf: &mut [u8]) {
            buf.fill(0);
        }
    }

    fn headers(ray: &str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert("cf-ray", HeaderValue::from_str(ray).unwrap_or(HeaderValue::from_static("")));
        headers
    }

    #[test]
    fn the_reference_is_cloudflares_ray_id_when_there_is_one() {
        assert_eq!(error_reference(&headers("8f2b1c3d4e5f6a7b-LHR"), &Zeros), "8f2b1c3d4e5f6a7b-LHR");
    }

    #[test]
    fn the_reference_is_random_without_a_ray_id_or_with_one_that_is_not() {
        assert_eq!(error_reference(&http::HeaderMap::new(), &Zeros), "AAAAAAAA");
        for forged in ["short", "8f2b1c3d 4e5f: injected", "8f2b1c3d4e5f6a7b-LHR-8f2b1c3d4e5f6a7b-LHR-x"] {
            assert_eq!(error_reference(&headers(forged), &Zeros), "AAAAAAAA", "{forged}");
        }
    }

    #[test]
    fn a_503_problem_says_when_to_try_again_and_others_do_not() {
        let unavailable = Problem::new(StatusCode::SERVICE_UNAVAILABLE).into_response();
        assert_eq!(unavailable.headers().get(header::RETRY_AFTER).and_then(|value| value.to_str().ok()), Some("1"));
        assert!(Problem::new(StatusCode::INTERNAL_SERVER_ERROR).into_response().headers().get(header::RETRY_AFTER).is_none());
    }
}
