//! Authorization decisions: `/verify`, `/authorize` (single and batch), forward-auth for
//! gateways, the caches that make them cheap, and the throttle on invalid tokens sent to them.

pub mod api;
pub mod engine;
pub mod invalid_tokens;
mod store;

pub use engine::{Authz, Deny, Principal};
