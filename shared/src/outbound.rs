//! The outbound HTTP port: how the core asks a runtime to send one request to another service
//! (GOV.UK Notify). The core builds the request as data and reads the answer as data; each
//! runtime adapter sends it (Workers `fetch`, Spin outbound HTTP, plain HTTP in native tools).

use async_trait::async_trait;

/// One request to send: everything is decided by the core, the adapter only carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRequest {
    /// The HTTP method.
    pub method: http::Method,
    /// The absolute URL.
    pub url: url::Url,
    /// Header names (lower case) and values, in the order they are sent.
    pub headers: Vec<(String, String)>,
    /// The body (empty for a GET).
    pub body: Vec<u8>,
}

/// The answer the other service gave, whatever its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The body as received.
    pub body: Vec<u8>,
}

/// Why a request got no answer at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    /// The runtime refused to send it: the host is not among the allowed outbound hosts, or the
    /// runtime has no outbound HTTP. Sending again will not help until the deployment changes.
    #[error("the runtime refused to send the request: {0}")]
    Refused(String),
    /// The connection failed or timed out, or the answer could not be read: worth retrying.
    #[error("the request failed on the network: {0}")]
    Network(String),
}

/// Sends an [`OutboundRequest`]. No `Send` bound: Workers futures are not `Send` (as
/// [`crate::db::Database`]).
#[async_trait(?Send)]
pub trait Outbound {
    /// Sends `request` and returns the answer, or why there was none.
    async fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, OutboundError>;
}
