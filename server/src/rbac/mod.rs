//! Roles and permissions of an app (`resource.action`).

pub mod api;
pub mod service;
mod store;
