//! `carefront-admin credential create | revoke | list`: system credentials for an organisation's
//! system, made by a council administrator. The secret is printed once; the store keeps only
//! its fingerprint. `CREDENTIAL_KEY` (the deployment's secret the keys are derived from) is read
//! from the environment. Every credential made or revoked here is recorded as done by the tool
//! (and by the operator, when `--operator` names them) in the credential and in the
//! administration log, so nothing is unattributed.

use std::collections::BTreeSet;
use std::path::PathBuf;

use carefront_shared::administration::{self, AdminEvent, Administrator};
use carefront_shared::credential::{self, CredentialKey, IssuedCredential, Permission, SystemCredential};
use carefront_shared::domain::{Organisation, OrganisationKind};
use carefront_shared::random::{Random, new_id};
use carefront_shared::store::{CredentialStore, SqlStore, Store, time_text};
use chrono::{DateTime, Utc};

pub const USAGE: &str =
    "  carefront-admin credential create --organisation ORG --permissions P1,P2 [--name NAME] [--operator NAME] (--database ADDR | --sql-out FILE)
      Makes a system credential for the organisation's system and prints its key id and secret
      once (carefront keeps only a fingerprint). Needs CREDENTIAL_KEY in the environment: the
      deployment's own. Permissions: people:read, record:read, visits:write, medication:write,
      consent-discussions:write, needs:read, comments:write, export:read and monitoring:read
      (the last two for the council's systems only). --database writes into a store (sqlite:FILE or postgres://…);
      --sql-out writes SQL for `wrangler d1 execute carefront --remote --file FILE`, which
      fails if the organisation does not exist (or is not the council, for council-only
      permissions). --operator names who ran the tool: the credential and the administration
      log record it as made by them with carefront-admin (by carefront-admin if not given).
  carefront-admin credential revoke KEY_ID [--operator NAME] (--database ADDR | --sql-out FILE)
      Revokes a credential at once: its next request is refused. Recorded like create.
  carefront-admin credential list [--organisation ORG] --database ADDR
      Lists credentials (never secrets). On D1: wrangler d1 execute carefront --remote
      --command \"SELECT key_id, organisation_id, name, permissions, created_at, last_used_at, revoked_at FROM system_credentials\"
  carefront-admin credential-key
      Prints a new random CREDENTIAL_KEY (base64url, 32 bytes). Changing it revokes every credential.";

/// What the command line asked for.
#[derive(Debug, Default)]
struct Options {
    organisation: Option<String>,
    permissions: Option<String>,
    name: Option<String>,
    database: Option<crate::address::Address>,
    sql_out: Option<PathBuf>,
    key_id: Option<String>,
    operator: Option<String>,
}

fn parse(args: &[String], positional_key_id: bool) -> Result<Options, String> {
    let mut options = Options::default();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if positional_key_id && !arg.starts_with("--") && options.key_id.is_none() {
            options.key_id = Some(arg.clone());
            continue;
        }
        let value = iter.next().ok_or_else(|| format!("{arg} needs a value\n{USAGE}"))?.clone();
        match arg.as_str() {
            "--organisation" => options.organisation = Some(value),
            "--permissions" => options.permissions = Some(value),
            "--name" => options.name = Some(value),
            "--database" => options.database = Some(crate::address::Address::parse(&value)?),
            "--sql-out" => options.sql_out = Some(value.into()),
            "--operator" => options.operator = Some(value),
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    Ok(options)
}

/// The deployment's `CREDENTIAL_KEY`, from the environment.
pub fn key_from_env() -> Result<CredentialKey, String> {
    let text = std::env::var("CREDENTIAL_KEY").map_err(|_| "set CREDENTIAL_KEY to the deployment's credential key (base64url)".to_owned())?;
    CredentialKey::from_base64url(&text).ok_or_else(|| "CREDENTIAL_KEY is not base64url of at least 32 bytes".to_owned())
}

/// Runs `carefront-admin credential …`.
pub fn run(args: &[String], random: &dyn Random, now: DateTime<Utc>) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("create") => create(&parse(&args[1..], false)?, random, now),
        Some("revoke") => revoke(&parse(&args[1..], true)?, random, now),
        Some("list") => list(&parse(&args[1..], false)?),
        _ => Err(format!("usage:\n{USAGE}")),
    }
}

fn target(options: &Options) -> Result<(), String> {
    match (&options.database, &options.sql_out) {
        (Some(_), None) | (None, Some(_)) => Ok(()),
        _ => Err(format!("give either --database or --sql-out\n{USAGE}")),
    }
}

/// The tool (and its operator, if named) as the credential and the administration log record it.
pub fn tool_administrator(operator: Option<&str>) -> Result<Administrator, String> {
    if let Some(operator) = operator
        && (operator.trim().is_empty() || operator.chars().count() > credential::MAX_NAME_CHARS || operator.chars().any(|c| c.is_control() || c == ':'))
    {
        return Err("--operator: give a name of up to 80 characters".to_owned());
    }
    let id = credential::tool_actor(operator);
    Ok(Administrator { name: credential::maker_name(&id, None), id })
}

fn permissions(options: &Options) -> Result<BTreeSet<Permission>, String> {
    let text = options.permissions.as_deref().ok_or_else(|| format!("--permissions is required\n{USAGE}"))?;
    credential::parse_permissions(text)
}

fn create(options: &Options, random: &dyn Random, now: DateTime<Utc>) -> Result<(), String> {
    target(options)?;
    let organisation_id = options.organisation.as_deref().ok_or_else(|| format!("--organisation is required\n{USAGE}"))?;
    let permissions = permissions(options)?;
    let name = options.name.clone().unwrap_or_else(|| format!("{organisation_id} system"));
    let by = tool_administrator(options.operator.as_deref())?;
    let key = key_from_env()?;
    let issued = if let Some(path) = &options.database {
        let database = path.open()?;
        pollster::block_on(create_in_store(&SqlStore::new(&database), &key, organisation_id, &name, permissions, &by, random, now))?
    } else if let Some(path) = &options.sql_out {
        let (issued, statements) = create_sql(&key, organisation_id, &name, permissions, &by, random, now)?;
        write_sql(path, &statements)?;
        issued
    } else {
        return Err(USAGE.to_owned());
    };
    print_issued(&issued);
    if let Some(path) = &options.sql_out {
        println!("Store it with: npx wrangler d1 execute carefront --remote --file {}", path.display());
    }
    Ok(())
}

fn print_issued(issued: &IssuedCredential) {
    let credential = &issued.credential;
    let names: Vec<&str> = credential.permissions.iter().map(|permission| permission.as_str()).collect();
    println!("System credential for {} ({}): {}", credential.organisation_id, credential.name, names.join(", "));
    println!("  key id: {}", credential.key_id);
    println!("  secret: {}", issued.secret);
    println!("The secret is shown only now: put it into the system's configuration. carefront keeps only its fingerprint.");
}

/// Makes a credential in a store whose organisations are known, with its administration-log
/// entry in the same batch.
#[allow(clippy::too_many_arguments)] // the command line's options, passed through
pub async fn create_in_store(
    store: &SqlStore<'_>,
    key: &CredentialKey,
    organisation_id: &str,
    name: &str,
    permissions: BTreeSet<Permission>,
    by: &Administrator,
    random: &dyn Random,
    now: DateTime<Utc>,
) -> Result<IssuedCredential, String> {
    let organisation =
        store.organisation(organisation_id).await.map_err(|error| error.to_string())?.ok_or_else(|| format!("no organisation {organisation_id}"))?;
    let issued = credential::issue(key, &organisation, name, permissions, &by.id, random, now).map_err(|problem| problem.to_string())?;
    let entry = administration::credential_created(new_id(random), by, &issued.credential, &organisation.name);
    store.make_credential(&issued.credential, &entry).await.map_err(|error| error.to_string())?;
    Ok(issued)
}

fn sql_text(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn sql_optional(text: Option<&str>) -> String {
    text.map_or_else(|| "NULL".to_owned(), sql_text)
}

const INSERT_ADMIN_EVENT: &str = "INSERT INTO admin_events (id, at, actor_id, actor_name, action, credential_key_id, organisation_id, detail)";

fn admin_event_sql(entry: &AdminEvent) -> String {
    format!("{INSERT_ADMIN_EVENT} VALUES ({})", admin_event_values(entry))
}

fn admin_event_values(entry: &AdminEvent) -> String {
    format!(
        "{}, {}, {}, {}, {}, {}, {}, {}",
        sql_text(&entry.id),
        sql_text(&time_text(entry.at)),
        sql_text(&entry.actor_id),
        sql_text(&entry.actor_name),
        sql_text(entry.action.as_str()),
        sql_optional(entry.credential_key_id.as_deref()),
        sql_optional(entry.organisation_id.as_deref()),
        sql_text(&entry.detail),
    )
}

/// Makes a credential as SQL for a store this tool cannot open (D1). The organisation is
/// looked up by the SQL itself: if it does not exist (or is not the council, when a council-only
/// permission is asked) `organisation_id` is NULL and the NOT NULL constraint fails the run, so
/// a printed secret never names a credential that was not stored.
pub fn create_sql(
    key: &CredentialKey,
    organisation_id: &str,
    name: &str,
    permissions: BTreeSet<Permission>,
    by: &Administrator,
    random: &dyn Random,
    now: DateTime<Utc>,
) -> Result<(IssuedCredential, Vec<String>), String> {
    let council_only = permissions.iter().any(|permission| permission.council_only());
    // What the SQL will insist on, stated up front so the same checks as the store path apply.
    let assumed = Organisation {
        id: organisation_id.to_owned(),
        kind: if council_only { OrganisationKind::Council } else { OrganisationKind::Provider },
        name: organisation_id.to_owned(),
        created_at: now,
    };
    let issued = credential::issue(key, &assumed, name, permissions, &by.id, random, now).map_err(|problem| problem.to_string())?;
    let credential = &issued.credential;
    let organisation = if council_only {
        format!("(SELECT id FROM organisations WHERE id = {} AND kind = 'council')", sql_text(organisation_id))
    } else {
        format!("(SELECT id FROM organisations WHERE id = {})", sql_text(organisation_id))
    };
    let permissions = serde_json::to_string(&credential.permissions).map_err(|error| error.to_string())?;
    let insert = format!(
        "INSERT INTO system_credentials (key_id, organisation_id, name, permissions, fingerprint, created_by, created_at, revoked_at, last_used_at) VALUES ({}, {organisation}, {}, {}, {}, {}, {}, NULL, NULL)",
        sql_text(&credential.key_id),
        sql_text(&credential.name),
        sql_text(&permissions),
        sql_text(&credential.fingerprint),
        sql_text(&credential.created_by),
        sql_text(&time_text(credential.created_at)),
    );
    // The organisation's name is not known here: the log names it by its id.
    let logged = admin_event_sql(&administration::credential_created(new_id(random), by, credential, organisation_id));
    Ok((issued, vec![insert, logged]))
}

/// Revoking as SQL for D1: logged only if the credential was live (and so revoked now).
pub fn revoke_sql(key_id: &str, by: &Administrator, random: &dyn Random, now: DateTime<Utc>) -> Vec<String> {
    // The credential's name and organisation are not known here: the log names it by its key id.
    let unknown = SystemCredential {
        key_id: key_id.to_owned(),
        organisation_id: String::new(),
        name: "see the credentials list".to_owned(),
        permissions: BTreeSet::new(),
        fingerprint: String::new(),
        created_by: String::new(),
        created_at: now,
        revoked_at: None,
        revoked_by: None,
        last_used_at: None,
    };
    let entry = administration::credential_revoked(new_id(random), now, by, &unknown, "its organisation");
    let values = admin_event_values(&AdminEvent { organisation_id: None, ..entry });
    let (at, key_id, by) = (sql_text(&time_text(now)), sql_text(key_id), sql_text(&by.id));
    // Logged first, and only while the credential is live (as the store does it).
    vec![
        format!("{INSERT_ADMIN_EVENT} SELECT {values} WHERE EXISTS (SELECT 1 FROM system_credentials WHERE key_id = {key_id} AND revoked_at IS NULL)"),
        format!("UPDATE system_credentials SET revoked_at = {at}, revoked_by = {by} WHERE key_id = {key_id} AND revoked_at IS NULL"),
    ]
}

fn write_sql(path: &std::path::Path, statements: &[String]) -> Result<(), String> {
    let text: String = statements.iter().map(|statement| format!("{statement};\n")).collect();
    std::fs::write(path, text).map_err(|error| format!("cannot write {}: {error}", path.display()))
}

/// Revokes a credential in a store, with its administration-log entry in the same batch.
pub async fn revoke_in_store(store: &SqlStore<'_>, key_id: &str, by: &Administrator, random: &dyn Random, now: DateTime<Utc>) -> Result<(), String> {
    let live = || format!("there is no live credential {key_id}");
    let credential = store.credential(key_id).await.map_err(|error| error.to_string())?.ok_or_else(live)?;
    let organisation = store.organisation(&credential.organisation_id).await.map_err(|error| error.to_string())?;
    let organisation_name = organisation.map_or_else(|| credential.organisation_id.clone(), |organisation| organisation.name);
    let entry = administration::credential_revoked(new_id(random), now, by, &credential, &organisation_name);
    if store.revoke_credential(key_id, &entry).await.map_err(|error| error.to_string())? { Ok(()) } else { Err(live()) }
}

fn revoke(options: &Options, random: &dyn Random, now: DateTime<Utc>) -> Result<(), String> {
    target(options)?;
    let key_id = options.key_id.as_deref().ok_or_else(|| format!("name the key id to revoke\n{USAGE}"))?;
    let by = tool_administrator(options.operator.as_deref())?;
    if let Some(path) = &options.database {
        let database = path.open()?;
        pollster::block_on(revoke_in_store(&SqlStore::new(&database), key_id, &by, random, now))?;
        println!("Revoked {key_id}: its next request is refused.");
    } else if let Some(path) = &options.sql_out {
        write_sql(path, &revoke_sql(key_id, &by, random, now))?;
        println!("Revoke it with: npx wrangler d1 execute carefront --remote --file {}", path.display());
    }
    Ok(())
}

fn list(options: &Options) -> Result<(), String> {
    let path = options.database.as_ref().ok_or_else(|| format!("--database is required\n{USAGE}"))?;
    let database = path.open()?;
    let store = SqlStore::new(&database);
    let organisations = match &options.organisation {
        Some(id) => vec![pollster::block_on(store.organisation(id)).map_err(|error| error.to_string())?.ok_or_else(|| format!("no organisation {id}"))?],
        None => pollster::block_on(store.all_organisations()).map_err(|error| error.to_string())?,
    };
    for organisation in organisations {
        let credentials = pollster::block_on(store.credentials_for_organisation(&organisation.id)).map_err(|error| error.to_string())?;
        println!("{} ({}): {} credential(s)", organisation.name, organisation.id, credentials.len());
        for credential in credentials {
            println!("{}", describe(&credential));
        }
    }
    Ok(())
}

fn describe(credential: &SystemCredential) -> String {
    let names: Vec<&str> = credential.permissions.iter().map(|permission| permission.as_str()).collect();
    let state = match credential.revoked_at {
        Some(at) => format!("revoked {} by {}", time_text(at), credential.revoked_by.as_deref().unwrap_or("someone unrecorded")),
        None => "live".to_owned(),
    };
    let used = credential.last_used_at.map_or_else(|| "never used".to_owned(), |at| format!("last used {}", time_text(at)));
    format!(
        "  {}  {}  [{}]  made {} by {}, {used}, {state}",
        credential.key_id,
        credential.name,
        names.join(", "),
        time_text(credential.created_at),
        credential.created_by
    )
}

#[cfg(test)]
mod tests {
    use carefront_shared::administration::AdminAction;
    use carefront_shared::credential::{DerivedKey, Permission};
    use carefront_shared::db::Database;
    use carefront_shared::random::SeededRandom;
    use carefront_shared::sqlite::SqliteDatabase;

    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-21T09:00:00Z").unwrap().with_timezone(&Utc)
    }

    fn seeded() -> SqliteDatabase {
        let database = SqliteDatabase::in_memory().unwrap();
        pollster::block_on(crate::demo::seed(&SqlStore::new(&database), now(), &SeededRandom::new(1))).unwrap();
        database
    }

    #[test]
    fn a_credential_made_in_a_store_is_logged_and_its_secret_matches() {
        let database = seeded();
        let store = SqlStore::new(&database);
        let key = CredentialKey::new(&[3; 32]).unwrap();
        let random = SeededRandom::new(2);
        let tool = tool_administrator(None).unwrap();
        let issued =
            pollster::block_on(create_in_store(&store, &key, "org-brookside-care", "Rostering", [Permission::PeopleRead].into(), &tool, &random, now()))
                .unwrap();
        let stored = pollster::block_on(store.credential(&issued.credential.key_id)).unwrap().unwrap();
        assert_eq!(stored, issued.credential);
        assert_eq!(DerivedKey::from_secret(&issued.secret).unwrap().fingerprint(), stored.fingerprint);
        assert_eq!(stored.created_by, "carefront-admin");
        let log = pollster::block_on(store.admin_log(10)).unwrap();
        assert_eq!(log.len(), 1);
        assert!(log[0].detail.starts_with("The carefront-admin tool made system credential") && log[0].detail.contains("Brookside Home Care"), "{:?}", log[0]);

        let refused = pollster::block_on(create_in_store(&store, &key, "org-brookside-care", "x", [Permission::ExportRead].into(), &tool, &random, now()));
        assert!(refused.unwrap_err().contains("council"));
        assert!(pollster::block_on(create_in_store(&store, &key, "org-nowhere", "x", [Permission::PeopleRead].into(), &tool, &random, now())).is_err());
        assert!(tool_administrator(Some("  ")).is_err() && tool_administrator(Some("a:b")).is_err(), "an operator is a name");
    }

    #[test]
    fn the_operator_who_ran_the_tool_is_recorded_as_the_maker_and_revoker() {
        let database = seeded();
        let store = SqlStore::new(&database);
        let key = CredentialKey::new(&[3; 32]).unwrap();
        let random = SeededRandom::new(2);
        let jo = tool_administrator(Some("Jo Bloggs")).unwrap();
        let issued =
            pollster::block_on(create_in_store(&store, &key, "org-brookside-care", "Rota", [Permission::PeopleRead].into(), &jo, &random, now())).unwrap();
        let in_use = pollster::block_on(store.credential_in_use(&issued.credential.key_id)).unwrap().unwrap();
        assert_eq!((in_use.credential.created_by.as_str(), in_use.maker.as_str()), ("carefront-admin:Jo Bloggs", "Jo Bloggs with the carefront-admin tool"));
        pollster::block_on(revoke_in_store(&store, &issued.credential.key_id, &jo, &random, now())).unwrap();
        assert!(pollster::block_on(revoke_in_store(&store, &issued.credential.key_id, &jo, &random, now())).unwrap_err().contains("no live credential"));
        let stored = pollster::block_on(store.credential(&issued.credential.key_id)).unwrap().unwrap();
        assert_eq!(stored.revoked_by.as_deref(), Some("carefront-admin:Jo Bloggs"));
        let log = pollster::block_on(store.admin_log(10)).unwrap();
        assert_eq!(log.len(), 2, "made and revoked, once each: {log:?}");
        assert!(log.iter().all(|entry| entry.actor_name == "Jo Bloggs with the carefront-admin tool"), "{log:?}");
    }

    #[test]
    fn sql_for_d1_stores_the_credential_or_fails_loudly() {
        let database = seeded();
        let key = CredentialKey::new(&[3; 32]).unwrap();
        let random = SeededRandom::new(2);
        let run = |statements: &[String]| -> Result<(), String> {
            for statement in statements {
                pollster::block_on(database.execute(statement, &[])).map_err(|error| error.to_string())?;
            }
            Ok(())
        };

        let tool = tool_administrator(Some("Jo Bloggs")).unwrap();
        let (issued, statements) = create_sql(&key, "org-brookside-care", "It's the rota", [Permission::PeopleRead].into(), &tool, &random, now()).unwrap();
        run(&statements).unwrap();
        let store = SqlStore::new(&database);
        assert_eq!(pollster::block_on(store.credential(&issued.credential.key_id)).unwrap(), Some(issued.credential.clone()));

        let (_, unknown) = create_sql(&key, "org-nowhere", "x", [Permission::PeopleRead].into(), &tool, &random, now()).unwrap();
        assert!(run(&unknown).is_err(), "an unknown organisation fails the run");
        let (_, provider_export) = create_sql(&key, "org-brookside-care", "x", [Permission::ExportRead].into(), &tool, &random, now()).unwrap();
        assert!(run(&provider_export).is_err(), "a council-only permission for a provider fails the run");
        let (_, council_export) = create_sql(&key, "org-northshire-council", "x", [Permission::ExportRead].into(), &tool, &random, now()).unwrap();
        run(&council_export).unwrap();

        run(&revoke_sql(&issued.credential.key_id, &tool, &random, now())).unwrap();
        let stored = pollster::block_on(store.credential(&issued.credential.key_id)).unwrap().unwrap();
        assert_eq!((stored.revoked_at, stored.revoked_by.as_deref()), (Some(now()), Some("carefront-admin:Jo Bloggs")));
        run(&revoke_sql(&issued.credential.key_id, &tool, &random, now())).unwrap();
        let log = pollster::block_on(store.admin_log(10)).unwrap();
        let count = |action: AdminAction| log.iter().filter(|entry| entry.action == action).count();
        assert_eq!((count(AdminAction::CredentialCreated), count(AdminAction::CredentialRevoked)), (2, 1), "a second revocation logs nothing: {log:?}");
    }

    #[test]
    fn the_command_line_makes_lists_and_revokes_in_a_database_file() {
        let dir = std::env::temp_dir().join(format!("carefront-admin-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("credentials.db");
        let _ = std::fs::remove_file(&path);
        {
            let database = SqliteDatabase::open(&path).unwrap();
            pollster::block_on(crate::demo::seed(&SqlStore::new(&database), now(), &SeededRandom::new(1))).unwrap();
        }
        let args = |text: &str| text.split(' ').map(str::to_owned).collect::<Vec<_>>();
        let file = path.display().to_string();
        let random = SeededRandom::new(9);
        // CREDENTIAL_KEY is read from the environment only by `create`; check its refusals first.
        assert!(run(&args(&format!("create --organisation org-brookside-care --database {file}")), &random, now()).unwrap_err().contains("--permissions"));
        assert!(
            run(&args("create --organisation org-brookside-care --permissions people:read"), &random, now()).unwrap_err().contains("--database or --sql-out")
        );
        assert!(run(&args(&format!("create --organisation org-brookside-care --permissions people:write --database {file}")), &random, now()).is_err());
        assert!(run(&args("frobnicate"), &random, now()).is_err());

        let key = CredentialKey::new(&[3; 32]).unwrap();
        let database = SqliteDatabase::open(&path).unwrap();
        let issued = pollster::block_on(create_in_store(
            &SqlStore::new(&database),
            &key,
            "org-brookside-care",
            "Rota",
            [Permission::PeopleRead].into(),
            &tool_administrator(None).unwrap(),
            &random,
            now(),
        ))
        .unwrap();
        drop(database);
        run(&args(&format!("list --database {file}")), &random, now()).unwrap();
        run(&args(&format!("revoke {} --database {file}", issued.credential.key_id)), &random, now()).unwrap();
        assert!(run(&args(&format!("revoke {} --database {file}", issued.credential.key_id)), &random, now()).unwrap_err().contains("no live credential"));
        let database = SqliteDatabase::open(&path).unwrap();
        assert!(pollster::block_on(SqlStore::new(&database).credential(&issued.credential.key_id)).unwrap().unwrap().revoked_at.is_some());
        drop(database);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
