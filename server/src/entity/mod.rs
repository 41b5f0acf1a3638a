//! sea-orm entities, one per table. Only the domain `store` modules query them.

pub mod app;
pub mod app_api_key;
pub mod app_slug_alias;
pub mod audit_log;
pub mod auth_config;
pub mod change_event;
pub mod code_attempt_counter;
pub mod end_user;
pub mod event_sequence;
pub mod idempotency_key;
pub mod invite;
pub mod key_pool;
pub mod m2m_client;
pub mod one_time_code;
pub mod permission;
pub mod platform_api_key;
pub mod rate_limit;
pub mod refresh_token;
pub mod revoked_token;
pub mod role;
pub mod role_permission;
pub mod server_meta;
pub mod session;
pub mod signing_key;
pub mod workspace;
