//! Query strings and cursor pages. Every list is one page at a time: `limit` (1 to 100) and an
//! opaque `cursor` naming where the previous page ended (stable under inserts). A page answers
//! `{ "items": […], "next": "<path of the next page>" | null }` and the same path in a
//! `Link: <…>; rel="next"` header. Unknown, repeated or malformed parameters are 400 problems.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use carefront_shared::problem::Problem;
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

use crate::{Response, json};

/// Items per page when the caller does not say.
pub const DEFAULT_LIMIT: usize = 50;
/// The most items a page holds.
pub const MAX_LIMIT: usize = 100;

/// A 400 problem about the query.
pub fn bad_query(slug: &str, title: &str, detail: impl Into<String>) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST).with_type(slug, title).with_detail(detail)
}

/// A parsed query string: each allowed parameter at most once.
#[derive(Debug, Default)]
pub struct Query {
    values: BTreeMap<String, String>,
}

impl Query {
    /// Parses `raw`, refusing parameters not in `allowed` and parameters given twice.
    pub fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Query, Problem> {
        let usage = if allowed.is_empty() { "This resource takes no query parameters.".to_owned() } else { format!("Use {} only.", allowed.join(", ")) };
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(raw.unwrap_or_default()).map_err(|_| bad_query("malformed-query", "The query string is malformed", usage.clone()))?;
        let mut values = BTreeMap::new();
        for (name, value) in pairs {
            if !allowed.contains(&name.as_str()) {
                return Err(bad_query("unknown-parameter", "Unknown query parameter", format!("{name} is not a parameter here. {usage}")));
            }
            if values.insert(name.clone(), value).is_some() {
                return Err(bad_query("malformed-query", "The query string is malformed", format!("{name} is given twice.")));
            }
        }
        Ok(Query { values })
    }

    /// A parameter's value, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// `limit`: 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] if not given.
    pub fn limit(&self) -> Result<usize, Problem> {
        match self.get("limit") {
            None => Ok(DEFAULT_LIMIT),
            Some(text) => match text.parse::<usize>() {
                Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => Ok(limit),
                _ => Err(bad_query("bad-limit", "The limit is not valid", format!("limit must be a whole number from 1 to {MAX_LIMIT}."))),
            },
        }
    }

    /// `cursor`, decoded for the list `scope` (a cursor of another list is refused).
    pub fn cursor(&self, scope: &str) -> Result<Option<String>, Problem> {
        self.get("cursor")
            .map(|cursor| {
                decode_cursor(scope, cursor)
                    .ok_or_else(|| bad_query("bad-cursor", "The cursor is not valid", "Use the next link of the previous page as it is."))
            })
            .transpose()
    }
}

/// A cursor: base64url of `<scope>:<key of the last item>`.
pub fn encode_cursor(scope: &str, key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{scope}:{key}"))
}

/// The key a cursor names, if it is a cursor of `scope`.
pub fn decode_cursor(scope: &str, cursor: &str) -> Option<String> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    text.strip_prefix(scope)?.strip_prefix(':').filter(|key| !key.is_empty()).map(str::to_owned)
}

/// The order of a list by its items' keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Smallest key first (oldest first, for keys that start with a time).
    Ascending,
    /// Largest key first (newest first).
    Descending,
}

/// One page of `items` (in any order) by `key`, whose text order must be the list's order:
/// the items after the key `after`, at most `limit`, and the key of the last one if more follow.
pub fn page_of<T>(items: Vec<T>, key: impl Fn(&T) -> String, order: Order, after: Option<&str>, limit: usize) -> (Vec<T>, Option<String>) {
    let mut keyed: Vec<(String, T)> = items.into_iter().map(|item| (key(&item), item)).collect();
    keyed.sort_by(|a, b| match order {
        Order::Ascending => a.0.cmp(&b.0),
        Order::Descending => b.0.cmp(&a.0),
    });
    let mut rest = keyed.into_iter().filter(|(key, _)| match (after, order) {
        (None, _) => true,
        (Some(after), Order::Ascending) => key.as_str() > after,
        (Some(after), Order::Descending) => key.as_str() < after,
    });
    let page: Vec<(String, T)> = rest.by_ref().take(limit).collect();
    let more = rest.next().is_some();
    let next = if more { page.last().map(|(key, _)| key.clone()) } else { None };
    (page.into_iter().map(|(_, item)| item).collect(), next)
}

/// The path of a next page: `path` with `params` (those that select the list), `limit` and
/// `cursor`.
pub fn next_link(path: &str, params: &[(&str, String)], limit: usize, cursor: &str) -> String {
    let mut pairs: Vec<(&str, String)> = params.to_vec();
    pairs.push(("limit", limit.to_string()));
    pairs.push(("cursor", cursor.to_owned()));
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    format!("{path}?{query}")
}

#[derive(Serialize)]
struct PageBody<T: Serialize> {
    items: Vec<T>,
    next: Option<String>,
}

/// A page as the answer: `{ items, next }` and the `Link` header.
pub fn page_response<T: Serialize>(items: Vec<T>, next: Option<String>) -> Response {
    let mut response = json(StatusCode::OK, &PageBody { items, next: next.clone() });
    if let Some(value) = next.and_then(|next| HeaderValue::from_str(&format!("<{next}>; rel=\"next\"")).ok()) {
        response.headers_mut().insert(header::LINK, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        assert_eq!(decode_cursor("people", &encode_cursor("people", "person-1")).as_deref(), Some("person-1"));
        assert_eq!(decode_cursor("people", "not base64!"), None);
        assert_eq!(decode_cursor("people", &encode_cursor("visits", "x")), None);
        assert_eq!(decode_cursor("people", &URL_SAFE_NO_PAD.encode("people:")), None);
        assert_eq!(decode_cursor("people", &URL_SAFE_NO_PAD.encode("peoplex:a")), None);
    }

    #[test]
    fn queries_are_strict() {
        let parsed = Query::parse(None, &["limit", "cursor"]).unwrap();
        assert_eq!((parsed.limit().unwrap(), parsed.cursor("people").unwrap()), (DEFAULT_LIMIT, None));
        assert_eq!(Query::parse(Some("limit=100"), &["limit"]).unwrap().limit().unwrap(), 100);
        for bad in ["limit=0", "limit=101", "limit=x"] {
            assert!(Query::parse(Some(bad), &["limit"]).unwrap().limit().is_err(), "{bad}");
        }
        for bad in ["limit=1&limit=2", "sort=name"] {
            assert!(Query::parse(Some(bad), &["limit", "cursor"]).is_err(), "{bad}");
        }
        assert!(Query::parse(Some("cursor=abc"), &["cursor"]).unwrap().cursor("people").is_err());
        assert!(Query::parse(Some("x=1"), &[]).is_err());
    }

    #[test]
    fn pages_cover_every_item_once_in_order() {
        let items: Vec<u32> = (0..7).collect();
        let key = |item: &u32| format!("{item:03}");
        for order in [Order::Ascending, Order::Descending] {
            let (mut seen, mut after) = (Vec::new(), None::<String>);
            loop {
                let (page, next) = page_of(items.clone(), key, order, after.as_deref(), 3);
                seen.extend(page);
                match next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            let mut expected = items.clone();
            if order == Order::Descending {
                expected.reverse();
            }
            assert_eq!(seen, expected);
        }
        let (page, next) = page_of(items, key, Order::Ascending, None, 7);
        assert_eq!((page.len(), next), (7, None), "no next link when the last page is exactly full");
    }

    #[test]
    fn next_links_keep_the_list_parameters() {
        assert_eq!(next_link("/api/v1/comments", &[("status", "open".into())], 20, "abc"), "/api/v1/comments?status=open&limit=20&cursor=abc");
    }
}
