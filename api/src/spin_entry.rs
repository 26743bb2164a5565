//! The Spin entry: a thin adapter onto [`crate::handle`].

#[spin_sdk::http_service]
async fn serve(request: spin_sdk::http::Request) -> http::Response<http_body_util::Full<bytes::Bytes>> {
    carefront_spin::serve(request, carefront_shared::config::App::Api, crate::MAX_REQUEST_BYTES, crate::handle, crate::unavailable).await
}
