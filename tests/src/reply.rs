//! [`Reply`]: an HTTP response read in full, with assertions that print the body on failure and
//! a check of Heimdall's uniform JSON error shape.

use std::fmt;

use reqwest::header::HeaderMap;
use serde_json::Value;

/// A response with its body already read; `body` is `Value::Null` unless it was JSON.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Reply {
    pub async fn read(resp: reqwest::Response) -> Reply {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("response body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, headers, text, body }
    }

    /// A header as text, if present and printable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `x-request-id` header, which every response carries.
    #[track_caller]
    pub fn request_id(&self) -> &str {
        self.header("x-request-id").unwrap_or_else(|| panic!("no x-request-id header on {self}"))
    }

    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }

    /// Asserts the status and returns the JSON body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "unexpected status: {self}");
        &self.body
    }

    /// Asserts a Heimdall error: the status, the `code`, and the body shape
    /// `{statusCode, code, message, request_id}` with `request_id` equal to the header.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status, status, "unexpected status: {self}");
        self.assert_error_shape();
        assert_eq!(self.body["code"], code, "unexpected error code: {self}");
        &self.body
    }

    /// Asserts the uniform error body without caring which error it is.
    #[track_caller]
    pub fn assert_error_shape(&self) {
        assert!(self.content_type().starts_with("application/json"), "error is not JSON: {self}");
        assert_eq!(self.body["statusCode"], self.status, "statusCode differs from the status: {self}");
        assert!(self.body["code"].as_str().is_some_and(|c| !c.is_empty()), "error without code: {self}");
        assert!(self.body["message"].is_string(), "error without message: {self}");
        assert_eq!(
            self.body["request_id"].as_str(),
            Some(self.request_id()),
            "request_id differs from the header: {self}"
        );
    }
}

impl std::ops::Index<&str> for Reply {
    type Output = Value;

    fn index(&self, key: &str) -> &Value {
        &self.body[key]
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text: String = self.text.chars().take(2000).collect();
        if text.len() < self.text.len() {
            text.push('…');
        }
        write!(f, "HTTP {} ({}) {text}", self.status, self.content_type())
    }
}
