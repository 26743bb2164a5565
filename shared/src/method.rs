//! Which request methods reach the apps at all. The runtimes hand a method over as text; one
//! they do not know must be refused, never served as another (Workers' own conversion turns
//! `PROPFIND` or `MKCOL` into `GET`).

use http::{Method, StatusCode, header};

/// The methods the apps route; the router answers each on a path that does not take it.
pub const KNOWN: [Method; 7] = [Method::GET, Method::HEAD, Method::POST, Method::PUT, Method::PATCH, Method::DELETE, Method::OPTIONS];

/// The `Allow` header of the answer to any other method.
pub const ALLOW: &str = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

/// A method the apps do not know: it is answered, never routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the method is not one the apps answer")]
pub struct UnknownMethod;

impl UnknownMethod {
    /// The answer to send instead of routing: 405 with `Allow`.
    pub fn response(self) -> http::Response<Vec<u8>> {
        not_allowed()
    }
}

/// Admits a method as the platform gives it: one of [`KNOWN`], exactly as written (methods are
/// case-sensitive; the Fetch standard already upper-cases `get`, `post` and the like).
pub fn admit(raw: &str) -> Result<Method, UnknownMethod> {
    KNOWN.into_iter().find(|method| method.as_str() == raw).ok_or(UnknownMethod)
}

fn not_allowed() -> http::Response<Vec<u8>> {
    let mut response = http::Response::new(b"Method Not Allowed\n".to_vec());
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    let headers = response.headers_mut();
    headers.insert(header::ALLOW, header::HeaderValue::from_static(ALLOW));
    headers.insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/plain; charset=utf-8"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, header::HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finding_12_unknown_methods_are_405_not_get() {
        for method in KNOWN {
            assert_eq!(admit(method.as_str()).unwrap(), method);
        }
        for raw in ["PROPFIND", "MKCOL", "PROPPATCH", "COPY", "MOVE", "LOCK", "REPORT", "TRACE", "CONNECT", "QUERY", "get", "patch", "", "G ET"] {
            let refusal = admit(raw).unwrap_err().response();
            assert_eq!(refusal.status(), StatusCode::METHOD_NOT_ALLOWED, "{raw:?}");
            assert_eq!(refusal.headers()[header::ALLOW], ALLOW, "{raw:?}");
            assert!(!ALLOW.split(", ").any(|allowed| allowed == raw), "{raw:?} is not admitted, so it is not offered");
        }
    }
}
