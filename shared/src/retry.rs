//! A busy store retried inside the request: [`Retrying`] wraps any [`Database`] and tries a
//! call again, after a short wait with jitter, when the backend says another connection holds
//! the lock ([`DbError::Busy`]). Waiting is the runtime's [`Sleep`] and the jitter comes from the
//! request's [`Random`], both passed in: this module reads no clock and sleeps by itself never.

use std::time::Duration;

use async_trait::async_trait;

use crate::db::{Database, DbError, Row, Statement, Value};
use crate::random::Random;

/// Waiting for a while, as the runtime does it (Workers: `worker::Delay`; Spin: WASI's monotonic
/// clock; native: `std::thread::sleep`).
#[async_trait(?Send)]
pub trait Sleep {
    /// Returns once `duration` has passed.
    async fn sleep(&self, duration: Duration);
}

/// How long to wait before each retry of a busy store; as many retries as waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The base wait before each retry, in order; each is jittered to between half and one and a
    /// half times itself.
    pub backoff: &'static [Duration],
}

impl RetryPolicy {
    /// Three retries after about 10, 40 and 160 ms: a lock held for one write (a plan's batch
    /// takes a few milliseconds) is gone by then, and the worst case adds under a third of a
    /// second to a request that would otherwise have failed.
    pub const STANDARD: RetryPolicy = RetryPolicy { backoff: &[Duration::from_millis(10), Duration::from_millis(40), Duration::from_millis(160)] };

    /// No retries: the first busy answer is final.
    pub const NONE: RetryPolicy = RetryPolicy { backoff: &[] };

    /// The wait before retry `retry` (from 0), jittered by `random`, or `None` when the retries
    /// are used up. The jitter spreads out requests that collided, so they do not collide again
    /// in step.
    pub fn wait(&self, retry: usize, random: &dyn Random) -> Option<Duration> {
        let base = *self.backoff.get(retry)?;
        let mut bytes = [0_u8; 2];
        random.fill(&mut bytes);
        // Between 1/2 and 3/2 of the base: (32768 + 0..65535) / 65536.
        let factor = 32_768 + u32::from(u16::from_le_bytes(bytes));
        Some(base * factor / 65_536)
    }
}

/// A [`Database`] whose calls are tried again while the store is busy, following a
/// [`RetryPolicy`]; when the retries are used up the call fails with [`DbError::Unavailable`]
/// (a 503). Only [`DbError::Busy`] is retried: a constraint failure, a decode error or an
/// unreachable store is answered at once.
pub struct Retrying<'a, D> {
    database: D,
    sleep: &'a dyn Sleep,
    random: &'a dyn Random,
    policy: RetryPolicy,
}

impl<'a, D: Database> Retrying<'a, D> {
    /// Wraps `database` with [`RetryPolicy::STANDARD`], waiting with `sleep` and jittering with
    /// `random`.
    pub fn new(database: D, sleep: &'a dyn Sleep, random: &'a dyn Random) -> Self {
        Retrying { database, sleep, random, policy: RetryPolicy::STANDARD }
    }

    /// The same, following `policy` instead.
    pub fn with_policy(self, policy: RetryPolicy) -> Self {
        Retrying { policy, ..self }
    }

    /// The wrapped database.
    pub fn inner(&self) -> &D {
        &self.database
    }

    async fn attempt<T>(&self, call: impl AsyncFn(&D) -> Result<T, DbError>) -> Result<T, DbError> {
        let mut retry = 0;
        loop {
            match call(&self.database).await {
                Err(DbError::Busy(message)) => match self.policy.wait(retry, self.random) {
                    Some(wait) => {
                        self.sleep.sleep(wait).await;
                        retry += 1;
                    }
                    None => return Err(DbError::Unavailable(format!("still busy after {retry} retries: {message}"))),
                },
                answer => return answer,
            }
        }
    }
}

#[async_trait(?Send)]
impl<D: Database> Database for Retrying<'_, D> {
    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        self.attempt(async |database: &D| database.query(sql, params).await).await
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        // One statement runs in its own implicit transaction: a busy answer means it did not run.
        self.attempt(async |database: &D| database.execute(sql, params).await).await
    }

    async fn batch(&self, statements: &[Statement]) -> Result<(), DbError> {
        // A batch is all or none (D1 runs it as one transaction; Spin SQLite and rusqlite inside
        // BEGIN … COMMIT, rolled back on any failure, COMMIT's included), and a busy answer means
        // the lock was never had or the commit never happened: so a retried batch starts from
        // a store with none of it applied, and a plan is never applied by halves nor twice.
        self.attempt(async |database: &D| database.batch(statements).await).await
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::VecDeque;

    use super::*;

    /// A database that answers each call with the next scripted result, and counts the calls.
    struct Scripted {
        answers: RefCell<VecDeque<Result<(), DbError>>>,
        calls: RefCell<usize>,
    }

    impl Scripted {
        fn new(answers: Vec<Result<(), DbError>>) -> Self {
            Scripted { answers: RefCell::new(answers.into()), calls: RefCell::new(0) }
        }

        fn next(&self) -> Result<(), DbError> {
            *self.calls.borrow_mut() += 1;
            self.answers.borrow_mut().pop_front().unwrap_or(Ok(()))
        }
    }

    #[async_trait(?Send)]
    impl Database for Scripted {
        async fn query(&self, _sql: &str, _params: &[Value]) -> Result<Vec<Row>, DbError> {
            self.next().map(|()| vec![Row(vec![Value::Integer(1)])])
        }
        async fn execute(&self, _sql: &str, _params: &[Value]) -> Result<u64, DbError> {
            self.next().map(|()| 1)
        }
        async fn batch(&self, _statements: &[Statement]) -> Result<(), DbError> {
            self.next()
        }
    }

    /// Records the waits asked for instead of waiting.
    #[derive(Default)]
    struct Recorded(RefCell<Vec<Duration>>);

    #[async_trait(?Send)]
    impl Sleep for Recorded {
        async fn sleep(&self, duration: Duration) {
            self.0.borrow_mut().push(duration);
        }
    }

    /// Every byte the same, so the jitter factor is known: 0x00 → 1/2, 0xff → just under 3/2.
    struct Fixed(u8);

    impl Random for Fixed {
        fn fill(&self, buf: &mut [u8]) {
            buf.fill(self.0);
        }
    }

    fn busy() -> Result<(), DbError> {
        Err(DbError::Busy("database is locked".into()))
    }

    fn millis(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|value| Duration::from_millis(*value)).collect()
    }

    #[test]
    fn busy_twice_then_ok_is_ok_after_two_waits() {
        let sleep = Recorded::default();
        let database = Retrying::new(Scripted::new(vec![busy(), busy()]), &sleep, &Fixed(0));
        let rows = pollster::block_on(database.query("SELECT 1", &[]));
        assert_eq!(rows, Ok(vec![Row(vec![Value::Integer(1)])]));
        assert_eq!(*database.inner().calls.borrow(), 3);
        assert_eq!(*sleep.0.borrow(), millis(&[5, 20]));
    }

    #[test]
    fn a_busy_batch_is_retried_whole() {
        let sleep = Recorded::default();
        let database = Retrying::new(Scripted::new(vec![busy()]), &sleep, &Fixed(0xff));
        assert_eq!(pollster::block_on(database.batch(&[])), Ok(()));
        assert_eq!(*database.inner().calls.borrow(), 2);
        let waits = sleep.0.borrow();
        assert_eq!(waits.len(), 1);
        assert!(waits[0] > Duration::from_millis(14) && waits[0] < Duration::from_millis(15), "{waits:?}");
    }

    #[test]
    fn a_constraint_failure_is_never_retried() {
        let sleep = Recorded::default();
        let refused = DbError::Constraint("UNIQUE constraint failed: people.id".into());
        let database = Retrying::new(Scripted::new(vec![Err(refused.clone())]), &sleep, &Fixed(0));
        assert_eq!(pollster::block_on(database.execute("INSERT", &[])), Err(refused));
        assert_eq!(*database.inner().calls.borrow(), 1);
        assert!(sleep.0.borrow().is_empty());
    }

    #[test]
    fn an_unavailable_store_is_not_retried() {
        let sleep = Recorded::default();
        let down = DbError::Unavailable("D1_ERROR: Network connection lost.".into());
        let database = Retrying::new(Scripted::new(vec![Err(down.clone())]), &sleep, &Fixed(0));
        assert_eq!(pollster::block_on(database.batch(&[])), Err(down));
        assert_eq!(*database.inner().calls.borrow(), 1);
    }

    #[test]
    fn always_busy_is_unavailable_after_the_last_try() {
        let sleep = Recorded::default();
        let database = Retrying::new(Scripted::new(vec![busy(), busy(), busy(), busy(), busy()]), &sleep, &Fixed(0));
        let answer = pollster::block_on(database.execute("UPDATE", &[]));
        assert_eq!(answer, Err(DbError::Unavailable("still busy after 3 retries: database is locked".into())));
        assert_eq!(*database.inner().calls.borrow(), 4);
        assert_eq!(*sleep.0.borrow(), millis(&[5, 20, 80]));
        assert!(answer.is_err_and(|error| error.is_unavailable()));
    }

    #[test]
    fn no_retries_answers_the_first_busy_as_unavailable() {
        let sleep = Recorded::default();
        let database = Retrying::new(Scripted::new(vec![busy()]), &sleep, &Fixed(0)).with_policy(RetryPolicy::NONE);
        assert!(matches!(pollster::block_on(database.query("SELECT 1", &[])), Err(DbError::Unavailable(_))));
        assert_eq!(*database.inner().calls.borrow(), 1);
        assert!(sleep.0.borrow().is_empty());
    }

    #[test]
    fn waits_stay_within_half_and_one_and_a_half_times_the_base() {
        for byte in [0_u8, 0x40, 0x80, 0xc0, 0xff] {
            for (retry, base) in RetryPolicy::STANDARD.backoff.iter().enumerate() {
                let wait = RetryPolicy::STANDARD.wait(retry, &Fixed(byte)).unwrap_or_default();
                assert!(wait >= *base / 2 && wait < *base * 3 / 2, "{byte} {retry}: {wait:?}");
            }
        }
        assert_eq!(RetryPolicy::STANDARD.wait(3, &Fixed(0)), None);
    }
}
