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
mod service;
mod store;

use tokio::sync::Notify;
use uuid::Uuid;

pub use service::{Query, list, prune};

/// Prefix of every event type: `heimdall.<resource>.<verb>`, e.g. `heimdall.end_user.signup`.
pub const TYPE_PREFIX: &str = "heimdall.";

/// An event before the write unit numbers it.
#[derive(Debug, Clone)]
pub struct Draft {
    pub app_id: Uuid,
    /// `heimdall.<resource>.<verb>`.
    pub kind: String,
    /// What the event is about, `<resource type>/<resource id>`.
    pub subject: Option<String>,
    /// The facts of the change; never a secret.
    pub data: serde_json::Value,
}

/// Numbers and writes `drafts` in the write unit's transaction (`slugs` names each app as the
/// unit found it); returns the apps whose feed moved.
pub(crate) async fn append(
    tx: &sea_orm::DatabaseTransaction,
    drafts: Vec<Draft>,
    slugs: &[(Uuid, String)],
) -> Result<Vec<Uuid>, sea_orm::DbErr> {
    store::append(tx, drafts, slugs).await
}

/// The app's slug as the write unit's transaction sees it (the event's `source` is its issuer).
pub(crate) async fn slug_in(tx: &sea_orm::DatabaseTransaction, app_id: Uuid) -> Result<Option<String>, sea_orm::DbErr> {
    store::slug_of(tx, app_id).await
}

/// Wakes long-polls when a feed moves (any app: each waiter re-reads its own).
#[derive(Default)]
pub struct Feed {
    moved: Notify,
}

impl Feed {
    /// Some app's feed has new events.
    pub fn wake(&self) {
        self.moved.notify_waiters();
    }
}
