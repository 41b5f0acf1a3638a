//! One error type for every call the SDK makes.
//!
//! Heimdall answers every failure with the JSON body `{statusCode, code, message, request_id}`
//! (the generated [`ErrorBody`]); `code` is stable snake_case and part of the API contract, while
//! `message` is for people and may change. [`Error::Api`] carries that body together with the HTTP
//! status, so callers match on [`Error::code`] and [`Error::status`] rather than on text.
//!
//! The generated builders return `progenitor_client::Error<ErrorBody>`; it converts into this
//! type with `?`, so code mixing the scoped helpers and raw builders needs only one error type.

use reqwest::StatusCode;

use crate::{jwks::errors::VerifyError, types::ErrorBody};

/// Everything that can go wrong talking to Heimdall or verifying one of its tokens.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Heimdall answered with an error status and its JSON error body.
    #[error("Heimdall answered {status}: {} ({})", body.message, body.code)]
    Api {
        /// The HTTP status of the answer.
        status: StatusCode,
        /// The server's error body: `code`, `message`, `request_id` and optional `details`.
        body: Box<ErrorBody>,
    },
    /// Heimdall answered with a status the API description does not list for the operation,
    /// so there is no typed body to offer.
    #[error("Heimdall answered with an undocumented status {status}")]
    UnexpectedStatus {
        /// The HTTP status of the answer.
        status: StatusCode,
    },
    /// The request did not reach Heimdall or its answer did not arrive: connection refused, DNS,
    /// TLS, timeout.
    #[error("could not reach Heimdall")]
    Transport(#[source] reqwest::Error),
    /// Heimdall answered, but the body could not be read or did not have the documented shape.
    #[error("Heimdall sent an answer that could not be read: {message}")]
    InvalidResponse {
        /// The HTTP status, when known.
        status: Option<StatusCode>,
        /// What was wrong with it.
        message: String,
    },
    /// The request could not be built, e.g. a body that fails the API's own validation
    /// (a slug that does not match the pattern) or a missing required parameter.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The client was configured wrongly, e.g. a base URL that is not `http(s)://host[:port]`.
    #[error("invalid SDK configuration: {0}")]
    Config(String),
    /// A token was refused by the local JWKS verifier.
    #[error(transparent)]
    Verify(#[from] VerifyError),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The HTTP status Heimdall answered with, when the error is an answer from it.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api { status, .. } | Error::UnexpectedStatus { status } => Some(*status),
            Error::InvalidResponse { status, .. } => *status,
            Error::Transport(e) => e.status(),
            Error::InvalidRequest(_) | Error::Config(_) | Error::Verify(_) => None,
        }
    }

    /// The server's machine-readable error code (`slug_taken`, `invalid_credentials`, …).
    pub fn code(&self) -> Option<&str> {
        self.body().map(|b| b.code.as_str())
    }

    /// The server's human-readable message.
    pub fn message(&self) -> Option<&str> {
        self.body().map(|b| b.message.as_str())
    }

    /// The server's request id, to quote in a support request.
    pub fn request_id(&self) -> Option<&str> {
        self.body().and_then(|b| b.request_id.as_deref())
    }

    /// The whole error body, when Heimdall sent one.
    pub fn body(&self) -> Option<&ErrorBody> {
        match self {
            Error::Api { body, .. } => Some(body),
            _ => None,
        }
    }

    /// Whether the request never got an answer (worth retrying later).
    pub fn is_transport(&self) -> bool {
        matches!(self, Error::Transport(_))
    }
}

impl From<progenitor_client::Error<ErrorBody>> for Error {
    fn from(error: progenitor_client::Error<ErrorBody>) -> Self {
        use progenitor_client::Error as E;
        match error {
            E::ErrorResponse(response) => {
                let status = response.status();
                Error::Api { status, body: Box::new(response.into_inner()) }
            }
            E::UnexpectedResponse(response) => Error::UnexpectedStatus { status: response.status() },
            E::CommunicationError(e) | E::InvalidUpgrade(e) => Error::Transport(e),
            E::ResponseBodyError(e) => {
                if e.is_timeout() || e.is_connect() {
                    Error::Transport(e)
                } else {
                    Error::InvalidResponse { status: e.status(), message: e.to_string() }
                }
            }
            E::InvalidResponsePayload(_, e) => Error::InvalidResponse { status: None, message: e.to_string() },
            E::InvalidRequest(message) | E::Custom(message) => Error::InvalidRequest(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(code: &str) -> ErrorBody {
        ErrorBody {
            code: code.into(),
            details: None,
            error: None,
            error_description: None,
            message: "Slug is taken".into(),
            request_id: Some("req-1".into()),
            status_code: 409,
        }
    }

    #[test]
    fn api_errors_expose_status_code_message_and_request_id() {
        let response =
            progenitor_client::ResponseValue::new(body("slug_taken"), StatusCode::CONFLICT, Default::default());
        let error = Error::from(progenitor_client::Error::ErrorResponse(response));
        assert_eq!(error.status(), Some(StatusCode::CONFLICT));
        assert_eq!(error.code(), Some("slug_taken"));
        assert_eq!(error.message(), Some("Slug is taken"));
        assert_eq!(error.request_id(), Some("req-1"));
        assert_eq!(error.to_string(), "Heimdall answered 409 Conflict: Slug is taken (slug_taken)");
    }

    #[test]
    fn request_errors_have_no_status() {
        let error = Error::from(progenitor_client::Error::<ErrorBody>::InvalidRequest("bad slug".into()));
        assert_eq!(error.status(), None);
        assert_eq!(error.code(), None);
        assert!(!error.is_transport());
    }
}
