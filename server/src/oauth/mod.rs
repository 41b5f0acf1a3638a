//! The OAuth 2.0 endpoints of an app: `oauth/token` (client credentials, RFC 6749 §4.4),
//! `oauth/introspect` (RFC 7662) and `oauth/revoke` (RFC 7009). The operations and their wire
//! forms are in `api.rs`, the rules in `service.rs`; clients themselves are `m2m`'s.

pub mod api;
pub mod service;
