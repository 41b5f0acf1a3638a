//! Organizations inside an app (the contract calls them tenants): a slug unique in the app, a
//! display name, a status and free-form metadata, and members — the app's end-users, each holding
//! one of the app's roles in that tenant (a user may hold a different role in each tenant).
//!
//! A tenant's rows are always read with its app: a tenant id from another app is `not found`.

pub mod api;
mod removal;
pub mod service;
mod store;
