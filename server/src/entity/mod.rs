//! sea-orm entities, one per table. Only the domain `store` modules query them.

pub mod app;
pub mod app_api_key;
pub mod app_slug_alias;
pub mod audit_log;
pub mod auth_config;
pub mod end_user;
pub mod idempotency_key;
pub mod key_pool;
pub mod platform_api_key;
pub mod role;
pub mod server_meta;
pub mod signing_key;
pub mod workspace;
