//! Integration tests: build the fixture components (tests/fixture, wasm32-wasip2), start the
//! host binary on a free port and talk HTTP to it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

const HOST: &str = env!("CARGO_BIN_EXE_carefront-spin-host");

/// Build the fixture workspace once per test binary and return the wasm directory.
fn fixtures() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fixture");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let status = Command::new(cargo)
            .current_dir(manifest_dir.join("tests/fixture"))
            .args(["build", "--locked", "--workspace", "--release"])
            .args(["--target", "wasm32-wasip2", "--target-dir"])
            .arg(&target)
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .status()
            .expect("cannot run cargo to build the fixtures");
        assert!(status.success(), "building the fixtures failed");
        target.join("wasm32-wasip2/release")
    })
}

fn fixture(name: &str) -> String {
    let path = fixtures().join(name);
    assert!(path.is_file(), "{} was not built", path.display());
    path.display().to_string()
}

/// A fresh scratch directory under the cargo tmp dir.
fn scratch(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("spin-host-{name}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst)));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn app_manifest(wasm: &str) -> String {
    format!(
        r#"
spin_manifest_version = 2

[application]
name = "fixture-app"
version = "0.1.0"

[variables]
greeting = {{ default = "hello" }}
session_key = {{ required = true, secret = true }}

[[trigger.http]]
route = "/..."
component = "main"

[[trigger.http]]
route = "/api/..."
component = "other"

[[trigger.http]]
route = "/api/v1/health"
component = "main"

[component.main]
source = "{wasm}"
sqlite_databases = ["default"]
allowed_outbound_hosts = []
[component.main.variables]
greeting = "{{{{ greeting }}}}"
secret_key = "key:{{{{ session_key }}}}"
literal = "plain"

[component.other]
source = "{wasm}"
[component.other.variables]
greeting = "{{{{greeting}}}} from other"
"#
    )
}

struct Running {
    child: Child,
    base: String,
    stderr: Arc<Mutex<String>>,
    state_dir: PathBuf,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn capture_stderr(child: &mut Child) -> Arc<Mutex<String>> {
    let buffer = Arc::new(Mutex::new(String::new()));
    let mut stderr = child.stderr.take().unwrap();
    let sink = buffer.clone();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut chunk) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
    });
    buffer
}

fn host_command(dir: &Path, manifest: &str, env_file: Option<&str>) -> Command {
    let manifest_path = dir.join("spin.toml");
    std::fs::write(&manifest_path, manifest).unwrap();
    let mut cmd = Command::new(HOST);
    cmd.arg("--manifest").arg(&manifest_path).args(["--listen", "127.0.0.1:0", "--state-dir"]).arg(dir.join("state"));
    if let Some(text) = env_file {
        let path = dir.join("vars.env");
        std::fs::write(&path, text).unwrap();
        cmd.arg("--env-file").arg(path);
    }
    cmd.env_remove("SPIN_VARIABLE_GREETING").env_remove("SPIN_VARIABLE_SESSION_KEY").stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd
}

fn start(manifest: &str, env: &[(&str, &str)], env_file: Option<&str>) -> Result<Running> {
    let dir = scratch("run");
    let mut cmd = host_command(&dir, manifest, env_file);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn()?;
    let stderr = capture_stderr(&mut child);
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let line = match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(line) => line,
        Err(_) => {
            let _ = child.kill();
            return Err(format!("host did not report listening; stderr:\n{}", stderr.lock().unwrap()).into());
        }
    };
    let base = line.strip_prefix("listening on ").ok_or_else(|| format!("unexpected first line {line:?}"))?.to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    Ok(Running { child, base, stderr, state_dir: dir.join("state") })
}

/// Run the host expecting it to refuse to start; returns its stderr.
fn refuses_to_start(manifest: &str, env_file: Option<&str>) -> String {
    let dir = scratch("refuse");
    let mut child = host_command(&dir, manifest, env_file).spawn().unwrap();
    let stderr = capture_stderr(&mut child);
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("host did not exit; stderr:\n{}", stderr.lock().unwrap());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    std::thread::sleep(Duration::from_millis(100));
    let text = stderr.lock().unwrap().clone();
    assert!(!status.success(), "host exited successfully; stderr:\n{text}");
    text
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(Duration::from_secs(60))).build().into()
}

fn get(host: &Running, path: &str) -> Result<(u16, String)> {
    let mut response = agent().get(format!("{}{path}", host.base)).call()?;
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string()?;
    Ok((status, body))
}

fn get_json(host: &Running, path: &str) -> Result<Value> {
    let (status, body) = get(host, path)?;
    assert_eq!(status, 200, "GET {path}: {body}\nhost stderr:\n{}", host.stderr.lock().unwrap());
    Ok(serde_json::from_str(&body)?)
}

fn start_app() -> Result<Running> {
    start(
        &app_manifest(&fixture("spin_host_fixture.wasm")),
        &[("SPIN_VARIABLE_GREETING", "bonjour")],
        Some("# test variables\nSPIN_VARIABLE_SESSION_KEY=s3cret\n"),
    )
}

#[test]
fn echo_variables_and_spin_headers() -> Result<()> {
    let host = start_app()?;
    let port = host.base.rsplit(':').next().unwrap().to_string();

    let echo = get_json(&host, "/echo?x=1")?;
    assert_eq!(echo["path"], "/echo");
    assert_eq!(echo["requests_seen_by_instance"], 1);
    assert_eq!(echo["uri"], format!("http://127.0.0.1:{port}/echo?x=1"));
    let h = &echo["headers"];
    assert_eq!(h["spin-full-url"], format!("http://127.0.0.1:{port}/echo?x=1"));
    assert_eq!(h["spin-path-info"], "/echo");
    assert_eq!(h["spin-matched-route"], "/...");
    assert_eq!(h["spin-raw-component-route"], "/...");
    assert_eq!(h["spin-component-route"], "");
    assert_eq!(h["spin-base-path"], "/");
    assert!(h["spin-client-addr"].as_str().unwrap().starts_with("127.0.0.1:"), "{h}");
    let v = &echo["variables"];
    assert_eq!(v["greeting"]["ok"], "bonjour");
    assert_eq!(v["secret_key"]["ok"], "key:s3cret");
    assert_eq!(v["literal"]["ok"], "plain");
    assert!(echo["undefined"].as_str().unwrap().contains("Undefined"), "{echo}");

    // Every request gets a fresh instance.
    let again = get_json(&host, "/echo")?;
    assert_eq!(again["requests_seen_by_instance"], 1);

    // A longer wildcard beats `/...`; the other component sees its own variables.
    let other = get_json(&host, "/api/echo")?;
    let h = &other["headers"];
    assert_eq!(h["spin-path-info"], "/echo");
    assert_eq!(h["spin-matched-route"], "/api/...");
    assert_eq!(h["spin-component-route"], "/api");
    assert_eq!(other["variables"]["greeting"]["ok"], "bonjour from other");
    assert!(other["variables"]["literal"]["err"].as_str().unwrap().contains("Undefined"), "{other}");

    // An exact route beats both wildcards.
    let health = get_json(&host, "/api/v1/health")?;
    let h = &health["headers"];
    assert_eq!(h["spin-path-info"], "");
    assert_eq!(h["spin-matched-route"], "/api/v1/health");
    assert_eq!(h["spin-component-route"], "/api/v1/health");
    assert_eq!(health["variables"]["greeting"]["ok"], "bonjour");
    Ok(())
}

#[test]
fn sqlite_execute_streams_rows_and_counts_changes() -> Result<()> {
    let host = start_app()?;
    for _ in 0..2 {
        let sql = get_json(&host, "/sql")?;
        assert_eq!(sql["foreign_keys"], 1, "{sql}");
        assert_eq!(sql["columns"], serde_json::json!(["id", "name", "weight", "data", "empty"]));
        let rows = sql["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 3, "{sql}");
        let first_id = rows[0][0].as_i64().unwrap();
        assert_eq!(rows[0][1], "alpha");
        assert_eq!(rows[0][2], 3.0);
        assert_eq!(rows[0][3], serde_json::json!({ "blob": b"alpha".to_vec() }));
        assert_eq!(rows[0][4], Value::Null);
        assert_eq!(rows[2][1], "gamma");
        assert_eq!(rows[2][2], -3.0);
        let inserted = sql["inserted"].as_array().unwrap();
        assert_eq!(inserted.len(), 3);
        for (i, ins) in inserted.iter().enumerate() {
            assert_eq!(ins["changes"], 1, "{sql}");
            assert_eq!(ins["rowid"].as_i64().unwrap(), first_id + i as i64, "{sql}");
        }
        assert_eq!(sql["updated"], 2, "{sql}");
    }

    // The data lives in <state-dir>/sqlite_db.db, readable natively.
    let db = rusqlite::Connection::open(host.state_dir.join("sqlite_db.db"))?;
    let count: i64 = db.query_row("SELECT COUNT(*) FROM fixture_items", [], |r| r.get(0))?;
    assert_eq!(count, 3);

    let errors = get_json(&host, "/sql-error")?;
    assert!(errors["syntax"].as_str().unwrap().contains("Io("), "{errors}");
    assert!(errors["other_db"].as_str().unwrap().contains("NoSuchDatabase"), "{errors}");

    // A component without `sqlite_databases = ["default"]` is denied.
    let (status, body) = get(&host, "/api/sql")?;
    assert_eq!(status, 500);
    assert!(body.contains("AccessDenied"), "{body}");
    Ok(())
}

/// `--bench`: a request line in, a timed answer out, with the store's calls counted and the
/// component's own time in wasm inside the handler's time.
#[test]
fn bench_mode_times_the_handler_the_store_and_the_wasm() -> Result<()> {
    use std::io::Write as _;
    let dir = scratch("bench");
    std::fs::write(dir.join("spin.toml"), app_manifest(&fixture("spin_host_fixture.wasm")))?;
    let mut child = Command::new(HOST)
        .arg("--manifest")
        .arg(dir.join("spin.toml"))
        .arg("--bench")
        .arg("--state-dir")
        .arg(dir.join("state"))
        .env("SPIN_VARIABLE_GREETING", "bonjour")
        .env("SPIN_VARIABLE_SESSION_KEY", "s3cret")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut input = child.stdin.take().unwrap();
    let mut output = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    output.read_line(&mut line)?;
    let ready: Value = serde_json::from_str(&line)?;
    assert_eq!(ready["ready"], true, "{line}");
    for (path, calls) in [("/sql", true), ("/echo", false)] {
        writeln!(input, "{}", serde_json::json!({ "method": "GET", "path": path, "headers": [], "body": "", "client": "192.0.2.1" }))?;
        input.flush()?;
        line.clear();
        output.read_line(&mut line)?;
        let answer: Value = serde_json::from_str(&line)?;
        assert_eq!(answer["status"], 200, "{line}");
        let handler = answer["handler_us"].as_f64().unwrap();
        let store = answer["store_us"].as_f64().unwrap();
        let guest = answer["guest_us"].as_f64().unwrap();
        let instantiate = answer["instantiate_us"].as_f64().unwrap();
        assert!(guest > 0.0 && guest < handler, "{line}");
        assert!(instantiate > 0.0 && instantiate < handler, "{line}");
        assert_eq!(answer["store_calls"].as_u64().unwrap() > 0, calls, "{line}");
        assert!(guest + store <= handler, "{line}");
    }
    drop(input);
    child.wait()?;
    Ok(())
}

#[test]
fn a_guest_trap_is_a_500_and_the_host_survives() -> Result<()> {
    let host = start_app()?;
    let (status, body) = get(&host, "/panic")?;
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("component failed"), "{body}");
    let echo = get_json(&host, "/echo")?;
    assert_eq!(echo["path"], "/echo");
    // The host's stderr is read by another thread: give the log line a moment to arrive.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut log = host.stderr.lock().unwrap().clone();
    while !log.contains("GET /panic -> 500") && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
        log = host.stderr.lock().unwrap().clone();
    }
    assert!(log.contains("GET /panic -> 500"), "{log}");
    Ok(())
}

#[test]
fn unrouted_paths_are_404() -> Result<()> {
    let wasm = fixture("spin_host_fixture.wasm");
    let manifest = format!(
        r#"
spin_manifest_version = 2
[application]
name = "t"
[[trigger.http]]
route = "/api/..."
component = "c"
[component.c]
source = "{wasm}"
"#
    );
    let host = start(&manifest, &[], None)?;
    let (status, _) = get(&host, "/elsewhere")?;
    assert_eq!(status, 404);
    let (status, _) = get(&host, "/apix")?;
    assert_eq!(status, 404);
    let echo = get_json(&host, "/api/echo")?;
    assert_eq!(echo["headers"]["spin-path-info"], "/echo");
    Ok(())
}

#[test]
fn a_component_importing_key_value_fails_at_startup() {
    let wasm = fixture("spin_host_fixture_kv.wasm");
    let manifest = format!(
        r#"
spin_manifest_version = 2
[application]
name = "t"
[[trigger.http]]
route = "/..."
component = "kv"
[component.kv]
source = "{wasm}"
"#
    );
    let stderr = refuses_to_start(&manifest, None);
    assert!(stderr.contains("spin:key-value/key-value@3.0.0"), "stderr does not name the import:\n{stderr}");
    assert!(stderr.contains("component \"kv\""), "{stderr}");
    assert!(!stderr.contains("listening on"), "{stderr}");
}

#[test]
fn a_missing_required_variable_fails_at_startup() {
    let manifest = app_manifest(&fixture("spin_host_fixture.wasm"));
    let stderr = refuses_to_start(&manifest, None);
    assert!(stderr.contains("SPIN_VARIABLE_SESSION_KEY"), "stderr does not name the variable:\n{stderr}");
}

#[test]
fn outbound_hosts_other_than_exact_origins_are_refused() {
    // Exact http(s) origins are allowed (the component may send to them alone); wildcards are
    // not supported, so a manifest asking for one is refused rather than half-honoured.
    let manifest =
        app_manifest(&fixture("spin_host_fixture.wasm")).replace("allowed_outbound_hosts = []", "allowed_outbound_hosts = [\"https://*.example.com\"]");
    let stderr = refuses_to_start(&manifest, Some("SPIN_VARIABLE_SESSION_KEY=x\n"));
    assert!(stderr.contains("allowed_outbound_hosts"), "{stderr}");
}

#[test]
fn a_missing_source_fails_at_startup() {
    let manifest = app_manifest("/nonexistent/app.wasm");
    let stderr = refuses_to_start(&manifest, Some("SPIN_VARIABLE_SESSION_KEY=x\n"));
    assert!(stderr.contains("does not exist"), "{stderr}");
}

/// The PostgreSQL the `spin:postgres` tests use, from `CAREFRONT_TEST_POSTGRES`
/// (`postgres://user@host:port/database`, a database the tests may create tables in), and its
/// `postgres://host:port` for `allowed_outbound_hosts`; `None` (the tests skip) when unset.
fn test_postgres() -> Option<(String, String)> {
    let Some(url) = std::env::var("CAREFRONT_TEST_POSTGRES").ok().filter(|url| !url.is_empty()) else {
        // scripts/test always runs them: there a missing server is a failure, not a skip.
        assert!(std::env::var("CAREFRONT_REQUIRE_POSTGRES").as_deref() != Ok("1"), "CAREFRONT_REQUIRE_POSTGRES=1 but CAREFRONT_TEST_POSTGRES is not set");
        eprintln!("skipped: set CAREFRONT_TEST_POSTGRES=postgres://user@host:port/database to test spin:postgres against a real PostgreSQL");
        return None;
    };
    let config: tokio_postgres::Config = url.parse().expect("CAREFRONT_TEST_POSTGRES is not a PostgreSQL address");
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        _ => panic!("CAREFRONT_TEST_POSTGRES must name a TCP host"),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    Some((url, format!("postgres://{host}:{port}")))
}

fn pg_manifest(wasm: &str, allowed: &str) -> String {
    format!(
        r#"
spin_manifest_version = 2
[application]
name = "pg"
[variables]
pg_address = {{ required = true, secret = true }}
pg_refused = {{ default = "" }}
pg_outbound_host = {{ required = true }}
[[trigger.http]]
route = "/..."
component = "c"
[component.c]
source = "{wasm}"
allowed_outbound_hosts = ["{{{{ pg_outbound_host }}}}", {allowed}]
[component.c.variables]
pg_address = "{{{{ pg_address }}}}"
pg_refused = "{{{{ pg_refused }}}}"
"#
    )
}

#[test]
fn postgres_query_execute_and_transactions_reach_a_real_database() -> Result<()> {
    let Some((url, allowed)) = test_postgres() else { return Ok(()) };
    let wasm = fixture("spin_host_fixture.wasm");
    let host = start(&pg_manifest(&wasm, "\"http://127.0.0.1:1\""), &[("SPIN_VARIABLE_PG_ADDRESS", &url), ("SPIN_VARIABLE_PG_OUTBOUND_HOST", &allowed)], None)?;
    let pg = get_json(&host, "/pg")?;
    assert_eq!(pg["inserted"], serde_json::json!([1, 1]), "{pg}");
    assert_eq!(pg["updated"], 2, "{pg}");
    // The server's errors come with their SQLSTATE: a unique key, a syntax error.
    assert_eq!(pg["duplicate"]["code"], "23505", "{pg}");
    assert_eq!(pg["syntax"]["code"], "42601", "{pg}");
    let types: Vec<&str> = pg["columns"].as_array().unwrap().iter().map(|column| column[1].as_str().unwrap()).collect();
    let expected = ["Int64", "Str", "Boolean", "Int32", "Jsonb", "Str", "Int64"].map(|kind| format!("DbDataType::{kind}"));
    assert_eq!(types, expected, "{pg}");
    // The rolled-back row (3) is not there; the committed one (4) is.
    assert_eq!(
        pg["rows"],
        serde_json::json!([
            [1, "alpha", true, -7, null, null, 3],
            [2, "beta", false, -6, null, null, 3],
            [4, "gamma", null, null, { "jsonb": "{\"a\": 1}" }, null, 3],
        ]),
        "{pg}"
    );
    Ok(())
}

#[test]
fn postgres_connections_go_only_to_allowed_hosts() -> Result<()> {
    let Some((url, allowed)) = test_postgres() else { return Ok(()) };
    let wasm = fixture("spin_host_fixture.wasm");
    // Allowed but nothing listens there: a connection error, not a trap.
    let closed = "postgres://postgres@127.0.0.1:1/postgres";
    let other_port = "postgres://postgres@127.0.0.1:2/postgres";
    let unix = "host=/tmp";
    let refused = format!("{closed} {other_port} {unix}");
    let host = start(
        &pg_manifest(&wasm, "\"postgres://127.0.0.1:1\""),
        &[("SPIN_VARIABLE_PG_ADDRESS", &url), ("SPIN_VARIABLE_PG_OUTBOUND_HOST", &allowed), ("SPIN_VARIABLE_PG_REFUSED", &refused)],
        None,
    )?;
    let errors = get_json(&host, "/pg-refused")?;
    let errors: Vec<&str> = errors.as_array().unwrap().iter().map(|error| error.as_str().unwrap()).collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors[0].contains("ConnectionFailed") && errors[0].contains("refused"), "{errors:?}");
    assert!(errors[1].contains("ConnectionFailed") && errors[1].contains("postgres://127.0.0.1:2 is not permitted"), "{errors:?}");
    assert!(errors[2].contains("ConnectionFailed") && errors[2].contains("Unix socket"), "{errors:?}");
    Ok(())
}
