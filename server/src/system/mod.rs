//! Operator endpoints: liveness, readiness and metrics.

mod api;

pub use api::{ERROR_CODES, Health, MetricsResponse, SystemApi};
