//! Authorization decisions: `/verify`, `/authorize` (single and batch), forward-auth for
//! gateways, and the caches that make them cheap.

pub mod api;
pub mod engine;
mod store;

pub use engine::{Authz, Deny, Principal};
