//! `/me`: the signed-in end-user's own profile, sessions, activity and account deletion.

pub mod api;
pub mod service;
