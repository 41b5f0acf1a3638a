//! Cache coherence between instances sharing one PostgreSQL database.
//!
//! A change is applied to this instance's caches at once and announced with `NOTIFY`; every
//! other instance `LISTEN`s and applies it too. If the listening connection drops, notifications
//! may have been missed, so the instance clears every cache on reconnect.
//!
//! A connection can also fail without saying so (a half-open TCP connection after a failover
//! delivers nothing and reports no error), so each announcement carries the next number of the
//! `heimdall_change_seq` sequence, and every instance polls the sequence (DESIGN §4's version
//! poll): a number issued before the previous poll and still not heard means notifications were
//! missed — the instance clears every cache and reconnects its listener. Cached entries also
//! expire on their own (seconds to a minute), which bounds staleness if all else fails (an
//! instance that dies between its commit and its announcement). SQLite is single-instance:
//! changes are only applied locally.
//!
//! The listener holds a connection of its own, outside the shared pool: replacing a listener
//! whose connection went silent cannot block on it (sqlx sends `UNLISTEN *` on the way out,
//! which on a dead connection waits until TCP gives up) nor hold one of the pool's connections
//! meanwhile, and every step of subscribing is bounded by the pool's acquire timeout.

use std::{
    sync::{
        Arc, RwLock,
        atomic::{AtomicBool, AtomicI64, Ordering},
    },
    time::Duration,
};

use sea_orm::sqlx::{
    PgPool,
    postgres::{PgListener, PgPoolOptions},
};
use tokio::sync::Notify;
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
    /// A tenant's status, existence or memberships (who belongs, with which role).
    Tenant(Uuid),
    /// The app's change feed has new events (wakes long-polls; no cache holds events).
    Events(Uuid),
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
            Change::Tenant(id) => format!("tenant:{id}"),
            Change::Events(id) => format!("events:{id}"),
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
            Some(("tenant", v)) => id(v).map(Change::Tenant),
            Some(("events", v)) => id(v).map(Change::Events),
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
    /// Highest change number this instance's caches account for: heard from the listener, or
    /// covered by clearing every cache.
    heard: AtomicI64,
    /// Tells the listener to reconnect: the poll found changes it did not deliver.
    reconnect: Notify,
    /// The listener is subscribed (PostgreSQL): until then other instances' changes go unheard.
    listening: AtomicBool,
}

impl Bus {
    pub fn new(pg: Option<PgPool>) -> Self {
        Bus {
            handlers: RwLock::default(),
            pg,
            heard: AtomicI64::new(0),
            reconnect: Notify::new(),
            listening: AtomicBool::new(false),
        }
    }

    /// Whether other instances' changes reach this one: always on SQLite (single-instance), on
    /// PostgreSQL once the listener is subscribed. `/readyz` answers 503 until then.
    pub fn is_listening(&self) -> bool {
        self.pg.is_none() || self.listening.load(Ordering::Acquire)
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
            let sent = sea_orm::sqlx::query("SELECT pg_notify($1, nextval('heimdall_change_seq') || ' ' || $2)")
                .bind(CHANNEL)
                .bind(change.encode())
                .execute(pg)
                .await;
            if let Err(e) = sent {
                tracing::warn!(error = %e, "could not announce a change to other instances");
            }
        }
    }

    /// Listens for other instances' changes until the process ends (PostgreSQL only).
    pub async fn run_listener(self: Arc<Self>) {
        let Some(pg) = self.pg.clone() else { return };
        loop {
            let mut listener = match subscribe(&pg).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "change listener cannot subscribe; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            // Anything may have changed while we were not listening.
            self.resync(&pg).await;
            self.listening.store(true, Ordering::Release);
            loop {
                let received = tokio::select! {
                    r = listener.try_recv() => r,
                    () = self.reconnect.notified() => {
                        self.listening.store(false, Ordering::Release);
                        break;
                    }
                };
                match received {
                    Ok(Some(n)) => {
                        let (number, change) = parse_payload(n.payload());
                        if let Some(change) = change {
                            self.apply(&change);
                        }
                        if let Some(number) = number {
                            self.heard.fetch_max(number, Ordering::AcqRel);
                        }
                    }
                    Ok(None) => {
                        tracing::warn!("change listener lost its connection; resubscribing");
                        self.resync(&pg).await;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "change listener failed; reconnecting");
                        self.listening.store(false, Ordering::Release);
                        break;
                    }
                }
            }
        }
    }

    /// Clears every cache, which accounts for every change numbered before it.
    async fn resync(&self, pg: &PgPool) {
        let issued = issued(pg).await;
        self.apply(&Change::All);
        match issued {
            Ok(n) => _ = self.heard.fetch_max(n, Ordering::AcqRel),
            Err(e) => tracing::warn!(error = %e, "cannot read the change sequence"),
        }
    }

    /// Polls the change sequence every `every` until the process ends (PostgreSQL only): a change
    /// numbered before the previous poll but never heard was missed, so every cache is cleared and
    /// the listener reconnects. Waiting one period before judging leaves time for notifications
    /// in flight.
    pub async fn run_poll(self: Arc<Self>, every: Duration) {
        let Some(pg) = self.pg.clone() else { return };
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut previous = None;
        loop {
            tick.tick().await;
            let now = match issued(&pg).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot poll the change sequence");
                    continue;
                }
            };
            if let Some(before) = previous {
                self.check_heard(before);
            }
            previous = Some(now);
        }
    }

    /// Clears every cache and reconnects the listener unless every change up to `issued` was heard.
    fn check_heard(&self, issued: i64) {
        let heard = self.heard.load(Ordering::Acquire);
        if heard < issued {
            tracing::warn!(
                missed = issued - heard,
                "change notifications were not delivered; clearing caches and reconnecting the listener"
            );
            self.apply(&Change::All);
            self.heard.fetch_max(issued, Ordering::AcqRel);
            self.reconnect.notify_one();
        }
    }
}

/// A listener subscribed to the change channel, on a connection of its own: a one-connection pool
/// made for it alone with the shared pool's connect options and acquire timeout, so a listener
/// dropped on a dead connection holds nothing the requests need. Subscribing is bounded by the
/// same timeout.
async fn subscribe(shared: &PgPool) -> Result<PgListener, sea_orm::sqlx::Error> {
    let timeout = shared.options().get_acquire_timeout();
    let own = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .acquire_timeout(timeout)
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_lazy_with(shared.connect_options().as_ref().clone());
    let subscribing = async {
        let mut listener = PgListener::connect_with(&own).await?;
        listener.listen(CHANNEL).await?;
        Ok(listener)
    };
    tokio::time::timeout(timeout, subscribing).await.unwrap_or(Err(sea_orm::sqlx::Error::PoolTimedOut))
}

/// The last change number issued by any instance (0 before the first).
async fn issued(pg: &PgPool) -> Result<i64, sea_orm::sqlx::Error> {
    sea_orm::sqlx::query_scalar("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM heimdall_change_seq")
        .fetch_one(pg)
        .await
}

/// A notification's payload: `<number> <change>` (a bare `<change>` from an older instance).
fn parse_payload(payload: &str) -> (Option<i64>, Option<Change>) {
    match payload.split_once(' ').and_then(|(n, rest)| Some((n.parse::<i64>().ok()?, rest))) {
        Some((number, change)) => (Some(number), Change::decode(change)),
        None => (None, Change::decode(payload)),
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
            Change::Tenant(id),
            Change::Events(id),
            Change::TokenRevoked("j1".into()),
        ] {
            assert_eq!(Change::decode(&c.encode()), Some(c));
        }
        assert_eq!(Change::decode("garbage"), None);
    }

    #[test]
    fn payloads_carry_the_change_number() {
        let id = Uuid::now_v7();
        assert_eq!(parse_payload(&format!("42 app:{id}")), (Some(42), Some(Change::App(id))));
        assert_eq!(parse_payload("7 all"), (Some(7), Some(Change::All)));
        assert_eq!(parse_payload(&format!("app:{id}")), (None, Some(Change::App(id))));
        assert_eq!(parse_payload("9 nonsense"), (Some(9), None));
    }

    #[test]
    fn an_unheard_change_clears_every_cache_once() {
        let bus = Bus::new(None);
        let cleared = Arc::new(AtomicI64::new(0));
        let seen = cleared.clone();
        bus.subscribe(move |c| {
            if *c == Change::All {
                seen.fetch_add(1, Ordering::SeqCst);
            }
        });
        bus.heard.store(5, Ordering::SeqCst);
        bus.check_heard(5);
        assert_eq!(cleared.load(Ordering::SeqCst), 0, "everything heard");
        bus.check_heard(8);
        assert_eq!(cleared.load(Ordering::SeqCst), 1, "three changes missed");
        bus.check_heard(8);
        assert_eq!(cleared.load(Ordering::SeqCst), 1, "the clearing accounted for them");
    }
}
