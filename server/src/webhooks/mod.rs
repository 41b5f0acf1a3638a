//! Webhooks: per-app endpoints that receive the app's change feed as signed HTTP POSTs.
//!
//! `api.rs` → `service.rs` → `store.rs` for the endpoints and their delivery log; `signing.rs`
//! makes Standard Webhooks signatures; `guard.rs` keeps deliveries away from internal networks;
//! `send.rs` makes one delivery; `deliver.rs` runs the delivery task on the shared machinery of
//! `delivery` (a cursor per endpoint, `webhook:<id>`, claimed by one instance at a time).

pub mod api;
mod deliver;
mod guard;
mod send;
pub mod service;
pub mod signing;
mod store;

pub use deliver::run;
pub use send::Sender;
