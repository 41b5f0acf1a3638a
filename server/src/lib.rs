//! Heimdall: a self-hostable, multi-tenant authentication and authorization service.
//!
//! The crate is a library (router, domains, storage) plus the `heimdall` binary (`main.rs`, which runs [`cli::main`]).
//! [`openapi`] builds the whole HTTP API without a database or a socket, which is how
//! `cargo xtask codegen` produces `openapi.json` and the SDK; [`startup::Application`] runs it.

// poem-openapi operations take one argument per parameter and extractor.
#![allow(clippy::too_many_arguments)]

pub mod access;
pub mod api_keys;
pub mod apps;
pub mod audit;
pub mod auth_config;
pub mod authz;
pub mod cli;
pub mod clock;
pub mod codes;
pub mod coherence;
pub mod config;
pub mod db;
pub mod delivery;
pub mod end_users;
pub mod entity;
pub mod error;
pub mod events;
pub mod http;
pub mod idempotency;
pub mod invites;
pub mod keys;
pub mod m2m;
pub mod mail;
pub mod me;
pub mod oauth;
pub mod passwords;
pub mod permissions;
pub mod ratelimit;
pub mod rbac;
pub mod routes;
pub mod secrets;
pub mod sessions;
pub mod startup;
pub mod state;
pub mod system;
pub mod tags;
pub mod telemetry;
pub mod tenants;
pub mod tokens;
pub mod ttl_cache;
pub mod usage;
pub mod webhooks;
pub mod workspaces;
pub mod write;

pub use routes::openapi;
