//! The smallest SQL interface every backing store offers (D1, Spin SQLite, rusqlite), so that the
//! SQL itself is written once, in [`crate::store::SqlStore`].

use async_trait::async_trait;

/// A value bound to or read from a SQL statement. Binary data is stored as base64url text so
/// that every backend (D1 returns JSON) reads it back the same way.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A 64-bit integer (D1 carries it as a JavaScript number, exact up to 2^53).
    Integer(i64),
    /// Text.
    Text(String),
}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Value::Text(text.to_owned())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Self {
        Value::Text(text)
    }
}

impl From<i64> for Value {
    fn from(number: i64) -> Self {
        Value::Integer(number)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Self {
        value.map_or(Value::Null, Into::into)
    }
}

/// One result row, columns in the order of the SELECT list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row(pub Vec<Value>);

impl Row {
    /// The text in column `index`, or an error naming the column if it is not text.
    pub fn text(&self, index: usize) -> Result<String, DbError> {
        match self.0.get(index) {
            Some(Value::Text(text)) => Ok(text.clone()),
            other => Err(DbError::Decode(format!("column {index}: expected text, got {other:?}"))),
        }
    }

    /// The text in column `index`, `None` for NULL.
    pub fn optional_text(&self, index: usize) -> Result<Option<String>, DbError> {
        match self.0.get(index) {
            Some(Value::Null) => Ok(None),
            _ => self.text(index).map(Some),
        }
    }

    /// The integer in column `index`.
    pub fn integer(&self, index: usize) -> Result<i64, DbError> {
        match self.0.get(index) {
            Some(Value::Integer(number)) => Ok(*number),
            other => Err(DbError::Decode(format!("column {index}: expected integer, got {other:?}"))),
        }
    }
}

/// A statement and its parameters, for [`Database::batch`].
#[derive(Debug, Clone)]
pub struct Statement {
    /// SQL text with `?1`-style placeholders.
    pub sql: std::borrow::Cow<'static, str>,
    /// Parameters in placeholder order.
    pub params: Vec<Value>,
}

/// Why a database call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DbError {
    /// The backing store could not be reached or refused the call; retrying later may work.
    #[error("the backing store is unavailable: {0}")]
    Unavailable(String),
    /// Another connection holds the lock (SQLite's `SQLITE_BUSY`/`SQLITE_LOCKED`, D1's
    /// "database is locked"): nothing was done, and trying again in a moment usually works
    /// ([`crate::retry::Retrying`] does, and answers [`DbError::Unavailable`] if it still fails).
    #[error("the backing store is busy: {0}")]
    Busy(String),
    /// A constraint (unique key, foreign key, check, append-only trigger) rejected the write.
    #[error("a constraint rejected the write: {0}")]
    Constraint(String),
    /// A row did not have the shape the code expected: a bug or a schema mismatch.
    #[error("unexpected row shape: {0}")]
    Decode(String),
    /// A read of care information whose permit does not cover it: a bug in the caller, refused
    /// before the database was asked.
    #[error("not permitted: {0}")]
    NotPermitted(String),
}

impl From<crate::access::NotCovered> for DbError {
    fn from(error: crate::access::NotCovered) -> DbError {
        DbError::NotPermitted(error.to_string())
    }
}

/// The SQL capability of a runtime. No `Send` bound: Workers futures are not `Send`.
#[async_trait(?Send)]
pub trait Database {
    /// Runs a query and returns all rows.
    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError>;
    /// Runs a statement and returns how many rows it changed. D1 also counts the rows its
    /// triggers wrote (an UPDATE of one grant reports 2: the grant and its history row), so
    /// callers test for "more than none", never for exactly one.
    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError>;
    /// Runs statements atomically: all or none.
    async fn batch(&self, statements: &[Statement]) -> Result<(), DbError>;
}

/// A borrowed database is a database: so a decorator such as [`crate::retry::Retrying`] can
/// wrap one the caller keeps.
#[async_trait(?Send)]
impl<D: Database + ?Sized> Database for &D {
    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        (**self).query(sql, params).await
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        (**self).execute(sql, params).await
    }

    async fn batch(&self, statements: &[Statement]) -> Result<(), DbError> {
        (**self).batch(statements).await
    }
}

impl DbError {
    /// Whether the store could not answer (busy or unavailable): a 503, worth trying again later,
    /// rather than a bug or a refused write.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, DbError::Unavailable(_) | DbError::Busy(_))
    }
}

/// What each backend says when another connection holds the lock, as seen: local D1 (workerd)
/// "D1_ERROR: database is locked: SQLITE_BUSY" (and "… (extended: SQLITE_BUSY_SNAPSHOT)");
/// SQLite through rusqlite, the Spin host or Spin itself "database is locked" (`SQLITE_BUSY`),
/// "database table is locked" and "database schema is locked" (`SQLITE_LOCKED`).
const BUSY_TEXTS: &[&str] = &["SQLITE_BUSY", "SQLITE_LOCKED", "database is locked", "database table is locked", "database schema is locked"];

/// Classifies a backend's error message: constraint failures are the caller's problem, a lock
/// held elsewhere is worth a retry, anything else means the store is unavailable.
pub fn classify_error(message: String) -> DbError {
    if message.contains("constraint failed") || message.contains("append-only") {
        DbError::Constraint(message)
    } else if BUSY_TEXTS.iter().any(|text| message.contains(text)) {
        DbError::Busy(message)
    } else {
        DbError::Unavailable(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_texts_each_backend_gives_are_busy() {
        for message in [
            "D1_ERROR: database is locked: SQLITE_BUSY",
            "D1_ERROR: database is locked: SQLITE_BUSY (extended: SQLITE_BUSY_SNAPSHOT)",
            "database is locked",
            "database table is locked: grants",
            "database schema is locked: main",
        ] {
            assert_eq!(classify_error(message.into()), DbError::Busy(message.into()), "{message}");
        }
    }

    #[test]
    fn constraints_and_other_failures_are_not_busy() {
        let unique = "UNIQUE constraint failed: people.id";
        assert_eq!(classify_error(unique.into()), DbError::Constraint(unique.into()));
        let lost = "D1_ERROR: Network connection lost.";
        assert_eq!(classify_error(lost.into()), DbError::Unavailable(lost.into()));
    }
}
