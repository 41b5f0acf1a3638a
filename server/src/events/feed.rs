//! What the write unit hands the feed (a [`Draft`]) and what wakes the feed's long-polls.

use tokio::sync::Notify;
use uuid::Uuid;

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

/// Wakes long-polls when a feed moves (any app: each waiter re-reads its own).
#[derive(Default)]
pub struct Feed {
    pub(super) moved: Notify,
}

impl Feed {
    /// Some app's feed has new events.
    pub fn wake(&self) {
        self.moved.notify_waiters();
    }

    /// Resolves at the next [`wake`](Self::wake) after it is enabled (`enable()` before reading,
    /// so an event committed after the read is not missed).
    pub fn moved(&self) -> tokio::sync::futures::Notified<'_> {
        self.moved.notified()
    }
}
