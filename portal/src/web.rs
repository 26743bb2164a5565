//! HTTP plumbing for the portal: cookies, forms, JSON bodies, responses and security headers.

use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::de::DeserializeOwned;

use crate::error::PortalError;
use crate::{Request, Response};

/// The portal's Content Security Policy: no inline script or style, nothing from elsewhere.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The value of the cookie `name`, if the request carries it (the first one wins).
pub fn cookie<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"'))
}

/// A `Set-Cookie` value for a `__Host-` cookie: Secure, HttpOnly, SameSite=Lax, path `/`.
/// `max_age` of `None` makes a browser-session cookie; `Some(0)` deletes it.
pub fn set_cookie(name: &str, value: &str, max_age: Option<i64>) -> String {
    let mut cookie = format!("{name}={value}; Path=/; Secure; HttpOnly; SameSite=Lax");
    if let Some(seconds) = max_age {
        cookie.push_str(&format!("; Max-Age={seconds}"));
    }
    cookie
}

/// Parses an `application/x-www-form-urlencoded` body.
pub fn form<T: DeserializeOwned>(request: &Request) -> Result<T, PortalError> {
    let content_type = content_type(request.headers());
    if content_type != "application/x-www-form-urlencoded" {
        return Err(PortalError::BadRequest(format!("expected a form, got {content_type:?}")));
    }
    let text = std::str::from_utf8(request.body()).map_err(|_| PortalError::BadRequest("the form is not valid UTF-8".into()))?;
    serde_urlencoded::from_str(text).map_err(|error| PortalError::BadRequest(format!("malformed form: {error}")))
}

/// Parses a JSON body.
pub fn json_body<T: DeserializeOwned>(request: &Request) -> Result<T, PortalError> {
    let content_type = content_type(request.headers());
    if content_type != "application/json" {
        return Err(PortalError::BadRequest(format!("expected JSON, got {content_type:?}")));
    }
    serde_json::from_slice(request.body()).map_err(|error| PortalError::BadRequest(format!("malformed JSON: {error}")))
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|value| value.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// The query parameter `name`, decoded.
pub fn query_param(request: &Request, name: &str) -> Option<String> {
    let query = request.uri().query()?;
    serde_urlencoded::from_str::<Vec<(String, String)>>(query).ok()?.into_iter().find(|(key, _)| key == name).map(|(_, value)| value)
}

fn response(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response {
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// An HTML page.
pub fn html(status: StatusCode, body: String) -> Response {
    response(status, "text/html; charset=utf-8", body.into_bytes())
}

/// A JSON document.
pub fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> Result<Response, PortalError> {
    let body = serde_json::to_vec(value).map_err(|error| PortalError::Internal(error.to_string()))?;
    Ok(response(status, "application/json", body))
}

/// A 303 redirect to a path on this site (after a form POST, or to sign in).
pub fn redirect(location: &'static str) -> Response {
    let mut response = http::Response::new(Vec::new());
    *response.status_mut() = StatusCode::SEE_OTHER;
    response.headers_mut().insert(header::LOCATION, HeaderValue::from_static(location));
    response
}

/// A 303 redirect to a path built at run time; it must be a path on this site.
pub fn redirect_to(location: &str) -> Response {
    let mut response = http::Response::new(Vec::new());
    *response.status_mut() = StatusCode::SEE_OTHER;
    let value = HeaderValue::from_str(local_return_path(location).unwrap_or("/home")).unwrap_or(HeaderValue::from_static("/home"));
    response.headers_mut().insert(header::LOCATION, value);
    response
}

/// `path` if it is a path on this site that a browser may be sent back to (after
/// re-authentication, say): it starts with one `/`, holds no `//` (another host), no backslash
/// (which browsers read as `/`), no scheme, space or control character, only the characters of
/// a URL path and query, and is of sensible length. `None` for anything else.
pub fn local_return_path(path: &str) -> Option<&str> {
    let allowed = |byte: u8| byte.is_ascii_alphanumeric() || b"/-_.~?=&%+*".contains(&byte);
    let safe = path.len() <= 4000 && path.starts_with('/') && !path.contains("//") && path.bytes().all(allowed);
    safe.then_some(path)
}

/// A static file with a year-long, immutable cache lifetime (its URL changes with its content).
pub fn static_file(content_type: &'static str, body: &'static [u8]) -> Response {
    let mut response = response(StatusCode::OK, content_type, body.to_vec());
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    response
}

/// Adds a `Set-Cookie` header.
pub fn add_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// Adds the security headers every portal response carries; pages are never cached.
pub fn apply_security_headers(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=63072000; includeSubDomains"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // `same-origin`, not `no-referrer`: with no-referrer browsers send `Origin: null` on form
    // posts, which the CSRF check must refuse; nothing (not even an invitation URL) leaks off-site.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    headers.insert("permissions-policy", HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

#[cfg(test)]
mod tests {
    use super::local_return_path;

    #[test]
    fn a_return_path_is_only_ever_a_path_on_this_site() {
        for path in ["/home", "/passkeys", "/people/person-1/access/grant-1/edit?draft=version%3D1&check=abc_-", "/access/add", "/council/credentials/new"] {
            assert_eq!(local_return_path(path), Some(path), "{path}");
        }
        for path in [
            "",
            "home",
            "https://evil.example/home",
            "http:/evil.example",
            "//evil.example/home",
            "///evil.example",
            "/\\evil.example",
            "/home\\..",
            "/access/../..//x",
            "/access x",
            "/home\t",
            "/home\n/x",
            "javascript:alert(1)",
            "/home#frag:x",
            "/caf\u{e9}",
        ] {
            assert_eq!(local_return_path(path), None, "{path:?}");
        }
        assert_eq!(local_return_path(&format!("/{}", "a".repeat(4000))), None, "too long");
    }
}
