//! The end-to-end suite: one binary (fast to link), one module per feature. Every server test
//! runs on SQLite and on PostgreSQL through `heimdall_tests::db_test!`.

mod apps;
mod audit;
mod auth_lanes;
mod config;
mod errors;
mod idempotency;
mod isolation;
mod instances;
mod keys;
mod system;
mod signup_signin;
mod refresh;
mod codes;
mod mail;
mod invites;
mod me;
mod end_users;
mod auth_config;
mod revocation;
mod adversarial;
mod api_keys;
mod authorize;
mod coherence;
mod credentials;
mod forward_auth;
mod oauth;
mod roles;
mod sdk_support;
mod sdk_client;
mod sdk_examples;
mod sdk_jwks_cache;
mod sdk_verify;
