//! Apps (tenants): records, slugs, status, deletion and workspace statistics.

pub mod api;
pub mod directory;
pub mod service;
pub mod slug;
mod store;

pub use directory::{AppRef, Directory};
