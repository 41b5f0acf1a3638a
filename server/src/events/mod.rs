//! The change feed: every audited change is also an event of its app's feed, a CloudEvents 1.0
//! envelope numbered by a per-app, gap-free, increasing sequence (`seq`).
//!
//! The write unit appends the events in the change's own transaction (the outbox), so the feed
//! never claims a change that did not happen nor misses one that did. The sequence is a per-app
//! counter row updated in that transaction: its row lock orders the app's writers on every
//! instance, so events become visible in `seq` order and a consumer that remembers the last
//! `seq` it saw (`after=`) sees every event exactly once, in order. Long-polls are woken by the
//! coherence bus (`Change::Events`), locally and through `NOTIFY` from other instances, with a
//! one-second re-read as the fallback. Events older than the retention are swept by maintenance.

pub mod api;
mod feed;
mod service;
mod store;

pub use feed::{Draft, Feed, TYPE_PREFIX};
pub use service::{Query, envelope, list, prune, read};
/// The app's last `seq` (0 before its first event), read in a write unit's transaction.
pub(crate) use store::head as head_in;
/// The write unit's side of the outbox (`append`) and the app's slug it reads (`slug_in`).
pub(crate) use store::{append, slug_of as slug_in};
