//! RFC 9457 problem documents: the one error shape of every JSON endpoint.

use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

/// Media type of a problem document.
pub const PROBLEM_JSON: &str = "application/problem+json";

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
        response
    }
}
