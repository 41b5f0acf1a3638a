//! The append-only audit log every domain writes to, and its admin listing.
//!
//! Entries are written in the same transaction as the change they describe, so the log never
//! claims a change that did not happen nor misses one that did. Details never carry secrets.

pub mod api;
mod store;

pub use store::Filter;

use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

use crate::http::context::RequestContext;

/// Who did something.
#[derive(Debug, Clone)]
pub struct Actor {
    /// `platform_api_key`, `app_api_key`, `end_user`, `m2m_client` or `system`.
    pub kind: &'static str,
    pub id: Option<String>,
}

impl Actor {
    pub fn system() -> Self {
        Actor { kind: "system", id: None }
    }
}

/// One audit entry under construction.
#[derive(Debug, Clone)]
pub struct Entry {
    app_id: Uuid,
    actor: Actor,
    action: String,
    resource_type: Option<String>,
    resource_id: Option<String>,
    details: Option<serde_json::Value>,
    request_id: Option<String>,
    ip: Option<String>,
}

impl Entry {
    pub fn new(app_id: Uuid, actor: &Actor, action: &str, ctx: &RequestContext) -> Self {
        Entry {
            app_id,
            actor: actor.clone(),
            action: action.to_owned(),
            resource_type: None,
            resource_id: None,
            details: None,
            request_id: ctx.request_id.clone(),
            ip: ctx.ip_string(),
        }
    }

    /// An entry for something Heimdall did on its own (e.g. scheduled key rotation).
    pub fn system(app_id: Uuid, action: &str) -> Self {
        Entry::new(app_id, &Actor::system(), action, &RequestContext::default())
    }

    pub fn resource(mut self, kind: &str, id: impl ToString) -> Self {
        self.resource_type = Some(kind.to_owned());
        self.resource_id = Some(id.to_string());
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// Appends the entry using `conn` (pass the transaction of the change being audited).
    pub async fn record(self, conn: &impl ConnectionTrait) -> Result<(), DbErr> {
        store::insert(conn, self).await
    }
}
