//! The write unit: every change goes begin → change rows + audit entries → events → commit →
//! announce.
//!
//! Audit entries are written inside the change's transaction (the log never claims a change
//! that did not happen, nor misses one that did), and to the process log after the commit, and coherence changes are announced only
//! after the commit (another instance must never reload the old rows). A unit committed without
//! an audit entry is a bug unless it says why ([`Unit::commit_unaudited`]).
//!
//! Each audit entry is also an event of its app's change feed (the outbox). The events are
//! numbered and written just before the commit, so the per-app counter row they lock is held
//! only for the commit itself; the feed's long-polls are woken after the commit.

use std::sync::Arc;

use sea_orm::DatabaseTransaction;
use uuid::Uuid;

use crate::{
    audit::{self, Entry},
    coherence::{Bus, Change},
    db::{self, Db},
    error::Error,
    events::{self, Draft},
};

/// One write transaction with its audit entries and the changes to announce after it.
pub struct Unit {
    tx: DatabaseTransaction,
    bus: Arc<Bus>,
    audited: bool,
    changes: Vec<Change>,
    events: Vec<Draft>,
    /// Each app's slug as this transaction first saw it (an event's `source`).
    slugs: Vec<(Uuid, String)>,
    /// The entries to write to the change log once committed.
    logged: Vec<Entry>,
}

/// Starts a write unit (`BEGIN IMMEDIATE` on SQLite).
pub async fn begin(db: &Db, bus: &Arc<Bus>) -> Result<Unit, Error> {
    Ok(Unit {
        tx: db::begin_write(db).await?,
        bus: bus.clone(),
        audited: false,
        changes: Vec::new(),
        events: Vec::new(),
        slugs: Vec::new(),
        logged: Vec::new(),
    })
}

impl Unit {
    /// The transaction, for the owning domain's store functions.
    pub fn conn(&self) -> &DatabaseTransaction {
        &self.tx
    }

    /// Writes `entry` in this unit's transaction, and queues its change event.
    pub async fn audit(&mut self, entry: Entry) -> Result<(), Error> {
        if let Some(event) = entry.event() {
            let app_id = event.app_id;
            // Read now: an app deleted later in this unit still names itself in its last event.
            if !self.slugs.iter().any(|(id, _)| *id == app_id)
                && let Some(slug) = events::slug_in(&self.tx, app_id).await?
            {
                self.slugs.push((app_id, slug));
            }
            self.events.push(event);
        }
        self.logged.push(entry.clone());
        audit::insert(&self.tx, entry).await?;
        self.audited = true;
        Ok(())
    }

    /// Announces `change` to every instance's caches once the unit has committed.
    pub fn announce(&mut self, change: Change) {
        if !self.changes.contains(&change) {
            self.changes.push(change);
        }
    }

    /// Commits, then announces. A unit that changed something must have audited it.
    pub async fn commit(self) -> Result<(), Error> {
        if !self.audited {
            debug_assert!(false, "write unit committed without an audit entry");
            tracing::error!("write unit committed without an audit entry");
        }
        self.finish().await
    }

    /// Commits a unit whose writes are bookkeeping, not changes anyone audits (`why` says
    /// which, for the reader), then announces.
    pub async fn commit_unaudited(self, why: &'static str) -> Result<(), Error> {
        tracing::trace!(why, "write unit committed without an audit entry");
        self.finish().await
    }

    async fn finish(self) -> Result<(), Error> {
        let Unit { tx, bus, mut changes, events, slugs, logged, .. } = self;
        if !events.is_empty() {
            for app_id in events::append(&tx, events, &slugs).await? {
                changes.push(Change::Events(app_id));
            }
        }
        tx.commit().await?;
        for entry in &logged {
            entry.log_committed();
        }
        for change in changes {
            bus.publish(change).await;
        }
        Ok(())
    }
}
