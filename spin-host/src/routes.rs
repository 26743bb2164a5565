//! HTTP routing as Spin does it: an exact route beats a wildcard, and a longer wildcard prefix
//! beats a shorter one. Supported patterns: exact (`/api/v1/health`) and trailing wildcards
//! (`/...`, `/api/...`). Single-segment wildcards (`/users/:id`) are refused.

use crate::manifest::RouteEntry;
use anyhow::{Result, bail};

/// Check that a route pattern is one this host supports.
pub fn validate_route(route: &str) -> Result<()> {
    if !route.starts_with('/') {
        bail!("route {route:?} must start with `/`");
    }
    let prefix = route.strip_suffix("/...").unwrap_or(route);
    if prefix.contains("...") || prefix.contains('*') {
        bail!("route {route:?}: a wildcard is only supported as a trailing `/...`");
    }
    if prefix.split('/').any(|segment| segment.starts_with(':')) {
        bail!("route {route:?}: single-segment wildcards (`:name`) are not supported by this host");
    }
    if route.contains('?') || route.contains('#') {
        bail!("route {route:?} must be a path without query or fragment");
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    /// Exact path, with any single trailing slash removed (Spin sanitises routes that way).
    Exact(String),
    /// Trailing wildcard: the prefix without `/...` (empty for `/...`).
    Wildcard(String),
}

#[derive(Debug, Clone)]
struct Route {
    pattern: Pattern,
    raw: String,
    component: String,
}

/// The routing table.
#[derive(Debug, Clone)]
pub struct Router {
    routes: Vec<Route>,
}

/// The result of routing a request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    pub component: String,
    /// `spin-matched-route` / `spin-raw-component-route`: the route as written.
    pub raw_route: String,
    /// `spin-component-route`: the route without its trailing `/...`.
    pub component_route: String,
    /// `spin-path-info`: the part of the path matched by the trailing wildcard (empty for exact
    /// routes).
    pub path_info: String,
}

fn sanitize(path: &str) -> &str {
    path.strip_suffix('/').unwrap_or(path)
}

impl Router {
    pub fn new(entries: &[RouteEntry]) -> Self {
        let routes = entries
            .iter()
            .map(|e| {
                let pattern = match e.raw.strip_suffix("/...") {
                    Some(prefix) => Pattern::Wildcard(sanitize(prefix).to_string()),
                    None => Pattern::Exact(sanitize(&e.raw).to_string()),
                };
                Route { pattern, raw: e.raw.clone(), component: e.component.clone() }
            })
            .collect();
        Self { routes }
    }

    /// Route `path` (without query string).
    pub fn route(&self, path: &str) -> Option<RouteMatch> {
        let wanted = sanitize(path);
        if let Some(r) = self.routes.iter().find(|r| r.pattern == Pattern::Exact(wanted.to_string())) {
            return Some(self.matched(r, String::new()));
        }
        let mut best: Option<(&Route, &str)> = None;
        for r in &self.routes {
            let Pattern::Wildcard(prefix) = &r.pattern else {
                continue;
            };
            let Some(rest) = path.strip_prefix(prefix.as_str()) else {
                continue;
            };
            // The prefix must end at a segment boundary: `/api/...` matches `/api`, `/api/`
            // and `/api/x`, never `/apix`.
            if !(rest.is_empty() || rest.starts_with('/')) {
                continue;
            }
            if best.is_none_or(|(b, _)| match &b.pattern {
                Pattern::Wildcard(bp) => prefix.len() > bp.len(),
                Pattern::Exact(_) => false,
            }) {
                best = Some((r, rest));
            }
        }
        best.map(|(r, rest)| self.matched(r, rest.to_string()))
    }

    fn matched(&self, r: &Route, path_info: String) -> RouteMatch {
        RouteMatch {
            component: r.component.clone(),
            raw_route: r.raw.clone(),
            component_route: r.raw.strip_suffix("/...").unwrap_or(&r.raw).to_string(),
            path_info,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(routes: &[(&str, &str)]) -> Router {
        let entries: Vec<RouteEntry> =
            routes.iter().map(|(raw, component)| RouteEntry { raw: (*raw).to_string(), component: (*component).to_string() }).collect();
        Router::new(&entries)
    }

    fn component(r: &Router, path: &str) -> Option<String> {
        r.route(path).map(|m| m.component)
    }

    #[test]
    fn exact_beats_wildcard_and_longest_prefix_wins() {
        let r = router(&[("/...", "all"), ("/api/...", "api"), ("/api/v1/...", "v1"), ("/api/v1/health", "health")]);
        assert_eq!(component(&r, "/api/v1/health").as_deref(), Some("health"));
        assert_eq!(component(&r, "/api/v1/health/").as_deref(), Some("health"));
        assert_eq!(component(&r, "/api/v1/other").as_deref(), Some("v1"));
        assert_eq!(component(&r, "/api/v1").as_deref(), Some("v1"));
        assert_eq!(component(&r, "/api/x").as_deref(), Some("api"));
        assert_eq!(component(&r, "/apix").as_deref(), Some("all"));
        assert_eq!(component(&r, "/").as_deref(), Some("all"));
    }

    #[test]
    fn order_does_not_matter() {
        let r = router(&[("/api/v1/...", "v1"), ("/api/...", "api")]);
        assert_eq!(component(&r, "/api/v1/x").as_deref(), Some("v1"));
        let r = router(&[("/api/...", "api"), ("/api/v1/...", "v1")]);
        assert_eq!(component(&r, "/api/v1/x").as_deref(), Some("v1"));
    }

    #[test]
    fn no_match() {
        let r = router(&[("/api/...", "api"), ("/health", "h")]);
        assert_eq!(component(&r, "/"), None);
        assert_eq!(component(&r, "/healthz"), None);
    }

    #[test]
    fn spin_headers_values() -> Result<()> {
        let r = router(&[("/foo/...", "foo"), ("/...", "all"), ("/exact", "e")]);
        let m = r.route("/foo/bar").ok_or_else(|| anyhow::anyhow!("no match"))?;
        assert_eq!(m.path_info, "/bar");
        assert_eq!(m.raw_route, "/foo/...");
        assert_eq!(m.component_route, "/foo");
        let m = r.route("/foo/bar/").ok_or_else(|| anyhow::anyhow!("no match"))?;
        assert_eq!(m.path_info, "/bar/");
        let m = r.route("/foo").ok_or_else(|| anyhow::anyhow!("no match"))?;
        assert_eq!(m.path_info, "");
        let m = r.route("/").ok_or_else(|| anyhow::anyhow!("no match"))?;
        assert_eq!((m.path_info.as_str(), m.component_route.as_str()), ("/", ""));
        let m = r.route("/exact").ok_or_else(|| anyhow::anyhow!("no match"))?;
        assert_eq!((m.path_info.as_str(), m.component_route.as_str()), ("", "/exact"));
        Ok(())
    }

    #[test]
    fn validation() {
        assert!(validate_route("/...").is_ok());
        assert!(validate_route("/api/...").is_ok());
        assert!(validate_route("/api/v1/health").is_ok());
        assert!(validate_route("api").is_err());
        assert!(validate_route("/users/:id").is_err());
        assert!(validate_route("/a/.../b").is_err());
        assert!(validate_route("/a/*").is_err());
    }
}
