//! Every change is one plan: all its statements — the change itself, its audit events and its
//! consent receipt — built as data by pure code, then applied by the store in one batch (a D1
//! batch, one SQLite or Spin SQLite transaction). A failure anywhere leaves nothing behind.
//!
//! A plan is written with the store's own write methods against a [`Recorder`]: they run no
//! SQL, each statement is kept in order, so every statement's text exists once, in the store.

use std::cell::RefCell;

use async_trait::async_trait;

use crate::db::{Database, DbError, Row, Statement, Value};
use crate::domain::AuditEvent;
use crate::store::{SqlStore, time_text};

/// The statements of one change, in the order they run.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    statements: Vec<Statement>,
}

/// Why a plan's guard stopped it: what it found changed since the plan was made.
pub const STALE: &str = "stale";

impl Plan {
    /// An empty plan.
    pub fn new() -> Plan {
        Plan::default()
    }

    /// Adds a statement.
    pub fn push(&mut self, statement: Statement) {
        self.statements.push(statement);
    }

    /// Adds the statements of another plan after this one's.
    pub fn extend(&mut self, other: Plan) {
        self.statements.extend(other.statements);
    }

    /// Appends an audit event (the log has no way to change or remove one).
    pub fn audit(&mut self, event: &AuditEvent) {
        self.push(audit_statement(event));
    }

    /// Stops the whole plan when what it was made from has changed by the time it runs:
    /// optimistic concurrency inside the batch. `sql` has the shape
    /// `INSERT INTO plan_guards (reason) SELECT ?1 WHERE NOT EXISTS (SELECT 1 FROM … WHERE …)`
    /// with the condition's placeholders from `?2` on; the table refuses every row, so the
    /// store answers a stopped plan with [`crate::db::DbError::Constraint`].
    pub fn guard(&mut self, sql: &'static str, params: Vec<Value>) {
        let mut bound = vec![Value::Text(STALE.to_owned())];
        bound.extend(params);
        self.push(Statement { sql: sql.into(), params: bound });
    }

    /// The statements, in order.
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }

    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }
}

/// The statement that appends `event` to the audit log.
pub fn audit_statement(event: &AuditEvent) -> Statement {
    Statement {
        sql: "INSERT INTO audit_events (id, at, actor_id, acting_for, subject_id, action, category, basis, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
            .into(),
        params: audit_params(event),
    }
}

/// An audit event's columns as parameters, in the order of [`audit_statement`]'s.
pub(crate) fn audit_params(event: &AuditEvent) -> Vec<Value> {
    vec![
        event.id.as_str().into(),
        time_text(event.at).into(),
        event.actor_id.as_deref().into(),
        event.acting_for.as_deref().into(),
        event.subject_id.as_deref().into(),
        event.action.as_str().into_owned().into(),
        event.category.map(|category| category.as_str()).into(),
        event.basis.as_ref().map(|basis| basis.as_str().to_owned()).into(),
        event.detail.as_str().into(),
    ]
}

/// A database that runs nothing: it keeps the statements written to it, in order, as a plan.
/// Reads are refused — a plan is made from what was read before, never during.
#[derive(Debug, Default)]
pub struct Recorder {
    statements: RefCell<Vec<Statement>>,
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Recorder {
        Recorder::default()
    }

    /// The store whose writes this recorder keeps.
    pub fn store(&self) -> SqlStore<'_> {
        SqlStore::new(self)
    }

    /// The plan recorded so far.
    pub fn into_plan(self) -> Plan {
        Plan { statements: self.statements.into_inner() }
    }
}

#[async_trait(?Send)]
impl Database for Recorder {
    async fn query(&self, sql: &str, _: &[Value]) -> Result<Vec<Row>, DbError> {
        Err(DbError::NotPermitted(format!("a plan cannot read: {sql}")))
    }

    /// Counts every recorded statement as changing one row: the plan's guards, not the count,
    /// decide whether it applies.
    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.statements.borrow_mut().push(Statement { sql: sql.to_owned().into(), params: params.to_vec() });
        Ok(1)
    }

    async fn batch(&self, statements: &[Statement]) -> Result<(), DbError> {
        self.statements.borrow_mut().extend_from_slice(statements);
        Ok(())
    }
}
