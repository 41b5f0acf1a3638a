//! Machine-to-machine clients (OAuth 2.0 client credentials): their admin API, the token
//! endpoint, and RFC 7662 introspection / RFC 7009 revocation.
//!
//! Client secrets are 256-bit random values stored as SHA-256 (DESIGN §5), so checking one costs
//! nanoseconds and the token endpoint is bounded by RSA signing, not by secret hashing.

pub mod api;
pub mod oauth;
pub mod service;
pub mod store;

pub use service::Clients;
