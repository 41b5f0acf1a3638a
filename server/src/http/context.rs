//! Per-request context: the request id (echoed as `x-request-id` and written into errors and
//! audit entries) and the caller's address.

use std::net::IpAddr;

use poem::Request;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Facts about the current request that domain code records.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    pub request_id: Option<String>,
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl RequestContext {
    /// The context the front door stored on the request.
    pub fn of(req: &Request) -> RequestContext {
        req.extensions().get::<RequestContext>().cloned().unwrap_or_default()
    }

    pub fn ip_string(&self) -> Option<String> {
        self.ip.map(|ip| ip.to_string())
    }
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
