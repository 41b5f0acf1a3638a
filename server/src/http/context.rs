//! Per-request context: the request id (echoed as `x-request-id` and written into errors and
//! audit entries) and the caller's address.

use poem::Request;

use crate::access::Origin;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Where the current request came from, as the front door recorded it on the request.
pub fn origin(req: &Request) -> Origin {
    req.extensions().get::<Origin>().cloned().unwrap_or_default()
}

/// The client's address alone, without copying the rest of the origin.
pub fn client_ip(req: &Request) -> Option<std::net::IpAddr> {
    req.extensions().get::<Origin>().and_then(|o| o.ip)
}

/// Runs `fut` with `id` as the current request id.
pub async fn with_request_id<F: Future>(id: String, fut: F) -> F::Output {
    REQUEST_ID.scope(id, fut).await
}

/// The id of the request being served on this task, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Accepts a caller-supplied request id only if it is short and plain.
pub fn sanitize_request_id(raw: &str) -> Option<String> {
    let ok = !raw.is_empty()
        && raw.len() <= 64
        && raw.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    ok.then(|| raw.to_owned())
}
