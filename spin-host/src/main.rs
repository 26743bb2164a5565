//! A small local Spin host for carefront's development and tests; it implements only the imports of wit/ and fails loudly on anything else.

mod bench;
mod manifest;
mod postgres;
mod routes;
mod server;
mod sqlite;
mod state;
mod variables;

/// Host bindings for the Spin interfaces in `wit/`.
mod bindings {
    wasmtime::component::bindgen!({
        // The repo's own world: the host implements exactly the Spin imports of wit/.
        path: "../wit",
        world: "carefront:components/spin-imports",
        imports: {
            // PostgreSQL's calls do network I/O: the host awaits them (its blocking forms too).
            "spin:postgres/postgres": async | trappable,
            default: trappable,
        },
        with: {
            "spin:sqlite/sqlite.connection": crate::sqlite::Connection,
            "spin:postgres/postgres.connection": crate::postgres::Connection,
            "spin:postgres/postgres.connection-builder": crate::postgres::ConnectionBuilder,
        },
    });
}

use anyhow::{Context as _, Result, anyhow, bail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

const USAGE: &str = "usage: carefront-spin-host --manifest <spin.toml> (--listen <ip:port> | --bench) [--state-dir <dir>] [--env-file <file>]

  --manifest   the Spin application manifest (spin_manifest_version = 2)
  --listen     address to listen on, e.g. 127.0.0.1:3000 (port 0 picks a free port)
  --state-dir  directory holding the default SQLite database file sqlite_db.db
               (default: .spin next to the manifest, as in Spin)
  --env-file   file of SPIN_VARIABLE_<NAME>=value lines for application variables
               (the process environment's SPIN_VARIABLE_<NAME> takes precedence)
  --bench      no HTTP: JSON request lines on stdin, timed JSON answers on stdout
               (see src/bench.rs; bench/runtime/run drives it)";

/// Parsed command line.
#[derive(Debug, PartialEq, Eq)]
struct Args {
    manifest: PathBuf,
    /// Where to listen; `None` in bench mode.
    listen: Option<std::net::SocketAddr>,
    state_dir: Option<PathBuf>,
    env_file: Option<PathBuf>,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args> {
    let mut manifest = None;
    let mut listen = None;
    let mut state_dir = None;
    let mut env_file = None;
    let mut bench = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_string(), Some(value.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = || -> Result<String> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => args.next().ok_or_else(|| anyhow!("{flag} needs a value")),
            }
        };
        match flag.as_str() {
            "--manifest" => manifest = Some(PathBuf::from(value()?)),
            "--listen" => {
                let v = value()?;
                listen = Some(v.parse().with_context(|| format!("--listen {v:?} is not an ip:port address"))?);
            }
            "--state-dir" => state_dir = Some(PathBuf::from(value()?)),
            "--env-file" => env_file = Some(PathBuf::from(value()?)),
            "--bench" => bench = true,
            "-h" | "--help" => bail!("{USAGE}"),
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    Ok(Args {
        manifest: manifest.ok_or_else(|| anyhow!("--manifest is required\n{USAGE}"))?,
        listen: match (listen, bench) {
            (Some(_), true) => bail!("--bench takes no --listen\n{USAGE}"),
            (None, false) => bail!("--listen is required\n{USAGE}"),
            (listen, _) => listen,
        },
        state_dir,
        env_file,
    })
}

fn engine() -> Result<wasmtime::Engine> {
    let mut config = wasmtime::Config::new();
    config.wasm_component_model(true);
    config.wasm_component_model_async(true);
    // For `perf record` on the host: perf then names the guest's functions (/tmp/perf-PID.map).
    if std::env::var_os("CAREFRONT_SPIN_PERFMAP").is_some() {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    wasmtime::Engine::new(&config).map_err(|e| anyhow!("cannot create the wasm engine: {e}"))
}

const IMPLEMENTED: &str = "this host implements only WASI 0.2/0.3 (cli, clocks, random, io, filesystem without preopens, sockets without network), wasi:http@0.3.0, spin:sqlite/sqlite@3.1.0, spin:postgres/postgres@4.2.0 and spin:variables/variables@3.0.0";

fn prepare_component(
    engine: &wasmtime::Engine,
    linker: &wasmtime::component::Linker<state::HostState>,
    component: &manifest::Component,
    config: state::ComponentConfig,
    timed: bool,
) -> Result<server::PreparedComponent> {
    let id = &component.id;
    let path = &component.source;
    if !path.is_file() {
        bail!("component {id:?}: source {} does not exist", path.display());
    }
    let compiled =
        wasmtime::component::Component::from_file(engine, path).map_err(|e| anyhow!("component {id:?}: cannot compile {}: {e:?}", path.display()))?;
    let instance_pre = linker
        .instantiate_pre(&compiled)
        .map_err(|e| anyhow!("component {id:?} ({}) needs an import this host does not provide: {e:#}\n({IMPLEMENTED})", path.display()))?;
    let pre = wasmtime_wasi_http::p3::bindings::ServicePre::new(instance_pre).map_err(|e| {
        anyhow!("component {id:?} ({}) does not export wasi:http/handler@0.3.0 (build it with spin-sdk 7 for wasm32-wasip2): {e:#}", path.display())
    })?;
    Ok(server::PreparedComponent { engine: engine.clone(), pre, config: Arc::new(config), timed })
}

async fn run(args: Args) -> Result<()> {
    let started = std::time::Instant::now();
    let manifest = manifest::load(&args.manifest)?;
    let env_file = match &args.env_file {
        Some(path) => variables::load_env_file(path)?,
        None => BTreeMap::new(),
    };
    let mut values = variables::resolve(&manifest, |k| std::env::var(k).ok(), &env_file)?;

    let manifest_dir = args.manifest.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    let state_dir = args.state_dir.clone().unwrap_or_else(|| manifest_dir.join(".spin"));
    let app_has_default = manifest.components.values().any(|c| c.sqlite_databases.iter().any(|d| d == sqlite::DEFAULT_DATABASE));
    let default_db = state_dir.join(sqlite::DEFAULT_DATABASE_FILE);
    if app_has_default {
        std::fs::create_dir_all(&state_dir).with_context(|| format!("cannot create state dir {}", state_dir.display()))?;
    }

    let engine = engine()?;
    let linker = if args.listen.is_none() { bench::linker(&engine)? } else { state::linker(&engine)? };
    let router = routes::Router::new(&manifest.routes);
    let mut handlers = BTreeMap::new();
    for route in &manifest.routes {
        if handlers.contains_key(&route.component) {
            continue;
        }
        let Some(component) = manifest.components.get(&route.component) else {
            bail!("route {:?} names unknown component {:?}", route.raw, route.component);
        };
        let resolved = values.remove(&component.id).unwrap_or_default();
        for host in &resolved.allowed_outbound_hosts {
            server::log(&format!("component {:?} may send to {}://{}:{}", component.id, host.scheme, host.host, host.port));
        }
        let config = state::ComponentConfig {
            id: component.id.clone(),
            variables: resolved.variables,
            allowed_outbound_hosts: resolved.allowed_outbound_hosts,
            sqlite: sqlite::SqliteConfig {
                default_db: component.sqlite_databases.iter().any(|d| d == sqlite::DEFAULT_DATABASE).then(|| default_db.clone()),
                app_has_default,
            },
        };
        let started = std::time::Instant::now();
        let prepared = prepare_component(&engine, &linker, component, config, args.listen.is_none())?;
        server::log(&format!("component {:?} ready ({} ms)", component.id, started.elapsed().as_millis()));
        handlers.insert(route.component.clone(), wasmtime_wasi_http::handler::ProxyHandler::new(prepared));
    }
    server::log(&format!("application {:?}", manifest.name));
    for route in &manifest.routes {
        server::log(&format!("route {} -> {}", route.raw, route.component));
    }
    if app_has_default {
        server::log(&format!("sqlite \"default\" -> {}", default_db.display()));
    }

    let app = Arc::new(server::App { router, handlers });
    let Some(listen) = args.listen else {
        return bench::serve(&app, started.elapsed().as_secs_f64() * 1e3).await;
    };
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    server::serve(app, listener).await
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("carefront-spin-host: {e:#}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("carefront-spin-host: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("carefront-spin-host: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Args> {
        parse_args(list.iter().map(|s| (*s).to_string()))
    }

    #[test]
    fn command_line() -> Result<()> {
        let a = args(&["--manifest", "spin.toml", "--listen=127.0.0.1:3000", "--env-file", ".env"])?;
        assert_eq!(a.manifest, PathBuf::from("spin.toml"));
        assert_eq!(a.listen.map(|listen| listen.port()), Some(3000));
        assert_eq!(a.env_file, Some(PathBuf::from(".env")));
        assert_eq!(a.state_dir, None);
        assert!(args(&["--manifest", "x"]).is_err());
        assert!(args(&["--listen", "127.0.0.1:1"]).is_err());
        assert!(args(&["--manifest", "x", "--listen", "nope"]).is_err());
        assert!(args(&["--manifest", "x", "--listen", "127.0.0.1:1", "--bogus"]).is_err());
        assert_eq!(args(&["--manifest", "x", "--bench"])?.listen, None);
        assert!(args(&["--manifest", "x", "--bench", "--listen", "127.0.0.1:1"]).is_err());
        Ok(())
    }
}
