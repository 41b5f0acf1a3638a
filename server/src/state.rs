//! Shared state handed to every handler.

use std::sync::{Arc, atomic::AtomicBool};

use crate::{
    apps::Directory, authz::Authz, coherence::Bus, config::Config, db::Db, events::Feed, keys::KeyRing,
    m2m::clients::Clients, mail::Mailer, passwords::Passwords, ratelimit::RateLimiter, telemetry::Metrics,
    usage::Usage,
};

pub struct AppState {
    pub config: Config,
    /// Public origin, no trailing slash; issuers are `<public_url>/<slug>`.
    pub public_url: String,
    pub db: Db,
    pub keys: Arc<KeyRing>,
    pub directory: Arc<Directory>,
    pub metrics: Arc<Metrics>,
    pub bus: Arc<Bus>,
    /// Wakes change-feed long-polls.
    pub events: Arc<Feed>,
    pub usage: Usage,
    pub passwords: Passwords,
    pub mailer: Mailer,
    pub authz: Arc<Authz>,
    pub clients: Arc<Clients>,
    /// The HTTP client of webhook deliveries (address guard, timeout).
    pub webhooks: Arc<crate::webhooks::Sender>,
    /// Failure counters (sign-in, codes, client secrets).
    pub limits: RateLimiter,
    /// Set when a stop signal arrived: `/readyz` answers 503 through the shutdown grace, so a
    /// load balancer stops sending requests before the listener closes.
    pub draining: AtomicBool,
}

impl AppState {
    /// The `iss` of the app's tokens.
    pub fn issuer(&self, slug: &str) -> String {
        format!("{}/{}", self.public_url, slug)
    }

    /// Whether `iss` is the issuer of the app `slug` (without building the string: hot path).
    pub fn is_issuer(&self, iss: &str, slug: &str) -> bool {
        iss.strip_prefix(self.public_url.as_str()).and_then(|rest| rest.strip_prefix('/')) == Some(slug)
    }
}
