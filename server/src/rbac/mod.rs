//! Roles and permissions of an app (`resource.action`).

pub mod store;
