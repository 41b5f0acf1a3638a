//! Cache coherence between instances sharing one PostgreSQL database.
//!
//! A change is applied to this instance's caches at once and announced with `NOTIFY`; every
//! other instance `LISTEN`s and applies it too. If the listening connection drops, notifications
//! may have been missed, so the instance clears every cache on reconnect. Cached entries also
//! expire on their own (seconds to a minute), which bounds staleness if all else fails. SQLite is
//! single-instance: changes are only applied locally.

use std::sync::{Arc, RwLock};

use sea_orm::sqlx::{PgPool, postgres::PgListener};
use uuid::Uuid;

const CHANNEL: &str = "heimdall_changes";

/// Something cached changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The app's record, slug, status or keys.
    App(Uuid),
    /// Roles or role permissions of the app.
    Roles(Uuid),
    /// An end-user's status, role or sessions (all of them).
    User(Uuid),
    /// One session (revoked).
    Session(Uuid),
    /// An M2M client (by row id): activity, scopes, secret.
    Client(Uuid),
    /// An access token id was revoked.
    TokenRevoked(String),
    /// Anything: drop every cache.
    All,
}

impl Change {
    fn encode(&self) -> String {
        match self {
            Change::App(id) => format!("app:{id}"),
            Change::Roles(id) => format!("roles:{id}"),
            Change::User(id) => format!("user:{id}"),
            Change::Session(id) => format!("session:{id}"),
            Change::Client(id) => format!("client:{id}"),
            Change::TokenRevoked(jti) => format!("jti:{jti}"),
            Change::All => "all".into(),
        }
    }

    fn decode(raw: &str) -> Option<Change> {
        let id = |v: &str| v.parse::<Uuid>().ok();
        match raw.split_once(':') {
            Some(("app", v)) => id(v).map(Change::App),
            Some(("roles", v)) => id(v).map(Change::Roles),
            Some(("user", v)) => id(v).map(Change::User),
            Some(("session", v)) => id(v).map(Change::Session),
            Some(("client", v)) => id(v).map(Change::Client),
            Some(("jti", v)) if !v.is_empty() && v.len() <= 128 => Some(Change::TokenRevoked(v.to_owned())),
            _ if raw == "all" => Some(Change::All),
            _ => None,
        }
    }
}

type Handler = Box<dyn Fn(&Change) + Send + Sync>;

/// Fans changes out to local caches and, on PostgreSQL, to other instances.
#[derive(Default)]
pub struct Bus {
    handlers: RwLock<Vec<Handler>>,
    pg: Option<PgPool>,
}

impl Bus {
    pub fn new(pg: Option<PgPool>) -> Self {
        Bus { handlers: RwLock::default(), pg }
    }

    /// Registers a cache to be told about changes.
    pub fn subscribe(&self, handler: impl Fn(&Change) + Send + Sync + 'static) {
        self.handlers.write().expect("bus lock").push(Box::new(handler));
    }

    fn apply(&self, change: &Change) {
        for h in self.handlers.read().expect("bus lock").iter() {
            h(change);
        }
    }

    /// Applies `change` here and announces it to other instances. Call after the commit.
    pub async fn publish(&self, change: Change) {
        self.apply(&change);
        if let Some(pg) = &self.pg {
            let sent =
                sea_orm::sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(change.encode()).execute(pg).await;
            if let Err(e) = sent {
                tracing::warn!(error = %e, "could not announce a change to other instances");
            }
        }
    }

    /// Listens for other instances' changes until the process ends (PostgreSQL only).
    pub async fn run_listener(self: Arc<Self>) {
        let Some(pg) = self.pg.clone() else { return };
        loop {
            let mut listener = match PgListener::connect_with(&pg).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "change listener cannot connect; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    continue;
                }
            };
            if let Err(e) = listener.listen(CHANNEL).await {
                tracing::warn!(error = %e, "LISTEN failed; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
            // Anything may have changed while we were not listening.
            self.apply(&Change::All);
            loop {
                match listener.try_recv().await {
                    Ok(Some(n)) => {
                        if let Some(change) = Change::decode(n.payload()) {
                            self.apply(&change);
                        }
                    }
                    Ok(None) => {
                        tracing::warn!("change listener lost its connection; resubscribing");
                        self.apply(&Change::All);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "change listener failed; reconnecting");
                        break;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_round_trip_through_their_payload() {
        let id = Uuid::now_v7();
        assert_eq!(Change::decode(&Change::App(id).encode()), Some(Change::App(id)));
        assert_eq!(Change::decode("all"), Some(Change::All));
        for c in [
            Change::Roles(id),
            Change::User(id),
            Change::Session(id),
            Change::Client(id),
            Change::TokenRevoked("j1".into()),
        ] {
            assert_eq!(Change::decode(&c.encode()), Some(c));
        }
        assert_eq!(Change::decode("garbage"), None);
    }
}
