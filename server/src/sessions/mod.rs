//! End-user sessions: sign-up, sign-in, refresh-token rotation with reuse detection, logout and
//! revocation.

pub mod api;
pub mod flows;
pub mod service;
mod store;

pub use service::Tokens;
