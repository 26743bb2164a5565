//! `carefront-admin copy --from ADDR --to ADDR`: moves a whole store between SQLite and
//! PostgreSQL (either way, or SQLite to SQLite) and proves the copy by a row count and a checksum
//! per table, read back from both sides.
//!
//! The copy is one transaction on the target: the target's triggers are off inside it (history
//! tables are copied as they are, never written again by a trigger), every row goes in, the
//! triggers come back and PostgreSQL's identity sequences are moved past the copied values. A
//! failure anywhere rolls all of it back, leaving the target as empty as it was — and a target
//! with any row in any data table is refused before anything is written, so a copy is never
//! resumed on top of another.

use std::collections::HashSet;
use std::fmt::Write as _;

use carefront_shared::db::{Database, Statement, Value};
use carefront_shared::sqlite::SqliteDatabase;
use sha2::{Digest, Sha256};

use crate::address::{Address, Dialect, latest_version, schema_version};

/// Usage of `copy`.
pub const USAGE: &str = "  carefront-admin copy --from ADDR --to ADDR
      Copies a whole store (ADDR: sqlite:FILE or postgres://user@host:port/name, either way)
      in one transaction, after applying the target's migrations; refuses a target with any row
      in it and a source at another schema version; then checks every table's row count and
      checksum on both sides and prints them.
  carefront-admin migrate --database ADDR
      Applies the migrations a store has not had yet and prints its schema version.";

/// The most values bound to one INSERT: several rows a statement, well under SQLite's and
/// PostgreSQL's limits.
const VALUES_PER_STATEMENT: usize = 900;

/// One side of a copy: a store and the SQL it speaks.
#[derive(Clone, Copy)]
pub struct Side<'a> {
    /// The store.
    pub database: &'a dyn Database,
    /// Its dialect.
    pub dialect: Dialect,
}

/// A data table as the migrations make it.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Its name.
    pub name: String,
    /// Its columns, in order.
    pub columns: Vec<String>,
    /// Its foreign keys to itself, as (referencing column, referenced column) positions: rows
    /// must go in after the rows they name.
    self_references: Vec<(usize, usize)>,
}

/// One table's rows and checksum on one side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    /// Rows in the table.
    pub rows: u64,
    /// sha256 (hex) over the rows' canonical lines, sorted.
    pub checksum: String,
}

/// What a copy did.
#[derive(Debug)]
pub struct Copied {
    /// Each table with its tallies on the source and the target.
    pub tables: Vec<(String, Tally, Tally)>,
    /// Rows copied in all.
    pub rows: u64,
}

/// Parses `--from ADDR --to ADDR`.
pub fn parse(args: &[String], usage: &str) -> Result<(Address, Address), String> {
    let (mut from, mut to) = (None, None);
    let mut iter = args.iter();
    while let Some(flag) = iter.next() {
        let value = iter.next().ok_or_else(|| format!("{flag} needs a value\n{usage}"))?;
        match flag.as_str() {
            "--from" => from = Some(Address::parse(value)?),
            "--to" => to = Some(Address::parse(value)?),
            other => return Err(format!("unknown option {other}\n{usage}")),
        }
    }
    let from = from.ok_or_else(|| format!("--from is required\n{usage}"))?;
    let to = to.ok_or_else(|| format!("--to is required\n{usage}"))?;
    if from == to {
        return Err("--from and --to name the same store".into());
    }
    Ok((from, to))
}

/// `carefront-admin copy`: checks the source is a store at this tool's schema (without changing
/// it), opens and migrates the target, copies and verifies.
pub fn run(args: &[String]) -> Result<(), String> {
    let (from, to) = parse(args, USAGE)?;
    let source_dialect = match from {
        Address::Sqlite(_) => Dialect::Sqlite,
        Address::Postgres(_) => Dialect::Postgres,
    };
    match from.stored_version()? {
        None => return Err(format!("{} holds no carefront store", from.shown())),
        Some(version) if version != latest_version(source_dialect) => {
            return Err(format!(
                "{} is at schema version {version}, this tool at {}: run `carefront-admin migrate --database {}` with the tool of the same version as the store first",
                from.shown(),
                latest_version(source_dialect),
                from.shown()
            ));
        }
        Some(_) => {}
    }
    let source = from.open()?;
    let target = to.open()?;
    println!("Copying {} to {} in one transaction", from.shown(), to.shown());
    let started = std::time::Instant::now();
    let copied = pollster::block_on(copy(
        Side { database: &source, dialect: crate::address::dialect(&source) },
        Side { database: &target, dialect: crate::address::dialect(&target) },
    ));
    let seconds = started.elapsed().as_secs_f64();
    let copied = copied?;
    print!("{}", report(&copied.tables));
    println!(
        "Copied and checked {} rows in {} tables in {seconds:.2} s ({:.0} rows/s).",
        copied.rows,
        copied.tables.len(),
        copied.rows as f64 / seconds.max(f64::EPSILON)
    );
    Ok(())
}

/// `carefront-admin migrate --database ADDR`.
pub fn migrate(args: &[String], usage: &str) -> Result<(), String> {
    let address = match args {
        [flag, value] if flag == "--database" => Address::parse(value)?,
        _ => return Err(format!("give --database ADDR\n{usage}")),
    };
    let before = address.stored_version()?;
    let opened = address.open()?;
    let after = pollster::block_on(schema_version(&opened, crate::address::dialect(&opened))).map_err(|error| error.to_string())?;
    match before {
        Some(before) if before == after => println!("{} is at schema version {after}: nothing to apply.", address.shown()),
        Some(before) => println!("{} migrated from schema version {before} to {after}.", address.shown()),
        None => println!("{} made at schema version {after}.", address.shown()),
    }
    Ok(())
}

/// Copies every data table from `source` into the empty `target` in one transaction, then
/// checks both sides agree table by table.
pub async fn copy(source: Side<'_>, target: Side<'_>) -> Result<Copied, String> {
    let source_version = schema_version(source.database, source.dialect).await.map_err(|error| format!("the source: {error}"))?;
    let target_version = schema_version(target.database, target.dialect).await.map_err(|error| format!("the target: {error}"))?;
    if source_version != target_version {
        return Err(format!("the source is at schema version {source_version} and the target at {target_version}: nothing was copied"));
    }
    let tables = tables().await?;
    for table in &tables {
        let rows =
            target.database.query(&format!("SELECT 1 FROM {} LIMIT 1", quoted(&table.name)), &[]).await.map_err(|error| format!("the target: {error}"))?;
        if !rows.is_empty() {
            return Err(format!("the target is not empty ({} has rows): nothing was copied", table.name));
        }
    }
    let mut statements = triggers_off(target).await?;
    let mut rows = 0_u64;
    for table in &tables {
        let values = read(source, table).await?;
        rows += values.len() as u64;
        statements.extend(inserts(table, &values));
    }
    statements.extend(triggers_back(target).await?);
    target.database.batch(&statements).await.map_err(|error| format!("the copy was refused and nothing was kept: {error}"))?;
    let mut tallies = Vec::with_capacity(tables.len());
    for table in &tables {
        tallies.push((table.name.clone(), tally(source, table).await?, tally(target, table).await?));
    }
    let differing: Vec<&str> = tallies.iter().filter(|(_, from, to)| from != to).map(|(name, _, _)| name.as_str()).collect();
    if !differing.is_empty() {
        return Err(format!("{}the copy differs from the source in: {}", report(&tallies), differing.join(", ")));
    }
    Ok(Copied { tables: tallies, rows })
}

/// The data tables, in an order in which foreign keys hold (each after the tables it names,
/// otherwise in creation order), with their columns: read from the SQLite schema the migrations
/// make, which PostgreSQL's matches table for table and column for column.
pub async fn tables() -> Result<Vec<Table>, String> {
    let schema = SqliteDatabase::in_memory().map_err(|error| error.to_string())?;
    let error = |error: carefront_shared::db::DbError| format!("reading the schema: {error}");
    let names = schema
        .query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid", &[])
        .await
        .map_err(error)?;
    let mut found = Vec::new();
    for row in names {
        let name = row.text(0).map_err(error)?;
        let columns: Vec<String> = schema
            .query("SELECT name FROM pragma_table_info(?1) ORDER BY cid", &[Value::from(name.as_str())])
            .await
            .map_err(error)?
            .iter()
            .map(|row| row.text(0))
            .collect::<Result<_, _>>()
            .map_err(error)?;
        let primary = schema
            .query("SELECT name FROM pragma_table_info(?1) WHERE pk = 1", &[Value::from(name.as_str())])
            .await
            .map_err(error)?
            .first()
            .map(|row| row.text(0))
            .transpose()
            .map_err(error)?;
        let mut referenced = Vec::new();
        let mut self_references = Vec::new();
        for key in schema.query("SELECT \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(?1)", &[Value::from(name.as_str())]).await.map_err(error)? {
            let other = key.text(0).map_err(error)?;
            if other == name {
                let to = key.optional_text(2).map_err(error)?.or_else(|| primary.clone());
                let position = |column: &str| columns.iter().position(|name| name == column);
                if let (Some(from), Some(to)) = (position(&key.text(1).map_err(error)?), to.as_deref().and_then(position)) {
                    self_references.push((from, to));
                }
            } else {
                referenced.push(other);
            }
        }
        found.push((Table { name, columns, self_references }, referenced));
    }
    let mut ordered: Vec<Table> = Vec::with_capacity(found.len());
    while !found.is_empty() {
        let ready =
            found.iter().position(|(_, referenced)| referenced.iter().all(|other| ordered.iter().any(|table| &table.name == other))).ok_or_else(|| {
                format!(
                    "the schema's foreign keys go round in a circle among: {}",
                    found.iter().map(|(table, _)| table.name.as_str()).collect::<Vec<_>>().join(", ")
                )
            })?;
        ordered.push(found.remove(ready).0);
    }
    Ok(ordered)
}

/// A table's rows, in an order the target accepts: SQLite's in the order they were written
/// (rowid); rows that name another row of their own table after it.
async fn read(side: Side<'_>, table: &Table) -> Result<Vec<Vec<Value>>, String> {
    let columns: Vec<String> = table.columns.iter().map(|column| quoted(column)).collect();
    let order = match side.dialect {
        Dialect::Sqlite => " ORDER BY rowid",
        Dialect::Postgres => "",
    };
    let sql = format!("SELECT {} FROM {}{order}", columns.join(", "), quoted(&table.name));
    let rows = side.database.query(&sql, &[]).await.map_err(|error| format!("reading {}: {error}", table.name))?;
    let rows: Vec<Vec<Value>> = rows.into_iter().map(|row| row.0).collect();
    Ok(if table.self_references.is_empty() { rows } else { referenced_first(rows, &table.self_references) })
}

/// Orders rows so that one naming another row of the same table comes after it (an invitation
/// after the one it replaces). Rows left in a circle keep their order, for the target to refuse.
fn referenced_first(rows: Vec<Vec<Value>>, references: &[(usize, usize)]) -> Vec<Vec<Value>> {
    let key = |value: &Value| canonical(std::slice::from_ref(value));
    let held: HashSet<String> = references.iter().flat_map(|(_, to)| rows.iter().filter_map(|row| row.get(*to)).map(key)).collect();
    let mut placed: HashSet<String> = HashSet::new();
    let mut pending = rows;
    let mut ordered = Vec::with_capacity(pending.len());
    loop {
        let before = pending.len();
        let (ready, waiting): (Vec<_>, Vec<_>) = pending.into_iter().partition(|row| {
            references.iter().all(|(from, _)| match row.get(*from) {
                None | Some(Value::Null) => true,
                Some(value) => {
                    let name = key(value);
                    !held.contains(&name) || placed.contains(&name)
                }
            })
        });
        for row in &ready {
            placed.extend(references.iter().filter_map(|(_, to)| row.get(*to)).map(key));
        }
        ordered.extend(ready);
        pending = waiting;
        if pending.is_empty() || pending.len() == before {
            ordered.extend(pending);
            return ordered;
        }
    }
}

/// The INSERTs for a table's rows, several rows a statement.
fn inserts(table: &Table, rows: &[Vec<Value>]) -> Vec<Statement> {
    let width = table.columns.len().max(1);
    let per_statement = (VALUES_PER_STATEMENT / width).max(1);
    let columns: Vec<String> = table.columns.iter().map(|column| quoted(column)).collect();
    let head = format!("INSERT INTO {} ({}) VALUES ", quoted(&table.name), columns.join(", "));
    rows.chunks(per_statement)
        .map(|chunk| {
            let mut sql = head.clone();
            let mut params = Vec::with_capacity(chunk.len() * width);
            for (index, row) in chunk.iter().enumerate() {
                sql.push_str(if index == 0 { "(" } else { ", (" });
                for (column, value) in row.iter().enumerate() {
                    if column > 0 {
                        sql.push_str(", ");
                    }
                    params.push(value.clone());
                    let _ = write!(sql, "?{}", params.len());
                }
                sql.push(')');
            }
            Statement { sql: sql.into(), params }
        })
        .collect()
}

/// The statements that turn the target's triggers off for the copy: PostgreSQL disables its
/// user triggers table by table (foreign keys stay on); SQLite has no such switch, so its
/// triggers are dropped, to be made again from their own SQL in the same transaction.
async fn triggers_off(target: Side<'_>) -> Result<Vec<Statement>, String> {
    Ok(match target.dialect {
        Dialect::Postgres => {
            trigger_tables(target).await?.iter().map(|table| statement(format!("ALTER TABLE {} DISABLE TRIGGER USER", quoted(table)))).collect()
        }
        Dialect::Sqlite => sqlite_triggers(target).await?.iter().map(|(name, _)| statement(format!("DROP TRIGGER {}", quoted(name)))).collect(),
    })
}

/// The statements that put the triggers back, and (PostgreSQL) move each identity column's
/// sequence past the values copied into it. SQLite's AUTOINCREMENT follows the largest value
/// written by itself.
async fn triggers_back(target: Side<'_>) -> Result<Vec<Statement>, String> {
    Ok(match target.dialect {
        Dialect::Postgres => {
            let mut statements: Vec<Statement> =
                trigger_tables(target).await?.iter().map(|table| statement(format!("ALTER TABLE {} ENABLE TRIGGER USER", quoted(table)))).collect();
            let identities = target
                .database
                .query(
                    "SELECT table_name::text, column_name::text FROM information_schema.columns WHERE table_schema = current_schema() AND is_identity = 'YES' ORDER BY 1, 2",
                    &[],
                )
                .await
                .map_err(|error| format!("the target: {error}"))?;
            for row in identities {
                let (table, column) = (row.text(0).map_err(|error| error.to_string())?, row.text(1).map_err(|error| error.to_string())?);
                statements.push(statement(format!(
                    "SELECT setval(pg_get_serial_sequence('{}', '{}'), coalesce(max({}), 0) + 1, false) FROM {}",
                    quoted(&table).replace('\'', "''"),
                    column.replace('\'', "''"),
                    quoted(&column),
                    quoted(&table)
                )));
            }
            statements
        }
        Dialect::Sqlite => sqlite_triggers(target).await?.into_iter().map(|(_, sql)| statement(sql)).collect(),
    })
}

/// The target's tables that have triggers of their own (PostgreSQL).
async fn trigger_tables(target: Side<'_>) -> Result<Vec<String>, String> {
    let rows = target
        .database
        .query(
            "SELECT DISTINCT c.relname::text FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) ORDER BY 1",
            &[],
        )
        .await
        .map_err(|error| format!("the target: {error}"))?;
    rows.iter().map(|row| row.text(0).map_err(|error| error.to_string())).collect()
}

/// The target's triggers and the SQL that makes each (SQLite).
async fn sqlite_triggers(target: Side<'_>) -> Result<Vec<(String, String)>, String> {
    let rows = target
        .database
        .query("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY rowid", &[])
        .await
        .map_err(|error| format!("the target: {error}"))?;
    rows.iter().map(|row| Ok((row.text(0).map_err(|error| error.to_string())?, row.text(1).map_err(|error| error.to_string())?))).collect()
}

/// A table's row count and checksum: sha256 over each row's canonical line (see [`canonical`]),
/// the lines sorted bytewise — the same order whatever the store's own collation or row order.
pub async fn tally(side: Side<'_>, table: &Table) -> Result<Tally, String> {
    let columns: Vec<String> = table.columns.iter().map(|column| quoted(column)).collect();
    let sql = format!("SELECT {} FROM {}", columns.join(", "), quoted(&table.name));
    let rows = side.database.query(&sql, &[]).await.map_err(|error| format!("reading {}: {error}", table.name))?;
    let mut lines: Vec<String> = rows.iter().map(|row| canonical(&row.0)).collect();
    lines.sort_unstable();
    let mut hasher = Sha256::new();
    for line in &lines {
        hasher.update(line.as_bytes());
        hasher.update(b"\n");
    }
    let checksum = hasher.finalize().iter().fold(String::with_capacity(64), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    });
    Ok(Tally { rows: lines.len() as u64, checksum })
}

/// A row as one line of text: each value typed (`N` NULL, `I` and the number, `T` and the text
/// with backslash, tab and newline escaped), separated by tabs. An integer and the same digits
/// as text differ, so a value that changed type on the way shows.
pub fn canonical(values: &[Value]) -> String {
    let mut line = String::new();
    for (index, value) in values.iter().enumerate() {
        if index > 0 {
            line.push('\t');
        }
        match value {
            Value::Null => line.push('N'),
            Value::Integer(number) => {
                let _ = write!(line, "I{number}");
            }
            Value::Text(text) => {
                line.push('T');
                for char in text.chars() {
                    match char {
                        '\\' => line.push_str("\\\\"),
                        '\t' => line.push_str("\\t"),
                        '\n' => line.push_str("\\n"),
                        other => line.push(other),
                    }
                }
            }
        }
    }
    line
}

/// The table of tables: rows and checksum prefix on each side, and whether they agree.
pub fn report(tallies: &[(String, Tally, Tally)]) -> String {
    let width = tallies.iter().map(|(name, _, _)| name.len()).max().unwrap_or(5).max(5);
    let mut text = format!("{:width$}  {:>9}  {:12}  {:>9}  {:12}\n", "table", "rows", "source", "rows", "target");
    for (name, from, to) in tallies {
        let verdict = if from == to { "ok" } else { "DIFFERS" };
        let _ = writeln!(
            text,
            "{name:width$}  {:>9}  {:12}  {:>9}  {:12}  {verdict}",
            from.rows,
            &from.checksum[..12.min(from.checksum.len())],
            to.rows,
            &to.checksum[..12.min(to.checksum.len())]
        );
    }
    text
}

/// A name quoted for SQL (both dialects quote names with double quotes).
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn statement(sql: String) -> Statement {
    Statement { sql: sql.into(), params: Vec::new() }
}

#[cfg(test)]
mod tests;
