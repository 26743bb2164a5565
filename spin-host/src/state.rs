//! Per-request store state, the linker, and `spin:variables/variables@3.0.0`.

use crate::bindings::spin::variables::variables;
use crate::manifest::AllowedHost;
use crate::sqlite::SqliteConfig;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::{Accessor, HasData, Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

/// What one component may see: its resolved variables, its SQLite access and where it may
/// send HTTP requests.
#[derive(Debug)]
pub struct ComponentConfig {
    pub id: String,
    pub variables: HashMap<String, String>,
    pub allowed_outbound_hosts: Vec<AllowedHost>,
    pub sqlite: SqliteConfig,
}

/// How long an outbound request may take to connect and to answer: a stalled Notify must not
/// hold a request of the portal for long (the outbox retries it later).
const OUTBOUND_TIMEOUT: Duration = Duration::from_secs(10);

/// HTTP hooks that send a component's outbound request only to its `allowed_outbound_hosts`
/// (as Spin does) and refuse every other with `HTTP-request-denied`.
pub struct AllowedOutbound(Arc<ComponentConfig>);

type SendResult =
    Result<(http::Response<wasmtime_wasi_http::WasiBody>, Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>), wasmtime_wasi_http::Error>;

impl WasiHttpHooks for AllowedOutbound {
    fn send_request(
        &mut self,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        if !self.0.allowed_outbound_hosts.iter().any(|host| host.allows(request.uri())) {
            crate::server::log(&format!("component {:?}: outbound request to {} refused (not in allowed_outbound_hosts)", self.0.id, request.uri()));
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        let mut options = options.unwrap_or_default();
        options.connect_timeout = Some(options.connect_timeout.map_or(OUTBOUND_TIMEOUT, |timeout| timeout.min(OUTBOUND_TIMEOUT)));
        options.first_byte_timeout = Some(options.first_byte_timeout.map_or(OUTBOUND_TIMEOUT, |timeout| timeout.min(OUTBOUND_TIMEOUT)));
        options.between_bytes_timeout = Some(options.between_bytes_timeout.map_or(OUTBOUND_TIMEOUT, |timeout| timeout.min(OUTBOUND_TIMEOUT)));
        Box::new(async move {
            use http_body_util::BodyExt;
            let (response, io) = wasmtime_wasi_http::default_send_request(request, Some(options)).await?;
            Ok((response.map(BodyExt::boxed_unsync), Box::new(io) as Box<dyn Future<Output = _> + Send>))
        })
    }
}

/// The data of one request's `Store`.
pub struct HostState {
    pub wasi: WasiCtx,
    pub http: WasiHttpCtx,
    pub hooks: AllowedOutbound,
    pub table: ResourceTable,
    pub component: Arc<ComponentConfig>,
}

impl HostState {
    pub fn new(component: Arc<ComponentConfig>) -> Self {
        // No environment, no arguments, no preopened directories, no sockets; outbound HTTP only
        // to the component's allowed_outbound_hosts. The guest's
        // stdout and stderr both go to the host's stderr, so guest logs show up and the host's
        // stdout carries only the `listening on` line.
        let wasi = WasiCtx::builder().stdout(tokio::io::stderr()).stderr(tokio::io::stderr()).build();
        Self { wasi, http: WasiHttpCtx::new(), hooks: AllowedOutbound(component.clone()), table: ResourceTable::new(), component }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.hooks }
    }
}

/// `HasData` for the Spin interfaces: they see the whole `HostState`.
pub struct SpinImports;

impl HasData for SpinImports {
    type Data<'a> = &'a mut HostState;
}

impl variables::Host for HostState {}

impl<T> variables::HostWithStore<T> for SpinImports {
    async fn get(accessor: &Accessor<T, Self>, name: String) -> wasmtime::Result<Result<String, variables::Error>> {
        if !crate::manifest::is_valid_variable_name(&name) {
            return Ok(Err(variables::Error::InvalidName(name)));
        }
        Ok(accessor.with(|mut access| {
            let component = &access.get().component;
            match component.variables.get(&name) {
                Some(value) => Ok(value.clone()),
                None => Err(variables::Error::Undefined(format!("no variable for {:?}.{name:?}", component.id))),
            }
        }))
    }
}

/// Build the linker: WASI p2 and p3 (for Rust std and friends), wasi:http@0.3.0, and the Spin
/// interfaces. Nothing else: a component importing anything more fails to instantiate.
pub fn linker(engine: &wasmtime::Engine) -> anyhow::Result<Linker<HostState>> {
    linker_with(engine, |linker| {
        crate::bindings::spin::sqlite::sqlite::add_to_linker::<HostState, SpinImports>(linker, |state| state)
            .map_err(|e| anyhow::anyhow!("linking spin:sqlite: {e}"))
    })
}

/// The linker with `spin:sqlite` added by `sqlite` (the bench mode times each call).
pub fn linker_with(engine: &wasmtime::Engine, sqlite: impl FnOnce(&mut Linker<HostState>) -> anyhow::Result<()>) -> anyhow::Result<Linker<HostState>> {
    let mut linker = Linker::<HostState>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(|e| anyhow::anyhow!("linking WASI p2: {e}"))?;
    wasmtime_wasi::p3::add_to_linker(&mut linker).map_err(|e| anyhow::anyhow!("linking WASI p3: {e}"))?;
    wasmtime_wasi_http::p3::add_to_linker(&mut linker).map_err(|e| anyhow::anyhow!("linking wasi:http@0.3.0: {e}"))?;
    sqlite(&mut linker)?;
    crate::bindings::spin::postgres::postgres::add_to_linker::<HostState, SpinImports>(&mut linker, |state| state)
        .map_err(|e| anyhow::anyhow!("linking spin:postgres: {e}"))?;
    variables::add_to_linker::<HostState, SpinImports>(&mut linker, |state| state).map_err(|e| anyhow::anyhow!("linking spin:variables: {e}"))?;
    Ok(linker)
}
