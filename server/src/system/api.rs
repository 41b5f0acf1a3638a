//! Operator endpoints: liveness, readiness and metrics.

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use poem::web::Data;
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    payload::{Json, PlainText},
};

use crate::error::Code;
use crate::tags::ApiTags;
use crate::{
    http::error::{Error, Errors, SystemErrors},
    state::AppState,
};

/// A load balancer's health check has a timeout of its own, often 2 s: readiness answers within
/// it, whatever the database does.
const READINESS_TIMEOUT: Duration = Duration::from_secs(1);

/// Health answer.
#[derive(Debug, Clone, Object)]
pub struct Health {
    /// `ok`.
    pub status: String,
}

#[derive(ApiResponse)]
pub enum MetricsResponse {
    /// Prometheus text exposition format 0.0.4.
    #[oai(status = 200, content_type = "text/plain; version=0.0.4")]
    Ok(PlainText<String>),
}

pub struct SystemApi;

#[OpenApi]
impl SystemApi {
    /// Liveness
    ///
    /// 200 while the process serves HTTP. Does not touch the database.
    #[oai(path = "/healthz", method = "get", operation_id = "liveness_check", tag = "ApiTags::System")]
    async fn live(&self) -> Result<Json<Health>, Errors<SystemErrors>> {
        Ok(Json(Health { status: "ok".into() }))
    }

    /// Readiness
    ///
    /// 200 when the database answers within a second and, on PostgreSQL, the instance is
    /// subscribed to the other instances' cache changes (so a revocation made elsewhere applies
    /// here at once); 503 `unavailable` otherwise, and from the moment the instance is asked to
    /// stop, so a load balancer stops routing to this instance.
    #[oai(path = "/readyz", method = "get", operation_id = "readiness_check", tag = "ApiTags::System")]
    async fn ready(&self, state: Data<&Arc<AppState>>) -> Result<Json<Health>, Errors<SystemErrors>> {
        let unavailable = |why| Error::new(Code::Unavailable, why).with_retry_after(1);
        if state.draining.load(Ordering::Acquire) {
            return Err(unavailable("shutting down").into());
        }
        match tokio::time::timeout(READINESS_TIMEOUT, crate::db::ping(&state.db)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "readiness check failed");
                return Err(unavailable("database unreachable").into());
            }
            Err(_) => {
                tracing::warn!("readiness check: the database did not answer within {READINESS_TIMEOUT:?}");
                return Err(unavailable("database unreachable").into());
            }
        }
        if !state.bus.is_listening() {
            return Err(unavailable("not yet subscribed to other instances' cache changes").into());
        }
        Ok(Json(Health { status: "ok".into() }))
    }

    /// Metrics
    ///
    /// Request counts and latencies by operation and status, and domain events, in the
    /// Prometheus text format.
    #[oai(path = "/metrics", method = "get", operation_id = "metrics_get", tag = "ApiTags::System")]
    async fn metrics(&self, state: Data<&Arc<AppState>>) -> Result<MetricsResponse, Errors<SystemErrors>> {
        Ok(MetricsResponse::Ok(PlainText(state.metrics.render())))
    }
}

/// The codes each operation answers beyond those every operation of its kind answers
/// (`http::spec` adds both to the spec).
pub const ERROR_CODES: crate::http::spec::OperationCodes = {
    #[allow(unused_imports)]
    use crate::error::Code::*;
    &[("liveness_check", &[]), ("readiness_check", &[]), ("metrics_get", &[])]
};
