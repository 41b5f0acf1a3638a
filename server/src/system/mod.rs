//! Operator endpoints: liveness, readiness and metrics.

mod api;

pub use api::{Health, MetricsResponse, SystemApi};
