//! The entry point: [`Heimdall`], built once per credential with [`Heimdall::builder`].
//!
//! One credential goes on every request of an instance as `Authorization: Bearer …`, exactly as
//! the Node SDK does (contract §1.1): a platform API key for workspace and app administration,
//! an app API key for one app's administration, or an end-user's access token for `/me`. Public
//! consumer operations (sign-in, refresh, …) ignore whatever credential arrives, so a backend
//! holding a platform key can use one instance for those too.
//!
//! The base URL's path is ignored: Heimdall serves at the root of its origin, and tokens name
//! that origin in `iss` (contract §1 and §8).

use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, Mutex},
    time::Duration,
};

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use uuid::Uuid;

use crate::{
    Client,
    error::{Error, Result},
    jwks::{JwksVerifier, VerifierOptions, origin},
    prelude::*,
    scoped::{AppScope, AppsScope, ConsumerScope, PlatformKeysScope, WorkspacesScope},
    types,
};

/// What an instance authenticates with. Every kind is sent as `Authorization: Bearer <secret>`;
/// the variants say what the secret is for. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// A platform API key (`pcft_live_…`): every app of its workspace.
    PlatformKey(String),
    /// An app API key (`hdk_live_…`): one app, limited to the key's permissions.
    AppKey(String),
    /// An access token: an end-user's (for `/me`) or another JWT the server accepts.
    Bearer(String),
}

impl Credential {
    fn secret(&self) -> &str {
        match self {
            Credential::PlatformKey(s) | Credential::AppKey(s) | Credential::Bearer(s) => s,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Credential::PlatformKey(_) => "PlatformKey",
            Credential::AppKey(_) => "AppKey",
            Credential::Bearer(_) => "Bearer",
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(<redacted>)", self.kind())
    }
}

/// HTTP settings kept so [`Heimdall::with_credential`] can build an equal client.
#[derive(Debug, Clone)]
struct HttpSettings {
    timeout: Duration,
    connect_timeout: Duration,
    user_agent: String,
}

/// Builds a [`Heimdall`].
#[derive(Debug, Clone)]
pub struct HeimdallBuilder {
    base_url: Option<String>,
    credential: Option<Credential>,
    http: HttpSettings,
    verifier_options: VerifierOptions,
}

impl HeimdallBuilder {
    /// Where Heimdall is, e.g. `https://auth.example.com`. Required; only the origin counts.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// The credential sent on every request. Without one, requests go out anonymous.
    pub fn credential(mut self, credential: Credential) -> Self {
        self.credential = Some(credential);
        self
    }

    /// Limit on a whole request. Default 15 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.http.timeout = timeout;
        self
    }

    /// Limit on opening a connection. Default 5 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.http.connect_timeout = timeout;
        self
    }

    /// The `User-Agent` header. Default `heimdall-sdk-rust/<version>`.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.http.user_agent = user_agent.into();
        self
    }

    /// Options of the token verifiers behind [`ConsumerScope::verify_token`].
    pub fn verifier_options(mut self, options: VerifierOptions) -> Self {
        self.verifier_options = options;
        self
    }

    /// Checks the settings and builds the client. Nothing is sent yet.
    pub fn build(self) -> Result<Heimdall> {
        let base_url = self.base_url.ok_or_else(|| Error::Config("a base URL is required".into()))?;
        let origin = origin(&base_url)?;
        let client = Client::new_with_client(&origin, http_client(&self.http, self.credential.as_ref())?);
        let jwks_http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(self.http.connect_timeout)
            .user_agent(&self.http.user_agent)
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        // Fail here, not on the first verification, when the verifier options are unusable.
        JwksVerifier::builder(origin.clone(), "check")
            .options(self.verifier_options.clone())
            .http_client(jwks_http.clone())
            .build()?;
        Ok(Heimdall {
            inner: Arc::new(Inner {
                client,
                origin,
                http: self.http,
                verifier_options: self.verifier_options,
                verifiers: Arc::new(Verifiers { http: jwks_http, by_slug: Mutex::default() }),
            }),
        })
    }
}

fn http_client(settings: &HttpSettings, credential: Option<&Credential>) -> Result<reqwest::Client> {
    let mut headers = HeaderMap::new();
    if let Some(credential) = credential {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", credential.secret()))
            .map_err(|_| Error::Config("the credential contains characters a header cannot carry".into()))?;
        value.set_sensitive(true);
        headers.insert(AUTHORIZATION, value);
    }
    reqwest::Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(settings.timeout)
        .connect_timeout(settings.connect_timeout)
        .user_agent(&settings.user_agent)
        .build()
        .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))
}

/// Verifiers by slug, shared by every instance derived from one builder, so that each app's
/// key set is fetched and cached once however many scopes ask for it.
struct Verifiers {
    http: reqwest::Client,
    by_slug: Mutex<HashMap<String, JwksVerifier>>,
}

struct Inner {
    client: Client,
    origin: String,
    http: HttpSettings,
    verifier_options: VerifierOptions,
    verifiers: Arc<Verifiers>,
}

/// A Heimdall client. Cheap to clone; clones share connections and token-verifier caches.
///
/// ```no_run
/// use heimdall_sdk::{Credential, Heimdall};
///
/// # fn example() -> Result<(), heimdall_sdk::Error> {
/// let heimdall = Heimdall::builder()
///     .base_url("https://auth.example.com")
///     .credential(Credential::PlatformKey(std::env::var("HEIMDALL_PAK").unwrap()))
///     .build()?;
/// let acme = heimdall.consumer("acme");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Heimdall {
    inner: Arc<Inner>,
}

impl fmt::Debug for Heimdall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Heimdall").field("base_url", &self.inner.origin).finish_non_exhaustive()
    }
}

impl Heimdall {
    /// Starts building a client.
    pub fn builder() -> HeimdallBuilder {
        HeimdallBuilder {
            base_url: None,
            credential: None,
            http: HttpSettings {
                timeout: Duration::from_secs(15),
                connect_timeout: Duration::from_secs(5),
                user_agent: concat!("heimdall-sdk-rust/", env!("CARGO_PKG_VERSION")).to_owned(),
            },
            verifier_options: VerifierOptions::default(),
        }
    }

    /// The generated client, for every operation with all its options (`prelude::*` brings the
    /// per-tag extension traits into scope).
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The origin requests go to (`scheme://host[:port]`).
    pub fn base_url(&self) -> &str {
        &self.inner.origin
    }

    /// The same server with another credential, e.g. an end-user's access token for `/me`.
    /// Builds a new HTTP client (its own connection pool); token-verifier caches are shared.
    pub fn with_credential(&self, credential: Credential) -> Result<Heimdall> {
        let client = Client::new_with_client(&self.inner.origin, http_client(&self.inner.http, Some(&credential))?);
        Ok(Heimdall {
            inner: Arc::new(Inner {
                client,
                origin: self.inner.origin.clone(),
                http: self.inner.http.clone(),
                verifier_options: self.inner.verifier_options.clone(),
                verifiers: self.inner.verifiers.clone(),
            }),
        })
    }

    /// Workspace-level app administration: list and create apps.
    pub fn apps(&self) -> AppsScope {
        AppsScope::new(self.clone())
    }

    /// The caller's workspace and its own audit log (platform API key).
    pub fn workspaces(&self) -> WorkspacesScope {
        WorkspacesScope::new(self.clone())
    }

    /// Platform API keys of the caller's workspace: create, list, revoke (platform API key).
    pub fn platform_keys(&self) -> PlatformKeysScope {
        PlatformKeysScope::new(self.clone())
    }

    /// Administration of one app, by its id (`App::id`).
    pub fn app(&self, app_id: Uuid) -> AppScope {
        AppScope::new(self.clone(), app_id)
    }

    /// The consumer surface of one app, by its slug: sign-in, `/me`, OAuth, authorization and
    /// local token verification.
    pub fn consumer(&self, app_slug: impl Into<String>) -> ConsumerScope {
        ConsumerScope::new(self.clone(), app_slug.into())
    }

    /// Counts of apps, end-users and app API keys in the credential's workspace.
    pub async fn stats(&self, workspace_id: Option<Uuid>) -> Result<types::PlatformStats> {
        let mut request = self.client().stats_get();
        if let Some(workspace_id) = workspace_id {
            request = request.workspace_id(workspace_id);
        }
        Ok(request.send().await?.into_inner())
    }

    /// The token verifier of app `app_slug`, created on first use and shared afterwards.
    pub fn verifier(&self, app_slug: &str) -> JwksVerifier {
        let verifiers = &self.inner.verifiers;
        let mut by_slug = verifiers.by_slug.lock().expect("verifier registry");
        // The common case, without allocating the key.
        if let Some(verifier) = by_slug.get(app_slug) {
            return verifier.clone();
        }
        by_slug
            .entry(app_slug.to_owned())
            .or_insert_with(|| {
                JwksVerifier::builder(self.inner.origin.clone(), app_slug)
                    .options(self.inner.verifier_options.clone())
                    .http_client(verifiers.http.clone())
                    .build()
                    .expect("origin and options were checked when the client was built")
            })
            .clone()
    }
}
