//! Reading the feed: one ordered page after a cursor, optionally waiting for the next event.

use std::time::Duration;

use tokio::time::Instant;
use uuid::Uuid;

use super::store;
use crate::{clock, entity::change_event, error::Error, state::AppState};

/// Largest page.
pub const MAX_LIMIT: u32 = 1000;
/// Default page.
pub const DEFAULT_LIMIT: u32 = 100;
/// Longest long-poll, in seconds.
pub const MAX_WAIT_SECONDS: u32 = 30;
/// Most event types in one filter.
pub const MAX_TYPES: usize = 50;
/// A waiting read looks again at least this often, in case a wake-up was missed.
const RECHECK: Duration = Duration::from_secs(1);

/// A validated read of the feed.
#[derive(Debug, Clone)]
pub struct Query {
    pub after: i64,
    pub limit: u32,
    pub types: Vec<String>,
    pub wait: Duration,
}

impl Query {
    /// Checks the raw parameters; `types` is a comma-separated list of event types.
    pub fn parse(
        after: Option<i64>,
        limit: Option<u32>,
        types: Option<&str>,
        wait: Option<u32>,
    ) -> Result<Self, Error> {
        let after = after.unwrap_or(0);
        if after < 0 {
            return Err(Error::validation("after", "must be 0 or a sequence number the feed returned"));
        }
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Error::validation("limit", format!("must be between 1 and {MAX_LIMIT}")));
        }
        let wait = wait.unwrap_or(0);
        if wait > MAX_WAIT_SECONDS {
            return Err(Error::validation("wait", format!("must be between 0 and {MAX_WAIT_SECONDS} seconds")));
        }
        let types: Vec<String> =
            types.unwrap_or("").split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect();
        if types.len() > MAX_TYPES {
            return Err(Error::validation("type", format!("names at most {MAX_TYPES} event types")));
        }
        if let Some(bad) = types.iter().find(|t| !is_type(t)) {
            return Err(Error::validation(
                "type",
                format!("'{bad}' is not an event type like heimdall.end_user.signup"),
            ));
        }
        Ok(Query { after, limit, types, wait: Duration::from_secs(wait.into()) })
    }
}

fn is_type(t: &str) -> bool {
    t.len() <= 100
        && t.strip_prefix(super::feed::TYPE_PREFIX).is_some_and(|rest| {
            !rest.is_empty()
                && rest.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
        })
}

/// The app's events after `query.after`, oldest first. With `wait`, an empty answer waits up to
/// that long for the first new event.
pub async fn list(state: &AppState, app_id: Uuid, query: &Query) -> Result<Vec<change_event::Model>, Error> {
    let deadline = Instant::now() + query.wait;
    loop {
        // Registered before the read: an event committed after the read still wakes this wait.
        let moved = state.events.moved.notified();
        tokio::pin!(moved);
        moved.as_mut().enable();
        let rows = store::list(&state.db, app_id, query.after, &query.types, query.limit.into()).await?;
        let now = Instant::now();
        if !rows.is_empty() || now >= deadline {
            return Ok(rows);
        }
        tokio::select! {
            () = moved => {}
            () = tokio::time::sleep_until(deadline.min(now + RECHECK)) => {}
        }
    }
}

/// Up to `limit` of the app's events after `after`, oldest first, without waiting (the sinks'
/// read).
pub async fn read(db: &crate::db::Db, app_id: Uuid, after: i64, limit: u64) -> Result<Vec<change_event::Model>, Error> {
    Ok(store::list(db, app_id, after, &[], limit).await?)
}

/// The CloudEvents 1.0 envelope of a stored event (structured JSON mode), as the replay API
/// serves it and the sinks send it; `public_url` makes its `source`.
pub fn envelope(row: &change_event::Model, public_url: &str) -> serde_json::Value {
    let mut event = serde_json::json!({
        "specversion": "1.0",
        "id": row.id,
        "source": format!("{public_url}/{}", row.app_slug),
        "type": row.r#type,
        // As the replay API writes it (RFC 3339, `+00:00`).
        "time": row.time.to_rfc3339(),
        "datacontenttype": "application/json",
        "seq": row.seq,
        "data": row.data,
    });
    if let Some(subject) = &row.subject {
        event["subject"] = serde_json::json!(subject);
    }
    event
}

/// Deletes events older than the configured retention.
pub async fn prune(state: &AppState) -> Result<u64, Error> {
    let retention = chrono::Duration::from_std(state.config.event_retention).unwrap_or(chrono::Duration::MAX);
    let cutoff = clock::now().checked_sub_signed(retention).unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
    Ok(store::prune(&state.db, cutoff).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_checked() {
        let q = Query::parse(None, None, None, None).unwrap();
        assert_eq!((q.after, q.limit, q.wait), (0, DEFAULT_LIMIT, Duration::ZERO));
        assert!(q.types.is_empty());
        let q =
            Query::parse(Some(7), Some(5), Some("heimdall.app.created, heimdall.end_user.signup"), Some(3)).unwrap();
        assert_eq!(q.types, ["heimdall.app.created", "heimdall.end_user.signup"]);
        assert_eq!(q.wait, Duration::from_secs(3));
        assert!(Query::parse(Some(-1), None, None, None).is_err());
        assert!(Query::parse(None, Some(0), None, None).is_err());
        assert!(Query::parse(None, Some(MAX_LIMIT + 1), None, None).is_err());
        assert!(Query::parse(None, None, None, Some(MAX_WAIT_SECONDS + 1)).is_err());
        assert!(Query::parse(None, None, Some("app.created"), None).is_err());
        assert!(Query::parse(None, None, Some("heimdall.App"), None).is_err());
    }
}
