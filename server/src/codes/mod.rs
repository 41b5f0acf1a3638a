//! Single-use 6-digit codes: password reset and contact verification.
//!
//! Codes are stored as a SHA-256 of app id and code, live 10 minutes, and a newer code for the
//! same account and purpose replaces older ones. The contract looks codes up by value alone (the
//! reset body is `{code, new_password}`), so guessing is held off by two budgets, neither of
//! which one client can spend for everybody:
//!
//! - **Per client address** (an IPv4 address, or an IPv6 /64: one host holds a whole /64): at
//!   most 5 attempts evaluated per app per 10 minutes, counted before the lookup (so a burst gets
//!   no more), 429 with `Retry-After` beyond. A success gives its attempt back. A client that uses
//!   up its budget blocks only itself: a genuine code from another address still works.
//! - **Per code**: every evaluated attempt of an app and purpose, from any address, draws the next
//!   number of a shared counter before the lookup; a code remembers the counter at its mint and
//!   answers only attempts numbered at most `EXPOSURE` = 100 past it (successes give their number
//!   back, so only wrong attempts use it up). A code that has seen 100 attempts is dead (410, like
//!   any invalid code; a new one can be minted).
//!
//! The arithmetic, with 10⁶ equally likely values and an app's live codes all distinct:
//!
//! - **Per code**, whatever the number of attacker addresses: at most 100 guesses are weighed
//!   against it (plus the few attempts already in flight when it was minted), so
//!   P(guessed) ≤ 100 / (10⁶ − 100) ≈ 1.0 · 10⁻⁴.
//! - **Per day**, with A attacker addresses (IPv4 addresses or IPv6 /64s): at most 5 · 144 = 720
//!   guesses per address, each matching one given live code with probability ≈ 10⁻⁶, and each
//!   code answering at most 100 of them. For a target account whose codes are minted m times that
//!   day, P(some code guessed) ≤ min(720 · A, 100 · m) / 10⁶: one address, ≤ 7.2 · 10⁻⁴ per day
//!   however many codes are minted; 1,000 addresses against an account that gets one code a day,
//!   ≤ 10⁻⁴; against an account that is sent a fresh code every 10 minutes (m = 144),
//!   ≤ 1.4 · 10⁻² — past a handful of addresses the bound is set by how often the app mints codes
//!   for one account, which needs its API key.
//! - **Denial**: one address adds at most 5 attempts per 10 minutes to the app's counter, so
//!   killing the codes of everyone else (100 attempts within a code's 10-minute life) takes at
//!   least 20 addresses acting together; the app-wide 429 of earlier versions let one client
//!   deny every reset and verification of an app.

pub mod api;
pub mod service;
mod store;
