//! Machine-to-machine clients (OAuth 2.0 client credentials): their admin API and the cached
//! client records. The token, introspection and revocation endpoints are `crate::oauth`'s.
//!
//! Client secrets are 256-bit random values stored as SHA-256 (DESIGN §5), so checking one costs
//! nanoseconds and the token endpoint is bounded by RSA signing, not by secret hashing.

pub mod api;
pub mod clients;
pub mod service;
mod store;

pub use clients::Clients;
