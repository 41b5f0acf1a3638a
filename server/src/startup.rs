//! Building and running the server. `main` and the tests start exactly the same thing.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use poem::{
    Server,
    listener::{Acceptor, Listener, TcpAcceptor, TcpListener},
};
use tokio::sync::Notify;

use crate::routes::routes;
use crate::{
    apps::Directory,
    coherence::{Bus, Change},
    config::Config,
    db, idempotency,
    keys::{KeyPolicy, KeyRing, master},
    state::AppState,
    telemetry::Metrics,
    usage::Usage,
    workspaces::{self, FirstStart},
};

/// A built server, bound to its port, not yet serving.
pub struct Application {
    acceptor: TcpAcceptor,
    port: u16,
    state: Arc<AppState>,
    stop: Arc<Notify>,
    first_key: Option<String>,
}

impl Application {
    /// Connects and migrates the database, checks the master key, binds the listener, performs
    /// first-start bootstrap, and starts background maintenance.
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let db = db::connect_with(&config.database_url, &config.database).await?;
        db::migrate(&db).await?;
        let (master, source) = master::resolve(config.master_key, &config.data_dir, &db).await?;
        master::verify(&db, &master, &source).await?;

        let acceptor = TcpListener::bind(config.listen).into_acceptor().await.map_err(|e| match e.kind() {
            std::io::ErrorKind::AddrInUse => anyhow::anyhow!(
                "HEIMDALL_LISTEN: {} is already in use (another heimdall, or another program, listens there); \
                 stop it or set HEIMDALL_LISTEN to a free address",
                config.listen
            ),
            _ => anyhow::anyhow!("HEIMDALL_LISTEN: cannot listen on {}: {e}", config.listen),
        })?;
        let local = acceptor
            .local_addr()
            .first()
            .and_then(|a| a.as_socket_addr().copied())
            .ok_or_else(|| anyhow::anyhow!("HEIMDALL_LISTEN: could not determine the bound address"))?;
        let public_url = config.public_url.clone().unwrap_or_else(|| {
            let host = if local.ip().is_unspecified() { "127.0.0.1".to_owned() } else { local.ip().to_string() };
            if local.is_ipv6() && !local.ip().is_unspecified() {
                format!("http://[{host}]:{}", local.port())
            } else {
                format!("http://{host}:{}", local.port())
            }
        });

        let metrics = Arc::new(Metrics::default());
        let pg = (!config.is_sqlite()).then(|| db.get_postgres_connection_pool().clone());
        let bus = Arc::new(Bus::new(pg));
        let policy = KeyPolicy {
            rotation_period: config.key_rotation_period,
            publish_lead: config.key_publish_lead,
            overlap: config.key_overlap,
            pool_target: config.key_pool_size,
        };
        let keys = Arc::new(KeyRing::new(db.clone(), master, policy, metrics.clone(), bus.clone()));
        let directory = Arc::new(Directory::default());
        let authz = Arc::new(crate::authz::Authz::new(db.clone()));
        authz.reload_revoked().await?;
        let clients = Arc::new(crate::m2m::Clients::new(db.clone()));
        {
            let (authz, clients) = (authz.clone(), clients.clone());
            bus.subscribe(move |change| {
                authz.apply(change);
                clients.apply(change);
                if *change == Change::All {
                    // Revocations may have been missed too; reload them now, not at the next tick.
                    let authz = authz.clone();
                    tokio::spawn(async move {
                        if let Err(e) = authz.reload_revoked().await {
                            tracing::warn!(error = %e, "revoked-token reload failed");
                        }
                    });
                }
            });
        }
        {
            let (keys, directory) = (keys.clone(), directory.clone());
            bus.subscribe(move |change| match change {
                Change::App(id) => {
                    keys.invalidate(*id);
                    directory.invalidate(*id);
                }
                Change::All => {
                    keys.invalidate_all();
                    directory.clear();
                }
                _ => {}
            });
        }

        let events = Arc::new(crate::events::Feed::default());
        {
            let events = events.clone();
            bus.subscribe(move |change| {
                if matches!(change, Change::Events(_) | Change::All) {
                    events.wake();
                }
            });
        }

        let first_key = match workspaces::first_start(&db, config.bootstrap_pak.as_ref()).await? {
            FirstStart::Generated(key) => Some(key.expose().to_owned()),
            FirstStart::Seeded => {
                tracing::info!("seeded the platform API key from HEIMDALL_BOOTSTRAP_PAK");
                None
            }
            FirstStart::AlreadyBootstrapped => None,
        };

        let mailer = crate::mail::Mailer::from_config(config.smtp_url.as_deref(), &config.smtp_from)?;
        let passwords = crate::passwords::Passwords::new(config.hash_concurrency, 256);
        let limits = crate::ratelimit::RateLimiter::new(db.clone());
        let webhooks = Arc::new(crate::webhooks::Sender::new(config.webhooks.clone())?);
        let state = Arc::new(AppState {
            limits,
            config,
            public_url,
            db,
            keys,
            directory,
            metrics,
            bus,
            events,
            usage: Usage::default(),
            passwords,
            mailer,
            authz,
            clients,
            webhooks,
            draining: AtomicBool::new(false),
        });
        spawn_background(&state);
        Ok(Application { acceptor, port: local.port(), state, stop: Arc::new(Notify::new()), first_key })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> Arc<AppState> {
        self.state.clone()
    }

    /// A platform API key generated on first start, to be shown to the operator once.
    pub fn take_generated_key(&mut self) -> Option<String> {
        self.first_key.take()
    }

    /// A handle that stops the server gracefully when notified.
    pub fn stop_handle(&self) -> Arc<Notify> {
        self.stop.clone()
    }

    /// Serves until SIGTERM, Ctrl-C or the stop handle; then drains: `/readyz` answers 503 for
    /// the shutdown grace while every request is still served (a second signal cuts the grace
    /// short), the listener closes, in-flight requests finish (up to 30 s), bookkeeping is
    /// flushed and, on SQLite, the write-ahead log is checkpointed into the database file.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let state = self.state.clone();
        // The signal handlers are installed before the first request is served: a SIGTERM that
        // arrives once `/readyz` has answered must drain, not kill the process.
        let signals = StopSignals::install();
        let server = Server::new_with_acceptor(self.acceptor);
        let result = server
            .run_with_graceful_shutdown(
                routes(state.clone()),
                drain(state.clone(), self.stop.clone(), signals),
                Some(Duration::from_secs(30)),
            )
            .await;
        if let Err(e) = state.usage.flush(&state.db).await {
            tracing::warn!(error = %e, "could not flush usage on shutdown");
        }
        if let Err(e) = db::checkpoint(&state.db).await {
            tracing::warn!(error = %e, "could not checkpoint the SQLite write-ahead log on shutdown");
        }
        result
    }
}

/// Resolves when the listener should close: the shutdown grace after the first stop signal, or
/// at a second one.
async fn drain(state: Arc<AppState>, stop: Arc<Notify>, mut signals: StopSignals) {
    signals.next(&stop).await;
    state.draining.store(true, Ordering::Release);
    let grace = state.config.shutdown_grace;
    tracing::info!(?grace, "stopping: /readyz answers 503 until the listener closes");
    tokio::select! {
        () = tokio::time::sleep(grace) => {}
        () = signals.next(&stop) => tracing::info!("second stop signal: closing the listener now"),
    }
    tracing::info!("closing the listener; finishing in-flight requests");
}

/// SIGTERM and SIGINT (Ctrl-C), registered when made: from then on they are delivered here
/// instead of ending the process.
struct StopSignals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    fn install() -> StopSignals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            StopSignals { term: signal(SignalKind::terminate()).ok(), interrupt: signal(SignalKind::interrupt()).ok() }
        }
        #[cfg(not(unix))]
        StopSignals {}
    }

    /// The next stop signal, or the stop handle.
    async fn next(&mut self, stop: &Notify) {
        #[cfg(unix)]
        {
            async fn recv(s: &mut Option<tokio::signal::unix::Signal>) {
                match s {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending().await,
                }
            }
            tokio::select! {
                () = recv(&mut self.term) => {}
                () = recv(&mut self.interrupt) => {}
                () = stop.notified() => {}
            }
        }
        #[cfg(not(unix))]
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = stop.notified() => {}
        }
    }
}

fn spawn_background(state: &Arc<AppState>) {
    tokio::spawn(state.keys.clone().run_pool_refill());
    tokio::spawn(state.bus.clone().run_listener());
    tokio::spawn(state.bus.clone().run_poll(state.config.coherence_poll_interval));
    crate::delivery::spawn(state);
    tokio::spawn(crate::webhooks::run(state.clone()));
    let state = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(state.config.maintenance_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            maintain(&state).await;
        }
    });
}

/// One pass of background upkeep; failures are logged and retried next tick.
pub async fn maintain(state: &AppState) {
    // Each rotation announces its app's change itself.
    if let Err(e) = state.keys.maintain().await {
        tracing::warn!(error = %e, "key maintenance failed");
    }
    if let Err(e) = state.usage.flush(&state.db).await {
        tracing::warn!(error = %e, "usage flush failed");
    }
    if let Err(e) = state.authz.reload_revoked().await {
        tracing::warn!(error = %e, "revoked-token reload failed");
    }
    if let Err(e) = crate::codes::service::prune(state).await {
        tracing::warn!(error = %e, "code pruning failed");
    }
    if let Err(e) = idempotency::prune(state).await {
        tracing::warn!(error = %e, "idempotency pruning failed");
    }
    if let Err(e) = crate::events::prune(state).await {
        tracing::warn!(error = %e, "change-feed retention sweep failed");
    }
    if let Err(e) = crate::webhooks::service::prune(state).await {
        tracing::warn!(error = %e, "webhook delivery-log sweep failed");
    }
}
