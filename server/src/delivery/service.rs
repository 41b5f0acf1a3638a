//! The delivery machinery both sinks share: cursors opened per sink and app, the list of those
//! with work, and claims that let one instance deliver a cursor's next events.
//!
//! A sink delivers with [`claim`] → read the events after [`Claimed::last_seq`] → send them in
//! order → [`Claimed::delivered`] (or [`Claimed::failed`] with the time of the next attempt) →
//! [`Claimed::release`]. What is saved before the release is what a restart resumes from; an
//! event sent and not yet saved when an instance dies is sent again, with the same id.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::store;
use crate::{clock, error::Error, write};

/// Opens `sink`'s cursor on the app at `start` (events after it are delivered), in the unit's
/// transaction; an open cursor is kept.
pub async fn open(unit: &write::Unit, sink: &str, app_id: Uuid, start: i64) -> Result<(), Error> {
    Ok(store::open(unit.conn(), sink, app_id, start).await?)
}

/// Makes `sink`'s next event on the app due now, with no failures counted, in the unit's
/// transaction (an endpoint enabled again).
pub async fn retry_now(unit: &write::Unit, sink: &str, app_id: Uuid) -> Result<(), Error> {
    Ok(store::retry_now(unit.conn(), sink, app_id).await?)
}

/// Opens `sink`'s cursor at the start of the feed on every app that has none.
pub async fn open_everywhere(db: &crate::db::Db, sink: &str) -> Result<(), Error> {
    Ok(store::open_everywhere(db, sink).await?)
}

/// Drops every cursor of `sink` (a deleted webhook endpoint).
pub async fn close(db: &crate::db::Db, sink: &str) -> Result<(), Error> {
    Ok(store::close(db, sink).await?)
}

/// `(sink, app)` cursors, of sinks starting with `prefix`, behind their feed and due now.
pub async fn due(db: &crate::db::Db, prefix: &str) -> Result<Vec<(String, Uuid)>, Error> {
    Ok(store::due(db, prefix, clock::now()).await?)
}

/// The right to deliver `sink`'s next events of one app.
pub struct Claimed(store::Claim);

/// Claims `sink`'s cursor on the app if it is due and no other instance holds it.
pub async fn claim(db: &crate::db::Db, sink: &str, app_id: Uuid) -> Result<Option<Claimed>, Error> {
    Ok(store::claim(db, sink, app_id, clock::now()).await?.map(Claimed))
}

impl Claimed {
    pub fn app_id(&self) -> Uuid {
        self.0.cursor.app_id
    }

    /// The last `seq` delivered: the next event to send is the first after it.
    pub fn last_seq(&self) -> i64 {
        self.0.cursor.last_seq
    }

    /// Failed attempts at the next event so far.
    pub fn attempts(&self) -> i32 {
        self.0.cursor.attempts
    }

    /// Since when the next event has been failing, if it has.
    pub fn failing_since(&self) -> Option<DateTime<Utc>> {
        self.0.cursor.failing_since
    }

    /// Records that every event up to `seq` was delivered; clears the retry state.
    pub async fn delivered(&mut self, seq: i64) -> Result<(), Error> {
        let mut cursor = self.0.cursor.clone();
        cursor.last_seq = seq;
        cursor.attempts = 0;
        cursor.next_attempt_at = None;
        cursor.failing_since = None;
        cursor.last_error = None;
        cursor.updated_at = clock::now();
        Ok(self.0.save(cursor).await?)
    }

    /// Records a failed attempt at the next event; none is made again before `retry_at`.
    pub async fn failed(&mut self, retry_at: DateTime<Utc>, error: &str) -> Result<(), Error> {
        let now = clock::now();
        let mut cursor = self.0.cursor.clone();
        cursor.attempts = cursor.attempts.saturating_add(1);
        cursor.next_attempt_at = Some(retry_at);
        cursor.failing_since = Some(cursor.failing_since.unwrap_or(now));
        cursor.last_error = Some(error.chars().take(500).collect());
        cursor.updated_at = now;
        Ok(self.0.save(cursor).await?)
    }

    /// Ends the claim: what was recorded is kept, and another instance may claim the cursor.
    pub async fn release(self) -> Result<(), Error> {
        Ok(self.0.release().await?)
    }
}
