//! carefront-admin: the command-line tool for council administrators and developers.
//!
//! ```text
//! carefront-admin seed --base-url URL [--sql-out FILE] [--database ADDR] [--links-out FILE]
//!                      [--credential ORG:PERMISSIONS]... [--credentials-out FILE]
//! carefront-admin key
//! carefront-admin receipt-key [ID]
//! carefront-admin credential create | revoke | list ...
//! carefront-admin export --person ID [--fhir] (--database ADDR | --demo) [--origin URL] [--out FILE]
//! carefront-admin import people.csv --database ADDR [--council ID] [--check]
//! carefront-admin notify send --channel email|sms|letter --template ID --reference REF ...
//! carefront-admin notify drill [--messages N] [--outage-minutes M] ...
//! ```

mod address;
mod copy;
mod credential;
mod demo;
mod demo_record;
mod export;
mod import;
mod notify;
mod notify_drill;

use std::path::PathBuf;
use std::process::ExitCode;

use carefront_shared::random::{SeededRandom, token};
use carefront_shared::sqlite::SqliteDatabase;
use carefront_shared::store::SqlStore;

const USAGE: &str = "usage:
  carefront-admin seed --base-url URL [--sql-out FILE] [--database ADDR] [--links-out FILE]
                       [--credential ORG:PERMISSIONS]... [--credentials-out FILE]
      Adds the demo council, provider, two people and their care plans (idempotent), a fresh
      one-time invitation for each person and a fresh emergency code for Margaret (in the links
      file as emergency_code). --sql-out writes the rows as SQL for
      `wrangler d1 execute --file`; --database writes them into a store directly (ADDR:
      sqlite:FILE, a file path, or postgres://user@host:port/name; migrated first).
      Each --credential (e.g. org-brookside-care:people:read,needs:read) also makes a system
      credential for that organisation's system (needs CREDENTIAL_KEY in the environment);
      --credentials-out writes them, secrets included, as JSON for tests and local use.
  carefront-admin key
      Prints a new random key (base64url, 32 bytes) for SESSION_KEY, CSRF_KEY or CREDENTIAL_KEY
      (each its own; session-key and credential-key are the same command).
  carefront-admin receipt-key [ID]
      Prints a new receipt key as ID:key (ID defaults to today's date, e.g. 2026-11-21) to put
      first in RECEIPT_KEYS, keeping the older keys after it so their receipts still verify.
  carefront-admin export --person ID [--fhir] (--database ADDR | --demo) [--origin URL] [--out FILE]
      Writes everything held about one person as carefront's JSON (carefront-record-export/1),
      or with --fhir as a FHIR R4 Bundle, to FILE or standard output, and logs the export in
      their access log. --demo exports from the demo data seeded into memory; --origin (default
      http://localhost:8787) names the deployment in the bundle's identifiers.
  carefront-admin import people.csv --database ADDR [--council ID] [--check]
      Adds a council's caseload from a CSV file (columns: name, date_of_birth, and any of
      nhs_number, address, postcode, phone, email), each row checked as the portal's 'Add a
      person' form checks it. Every row is added in one transaction, or — if any row is not
      right, or is someone already in carefront — none, with every problem listed by line.
      --check only checks. --council names the council when the store holds more than one.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("seed") => seed(&args[1..]),
        Some("key" | "session-key" | "csrf-key" | "credential-key") => random().map(|random| println!("{}", token(&random, 32))),
        Some("receipt-key") => receipt_key(args.get(1).map(String::as_str), chrono::Utc::now()),
        Some("credential") => random().and_then(|random| credential::run(&args[1..], &random, chrono::Utc::now())),
        Some("import") => import::parse(&args[1..], USAGE).and_then(|parsed| import::run(&parsed, chrono::Utc::now(), &random()?)),
        Some("copy") => copy::run(&args[1..]),
        Some("migrate") => copy::migrate(&args[1..], copy::USAGE),
        Some("export") => export::parse(&args[1..], USAGE).and_then(|parsed| export::run(&parsed, chrono::Utc::now(), &random()?)),
        Some("notify") => {
            let env = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
            match args.get(1).map(String::as_str) {
                Some("drill") => notify_drill::run(&args[2..], env),
                _ => notify::run(&args[1..], env),
            }
        }
        _ => Err(format!("{USAGE}\n{}\n{}\n{}\n{}", copy::USAGE, credential::USAGE, notify::USAGE, notify_drill::USAGE)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// A new receipt key, `ID:key`, after checking it is one RECEIPT_KEYS accepts.
fn receipt_key(id: Option<&str>, now: chrono::DateTime<chrono::Utc>) -> Result<(), String> {
    let id = id.map_or_else(|| now.format("%Y-%m-%d").to_string(), str::to_owned);
    let entry = format!("{id}:{}", token(&random()?, 32));
    carefront_shared::receipt::ReceiptKeys::parse(&entry).map_err(|error| format!("{error}\n{USAGE}"))?;
    println!("{entry}");
    Ok(())
}

fn random() -> Result<SeededRandom, String> {
    let mut seed = [0_u8; 32];
    getrandom::fill(&mut seed).map_err(|error| format!("no entropy: {error}"))?;
    Ok(SeededRandom::from_seed(seed))
}

#[derive(Default)]
struct SeedArgs {
    base_url: Option<String>,
    sql_out: Option<PathBuf>,
    database: Option<address::Address>,
    links_out: Option<PathBuf>,
    credentials: Vec<String>,
    credentials_out: Option<PathBuf>,
}

fn parse(args: &[String]) -> Result<SeedArgs, String> {
    let mut parsed = SeedArgs::default();
    let mut iter = args.iter();
    while let Some(flag) = iter.next() {
        let value = iter.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--base-url" => parsed.base_url = Some(value.trim_end_matches('/').to_owned()),
            "--sql-out" => parsed.sql_out = Some(value.into()),
            "--database" => parsed.database = Some(address::Address::parse(value)?),
            "--links-out" => parsed.links_out = Some(value.into()),
            "--credential" => parsed.credentials.push(value.clone()),
            "--credentials-out" => parsed.credentials_out = Some(value.into()),
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    Ok(parsed)
}

fn seed(args: &[String]) -> Result<(), String> {
    let args = parse(args)?;
    let base_url = args.base_url.ok_or_else(|| format!("--base-url is required\n{USAGE}"))?;
    if args.sql_out.is_none() && args.database.is_none() {
        return Err(format!("give --sql-out or --database\n{USAGE}"));
    }
    let opened = match &args.database {
        Some(address) => address.open()?,
        None => address::Opened::Sqlite(SqliteDatabase::in_memory().map_err(|error| error.to_string())?),
    };
    let random = random()?;
    let store = SqlStore::new(&opened);
    let now = chrono::Utc::now();
    let invitations = pollster::block_on(demo::seed(&store, now, &random)).map_err(|error| error.to_string())?;
    let (emergency, emergency_code) = pollster::block_on(demo::emergency_code(&store, now, &random)).map_err(|error| error.to_string())?;
    let credentials = seed_credentials(&store, &args.credentials, &random, now)?;
    if let Some(path) = &args.sql_out {
        let address::Opened::Sqlite(database) = &opened else {
            return Err(format!("--sql-out writes SQLite's SQL: give it with a SQLite --database or none\n{USAGE}"));
        };
        let sql = database
            .dump_inserts(|table| match table {
                // Fresh rows every run: a clash must fail, not silently print a dead link or secret.
                "invitations" | "system_credentials" => Some("INSERT"),
                "api_nonces" => None,
                // A fresh code, after the statement below ends any earlier live one.
                "emergency_codes" => Some("INSERT"),
                // Written by the grants trigger as the grant is inserted.
                "grant_history" => None,
                _ => Some("INSERT OR IGNORE"),
            })
            .map_err(|error| error.to_string())?;
        let sql = format!("{}{sql}", demo::end_earlier_emergency_code_sql(&emergency));
        std::fs::write(path, sql).map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    }
    let links: Vec<serde_json::Value> = invitations
        .iter()
        .map(|(person, code)| {
            let mut link = serde_json::json!({ "person_id": person.id, "display_name": person.display_name, "code": code.to_string(), "url": format!("{base_url}/invitation?code={code}") });
            if person.id == emergency.person_id {
                link["emergency_code"] = serde_json::json!(emergency_code.to_string());
            }
            link
        })
        .collect();
    if let Some(path) = &args.links_out {
        let text = serde_json::to_string_pretty(&links).map_err(|error| error.to_string())?;
        std::fs::write(path, text).map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    }
    println!("One-time invitation links (valid 7 days):");
    for link in &links {
        println!("  {}: {}", link["display_name"].as_str().unwrap_or_default(), link["url"].as_str().unwrap_or_default());
    }
    println!("Emergency code for Margaret Okafor (a paramedic enters it at {base_url}/emergency): {emergency_code}");
    if !credentials.is_empty() {
        let issued: Vec<serde_json::Value> = credentials
            .iter()
            .map(|issued| {
                let credential = &issued.credential;
                let permissions: Vec<&str> = credential.permissions.iter().map(|permission| permission.as_str()).collect();
                serde_json::json!({ "organisation_id": credential.organisation_id, "name": credential.name, "key_id": credential.key_id, "secret": issued.secret, "permissions": permissions })
            })
            .collect();
        if let Some(path) = &args.credentials_out {
            let text = serde_json::to_string_pretty(&issued).map_err(|error| error.to_string())?;
            std::fs::write(path, text).map_err(|error| format!("cannot write {}: {error}", path.display()))?;
        }
        println!("System credentials (the secrets are shown only now):");
        for issued in &credentials {
            let credential = &issued.credential;
            let permissions: Vec<&str> = credential.permissions.iter().map(|permission| permission.as_str()).collect();
            println!("  {} ({}): key id {}, secret {}", credential.organisation_id, permissions.join(", "), credential.key_id, issued.secret);
        }
    }
    Ok(())
}

/// Makes the system credentials asked for with `--credential ORG:PERMISSIONS`.
fn seed_credentials(
    store: &SqlStore<'_>,
    specs: &[String],
    random: &SeededRandom,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<carefront_shared::credential::IssuedCredential>, String> {
    if specs.is_empty() {
        return Ok(Vec::new());
    }
    let key = credential::key_from_env()?;
    let seeder = credential::tool_administrator(None)?;
    let mut issued = Vec::new();
    for spec in specs {
        let (organisation, permissions) =
            spec.split_once(':').ok_or_else(|| format!("--credential {spec:?}: expected ORGANISATION:PERMISSION[,PERMISSION...]"))?;
        let permissions = carefront_shared::credential::parse_permissions(permissions)?;
        issued.push(pollster::block_on(credential::create_in_store(store, &key, organisation, "Demo system", permissions, &seeder, random, now))?);
    }
    Ok(issued)
}
