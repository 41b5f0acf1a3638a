//! Scopes that pre-bind the app: `heimdall.app(app_id)` for administration and
//! `heimdall.consumer(slug)` for the consumer surface, mirroring the Node SDK's
//! `heimdall.app(appId).endUsers.list(..)` and `heimdall.consumer(slug).auth.signin(..)`.
//!
//! Every method is a thin wrapper over one generated operation: it fills in the app id or slug,
//! sends, and returns the generated response type or [`Error`](crate::Error). List operations
//! come in two forms, `list` for one page and `stream` for every item of every page (see
//! [`paginate`](mod@crate::paginate)). Request bodies accept the generated type or its builder
//! (`types::CreateRole::builder().name("editor")`). For options a wrapper does not expose, use
//! the generated builders through [`Heimdall::client`].
//!
//! Most wrappers, the sub-scope types and the list filters are generated from the spec by
//! `cargo xtask codegen` into `generated.rs`, and `cargo xtask check` fails when they drift, so
//! every operation of the API has its wrapper (or a documented reason not to, in
//! `xtask/src/codegen/scopes.rs`). Written by hand: this module (the three root scopes, paging)
//! and `extras.rs` (conveniences like `signin(identifier, password)` that no rule derives from
//! the spec).

use std::future::Future;

use futures::Stream;
use uuid::Uuid;

use crate::{
    Heimdall, ResponseValue,
    error::Result,
    jwks::{Claims, JwksVerifier, VerifyError},
    paginate::{Page, paginate_from},
    types,
};

mod extras;
// Laid out by prettyplease, not rustfmt: `cargo fmt` rewriting it would make `cargo xtask check`
// fail.
#[rustfmt::skip]
mod generated;

pub use generated::*;

/// Unwraps a generated call's answer.
fn ok<T>(result: std::result::Result<ResponseValue<T>, progenitor_client::Error<types::ErrorBody>>) -> Result<T> {
    Ok(result?.into_inner())
}

/// Paging of a list request: page size (1–200, server default 50) and where to start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListParams {
    /// Items per page.
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page; `None` for the first page.
    pub cursor: Option<String>,
}

impl ListParams {
    /// The first page, server-default size.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the page size.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Starts after the page that returned `cursor`.
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }
}

/// The parameters of a list method: [`ListParams`], or a struct of filters around one.
trait Paging: Clone + Send + 'static {
    /// The paging part, whose cursor a stream moves from page to page.
    fn page_mut(&mut self) -> &mut ListParams;
}

impl Paging for ListParams {
    fn page_mut(&mut self) -> &mut ListParams {
        self
    }
}

/// What every `stream` method does: every item from `params`' cursor on, by calling the scope's
/// `list` with the cursor of each next page.
fn stream_pages<S, P, L, F, Fut>(
    scope: &S,
    mut params: P,
    list: F,
) -> impl Stream<Item = Result<L::Item>> + Send + 'static
where
    S: Clone + Send + 'static,
    P: Paging,
    L: Page + Send + 'static,
    L::Item: Send + 'static,
    F: Fn(S, P) -> Fut + Send + 'static,
    Fut: Future<Output = Result<L>> + Send + 'static,
{
    let scope = scope.clone();
    let start = params.page_mut().cursor.take();
    paginate_from(start, move |cursor| {
        let mut params = params.clone();
        params.page_mut().cursor = cursor;
        list(scope.clone(), params)
    })
}

/// Workspace-level app administration, from [`Heimdall::apps`].
#[derive(Debug, Clone)]
pub struct AppsScope {
    heimdall: Heimdall,
}

impl AppsScope {
    pub(crate) fn new(heimdall: Heimdall) -> Self {
        AppsScope { heimdall }
    }
}

/// The caller's workspace and its own audit log, from [`Heimdall::workspaces`].
#[derive(Debug, Clone)]
pub struct WorkspacesScope {
    heimdall: Heimdall,
}

impl WorkspacesScope {
    pub(crate) fn new(heimdall: Heimdall) -> Self {
        WorkspacesScope { heimdall }
    }
}

/// Platform API keys (`pcft_live_…`) of the caller's workspace, from [`Heimdall::platform_keys`].
#[derive(Debug, Clone)]
pub struct PlatformKeysScope {
    heimdall: Heimdall,
}

impl PlatformKeysScope {
    pub(crate) fn new(heimdall: Heimdall) -> Self {
        PlatformKeysScope { heimdall }
    }
}

/// Administration of one app, from [`Heimdall::app`]. Sub-scopes group the operations by
/// resource, each with the app id filled in.
#[derive(Debug, Clone)]
pub struct AppScope {
    heimdall: Heimdall,
    app_id: Uuid,
}

impl AppScope {
    pub(crate) fn new(heimdall: Heimdall, app_id: Uuid) -> Self {
        AppScope { heimdall, app_id }
    }

    /// The app's id.
    pub fn id(&self) -> Uuid {
        self.app_id
    }

    /// The client this scope sends with.
    pub fn heimdall(&self) -> &Heimdall {
        &self.heimdall
    }
}

/// The consumer surface of one app, from [`Heimdall::consumer`].
#[derive(Debug, Clone)]
pub struct ConsumerScope {
    heimdall: Heimdall,
    slug: String,
}

impl ConsumerScope {
    pub(crate) fn new(heimdall: Heimdall, slug: String) -> Self {
        ConsumerScope { heimdall, slug }
    }

    /// The app's slug.
    pub fn slug(&self) -> &str {
        &self.slug
    }

    /// The client this scope sends with.
    pub fn heimdall(&self) -> &Heimdall {
        &self.heimdall
    }

    /// The app's token verifier, shared by every scope of this slug on this client.
    pub fn verifier(&self) -> JwksVerifier {
        self.heimdall.verifier(&self.slug)
    }

    /// Verifies an access token of this app locally against its cached JWKS: signature, RS256,
    /// `iss` = `<origin>/<slug>`, `aud` = slug, `exp`/`nbf`. See [`crate::jwks`].
    pub async fn verify_token(&self, token: &str) -> std::result::Result<Claims, VerifyError> {
        self.verifier().verify(token).await
    }

    /// Like [`verify_token`](Self::verify_token) with claims of the caller's type.
    pub async fn verify_token_as<C: serde::de::DeserializeOwned>(
        &self,
        token: &str,
    ) -> std::result::Result<C, VerifyError> {
        self.verifier().verify_as(token).await
    }
}
