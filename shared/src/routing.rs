//! Route tables: each app lists its routes once, as data (method, path pattern, and what the
//! app needs to know about who may call it), and this matcher finds a request's route — and,
//! from the same table, the methods a path allows (for 405 and `Allow`) and HEAD for every GET.

use http::Method;

/// What a route table's entries have in common.
pub trait Routed {
    /// The method it answers (`GET` routes answer `HEAD` too).
    fn method(&self) -> &Method;
    /// The path pattern: `{name}` matches one non-empty segment.
    fn pattern(&self) -> &'static str;
}

/// What a route table says about a request.
#[derive(Debug)]
pub enum Resolution<'r, 'p, R> {
    /// This route, with the values of its `{…}` segments in order.
    Found(&'r R, Vec<&'p str>),
    /// The path exists but not for this method: the methods it allows, for `Allow`.
    MethodNotAllowed(String),
    /// No route has this path.
    NotFound,
}

/// The values of `pattern`'s `{…}` segments if `path` matches it.
pub fn matches<'p>(pattern: &str, path: &'p str) -> Option<Vec<&'p str>> {
    let mut pattern_segments = pattern.split('/');
    let mut path_segments = path.split('/');
    let mut values = Vec::new();
    loop {
        match (pattern_segments.next(), path_segments.next()) {
            (None, None) => return Some(values),
            (Some(expected), Some(actual)) if expected.starts_with('{') && expected.ends_with('}') => {
                if actual.is_empty() {
                    return None;
                }
                values.push(actual);
            }
            (Some(expected), Some(actual)) if expected == actual => {}
            _ => return None,
        }
    }
}

/// Finds the route for `method` and `path` in `routes` (the first match wins).
pub fn resolve<'r, 'p, R: Routed>(routes: &'r [R], method: &Method, path: &'p str) -> Resolution<'r, 'p, R> {
    let wanted = if method == Method::HEAD { &Method::GET } else { method };
    let mut allowed: Vec<&str> = Vec::new();
    for route in routes {
        let Some(values) = matches(route.pattern(), path) else { continue };
        if route.method() == wanted {
            return Resolution::Found(route, values);
        }
        for method in [route.method().as_str()].into_iter().chain((route.method() == Method::GET).then_some(Method::HEAD.as_str())) {
            if !allowed.contains(&method) {
                allowed.push(method);
            }
        }
    }
    if allowed.is_empty() { Resolution::NotFound } else { Resolution::MethodNotAllowed(allowed.join(", ")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Entry(Method, &'static str);

    impl Routed for Entry {
        fn method(&self) -> &Method {
            &self.0
        }
        fn pattern(&self) -> &'static str {
            self.1
        }
    }

    #[test]
    fn patterns_match_whole_segments() {
        assert_eq!(matches("/api/v1/people/{id}", "/api/v1/people/person-1"), Some(vec!["person-1"]));
        assert_eq!(matches("/api/v1/people/{id}", "/api/v1/people/"), None);
        assert_eq!(matches("/api/v1/people/{id}", "/api/v1/people"), None);
        assert_eq!(matches("/api/v1/people/{id}", "/api/v1/people/a/b"), None);
        assert_eq!(matches("/api/v1/people", "/api/v1/people"), Some(vec![]));
        assert_eq!(matches("/api/v1/people", "/api/v1/peoplex"), None);
    }

    #[test]
    fn head_is_get_and_other_methods_are_listed_once() {
        let routes = [Entry(Method::GET, "/a/{id}"), Entry(Method::POST, "/a/{id}"), Entry(Method::GET, "/a/{id}")];
        assert!(matches!(resolve(&routes, &Method::HEAD, "/a/x"), Resolution::Found(route, _) if route.0 == Method::GET));
        match resolve(&routes, &Method::DELETE, "/a/x") {
            Resolution::MethodNotAllowed(allowed) => assert_eq!(allowed, "GET, HEAD, POST"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(resolve(&routes, &Method::GET, "/b"), Resolution::NotFound));
    }
}
