//! Shared state handed to every handler.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::{
    apps::Directory, authz::Authz, coherence::Bus, config::Config, keys::KeyRing, m2m::Clients, mail::Mailer,
    passwords::Passwords, telemetry::Metrics, usage::Usage,
};

pub struct AppState {
    pub config: Config,
    /// Public origin, no trailing slash; issuers are `<public_url>/<slug>`.
    pub public_url: String,
    pub db: DatabaseConnection,
    pub keys: Arc<KeyRing>,
    pub directory: Arc<Directory>,
    pub metrics: Arc<Metrics>,
    pub bus: Arc<Bus>,
    pub usage: Usage,
    pub passwords: Passwords,
    pub mailer: Mailer,
    pub authz: Arc<Authz>,
    pub clients: Arc<Clients>,
}

impl AppState {
    /// The `iss` of the app's tokens.
    pub fn issuer(&self, slug: &str) -> String {
        format!("{}/{}", self.public_url, slug)
    }
}
