//! End-users of an app: accounts, profiles, roles, status, and the admin API over them.

pub mod api;
pub mod dto;
pub mod identity;
pub mod service;
mod store;
