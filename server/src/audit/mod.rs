//! The append-only audit log every domain writes to, and its admin listing.
//!
//! Entries are written in the same transaction as the change they describe, so the log never
//! claims a change that did not happen nor misses one that did. Details never carry secrets.

pub mod api;
mod entry;
mod store;

pub use entry::{Action, Actor, ActorKind, Entry, Filter};
pub(crate) use store::insert;

use uuid::Uuid;

use crate::{
    db::Db,
    entity::{audit_log, workspace_audit_log},
    error::Error,
};

/// One page of the app's log under `filter`: newest first, `limit` entries older than `before`.
pub async fn list(
    db: &Db,
    app_id: Uuid,
    filter: &Filter,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<audit_log::Model>, Error> {
    Ok(store::list(db, app_id, filter, before, limit).await?)
}

/// One page of the workspace's own log (platform key changes): newest first.
pub async fn list_workspace(
    db: &Db,
    workspace_id: Uuid,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<workspace_audit_log::Model>, Error> {
    Ok(store::list_workspace(db, workspace_id, before, limit).await?)
}
