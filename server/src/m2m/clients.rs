//! The one cache of M2M client records, by `client_id`: the token endpoint and authorization
//! read clients from here, and the change bus keeps it coherent across instances.

use std::{sync::Arc, time::Duration};

use uuid::Uuid;

use super::store;
use crate::{coherence::Change, db::Db, error::Error, ttl_cache::TtlCache};

/// Prefix of client ids.
pub const CLIENT_ID_PREFIX: &str = "m2m_";
/// Longest client id looked up: ours are `m2m_` and 24 characters.
pub const CLIENT_ID_MAX: usize = 64;

/// Whether `raw` could be a client id at all. Anything else is unknown without a database read
/// or a cache entry (the id arrives from unauthenticated callers, up to the body limit long).
pub fn is_client_id(raw: &str) -> bool {
    raw.len() <= CLIENT_ID_MAX
        && raw.strip_prefix(CLIENT_ID_PREFIX).is_some_and(|rest| {
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// What the token endpoint needs to know about a client.
#[derive(Debug)]
pub struct ClientRecord {
    pub id: Uuid,
    pub app_id: Uuid,
    pub client_id: String,
    pub secret_hash: String,
    pub active: bool,
    pub scopes: Vec<String>,
    /// The tenant the client is bound to (`tid` of its tokens).
    pub tenant_id: Option<Uuid>,
}

/// Cache of client records by `client_id`, kept coherent by the change bus.
pub struct Clients {
    db: Db,
    cache: TtlCache<String, Option<Arc<ClientRecord>>>,
}

impl Clients {
    pub fn new(db: Db) -> Self {
        Clients { db, cache: TtlCache::new(Duration::from_secs(30), 100_000) }
    }
}

impl Clients {
    pub async fn get(&self, client_id: &str) -> Result<Option<Arc<ClientRecord>>, Error> {
        if !is_client_id(client_id) {
            return Ok(None);
        }
        if let Some(found) = self.cache.get(client_id) {
            return Ok(found);
        }
        // Boxed: keeps the query's large future out of every `/authorize` future.
        Box::pin(self.load(client_id)).await
    }

    async fn load(&self, client_id: &str) -> Result<Option<Arc<ClientRecord>>, Error> {
        let record = store::find_by_client_id(&self.db, client_id).await?.map(|c| {
            Arc::new(ClientRecord {
                id: c.id,
                app_id: c.app_id,
                client_id: c.client_id,
                secret_hash: c.secret_hash,
                active: c.is_active,
                scopes: serde_json::from_value(c.scopes).unwrap_or_default(),
                tenant_id: c.tenant_id,
            })
        });
        self.cache.insert(client_id.to_owned(), record.clone());
        Ok(record)
    }

    pub fn apply(&self, change: &Change) {
        match change {
            Change::Client(id) => self.cache.retain(|_, c| c.as_ref().is_none_or(|c| c.id != *id)),
            Change::All => self.cache.clear(),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_client_id;

    #[test]
    fn only_client_id_shapes_are_looked_up() {
        assert!(is_client_id("m2m_Ab3-_x9QrStUvWxYz0123456"));
        for bad in ["", "m2m_", "m2x_abc", "m2m_a b", "m2m_ä", &format!("m2m_{}", "a".repeat(61))] {
            assert!(!is_client_id(bad), "{bad:?}");
        }
    }
}
