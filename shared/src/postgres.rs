//! PostgreSQL as a backing store: the SQL the store writes once, in SQLite's dialect, put into
//! PostgreSQL's; PostgreSQL's errors as [`DbError`]s; and PostgreSQL's migration history. Pure:
//! each runtime's client (the native `postgres` crate, `tokio-postgres` over a Hyperdrive socket on
//! Workers, `spin_sdk::pg` on Spin) calls these and does its own I/O.
//!
//! The store's queries are written in the common part of the two dialects. What differs is put
//! right here, statement by statement, rather than by keeping a second copy of every query:
//!
//! | SQLite | PostgreSQL |
//! |---|---|
//! | `?3` | `$3::bigint` or `$3::text` (by the bound value's type), or `NULL`; numbered again without the NULLs ([`bound`]) |
//! | `json_each(x)` | `jsonb_array_elements_text((x)::jsonb) AS json_each(value)` |
//! | `a LIKE b` (ASCII case-insensitive) | `a ILIKE b` |
//! | `+c.status` (an index hint to SQLite's planner) | `c.status` |
//! | `CROSS JOIN t ON …` (SQLite's join-order hint) | `JOIN t ON …` |
//!
//! Each placeholder is cast to its value's type because PostgreSQL infers a parameter's type from
//! its context and Spin's client binds each value by its own type: the cast makes the two agree
//! (`version = $2::bigint`), whatever the context.

use crate::db::{DbError, Statement, Value, classify_error};

/// The SQL of `sqlite_sql` in PostgreSQL's dialect, for these parameters.
pub fn dialect(sqlite_sql: &str, params: &[Value]) -> String {
    let bytes = sqlite_sql.as_bytes();
    let mut out = String::with_capacity(sqlite_sql.len() + 8 * params.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        match byte {
            // A string literal or quoted name is copied as it is, quotes doubled inside.
            b'\'' | b'"' => {
                let end = closing_quote(bytes, index);
                out.push_str(&sqlite_sql[index..end]);
                index = end;
            }
            b'-' if bytes.get(index + 1) == Some(&b'-') => {
                let end = sqlite_sql[index..].find('\n').map_or(bytes.len(), |offset| index + offset);
                out.push_str(&sqlite_sql[index..end]);
                index = end;
            }
            b'?' => {
                let digits = bytes[index + 1..].iter().take_while(|digit| digit.is_ascii_digit()).count();
                let number = &sqlite_sql[index + 1..index + 1 + digits];
                let position = number.parse::<usize>().ok().and_then(|number| number.checked_sub(1));
                let renumbered = |position: usize| params[..position].iter().filter(|value| **value != Value::Null).count() + 1;
                match position.and_then(|position| Some((position, params.get(position)?))) {
                    Some((position, Value::Integer(_))) => out.push_str(&format!("${}::bigint", renumbered(position))),
                    Some((position, Value::Text(_))) => out.push_str(&format!("${}::text", renumbered(position))),
                    Some((_, Value::Null)) => out.push_str("NULL"),
                    // A placeholder with no value: left for the server to refuse.
                    None => {
                        out.push('$');
                        out.push_str(number);
                    }
                }
                index += 1 + digits;
            }
            b'+' if bytes.get(index + 1).is_some_and(|next| next.is_ascii_alphabetic() || *next == b'_')
                && index.checked_sub(1).is_none_or(|before| matches!(bytes[before], b' ' | b'\n' | b'\t' | b'(' | b',')) =>
            {
                index += 1;
            }
            _ if starts_word(bytes, index, "json_each(") => {
                let open = index + "json_each".len();
                let close = closing_paren(bytes, open);
                out.push_str("jsonb_array_elements_text((");
                out.push_str(&dialect(&sqlite_sql[open + 1..close], params));
                out.push_str(")::jsonb) AS json_each(value)");
                index = close + 1;
            }
            _ if starts_word(bytes, index, "CROSS JOIN ") && joined_on(&sqlite_sql[index + "CROSS JOIN ".len()..]) => {
                out.push_str("JOIN ");
                index += "CROSS JOIN ".len();
            }
            _ if starts_word(bytes, index, "json_extract(") => {
                // json_extract(x, '$.key') of the tests and tools that read the store directly.
                let open = index + "json_extract".len();
                let close = closing_paren(bytes, open);
                let inner = dialect(&sqlite_sql[open + 1..close], params);
                match inner.rsplit_once(',') {
                    Some((value, path)) if path.trim().starts_with("'$.") => {
                        out.push_str(&format!("(({value})::jsonb ->> '{}", path.trim().trim_start_matches("'$.")));
                        out.push(')');
                    }
                    _ => out.push_str(&format!("json_extract({inner})")),
                }
                index = close + 1;
            }
            _ if starts_word(bytes, index, "rowid") && !bytes.get(index + 5).is_some_and(|next| next.is_ascii_alphanumeric() || *next == b'_') => {
                // SQLite's row id orders rows as inserted; a row's place in PostgreSQL's heap
                // does the same for rows never updated, which is what the tests order by.
                out.push_str("ctid");
                index += "rowid".len();
            }
            _ if starts_word(bytes, index, "LIKE ") => {
                out.push_str("ILIKE ");
                index += "LIKE ".len();
            }
            _ => {
                let next = sqlite_sql[index..].char_indices().nth(1).map_or(bytes.len(), |(offset, _)| index + offset);
                out.push_str(&sqlite_sql[index..next]);
                index = next;
            }
        }
    }
    out
}

/// The values to bind to [`dialect`]'s SQL, in order: every one but the NULLs, which the SQL
/// holds as `NULL` itself (PostgreSQL cannot tell the type of a parameter that is only ever
/// tested with `IS NULL`, and a NULL needs none).
pub fn bound(params: &[Value]) -> impl Iterator<Item = &Value> {
    params.iter().filter(|value| **value != Value::Null)
}

/// Whether a `CROSS JOIN` is followed by a table (and alias) then `ON`: SQLite takes `CROSS JOIN`
/// with a condition (to keep the join order it is written in); PostgreSQL takes `JOIN` there.
fn joined_on(rest: &str) -> bool {
    let words: Vec<&str> = rest.split_whitespace().take(3).collect();
    words.iter().skip(1).any(|word| word.eq_ignore_ascii_case("ON"))
}

/// Whether `word` (ASCII, matched without regard to case) starts at `index` and is not the end
/// of a longer name.
fn starts_word(bytes: &[u8], index: usize, word: &str) -> bool {
    let word = word.as_bytes();
    bytes.len() >= index + word.len()
        && bytes[index..index + word.len()].eq_ignore_ascii_case(word)
        && index.checked_sub(1).is_none_or(|before| !(bytes[before].is_ascii_alphanumeric() || bytes[before] == b'_'))
}

/// The index just past the quote that closes the one at `open` (a doubled quote is part of the
/// text), or the end of the text.
fn closing_quote(bytes: &[u8], open: usize) -> usize {
    let quote = bytes[open];
    let mut index = open + 1;
    while index < bytes.len() {
        if bytes[index] == quote {
            if bytes.get(index + 1) == Some(&quote) {
                index += 2;
                continue;
            }
            return index + 1;
        }
        index += 1;
    }
    bytes.len()
}

/// The index of the parenthesis that closes the one at `open`, skipping quoted text, or the last
/// index if it is never closed.
fn closing_paren(bytes: &[u8], open: usize) -> usize {
    let mut depth = 0;
    let mut index = open;
    while index < bytes.len() {
        match bytes[index] {
            b'\'' | b'"' => {
                index = closing_quote(bytes, index);
                continue;
            }
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return index;
                }
            }
            _ => {}
        }
        index += 1;
    }
    bytes.len().saturating_sub(1)
}

/// A PostgreSQL error as a [`DbError`], from its SQLSTATE code (when the server sent one) and
/// message:
/// - class 23 (integrity constraint violation: unique, foreign key, check, not null) is a
///   refused write, as SQLite's "constraint failed";
/// - a serialization failure (40001), a deadlock (40P01) or a lock not available (55P03) is
///   [`DbError::Busy`]: nothing was done, and the whole batch can be tried again;
/// - a trigger's own refusal (P0001, `RAISE EXCEPTION`) is read by its message, as SQLite's
///   `RAISE(ABORT, …)` is, so the append-only tables answer the same on both stores;
/// - anything else (no connection, the server shutting down, an error in the SQL) means the
///   store is unavailable.
pub fn classify(code: Option<&str>, message: String) -> DbError {
    match code {
        Some(code) if code.starts_with("23") => DbError::Constraint(message),
        Some("40001" | "40P01" | "55P03") => DbError::Busy(message),
        Some("P0001") => classify_error(message),
        _ => DbError::Unavailable(message),
    }
}

/// How a batch starts on PostgreSQL. Serializable, so that a plan's guards and its writes see
/// the store as SQLite's single writer would: two plans made from the same version cannot both
/// commit; the second fails with a serialization failure ([`DbError::Busy`]) and is tried again
/// from the start by [`crate::retry::Retrying`], when its guard stops it as it would on SQLite.
pub const BEGIN: &str = "BEGIN ISOLATION LEVEL SERIALIZABLE";

/// One step of a batch's transaction, for a PostgreSQL client to carry out.
#[derive(Debug, Clone, Copy)]
pub enum Step<'a> {
    /// A statement already in PostgreSQL's dialect, without parameters: [`BEGIN`], COMMIT or
    /// ROLLBACK.
    Control(&'static str),
    /// One of the batch's statements, in the store's dialect.
    Run(&'a Statement),
}

/// A batch as one transaction on PostgreSQL, whichever client carries out each `step`:
/// [`BEGIN`], each statement, COMMIT; after any failure (a failed COMMIT included) a ROLLBACK,
/// so that nothing of the batch is kept and the connection is clean for a retry, and the first
/// error. The ROLLBACK's own failure is ignored: it would only hide the first.
pub async fn transaction<'a, F, Fut>(statements: &'a [Statement], mut step: F) -> Result<(), DbError>
where
    F: FnMut(Step<'a>) -> Fut,
    Fut: Future<Output = Result<(), DbError>>,
{
    step(Step::Control(BEGIN)).await?;
    let mut outcome = Ok(());
    for statement in statements {
        outcome = step(Step::Run(statement)).await;
        if outcome.is_err() {
            break;
        }
    }
    if outcome.is_ok() {
        outcome = step(Step::Control("COMMIT")).await;
    }
    if outcome.is_err() {
        let _ = step(Step::Control("ROLLBACK")).await;
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The steps `transaction` takes for two statements when the step named `failing` fails.
    fn steps(failing: Option<&str>) -> (Vec<String>, Result<(), DbError>) {
        let statements =
            [Statement { sql: "INSERT INTO a VALUES (1)".into(), params: vec![] }, Statement { sql: "INSERT INTO b VALUES (2)".into(), params: vec![] }];
        let mut taken = Vec::new();
        let outcome = pollster::block_on(transaction(&statements, |step| {
            let name = match step {
                Step::Control(sql) => sql.to_owned(),
                Step::Run(statement) => statement.sql.to_string(),
            };
            let result = if failing == Some(name.as_str()) { Err(DbError::Busy(format!("{name} failed"))) } else { Ok(()) };
            taken.push(name);
            std::future::ready(result)
        }));
        (taken, outcome)
    }

    #[test]
    fn a_batch_is_one_transaction_rolled_back_on_any_failure() {
        let (taken, outcome) = steps(None);
        assert_eq!(taken, [BEGIN, "INSERT INTO a VALUES (1)", "INSERT INTO b VALUES (2)", "COMMIT"]);
        assert_eq!(outcome, Ok(()));
        let (taken, outcome) = steps(Some("INSERT INTO a VALUES (1)"));
        assert_eq!(taken, [BEGIN, "INSERT INTO a VALUES (1)", "ROLLBACK"]);
        assert_eq!(outcome, Err(DbError::Busy("INSERT INTO a VALUES (1) failed".into())));
        let (taken, outcome) = steps(Some("COMMIT"));
        assert_eq!(taken, [BEGIN, "INSERT INTO a VALUES (1)", "INSERT INTO b VALUES (2)", "COMMIT", "ROLLBACK"]);
        assert_eq!(outcome, Err(DbError::Busy("COMMIT failed".into())), "the first error, not the rollback's");
        let (taken, outcome) = steps(Some(BEGIN));
        assert_eq!(taken, [BEGIN]);
        assert!(outcome.is_err());
        let (_, outcome) = steps(Some("ROLLBACK"));
        assert_eq!(outcome, Ok(()), "no rollback without a failure");
    }

    #[test]
    fn placeholders_are_numbered_and_cast_to_their_values_type() {
        let params = [Value::Integer(3), Value::Text("a".into()), Value::Null];
        assert_eq!(
            dialect("UPDATE grants SET version = ?1 WHERE id = ?2 AND ends_at IS ?3 AND version = ?1", &params),
            "UPDATE grants SET version = $1::bigint WHERE id = $2::text AND ends_at IS NULL AND version = $1::bigint"
        );
        let params = [Value::Null, Value::Text("b".into()), Value::Null, Value::Integer(4)];
        assert_eq!(
            dialect("?1 IS NULL OR id = ?1 OR id = ?2 OR ?3 OR ?4 OR ?5", &params),
            "NULL IS NULL OR id = NULL OR id = $1::text OR NULL OR $2::bigint OR $5"
        );
        assert_eq!(bound(&params).collect::<Vec<_>>(), [&Value::Text("b".into()), &Value::Integer(4)]);
    }

    #[test]
    fn quoted_text_and_comments_are_left_alone() {
        let sql = "SELECT 'is it ?1 or it''s LIKE +x', \"LIKE\" FROM t -- ?2 json_each(\n WHERE a = ?1";
        assert_eq!(dialect(sql, &[Value::Integer(1)]), "SELECT 'is it ?1 or it''s LIKE +x', \"LIKE\" FROM t -- ?2 json_each(\n WHERE a = $1::bigint");
    }

    #[test]
    fn json_each_becomes_a_set_of_the_arrays_texts() {
        let sql = "EXISTS (SELECT 1 FROM json_each(g.categories) WHERE json_each.value = ?1)";
        assert_eq!(
            dialect(sql, &[Value::Text("medication".into())]),
            "EXISTS (SELECT 1 FROM jsonb_array_elements_text((g.categories)::jsonb) AS json_each(value) WHERE json_each.value = $1::text)"
        );
        assert_eq!(
            dialect("SELECT value FROM json_each(coalesce(?1, '[]'))", &[Value::Text("[]".into())]),
            "SELECT value FROM jsonb_array_elements_text((coalesce($1::text, '[]'))::jsonb) AS json_each(value)"
        );
    }

    #[test]
    fn a_cross_join_with_a_condition_is_a_join() {
        assert_eq!(
            dialect("FROM s CROSS JOIN people p ON p.id = s.id CROSS JOIN grants ON x CROSS JOIN t", &[]),
            "FROM s JOIN people p ON p.id = s.id JOIN grants ON x CROSS JOIN t"
        );
    }

    #[test]
    fn json_extract_and_rowid_of_direct_reads() {
        assert_eq!(
            dialect("SELECT json_extract(personalisation, '$.code') FROM n ORDER BY created_at, rowid DESC", &[]),
            "SELECT ((personalisation)::jsonb ->> 'code') FROM n ORDER BY created_at, ctid DESC"
        );
    }

    #[test]
    fn like_is_case_insensitive_as_sqlite_is() {
        assert_eq!(
            dialect("WHERE p.display_name LIKE ?1 ESCAPE '\\' AND unlike = 1", &[Value::Text("%ma%".into())]),
            "WHERE p.display_name ILIKE $1::text ESCAPE '\\' AND unlike = 1"
        );
    }

    #[test]
    fn sqlites_index_hints_are_dropped_but_additions_kept() {
        assert_eq!(dialect("AND +c.status = 'open' AND (+x) AND a + b AND a+b", &[]), "AND c.status = 'open' AND (x) AND a + b AND a+b");
    }

    #[test]
    fn errors_are_classified_by_sqlstate() {
        assert!(matches!(classify(Some("23505"), "duplicate key".into()), DbError::Constraint(_)));
        assert!(matches!(classify(Some("23514"), "violates check constraint".into()), DbError::Constraint(_)));
        assert!(matches!(classify(Some("40001"), "could not serialize".into()), DbError::Busy(_)));
        assert!(matches!(classify(Some("P0001"), "audit_events is append-only".into()), DbError::Constraint(_)));
        assert!(matches!(classify(Some("08006"), "connection failure".into()), DbError::Unavailable(_)));
        assert!(matches!(classify(None, "connection refused".into()), DbError::Unavailable(_)));
    }
}
