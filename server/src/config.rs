//! The operator interface: every setting is a CLI flag and a `HEIMDALL_*` environment variable,
//! parsed once into [`Config`]. Invalid values fail start-up with one line naming the variable.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use base64::Engine;
use clap::{Args, Parser, Subcommand, builder::RangedU64ValueParser, value_parser};
use http::Uri;

use crate::{db::PoolSettings, http::client_ip::TrustedProxies, secrets::PlatformKey, telemetry::LogFormat};

/// Command line of the `heimdall` binary.
#[derive(Debug, Parser)]
#[command(name = "heimdall", version, about = "Multi-tenant authentication and authorization service")]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What the binary does; `serve` when none is given.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Run migrations, then serve the API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Issue a platform API key (every permission) and print it once: for the existing
    /// workspace when the database has one, else for a new workspace.
    Bootstrap {
        /// Name of the workspace, when a new one is created.
        #[arg(long, default_value = "default")]
        workspace_name: String,
        /// Create a new workspace even when the database has one.
        #[arg(long)]
        new_workspace: bool,
    },
    /// Print the OpenAPI document and exit.
    Openapi,
}

/// Settings as given on the command line or in the environment. Numbers are parsed and
/// range-checked by clap, whose error names the variable as the flag's value name (`invalid
/// value '10' for '--max-body-bytes <HEIMDALL_MAX_BODY_BYTES>': 10 is not in 1024..=67108864`);
/// [`Config::from_settings`] validates the rest.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Socket address to listen on.
    #[arg(long, env = "HEIMDALL_LISTEN", default_value = "127.0.0.1:8080", global = true)]
    pub listen: String,
    /// Public origin (scheme://host[:port]) clients use; token issuers are `<origin>/<slug>`.
    #[arg(long, env = "HEIMDALL_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// Database URL: `sqlite://path?mode=rwc` or `postgres://…`. Default: SQLite under the data dir.
    #[arg(long, env = "HEIMDALL_DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Directory for the default SQLite database and the development master key.
    #[arg(long, env = "HEIMDALL_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,
    /// Base64 of 32 random bytes; encrypts signing keys at rest. Development default: generated
    /// into the data dir.
    #[arg(long, env = "HEIMDALL_MASTER_KEY", global = true, hide_env_values = true)]
    pub master_key: Option<String>,
    /// A `pcft_live_…` platform API key to seed into an empty database.
    #[arg(long, env = "HEIMDALL_BOOTSTRAP_PAK", global = true, hide_env_values = true)]
    pub bootstrap_pak: Option<String>,
    /// Log filter, e.g. `info` or `heimdall_server=debug,info`.
    #[arg(long, env = "HEIMDALL_LOG", default_value = "info", global = true)]
    pub log: String,
    /// Log line format: `text` (default) or `json` (one object per line).
    #[arg(
        long,
        env = "HEIMDALL_LOG_FORMAT",
        value_name = "HEIMDALL_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "HEIMDALL_MAX_BODY_BYTES", value_name = "HEIMDALL_MAX_BODY_BYTES", default_value = "1048576",
        value_parser = RangedU64ValueParser::<usize>::new().range(1024..=64 << 20), global = true)]
    pub max_body_bytes: usize,
    /// Days between automatic signing-key rotations.
    #[arg(long, env = "HEIMDALL_KEY_ROTATION_DAYS", value_name = "HEIMDALL_KEY_ROTATION_DAYS", default_value = "90",
        value_parser = value_parser!(u64).range(1..=3650), global = true)]
    pub key_rotation_days: u64,
    /// Seconds a rotated-in key is published in the JWKS before it signs.
    #[arg(long, env = "HEIMDALL_KEY_PUBLISH_LEAD_SECONDS", value_name = "HEIMDALL_KEY_PUBLISH_LEAD_SECONDS",
        default_value = "3600", value_parser = value_parser!(u64).range(0..=86_400), global = true)]
    pub key_publish_lead_seconds: u64,
    /// RSA keys kept generated ahead of time so app creation never waits for key generation.
    #[arg(long, env = "HEIMDALL_KEY_POOL_SIZE", value_name = "HEIMDALL_KEY_POOL_SIZE", default_value = "8",
        value_parser = RangedU64ValueParser::<usize>::new().range(0..=1000), global = true)]
    pub key_pool_size: usize,
    /// SMTP server for mail delivery, e.g. `smtps://user:pass@mail.example:465` or
    /// `smtp://127.0.0.1:2525`. Unset: no mail; codes are returned to PAK callers instead.
    #[arg(long, env = "HEIMDALL_SMTP_URL", global = true, hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// Sender address of outgoing mail.
    #[arg(long, env = "HEIMDALL_SMTP_FROM", default_value = "Heimdall <no-reply@localhost>", global = true)]
    pub smtp_from: String,
    /// Password hashes computed at once; more requests queue, and past the queue get 503.
    /// Default: the number of CPU cores.
    #[arg(long, env = "HEIMDALL_HASH_CONCURRENCY", value_name = "HEIMDALL_HASH_CONCURRENCY",
        value_parser = RangedU64ValueParser::<usize>::new().range(1..=256), global = true)]
    pub hash_concurrency: Option<usize>,
    /// Lifetime of access tokens, in seconds.
    #[arg(long, env = "HEIMDALL_ACCESS_TOKEN_TTL_SECONDS", value_name = "HEIMDALL_ACCESS_TOKEN_TTL_SECONDS",
        default_value = "3600", value_parser = value_parser!(u64).range(60..=86_400), global = true)]
    pub access_token_ttl_seconds: u64,
    /// Database connections at most. Default: 32 on PostgreSQL, 8 on SQLite.
    #[arg(long, env = "HEIMDALL_DATABASE_MAX_CONNECTIONS", value_name = "HEIMDALL_DATABASE_MAX_CONNECTIONS",
        value_parser = value_parser!(u32).range(1..=1000), global = true)]
    pub database_max_connections: Option<u32>,
    /// Milliseconds a request waits for a database connection (opening one included) before it
    /// answers 503 `unavailable` with `Retry-After`: how fast an unreachable database is reported.
    #[arg(long, env = "HEIMDALL_DATABASE_ACQUIRE_TIMEOUT_MS", value_name = "HEIMDALL_DATABASE_ACQUIRE_TIMEOUT_MS",
        default_value = "2000", value_parser = value_parser!(u64).range(100..=60_000), global = true)]
    pub database_acquire_timeout_ms: u64,
    /// Milliseconds a statement waits for a lock (SQLite's busy timeout, PostgreSQL's
    /// `lock_timeout`) before the request answers 503 `unavailable` with `Retry-After`.
    #[arg(long, env = "HEIMDALL_DATABASE_LOCK_TIMEOUT_MS", value_name = "HEIMDALL_DATABASE_LOCK_TIMEOUT_MS",
        default_value = "5000", value_parser = value_parser!(u64).range(10..=60_000), global = true)]
    pub database_lock_timeout_ms: u64,
    /// PostgreSQL `statement_timeout` in seconds: a statement running longer is cancelled and its
    /// request answers 503. 0 leaves the server's setting.
    #[arg(long, env = "HEIMDALL_DATABASE_STATEMENT_TIMEOUT_SECONDS",
        value_name = "HEIMDALL_DATABASE_STATEMENT_TIMEOUT_SECONDS", default_value = "30",
        value_parser = value_parser!(u64).range(0..=3600), global = true)]
    pub database_statement_timeout_seconds: u64,
    /// Seconds between SIGTERM and closing the listener, during which `/readyz` answers 503 and
    /// everything else is still served, so a load balancer stops sending requests first.
    #[arg(long, env = "HEIMDALL_SHUTDOWN_GRACE_SECONDS", value_name = "HEIMDALL_SHUTDOWN_GRACE_SECONDS",
        default_value = "5", value_parser = value_parser!(u64).range(0..=300), global = true)]
    pub shutdown_grace_seconds: u64,
    /// Load balancers and reverse proxies in front of Heimdall, as comma-separated addresses or
    /// CIDR networks (`10.0.0.0/8,127.0.0.1`). Connections from them may name the client in
    /// `X-Forwarded-For`, which per-IP throttling, sessions and audit entries then record. Unset:
    /// the socket peer is the client and the header is ignored.
    #[arg(long, env = "HEIMDALL_TRUSTED_PROXIES", global = true)]
    pub trusted_proxies: Option<String>,
    /// Days the change feed keeps an event (`GET /v1/apps/{app_id}/events`); older ones are
    /// swept by maintenance.
    #[arg(long, env = "HEIMDALL_EVENT_RETENTION_DAYS", value_name = "HEIMDALL_EVENT_RETENTION_DAYS",
        default_value = "30", value_parser = value_parser!(u64).range(1..=3650), global = true)]
    pub event_retention_days: u64,
    /// NATS server to deliver the change feed to through JetStream, e.g. `nats://127.0.0.1:4222`.
    /// Unset: no NATS delivery.
    #[arg(long, env = "HEIMDALL_NATS_URL", global = true, hide_env_values = true)]
    pub nats_url: Option<String>,
    /// JetStream stream that captures the change feed's subjects (created when missing).
    #[arg(long, env = "HEIMDALL_NATS_STREAM", default_value = "HEIMDALL_EVENTS", global = true)]
    pub nats_stream: String,
    /// First token of the subjects events are published on: `<prefix>.<app slug>.<resource>.<verb>`.
    #[arg(long, env = "HEIMDALL_NATS_SUBJECT_PREFIX", default_value = "heimdall", global = true)]
    pub nats_subject_prefix: String,
    /// Networks webhook endpoints may resolve to although they are loopback, private or
    /// link-local, as comma-separated addresses or CIDR networks (`10.1.0.0/16,127.0.0.1`).
    /// Unset: such destinations are refused.
    #[arg(long, env = "HEIMDALL_WEBHOOK_ALLOW_NETWORKS", global = true)]
    pub webhook_allow_networks: Option<String>,
    /// Delays between a webhook delivery's attempts, comma-separated (`s`, `m`, `h` suffixes);
    /// after the last one fails, the endpoint is disabled.
    #[arg(long, env = "HEIMDALL_WEBHOOK_RETRY_SCHEDULE", default_value = "5s,5m,30m,2h,5h,10h,10h", global = true)]
    pub webhook_retry_schedule: String,
}

/// JetStream delivery of the change feed.
#[derive(Debug, Clone)]
pub struct NatsSettings {
    pub url: String,
    pub stream: String,
    pub subject_prefix: String,
}

/// Webhook delivery.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Destinations allowed although loopback, private or link-local.
    pub allow_networks: Vec<ipnet::IpNet>,
    /// Delay before each retry; the endpoint is disabled when the last retry fails.
    pub retry_schedule: Vec<Duration>,
    /// How long one delivery may take.
    pub timeout: Duration,
}

/// Validated configuration.
#[derive(Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// Public origin without a trailing slash; `None` derives it from the bound address.
    pub public_url: Option<String>,
    pub database_url: String,
    pub data_dir: PathBuf,
    /// Explicit master key; `None` uses (or creates) the development key file in `data_dir`.
    pub master_key: Option<[u8; 32]>,
    pub bootstrap_pak: Option<PlatformKey>,
    pub log: String,
    pub log_format: LogFormat,
    pub max_body_bytes: usize,
    pub key_rotation_period: Duration,
    pub key_publish_lead: Duration,
    /// How long a superseded key stays in the JWKS.
    pub key_overlap: Duration,
    pub key_pool_size: usize,
    /// Period of background maintenance (key rotation, pool refill, revocation reload).
    pub maintenance_interval: Duration,
    /// Period of the change-sequence poll that catches missed cache notifications (PostgreSQL).
    pub coherence_poll_interval: Duration,
    pub smtp_url: Option<String>,
    pub smtp_from: String,
    pub hash_concurrency: usize,
    pub access_token_ttl: Duration,
    pub trusted_proxies: TrustedProxies,
    /// How long the change feed keeps an event.
    pub event_retention: Duration,
    /// `None`: no NATS delivery.
    pub nats: Option<NatsSettings>,
    pub webhooks: WebhookSettings,
    pub database: PoolSettings,
    /// Between the stop signal and closing the listener: `/readyz` answers 503 meanwhile.
    pub shutdown_grace: Duration,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("public_url", &self.public_url)
            .field("data_dir", &self.data_dir)
            .field("master_key", &self.master_key.map(|_| "<redacted>"))
            .field("bootstrap_pak", &self.bootstrap_pak.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// A configuration error: names the variable and says what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

fn invalid(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError { variable, message: message.into() }
}

impl Config {
    /// Validates raw settings.
    pub fn from_settings(s: &Settings) -> Result<Self, ConfigError> {
        let listen: SocketAddr = s.listen.trim().parse().map_err(|_| {
            invalid("HEIMDALL_LISTEN", format!("'{}' is not a socket address like 127.0.0.1:8080", s.listen))
        })?;
        let public_url = s
            .public_url
            .as_deref()
            .filter(|v| !v.trim().is_empty())
            .map(normalize_origin)
            .transpose()
            .map_err(|m| invalid("HEIMDALL_PUBLIC_URL", m))?;
        let database_url = match s.database_url.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            Some(url)
                if url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://") =>
            {
                url.to_owned()
            }
            Some(_) => {
                return Err(invalid("HEIMDALL_DATABASE_URL", "must start with sqlite: or postgres://"));
            }
            None => format!("sqlite://{}/heimdall.db?mode=rwc", s.data_dir.display()),
        };
        let master_key = s
            .master_key
            .as_deref()
            .filter(|v| !v.trim().is_empty())
            .map(|raw| decode_master_key(raw.trim()))
            .transpose()
            .map_err(|m| invalid("HEIMDALL_MASTER_KEY", m))?;
        let bootstrap_pak = s
            .bootstrap_pak
            .as_deref()
            .filter(|v| !v.trim().is_empty())
            .map(|raw| {
                PlatformKey::parse(raw.trim()).ok_or_else(|| {
                    invalid(
                        "HEIMDALL_BOOTSTRAP_PAK",
                        "must be pcft_live_ followed by at least 32 characters of [A-Za-z0-9_-]",
                    )
                })
            })
            .transpose()?;
        Ok(Config {
            listen,
            public_url,
            database_url,
            data_dir: s.data_dir.clone(),
            master_key,
            bootstrap_pak,
            log: s.log.clone(),
            log_format: s.log_format,
            max_body_bytes: s.max_body_bytes,
            key_rotation_period: Duration::from_secs(86_400 * s.key_rotation_days),
            key_publish_lead: Duration::from_secs(s.key_publish_lead_seconds),
            key_overlap: Duration::from_secs(7 * 86_400),
            key_pool_size: s.key_pool_size,
            maintenance_interval: Duration::from_secs(30),
            coherence_poll_interval: Duration::from_secs(5),
            smtp_url: s.smtp_url.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned),
            smtp_from: s.smtp_from.clone(),
            hash_concurrency: s
                .hash_concurrency
                .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)),
            access_token_ttl: Duration::from_secs(s.access_token_ttl_seconds),
            trusted_proxies: TrustedProxies::parse(s.trusted_proxies.as_deref().unwrap_or(""))
                .map_err(|m| invalid("HEIMDALL_TRUSTED_PROXIES", m))?,
            event_retention: Duration::from_secs(86_400 * s.event_retention_days),
            nats: match s.nats_url.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                None => None,
                Some(url) => Some(NatsSettings {
                    url: url.to_owned(),
                    stream: subject_token(&s.nats_stream, false).map_err(|m| invalid("HEIMDALL_NATS_STREAM", m))?,
                    subject_prefix: subject_token(&s.nats_subject_prefix, true)
                        .map_err(|m| invalid("HEIMDALL_NATS_SUBJECT_PREFIX", m))?,
                }),
            },
            webhooks: WebhookSettings {
                allow_networks: parse_networks(s.webhook_allow_networks.as_deref().unwrap_or(""))
                    .map_err(|m| invalid("HEIMDALL_WEBHOOK_ALLOW_NETWORKS", m))?,
                retry_schedule: parse_schedule(&s.webhook_retry_schedule)
                    .map_err(|m| invalid("HEIMDALL_WEBHOOK_RETRY_SCHEDULE", m))?,
                timeout: Duration::from_secs(10),
            },
            database: PoolSettings {
                max_connections: s.database_max_connections,
                acquire_timeout: Duration::from_millis(s.database_acquire_timeout_ms),
                lock_timeout: Duration::from_millis(s.database_lock_timeout_ms),
                statement_timeout: (s.database_statement_timeout_seconds > 0)
                    .then(|| Duration::from_secs(s.database_statement_timeout_seconds)),
            },
            shutdown_grace: Duration::from_secs(s.shutdown_grace_seconds),
        })
    }

    /// Defaults for a database URL, as used by tests and tools.
    pub fn for_database(database_url: &str, data_dir: PathBuf) -> Self {
        let settings = Settings::parse_from_defaults();
        let mut config = Config::from_settings(&settings).expect("defaults are valid");
        config.database_url = database_url.to_owned();
        config.data_dir = data_dir;
        config
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

impl Settings {
    /// The defaults, ignoring the process environment.
    fn parse_from_defaults() -> Self {
        Settings {
            listen: "127.0.0.1:0".into(),
            public_url: None,
            database_url: None,
            data_dir: PathBuf::from("./data"),
            master_key: None,
            bootstrap_pak: None,
            log: "info".into(),
            log_format: LogFormat::Text,
            max_body_bytes: 1_048_576,
            key_rotation_days: 90,
            key_publish_lead_seconds: 3600,
            key_pool_size: 8,
            smtp_url: None,
            smtp_from: "Heimdall <no-reply@localhost>".into(),
            hash_concurrency: None,
            access_token_ttl_seconds: 3600,
            trusted_proxies: None,
            event_retention_days: 30,
            nats_url: None,
            nats_stream: "HEIMDALL_EVENTS".into(),
            nats_subject_prefix: "heimdall".into(),
            webhook_allow_networks: None,
            webhook_retry_schedule: "5s,5m,30m,2h,5h,10h,10h".into(),
            database_max_connections: None,
            database_acquire_timeout_ms: 2000,
            database_lock_timeout_ms: 5000,
            database_statement_timeout_seconds: 30,
            shutdown_grace_seconds: 5,
        }
    }
}

/// A stream name or subject token: letters, digits, `-` and `_` (and `.` between tokens of a
/// subject prefix).
fn subject_token(raw: &str, dots: bool) -> Result<String, String> {
    let v = raw.trim();
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.split('.').all(|t| !t.is_empty())
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (dots && b == b'.'));
    if ok { Ok(v.to_owned()) } else { Err(format!("'{v}' must be 1-64 characters of [A-Za-z0-9_-]")) }
}

/// Comma-separated addresses or CIDR networks.
fn parse_networks(raw: &str) -> Result<Vec<ipnet::IpNet>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.parse::<ipnet::IpNet>()
                .or_else(|_| v.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| format!("'{v}' is not an address or a CIDR network"))
        })
        .collect()
}

/// Comma-separated durations such as `5s,5m,2h`: at least one, each between 1 ms and 48 h.
fn parse_schedule(raw: &str) -> Result<Vec<Duration>, String> {
    let schedule = raw
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| {
            let (number, unit) = v.split_at(v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len()));
            let n: u64 = number.parse().map_err(|_| format!("'{v}' is not a duration like 30s, 5m or 2h"))?;
            let d = match unit {
                "ms" => Duration::from_millis(n),
                "s" => Duration::from_secs(n),
                "m" => Duration::from_secs(n * 60),
                "h" => Duration::from_secs(n * 3600),
                _ => return Err(format!("'{v}' is not a duration like 30s, 5m or 2h")),
            };
            if d.is_zero() || d > Duration::from_secs(48 * 3600) {
                return Err(format!("'{v}' must be between 1ms and 48h"));
            }
            Ok(d)
        })
        .collect::<Result<Vec<_>, _>>()?;
    if schedule.is_empty() || schedule.len() > 20 {
        return Err("names 1-20 delays".into());
    }
    Ok(schedule)
}

/// Decodes a base64 (standard or URL-safe) master key of exactly 32 bytes.
pub fn decode_master_key(raw: &str) -> Result<[u8; 32], String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(raw)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(raw.trim_end_matches('=')))
        .map_err(|_| "is not valid base64".to_owned())?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| format!("decodes to {} bytes; 32 are required (openssl rand -base64 32)", b.len()))
}

/// Normalises a public URL to its origin: lowercase scheme and host, default port dropped, no
/// trailing slash. Paths are refused because clients drop them (contract §1).
pub fn normalize_origin(raw: &str) -> Result<String, String> {
    let uri: Uri = raw.trim().parse().map_err(|_| format!("'{raw}' is not a URL"))?;
    let scheme = uri
        .scheme_str()
        .map(str::to_ascii_lowercase)
        .filter(|s| s == "http" || s == "https")
        .ok_or_else(|| format!("'{raw}' must start with http:// or https://"))?;
    let host = uri.host().ok_or_else(|| format!("'{raw}' has no host"))?.to_ascii_lowercase();
    if uri.path() != "/" && !uri.path().is_empty() || uri.query().is_some() {
        return Err(format!("'{raw}' must be an origin without a path or query"));
    }
    let port = match (scheme.as_str(), uri.port_u16()) {
        ("http", Some(80)) | ("https", Some(443)) | (_, None) => String::new(),
        (_, Some(p)) => format!(":{p}"),
    };
    Ok(format!("{scheme}://{host}{port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalised_like_the_sdk_does() {
        assert_eq!(normalize_origin("http://LocalHost:80/").unwrap(), "http://localhost");
        assert_eq!(normalize_origin("https://a.example:8443").unwrap(), "https://a.example:8443");
        assert!(normalize_origin("https://a.example/auth").is_err());
        assert!(normalize_origin("ftp://a.example").is_err());
    }

    #[test]
    fn master_key_must_be_32_bytes() {
        assert!(decode_master_key("c2hvcnQ=").unwrap_err().contains("32"));
        let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert_eq!(decode_master_key(&key).unwrap(), [7u8; 32]);
    }

    #[test]
    fn invalid_settings_name_the_variable() {
        let mut s = Settings::parse_from_defaults();
        s.listen = "nope".into();
        let err = Config::from_settings(&s).unwrap_err().to_string();
        assert!(err.starts_with("HEIMDALL_LISTEN:"), "{err}");
    }

    #[test]
    fn delivery_settings_are_checked() {
        let mut s = Settings::parse_from_defaults();
        let config = Config::from_settings(&s).unwrap();
        assert!(config.nats.is_none() && config.webhooks.allow_networks.is_empty());
        assert_eq!(config.webhooks.retry_schedule.len(), 7);
        let day: Duration = config.webhooks.retry_schedule.iter().sum();
        assert!(day > Duration::from_secs(20 * 3600) && day < Duration::from_secs(30 * 3600), "{day:?}");
        s.nats_url = Some("nats://127.0.0.1:4222".into());
        s.webhook_allow_networks = Some("127.0.0.1, 10.0.0.0/8".into());
        s.webhook_retry_schedule = "100ms,2s,1m".into();
        let config = Config::from_settings(&s).unwrap();
        assert_eq!(config.nats.unwrap().stream, "HEIMDALL_EVENTS");
        assert_eq!(config.webhooks.allow_networks.len(), 2);
        assert_eq!(config.webhooks.retry_schedule[0], Duration::from_millis(100));
        for (variable, change) in [
            (
                "HEIMDALL_WEBHOOK_RETRY_SCHEDULE",
                (|s: &mut Settings| s.webhook_retry_schedule = "5x".into()) as fn(&mut Settings),
            ),
            ("HEIMDALL_WEBHOOK_RETRY_SCHEDULE", |s| s.webhook_retry_schedule = "0s".into()),
            ("HEIMDALL_WEBHOOK_ALLOW_NETWORKS", |s| s.webhook_allow_networks = Some("10.0.0.0/33".into())),
            ("HEIMDALL_NATS_STREAM", |s| s.nats_stream = "a.b".into()),
            ("HEIMDALL_NATS_SUBJECT_PREFIX", |s| s.nats_subject_prefix = "a..b".into()),
        ] {
            let mut bad = s.clone();
            change(&mut bad);
            let err = Config::from_settings(&bad).unwrap_err().to_string();
            assert!(err.starts_with(variable), "{err}");
        }
    }

    /// The settings clap makes of `args`, or the first line of its error.
    fn settings(args: &[&str]) -> Result<Settings, String> {
        let argv = std::iter::once("heimdall").chain(args.iter().copied());
        Cli::try_parse_from(argv).map(|cli| cli.settings).map_err(|e| e.to_string().lines().next().unwrap().to_owned())
    }

    #[test]
    fn numbers_are_accepted_at_both_ends_of_their_range() {
        let s = settings(&[
            "--max-body-bytes=1024",
            "--key-rotation-days=3650",
            "--key-publish-lead-seconds=0",
            "--key-pool-size=1000",
            "--hash-concurrency=256",
            "--access-token-ttl-seconds=60",
            "--database-max-connections=1",
            "--database-acquire-timeout-ms=100",
            "--database-lock-timeout-ms=10",
            "--database-statement-timeout-seconds=0",
            "--shutdown-grace-seconds=0",
        ])
        .unwrap();
        let c = Config::from_settings(&s).unwrap();
        assert_eq!((c.max_body_bytes, c.key_pool_size, c.hash_concurrency), (1024, 1000, 256));
        assert_eq!(c.key_rotation_period, Duration::from_secs(3650 * 86_400));
        assert_eq!((c.key_publish_lead, c.access_token_ttl), (Duration::ZERO, Duration::from_secs(60)));
        assert_eq!((c.database.max_connections, c.database.statement_timeout), (Some(1), None));
        assert_eq!(
            (c.database.acquire_timeout, c.database.lock_timeout),
            (Duration::from_millis(100), Duration::from_millis(10))
        );
        assert_eq!(c.shutdown_grace, Duration::ZERO);
        let s = settings(&[
            "--max-body-bytes=67108864",
            "--key-rotation-days=1",
            "--key-publish-lead-seconds=86400",
            "--key-pool-size=0",
            "--hash-concurrency=1",
            "--access-token-ttl-seconds=86400",
            "--database-max-connections=1000",
            "--database-acquire-timeout-ms=60000",
            "--database-lock-timeout-ms=60000",
            "--database-statement-timeout-seconds=3600",
            "--shutdown-grace-seconds=300",
        ])
        .unwrap();
        let c = Config::from_settings(&s).unwrap();
        assert_eq!((c.max_body_bytes, c.key_pool_size, c.hash_concurrency), (64 << 20, 0, 1));
    }

    #[test]
    fn a_number_out_of_range_or_not_a_number_is_refused_on_one_line_naming_the_variable() {
        for (flag, variable, range, below, above) in [
            ("--max-body-bytes", "HEIMDALL_MAX_BODY_BYTES", "1024..=67108864", "1023", "67108865"),
            ("--key-rotation-days", "HEIMDALL_KEY_ROTATION_DAYS", "1..=3650", "0", "3651"),
            ("--key-publish-lead-seconds", "HEIMDALL_KEY_PUBLISH_LEAD_SECONDS", "0..=86400", "", "86401"),
            ("--key-pool-size", "HEIMDALL_KEY_POOL_SIZE", "0..=1000", "", "1001"),
            ("--hash-concurrency", "HEIMDALL_HASH_CONCURRENCY", "1..=256", "0", "257"),
            ("--access-token-ttl-seconds", "HEIMDALL_ACCESS_TOKEN_TTL_SECONDS", "60..=86400", "59", "86401"),
            ("--database-max-connections", "HEIMDALL_DATABASE_MAX_CONNECTIONS", "1..=1000", "0", "1001"),
            ("--database-acquire-timeout-ms", "HEIMDALL_DATABASE_ACQUIRE_TIMEOUT_MS", "100..=60000", "99", "60001"),
            ("--database-lock-timeout-ms", "HEIMDALL_DATABASE_LOCK_TIMEOUT_MS", "10..=60000", "9", "60001"),
            (
                "--database-statement-timeout-seconds",
                "HEIMDALL_DATABASE_STATEMENT_TIMEOUT_SECONDS",
                "0..=3600",
                "",
                "3601",
            ),
            ("--shutdown-grace-seconds", "HEIMDALL_SHUTDOWN_GRACE_SECONDS", "0..=300", "", "301"),
        ] {
            let named = format!("'{flag} <{variable}>'");
            for bad in [below, above].into_iter().filter(|v| !v.is_empty()) {
                let err = settings(&[&format!("{flag}={bad}")]).unwrap_err();
                assert_eq!(err, format!("error: invalid value '{bad}' for {named}: {bad} is not in {range}"));
            }
            for bad in ["lots", "-1", "1.5", " 8", "1e3", ""] {
                let err = settings(&[&format!("{flag}={bad}")]).unwrap_err();
                assert!(err.starts_with(&format!("error: invalid value '{bad}' for {named}: ")), "{err}");
            }
        }
    }

    #[test]
    fn parse_from_defaults_matches_the_declared_defaults() {
        let (clap, ours) = (settings(&[]).unwrap(), Settings::parse_from_defaults());
        assert_eq!(
            (clap.max_body_bytes, clap.key_rotation_days, clap.key_publish_lead_seconds, clap.key_pool_size),
            (ours.max_body_bytes, ours.key_rotation_days, ours.key_publish_lead_seconds, ours.key_pool_size)
        );
        assert_eq!(
            (clap.hash_concurrency, clap.access_token_ttl_seconds),
            (ours.hash_concurrency, ours.access_token_ttl_seconds)
        );
        assert_eq!((clap.data_dir, clap.log, clap.smtp_from), (ours.data_dir, ours.log, ours.smtp_from));
        assert_eq!(
            (clap.database_max_connections, clap.database_acquire_timeout_ms, clap.database_lock_timeout_ms),
            (ours.database_max_connections, ours.database_acquire_timeout_ms, ours.database_lock_timeout_ms)
        );
        assert_eq!(
            (clap.database_statement_timeout_seconds, clap.shutdown_grace_seconds),
            (ours.database_statement_timeout_seconds, ours.shutdown_grace_seconds)
        );
    }
}
