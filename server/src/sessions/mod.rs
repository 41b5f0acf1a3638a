//! End-user sessions: sign-up, sign-in, refresh-token rotation with reuse detection, logout and
//! revocation.

pub mod api;
pub mod flows;
pub mod service;
// Still `pub` while files outside the account domains (auth_config/api.rs, authz/engine.rs,
// m2m/oauth.rs) reach into it; once they call this domain's service instead, make it `mod store;`.
pub mod store;

pub use service::Tokens;
