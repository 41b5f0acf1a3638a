//! The access log: one `info` line per request (target `heimdall::access`) with the method, the
//! route template of the matched operation (the path when none matched, never the query, which
//! may carry a token), the status, the latency, the request id and the app the path names.
//! Headers and bodies are never logged.

use std::{collections::HashMap, time::Duration};

use poem::http::Method;

use crate::telemetry::ACCESS;

/// Each operation's path template, and which of its segments names the app (`{app_id}` or
/// `{app_slug}`), read once from the spec.
#[derive(Default)]
pub struct RouteTemplates {
    by_operation: HashMap<String, Template>,
}

struct Template {
    path: String,
    app_segment: Option<usize>,
}

impl RouteTemplates {
    /// From an OpenAPI document's `paths` (operation id → path).
    pub fn from_spec(spec: &serde_json::Value) -> Self {
        let mut by_operation = HashMap::new();
        for (path, item) in spec["paths"].as_object().into_iter().flatten() {
            let app_segment = path.split('/').position(|s| s == "{app_id}" || s == "{app_slug}");
            for op in item.as_object().into_iter().flatten().filter_map(|(_, op)| op["operationId"].as_str()) {
                by_operation.insert(op.to_owned(), Template { path: path.clone(), app_segment });
            }
        }
        RouteTemplates { by_operation }
    }

    /// Writes the request's line, if the access log is enabled.
    pub fn log(
        &self,
        method: &Method,
        path: &str,
        operation: Option<&str>,
        status: u16,
        elapsed: Duration,
        request_id: &str,
    ) {
        if !tracing::enabled!(target: ACCESS, tracing::Level::INFO) {
            return;
        }
        let template = operation.and_then(|op| self.by_operation.get(op));
        let route = template.map_or(path, |t| t.path.as_str());
        let app = template.and_then(|t| t.app_segment).and_then(|i| path.split('/').nth(i)).filter(|s| !s.is_empty());
        let latency_ms = (elapsed.as_secs_f64() * 1e6).round() / 1e3;
        tracing::info!(
            target: ACCESS,
            method = method.as_str(),
            route,
            status,
            latency_ms,
            request_id,
            app,
            operation,
            "request"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_name_the_app_segment() {
        let spec = serde_json::json!({ "paths": {
            "/v1/apps/{app_id}/roles": { "get": { "operationId": "listRoles" } },
            "/{app_slug}/v1/authorize": { "post": { "operationId": "authorize" } },
            "/healthz": { "get": { "operationId": "healthz" } },
        }});
        let t = RouteTemplates::from_spec(&spec);
        assert_eq!(t.by_operation["listRoles"].app_segment, Some(3));
        assert_eq!(t.by_operation["authorize"].app_segment, Some(1));
        assert_eq!(t.by_operation["healthz"].app_segment, None);
        assert_eq!("/acme/v1/authorize".split('/').nth(1), Some("acme"));
    }
}
