//! What the scale benchmarks share about the county they measure (api_scale here, and
//! portal/examples/access_scale.rs, which includes this file): opening it by its address — a
//! SQLite file or a `postgres://…` database — and PostgreSQL's query plans for the reads one
//! request makes.

use std::cell::RefCell;

use async_trait::async_trait;
use carefront_shared::db::{Database, DbError, Row, Statement, Value};
use carefront_shared::migrations;
use carefront_shared::native_store::NativeDatabase;
use carefront_shared::postgres_native::PostgresDatabase;
use carefront_shared::sqlite::SqliteDatabase;

/// The county at `address`: PostgreSQL when it is a `postgres://` address, else a SQLite file.
pub fn open(address: &str) -> Result<NativeDatabase, String> {
    if address.starts_with("postgres://") || address.starts_with("postgresql://") {
        let database = PostgresDatabase::open(address, migrations::POSTGRES).map_err(|error| error.to_string())?;
        return Ok(NativeDatabase::Postgres(Box::new(database)));
    }
    let database = SqliteDatabase::open(std::path::Path::new(address)).map_err(|error| error.to_string())?;
    // As a served database runs (the file is in WAL mode): no sync to disk on every request's
    // audit line, which would measure the disk, not the queries.
    pollster::block_on(database.query("PRAGMA synchronous = NORMAL", &[])).map_err(|error| error.to_string())?;
    Ok(NativeDatabase::Sqlite(database))
}

/// Whether this run prints query plans (`SCALE_EXPLAIN=1`) instead of timing requests.
pub fn explaining() -> bool {
    std::env::var("SCALE_EXPLAIN").is_ok_and(|value| value == "1")
}

/// A store that passes everything through and keeps the reads it was asked for, with their
/// values: the SQL behind one request, exactly as the store sent it.
pub struct Recording<'a> {
    inner: &'a dyn Database,
    reads: RefCell<Vec<(String, Vec<Value>)>>,
}

impl<'a> Recording<'a> {
    pub fn new(inner: &'a dyn Database) -> Self {
        Recording { inner, reads: RefCell::new(Vec::new()) }
    }

    /// PostgreSQL's `EXPLAIN (ANALYZE, BUFFERS)` of each distinct read recorded, in the order
    /// the request made them, as Markdown; each statement as PostgreSQL received it (after
    /// `carefront_shared::postgres::dialect`), and a line naming any sequential scan.
    pub fn explain(&self, title: &str) -> Result<String, String> {
        let mut out = format!("### {title}\n\n");
        let mut seen = Vec::new();
        for (sql, params) in self.reads.borrow().iter() {
            if seen.contains(sql) {
                continue;
            }
            seen.push(sql.clone());
            let rows = pollster::block_on(self.inner.query(&format!("EXPLAIN (ANALYZE, BUFFERS) {sql}"), params)).map_err(|error| error.to_string())?;
            let plan: Vec<String> = rows.iter().filter_map(|row| row.text(0).ok()).collect();
            let dialect = carefront_shared::postgres::dialect(sql, params);
            let shown: Vec<String> = params.iter().map(|value| format!("{value:?}")).collect();
            out.push_str(&format!(
                "```sql\n{}\n```\nvalues: {}\n\n```\n{}\n```\n",
                dialect.split_whitespace().collect::<Vec<_>>().join(" "),
                shown.join(", "),
                plan.join("\n")
            ));
            for line in plan.iter().filter(|line| line.contains("Seq Scan on ")) {
                out.push_str(&self.judge_scan(line.trim())?);
            }
            out.push('\n');
        }
        Ok(out)
    }

    /// A line naming a sequential scan and the rows of its table now: a scan of a table that
    /// grows with the county is flagged; one of a table of a few rows (organisations, a run's
    /// sessions and credentials) is the cheaper plan, and said to be.
    fn judge_scan(&self, line: &str) -> Result<String, String> {
        let table = line.split("Seq Scan on ").nth(1).and_then(|rest| rest.split_whitespace().next()).unwrap_or_default();
        if table.is_empty() || !table.chars().all(|char| char.is_ascii_alphanumeric() || char == '_') {
            return Ok(format!("\n**sequential scan** (table not read from the plan): `{line}`\n"));
        }
        let rows = pollster::block_on(self.inner.query(&format!("SELECT count(*) FROM {table}"), &[]))
            .map_err(|error| error.to_string())?
            .first()
            .map(|row| row.integer(0))
            .transpose()
            .map_err(|error| error.to_string())?
            .unwrap_or_default();
        // What the scan kept (its rows times its loops): a scan that keeps its whole table is
        // reading what was asked for, and no index would spare it.
        let kept = kept_rows(line).map_or_else(|| "?".to_owned(), |kept| kept.to_string());
        Ok(if rows >= SMALL_TABLE {
            format!("\n**sequential scan of `{table}`, {rows} rows, {kept} kept:** `{line}`\n")
        } else {
            format!("\nsequential scan of `{table}`, {rows} rows (a small table: the cheaper plan): `{line}`\n")
        })
    }
}

/// The rows a plan node produced in all its loops, from its `(actual time=… rows=R loops=L)`.
fn kept_rows(line: &str) -> Option<u64> {
    let actual = line.split("(actual ").nth(1)?;
    let number = |name: &str| actual.split(name).nth(1)?.split(|char: char| !char.is_ascii_digit()).next()?.parse::<u64>().ok();
    Some(number(" rows=")? * number(" loops=")?)
}

/// Fewer rows than this, and a sequential scan is not worth flagging: the table fits in a page
/// or a few.
const SMALL_TABLE: i64 = 1_000;

fn is_read(sql: &str) -> bool {
    let start = sql.trim_start().get(..6).unwrap_or("").to_ascii_uppercase();
    start == "SELECT" || start.starts_with("WITH")
}

#[async_trait(?Send)]
impl Database for Recording<'_> {
    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        if is_read(sql) {
            self.reads.borrow_mut().push((sql.to_owned(), params.to_vec()));
        }
        self.inner.query(sql, params).await
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        self.inner.execute(sql, params).await
    }

    async fn batch(&self, statements: &[Statement]) -> Result<(), DbError> {
        self.inner.batch(statements).await
    }
}
