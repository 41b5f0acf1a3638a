//! Roles and permissions of an app (`resource.action`).

pub mod api;
pub mod service;
pub mod store;
