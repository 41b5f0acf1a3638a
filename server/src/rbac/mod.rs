//! Roles and permissions of an app (`resource.action`).

pub mod api;
pub mod service;
// Still `pub` while files outside the account domains (auth_config/api.rs, authz/engine.rs,
// m2m/oauth.rs) reach into it; once they call this domain's service instead, make it `mod store;`.
pub mod store;
