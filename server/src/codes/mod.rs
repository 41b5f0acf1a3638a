//! Single-use 6-digit codes: password reset and contact verification.
//!
//! Codes are stored as a SHA-256 of app id and code, live 10 minutes, and a newer code for the
//! same account and purpose replaces older ones. The contract looks codes up by value alone, so
//! guessing is held off by failure budgets: per app and purpose at most 10 wrong codes per 10
//! minutes, and per IP at most 5, after which consumption answers 429. With n live codes an
//! attacker's chance per 10 minutes is at most 10·n / 10⁶.

pub mod api;
pub mod service;
mod store;
