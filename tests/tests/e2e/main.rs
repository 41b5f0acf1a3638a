//! The end-to-end suite: one binary (fast to link), one module per feature. Every server test
//! runs on SQLite and on PostgreSQL through `heimdall_tests::db_test!`.

mod adversarial;
mod api_keys;
mod apps;
mod audit;
mod auth_config;
mod auth_lanes;
mod authorize;
mod codes;
mod coherence;
mod common_passwords;
mod config;
mod credentials;
mod end_users;
mod errors;
mod forward_auth;
mod idempotency;
mod instances;
mod invites;
mod isolation;
mod keys;
mod mail;
mod me;
mod oauth;
mod proxies;
mod rate_limits;
mod refresh;
mod revocation;
mod roles;
mod sdk_client;
mod sdk_examples;
mod sdk_jwks_cache;
mod sdk_support;
mod sdk_verify;
mod signup_signin;
mod system;
