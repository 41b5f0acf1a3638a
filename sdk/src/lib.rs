//! Typed Rust client for Heimdall, a multi-tenant authentication and authorization server.
//!
//! # Quickstart
//!
//! A backend with a platform API key provisions an app and an M2M credential, signs an end-user
//! in, verifies the access token locally and calls `/me` as that user:
//!
//! ```no_run
//! use heimdall_sdk::{Credential, Heimdall, types};
//!
//! # async fn quickstart() -> Result<(), heimdall_sdk::Error> {
//! let heimdall = Heimdall::builder()
//!     .base_url("http://127.0.0.1:8080")
//!     .credential(Credential::PlatformKey(std::env::var("HEIMDALL_PAK").unwrap_or_default()))
//!     .build()?;
//!
//! // Administration: `heimdall.app(id)` pre-binds the app.
//! let app = heimdall.apps().create(types::CreateApp::builder().slug("acme").display_name("Acme")).await?;
//! let admin = heimdall.app(app.id);
//! admin.permissions().create(types::CreatePermission::builder().resource("docs").action("read")).await?;
//! admin.roles().set_permissions("member", ["docs.read"]).await?;
//! let billing = admin
//!     .credentials()
//!     .create(types::CreateM2mClient::builder().name("billing").scopes(vec!["docs.read".to_owned()]))
//!     .await?;
//!
//! // The consumer surface: `heimdall.consumer(slug)` pre-binds the slug.
//! let acme = heimdall.consumer("acme");
//! let signup = types::SignupRequest::builder().username("ada").email("ada@example.com").password("Correct-Horse-42");
//! let tokens = acme.auth().signup(signup).await?;
//! let claims = acme.verify_token(&tokens.access_token).await?; // local: cached JWKS, no round trip
//! assert!(claims.has_permission("docs.read"));
//!
//! // The end-user's own view, with their access token as the credential.
//! let me = heimdall.with_credential(Credential::Bearer(tokens.access_token))?.consumer("acme").me().get().await?;
//! println!("{} signed in", me.username);
//!
//! // A service with the M2M credential.
//! let m2m = acme.oauth().client_credentials(billing.client_id, billing.client_secret).await?;
//! assert!(acme.verify_token(&m2m.access_token).await?.is_m2m());
//! # Ok(())
//! # }
//! ```
//!
//! # Layout
//!
//! - `generated` (re-exported at the root: [`Client`], [`types`], [`prelude`]) is produced from
//!   `openapi.json` by `cargo xtask codegen` (progenitor, builder interface, one extension trait
//!   per tag) and committed so API changes show up in review; never edit it by hand, and
//!   `cargo xtask check` fails CI when it drifts from the server.
//! - [`client`]: [`Heimdall`], its builder and the [`Credential`] it sends.
//! - [`scoped`]: `heimdall.app(id)` and `heimdall.consumer(slug)` with their sub-scopes; thin
//!   wrappers returning the generated types. The wrappers, the sub-scope types and the list
//!   filters are generated from the spec as well (`scoped/generated.rs`, by the same
//!   `cargo xtask codegen` and under the same `check`; an xtask test requires every operation to
//!   have a wrapper or a stated reason not to). The root scopes, paging and the conveniences no
//!   rule derives from the spec (`signin(identifier, password)`, `client_credentials(..)`) are
//!   written by hand (`scoped/mod.rs`, `scoped/extras.rs`).
//! - [`paginate`](mod@paginate): a [`futures::Stream`] over every page of any list.
//! - [`error`]: one [`Error`] with the HTTP status and Heimdall's `{code, message}`.
//! - [`jwks`]: the caching [`JwksVerifier`] behind `consumer.verify_token(..)`, one module per
//!   concern (errors, options, claims, fetching, the cache, the verifier). Its errors depend on
//!   nothing else in the crate, so [`error`] wraps them without a cycle.
//! - [`authenticator`]: [`Authenticator`] for backends, with poem and axum middleware behind the
//!   `poem` and `axum` features.
//!
//! The verification micro-benchmark is the `verify_bench` example (which `cargo xtask bench`
//! includes), not part of this API.
//!
//! Errors from the generated builders (`progenitor_client::Error<types::ErrorBody>`) convert into
//! [`Error`] with `?`.
//!
//! The expected token issuer is `<origin of the base URL>/<slug>`, computed like the Node SDK:
//!
//! ```
//! assert_eq!(heimdall_sdk::jwks::issuer_for("http://LocalHost:80/api/", "acme")?, "http://localhost/acme");
//! # Ok::<(), heimdall_sdk::Error>(())
//! ```

#![warn(missing_docs)]

// Generated code follows progenitor's idioms and carries the server's doc text verbatim: lint the
// spec and the generator, not their output. `missing_docs` is allowed there so the hand-written
// modules can warn on it. The file is laid out by prettyplease, not rustfmt: `cargo fmt`
// rewriting it would make `cargo xtask check` fail.
#[rustfmt::skip]
#[allow(clippy::all, missing_docs)]
mod generated;

pub mod authenticator;
pub mod client;
pub mod error;
pub mod jwks;
pub mod paginate;
pub mod scoped;

pub use generated::*;

pub use authenticator::{AuthError, Authenticator};
pub use client::{Credential, Heimdall, HeimdallBuilder};
// Shadows progenitor's `Error` from the glob above: the SDK's own error type is the one to use.
pub use error::{Error, Result};
pub use jwks::{Claims, JwksVerifier, TokenType, VerifierOptions, VerifyError};
pub use paginate::{pages, paginate};
pub use scoped::{AppScope, ConsumerScope, ListParams};
