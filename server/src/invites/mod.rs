//! Invitations: an admin invites an address (or anyone at a domain, `*@example.com`) into an app
//! with a role; accepting creates the account with a verified email and signs it in.
//!
//! Acceptance is atomic: the use count is claimed with a conditional update in the same
//! transaction that creates the account, so N parallel accepts of a k-use invite create exactly
//! k accounts on either database.

pub mod api;
pub mod service;
mod store;
