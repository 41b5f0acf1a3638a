//! Per-app RSA signing keys: generation, encryption at rest, rotation, JWKS and discovery.

pub mod api;
pub mod crypto;
pub mod master;
pub mod service;
mod store;

pub use service::{KeyPolicy, KeyRing, KeySet};
pub use store::pool_put;
