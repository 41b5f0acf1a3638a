//! App API keys (`hdk_live_…`): admin credentials limited to one app and an explicit permission
//! list. Shown once, stored as SHA-256, hard-deleted on revoke.

pub mod api;
pub mod service;
mod store;
