//! The HTTP server: route each request, add the Spin request headers and hand it to a fresh
//! instance of the matched component (`wasi:http/handler@0.3.0`).

use crate::routes::{RouteMatch, Router};
use crate::state::{ComponentConfig, HostState};
use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;
use tokio::net::TcpListener;
use wasmtime::component::GuestTaskId;
use wasmtime::{Engine, Store, StoreContextMut};
use wasmtime_wasi_http::WasiHttpView as _;
use wasmtime_wasi_http::handler::{HandlerState, Instance, ProxyHandler, ProxyPre, ShouldAccept, WorkerExpiration, WorkerState, WorkerStatus};
use wasmtime_wasi_http::p3::bindings::ServicePre;

type Body = wasmtime_wasi_http::WasiBody;

/// A precompiled component, ready to be instantiated once per request.
pub struct PreparedComponent {
    pub engine: Engine,
    pub pre: ServicePre<HostState>,
    pub config: Arc<ComponentConfig>,
    /// Bench mode: time each instance's instantiation and the time its code runs in wasm.
    pub timed: bool,
}

impl HandlerState for PreparedComponent {
    type StoreData = HostState;
    type WorkerExpiration = NeverExpires;
    type WorkerState = SingleRequest;

    async fn instantiate(&self) -> wasmtime::Result<Instance<HostState, NeverExpires, SingleRequest>> {
        let mut store = Store::new(&self.engine, HostState::new(self.config.clone()));
        let started = Instant::now();
        if self.timed {
            crate::bench::time_guest(&mut store);
        }
        let proxy = ProxyPre::P3(self.pre.clone()).instantiate_async(&mut store).await?;
        if self.timed {
            crate::bench::instantiated(started);
        }
        Ok(Instance { store, proxy, view: HostState::http, expiration: NeverExpires, state: SingleRequest { component: self.config.id.clone() } })
    }
}

/// Workers never time out: this is a development host.
pub struct NeverExpires;

impl WorkerExpiration for NeverExpires {
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>, _state: WorkerStatus, _start: Instant) -> Poll<()> {
        Poll::Pending
    }
}

/// Each instance handles exactly one request: handlers are stateless, so every request gets a
/// fresh instance, as on Spin.
pub struct SingleRequest {
    component: String,
}

impl WorkerState for SingleRequest {
    type StoreData = HostState;
    type RequestData = ();

    fn should_accept_request(&self, _concurrent: usize, total: usize) -> ShouldAccept {
        if total == 0 { ShouldAccept::Yes } else { ShouldAccept::Never }
    }

    fn on_request_start(
        &self,
        _store: StoreContextMut<'_, HostState>,
        _data: (),
        _task: GuestTaskId,
    ) -> Pin<Box<dyn Future<Output = ()> + 'static + Send + Sync>> {
        Box::pin(std::future::pending())
    }

    fn drop(&self, store: Store<HostState>, result: wasmtime::Result<()>) {
        if let Err(e) = result {
            log(&format!("component {:?}: instance ended with an error: {e:?}", self.component));
        }
        drop(store);
    }
}

/// The running application.
pub struct App {
    pub router: Router,
    pub handlers: BTreeMap<String, ProxyHandler<PreparedComponent>>,
}

pub fn log(message: &str) {
    eprintln!("[carefront-spin-host] {message}");
}

fn text_response(status: StatusCode, text: &str) -> http::Response<Body> {
    let body = Full::new(Bytes::from(format!("{text}\n"))).map_err(|never: Infallible| match never {}).boxed_unsync();
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

fn header_value(value: &str) -> Result<HeaderValue, String> {
    HeaderValue::from_str(value).map_err(|e| format!("cannot put {value:?} in a header: {e}"))
}

/// Add the `spin-*` request headers (overwriting any the client sent) and make the URI
/// absolute, as Spin does.
pub fn prepare_request(req: &mut http::Request<Body>, route: &RouteMatch, host: &str, client: SocketAddr) -> Result<(), String> {
    let path_and_query = req.uri().path_and_query().map(|pq| pq.as_str().to_string()).unwrap_or_else(|| "/".to_string());
    let full_url = format!("http://{host}{path_and_query}");
    let uri: http::Uri = full_url.parse().map_err(|e| format!("cannot build the request URL {full_url:?}: {e}"))?;
    *req.uri_mut() = uri;
    let headers = [
        ("spin-full-url", full_url.as_str()),
        ("spin-path-info", route.path_info.as_str()),
        ("spin-matched-route", route.raw_route.as_str()),
        ("spin-base-path", "/"),
        ("spin-raw-component-route", route.raw_route.as_str()),
        ("spin-component-route", route.component_route.as_str()),
        ("spin-client-addr", &client.to_string()),
    ];
    for (name, value) in headers {
        req.headers_mut().insert(HeaderName::from_static(name), header_value(value)?);
    }
    Ok(())
}

impl App {
    async fn handle(&self, req: http::Request<Incoming>, client: SocketAddr, local: SocketAddr) -> http::Response<Body> {
        let started = Instant::now();
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let response = self.dispatch(req, client, local).await;
        log(&format!("{method} {path} -> {} ({} ms)", response.status().as_u16(), started.elapsed().as_millis()));
        response
    }

    async fn dispatch(&self, req: http::Request<Incoming>, client: SocketAddr, local: SocketAddr) -> http::Response<Body> {
        let Some(route) = self.router.route(req.uri().path()) else {
            return text_response(StatusCode::NOT_FOUND, "Not Found");
        };
        let Some(handler) = self.handlers.get(&route.component) else {
            log(&format!("route matched unknown component {:?}", route.component));
            return text_response(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
        };
        let host = req.headers().get(http::header::HOST).and_then(|h| h.to_str().ok()).map(str::to_string).unwrap_or_else(|| local.to_string());
        let mut req = req.map(|body| body.map_err(wasmtime_wasi_http::Error::Hyper).boxed_unsync());
        if let Err(e) = prepare_request(&mut req, &route, &host, client) {
            log(&e);
            return text_response(StatusCode::BAD_REQUEST, "Bad Request");
        }
        match handler.handle((), req).await {
            Ok(response) => response,
            Err(e) => {
                log(&format!("component {:?} failed to handle the request: {e:?}", route.component));
                text_response(StatusCode::INTERNAL_SERVER_ERROR, "500 Internal Server Error: the component failed; see the host log")
            }
        }
    }
}

/// Accept connections forever. Prints `listening on http://<addr>` once the socket is bound.
pub async fn serve(app: Arc<App>, listener: TcpListener) -> anyhow::Result<()> {
    let local = listener.local_addr()?;
    println!("listening on http://{local}");
    loop {
        let (stream, client) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                log(&format!("accept failed: {e}"));
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let app = app.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let app = app.clone();
                async move { Ok::<_, Infallible>(app.handle(req, client, local).await) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await {
                log(&format!("connection from {client}: {e}"));
            }
        });
    }
}
