//! The outermost middleware: request ids, the client address (`client_ip`), the body size limit,
//! JSON errors for everything (including poem's own 404/405/413 and parse errors), request
//! metrics and the access log (`access_log`). The endpoints the composition root names as OAuth ones (by operation id, or by path
//! for failures before routing) answer every error with RFC 6749 `error` / `error_description`,
//! and with messages that never repeat what the caller sent.

use std::{sync::Arc, time::Instant};

use poem::{
    Body, Endpoint, IntoResponse, Middleware, Request, Response,
    http::{HeaderValue, header},
};
use poem_openapi::OperationId;

use super::{
    access_log::RouteTemplates,
    client_ip::TrustedProxies,
    context::{sanitize_request_id, with_request_id},
    error::{Error, code_for_status, respond},
    strict_json::WrongShape,
};
use crate::access::Origin;
use crate::error::Code;
use crate::telemetry::Metrics;

/// See the module docs.
pub struct FrontDoor {
    pub max_body_bytes: usize,
    pub metrics: Arc<Metrics>,
    pub trusted_proxies: Arc<TrustedProxies>,
    /// The endpoints whose errors follow RFC 6749 §5.2.
    pub oauth: OauthSurface,
    /// The access log's route templates.
    pub routes: Arc<RouteTemplates>,
}

/// Which requests are OAuth ones: their operation ids, and a test of the path for requests
/// refused before an operation was matched (body limit, method).
#[derive(Clone, Copy)]
pub struct OauthSurface {
    pub operations: &'static [&'static str],
    pub path: fn(&str) -> bool,
    /// The parameters of their bodies: the only field names a message may name.
    pub parameters: &'static [&'static str],
}

impl OauthSurface {
    fn covers(&self, operation: Option<OperationId>, path: bool) -> bool {
        path || operation.is_some_and(|op| self.operations.contains(&op.0))
    }
}

impl<E: Endpoint> Middleware<E> for FrontDoor {
    type Output = FrontDoorEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        FrontDoorEndpoint {
            inner,
            max_body_bytes: self.max_body_bytes,
            metrics: self.metrics.clone(),
            trusted_proxies: self.trusted_proxies.clone(),
            oauth: self.oauth,
            routes: self.routes.clone(),
        }
    }
}

pub struct FrontDoorEndpoint<E> {
    inner: E,
    max_body_bytes: usize,
    metrics: Arc<Metrics>,
    trusted_proxies: Arc<TrustedProxies>,
    oauth: OauthSurface,
    routes: Arc<RouteTemplates>,
}

impl<E: Endpoint> FrontDoorEndpoint<E> {
    /// Enforces the body limit: by `Content-Length` when present, otherwise by reading at most
    /// the limit of a chunked body.
    async fn limit_body(&self, req: &mut Request) -> Result<(), Error> {
        let too_large =
            || Error::new(Code::PayloadTooLarge, format!("request body exceeds {} bytes", self.max_body_bytes));
        match req.headers().get(header::CONTENT_LENGTH) {
            Some(len) => {
                let len: usize = len
                    .to_str()
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| Error::new(Code::InvalidRequest, "invalid Content-Length"))?;
                if len > self.max_body_bytes {
                    return Err(too_large());
                }
            }
            None if req.headers().contains_key(header::TRANSFER_ENCODING) => {
                let body = req.take_body();
                let bytes = body.into_bytes_limit(self.max_body_bytes).await.map_err(|_| too_large())?;
                req.set_body(Body::from_bytes(bytes));
            }
            None => {}
        }
        Ok(())
    }
}

impl<E: Endpoint> Endpoint for FrontDoorEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let started = Instant::now();
        let request_id = req
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .and_then(sanitize_request_id)
            .unwrap_or_else(|| {
                uuid::Uuid::now_v7().hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()).to_owned()
            });
        let ctx = Origin {
            request_id: Some(request_id.clone()),
            ip: self.trusted_proxies.client_ip(req.remote_addr().as_socket_addr().map(|a| a.ip()), req.headers()),
            user_agent: req
                .headers()
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(256).collect()),
        };
        req.extensions_mut().insert(ctx);
        // As the client sent them: admin paths naming an app by slug are rewritten later.
        let (method, uri) = (req.method().clone(), req.uri().clone());
        let oauth_path = (self.oauth.path)(req.uri().path());

        let mut resp = with_request_id(request_id.clone(), async {
            if let Err(e) = self.limit_body(&mut req).await {
                return respond(&e, oauth_path);
            }
            match self.inner.call(req).await {
                Ok(out) => out.into_response(),
                Err(err) => {
                    let oauth = self.oauth.covers(err.data::<OperationId>().copied(), oauth_path);
                    error_response(err, oauth.then_some(self.oauth.parameters))
                }
            }
        })
        .await;

        if resp.status().as_u16() >= 400 && !is_json(&resp) {
            let status = resp.status();
            let keep_op = resp.data::<OperationId>().copied();
            let oauth = self.oauth.covers(keep_op, oauth_path);
            let code = code_for_status(status);
            let message = match status.as_u16() {
                404 => "no such route".to_owned(),
                405 => "method not allowed on this route".to_owned(),
                s if s >= 500 => "internal error".to_owned(),
                // Whatever produced it may have quoted the request.
                _ if oauth => super::error::oauth_description(code).to_owned(),
                _ => resp.take_body().into_string().await.unwrap_or_default(),
            };
            let mut json =
                with_request_id(request_id.clone(), async { respond(&Error::new(code, message), oauth) }).await;
            if let Some(op) = keep_op {
                json.set_data(op);
            }
            for name in [header::WWW_AUTHENTICATE, header::RETRY_AFTER, header::ALLOW] {
                if let Some(v) = resp.headers().get(&name).cloned() {
                    json.headers_mut().insert(name, v);
                }
            }
            resp = json;
        }
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            resp.headers_mut().insert("x-request-id", v);
        }
        let operation = resp.data::<OperationId>().map(|op| op.0);
        let (status, elapsed) = (resp.status().as_u16(), started.elapsed());
        self.metrics.observe_request(operation.unwrap_or("unmatched"), status, elapsed);
        self.routes.log(&method, uri.path(), operation, status, elapsed, &request_id);
        Ok(resp)
    }
}

fn is_json(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json") || ct.starts_with("application/problem+json"))
}

/// Turns any poem error into a response; errors that are already Heimdall JSON pass through,
/// the rest get a message from the error itself (4xx) or a generic one (5xx, logged). `oauth`
/// (the OAuth body parameters) adds the RFC 6749 fields and keeps the caller's text out of the
/// message.
fn error_response(err: poem::Error, oauth: Option<&[&str]>) -> Response {
    let status = err.status();
    let operation = err.data::<OperationId>().copied();
    let message = err.to_string();
    let constraint = declared_constraint_failure(&err);
    let unreadable = if constraint.is_none() { unreadable_body(&err) } else { None };
    let mut resp = err.into_response();
    if !is_json(&resp) {
        let api = if status.is_server_error() {
            Error::internal(message)
        } else if let Some(parameters) = oauth {
            oauth_parse_failure(status, unreadable, parameters)
        } else if let Some(field) = constraint {
            Error::new(Code::ValidationFailed, message).with_details(serde_json::json!({ "field": field }))
        } else if let Some((message, field)) = unreadable {
            let api = Error::new(code_for_status(status), message);
            match field {
                Some(field) => api.with_details(serde_json::json!({ "field": field })),
                None => api,
            }
        } else {
            Error::new(code_for_status(status), message)
        };
        let extra: Vec<_> = [header::WWW_AUTHENTICATE, header::ALLOW]
            .into_iter()
            .filter_map(|h| resp.headers().get(&h).cloned().map(|v| (h, v)))
            .collect();
        resp = respond(&api, oauth.is_some());
        for (h, v) in extra {
            resp.headers_mut().insert(h, v);
        }
    }
    if let Some(op) = operation {
        resp.set_data(op);
    }
    resp
}

/// A poem-level refusal of an OAuth request (unreadable JSON or form, a repeated parameter, a
/// content type other than JSON or form): the catalogue code of its status and a message that
/// names at most one of the endpoints' own parameters, never the caller's text.
fn oauth_parse_failure(
    status: poem::http::StatusCode,
    unreadable: Option<(String, Option<String>)>,
    parameters: &[&str],
) -> Error {
    let code = code_for_status(status);
    match unreadable {
        None => Error::new(code, super::error::oauth_description(code)),
        Some((message, None)) => Error::new(code, message.replacen("malformed JSON body", "malformed request body", 1)),
        Some((message, Some(field))) if parameters.contains(&field.as_str()) => {
            Error::new(code, message.replacen("malformed JSON body", "malformed request body", 1))
                .with_details(serde_json::json!({ "field": field }))
        }
        Some(_) => Error::new(code, "malformed request body"),
    }
}

/// A body or parameter that parsed but broke a constraint declared in the spec (`minLength`,
/// `pattern`, …) is the same failure to clients as a rule checked in domain code:
/// `validation_failed`, naming the field. poem-openapi only says so in its message, so the
/// field is read from there.
fn declared_constraint_failure(err: &poem::Error) -> Option<String> {
    use poem_openapi::error::{ParseParamError, ParseRequestPayloadError};
    let (reason, param) = if let Some(e) = err.downcast_ref::<ParseRequestPayloadError>() {
        (e.reason.as_str(), None)
    } else if let Some(e) = err.downcast_ref::<ParseParamError>() {
        (e.reason.as_str(), Some(e.name))
    } else {
        return None;
    };
    if !reason.contains("verification failed") {
        return None;
    }
    let field = reason.split_once("field `").and_then(|(_, rest)| rest.split_once('`')).map(|(f, _)| f).or(param);
    Some(field.unwrap_or("body").to_owned())
}

/// A JSON body that could not be read into the operation's type: a message for the client
/// without the parser's internals (serde's line and column, poem-openapi's type chain), naming
/// the field when the strict reading (`strict_json`) or the parser did; the raw reason goes to
/// the debug log only.
fn unreadable_body(err: &poem::Error) -> Option<(String, Option<String>)> {
    if let Some(wrong) = err.downcast_ref::<WrongShape>() {
        return Some((wrong.to_string(), (!wrong.field.is_empty()).then(|| wrong.field.clone())));
    }
    // A parameter of the wrong type or outside its enumeration: name it, not the parser's chain.
    if let Some(param) = err.downcast_ref::<poem_openapi::error::ParseParamError>() {
        tracing::debug!(reason = %param.reason, parameter = param.name, "request parameter refused");
        let message = format!("parameter `{}` has a value it cannot take (see its schema)", param.name);
        return Some((message, Some(param.name.to_owned())));
    }
    let reason = &err.downcast_ref::<poem_openapi::error::ParseRequestPayloadError>()?.reason;
    tracing::debug!(%reason, "request body refused");
    Some(describe_unreadable_body(reason))
}

fn describe_unreadable_body(reason: &str) -> (String, Option<String>) {
    let quoted = |marker: &str| {
        reason.split_once(marker).and_then(|(_, rest)| rest.split_once('`')).map(|(field, _)| field.to_owned())
    };
    for (marker, says) in [
        ("missing field `", "is required"),
        ("unknown field `", "is not a known field"),
        ("duplicate field `", "appears more than once"),
        ("properties `", "is read-only"),
    ] {
        if let Some(field) = quoted(marker) {
            return (format!("malformed JSON body: field `{field}` {says}"), Some(field));
        }
    }
    // poem-openapi: `Expected input type "T", found V.`, followed by one
    // `(occurred while parsing "Outer")` per enclosing object.
    if let Some((ty, rest)) = reason.strip_prefix("Expected input type \"").and_then(|r| r.split_once('"')) {
        let message = if !rest.contains("(occurred while parsing") {
            "malformed JSON body: expected a JSON object".to_owned()
        } else if rest.starts_with(", found null") {
            format!("malformed JSON body: a required field of type `{ty}` is missing or null")
        } else {
            format!("malformed JSON body: a field of type `{ty}` has a value of another type")
        };
        return (message, None);
    }
    ("malformed JSON body".to_owned(), None)
}

#[cfg(test)]
mod tests {
    use poem::http::StatusCode;

    use super::{describe_unreadable_body, oauth_parse_failure};

    #[test]
    fn oauth_parse_failures_name_only_the_endpoints_own_parameters() {
        let params = ["grant_type", "token"];
        let described = |reason: &str| Some(describe_unreadable_body(reason));
        let e = oauth_parse_failure(StatusCode::BAD_REQUEST, described("duplicate field `grant_type`"), &params);
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("invalid_request", "malformed request body: field `grant_type` appears more than once")
        );
        assert_eq!(e.details().unwrap()["field"], "grant_type");
        let e = oauth_parse_failure(StatusCode::BAD_REQUEST, described("unknown field `\"<script>`"), &params);
        assert_eq!((e.message.as_str(), e.details()), ("malformed request body", None));
        let e = oauth_parse_failure(
            StatusCode::BAD_REQUEST,
            described("EOF while parsing a string at line 1 column 9"),
            &params,
        );
        assert_eq!(e.message, "malformed request body");
        let e = oauth_parse_failure(StatusCode::UNSUPPORTED_MEDIA_TYPE, None, &params);
        assert_eq!(e.code.as_str(), "unsupported_media_type");
        assert!(crate::http::error::is_oauth_text(&e.message), "{}", e.message);
    }

    #[test]
    fn unreadable_bodies_are_described_without_parser_internals() {
        for (reason, message, field) in [
            ("EOF while parsing an object at line 1 column 1", "malformed JSON body", None),
            ("expected value at line 1 column 2", "malformed JSON body", None),
            ("missing field `slug` at line 1 column 20", "malformed JSON body: field `slug` is required", Some("slug")),
            (
                r#"failed to parse "CreateApp": unknown field `slugg`."#,
                "malformed JSON body: field `slugg` is not a known field",
                Some("slugg"),
            ),
            (r#"Expected input type "CreateApp", found []."#, "malformed JSON body: expected a JSON object", None),
            (
                r#"Expected input type "string", found null. (occurred while parsing "CreateApp")"#,
                "malformed JSON body: a required field of type `string` is missing or null",
                None,
            ),
            (
                r#"Expected input type "string", found 5. (occurred while parsing "CreateApp")"#,
                "malformed JSON body: a field of type `string` has a value of another type",
                None,
            ),
        ] {
            assert_eq!(describe_unreadable_body(reason), (message.to_owned(), field.map(str::to_owned)), "{reason}");
        }
    }
}
