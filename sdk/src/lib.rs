//! Typed Rust client for Heimdall.
//!
//! `generated` is produced from `openapi.json` by `cargo xtask codegen` (progenitor, builder
//! interface, one extension trait per tag) and committed so API changes show up in review; never
//! edit it by hand, and `cargo xtask check` fails CI when it drifts from the server. Hand-written
//! conveniences belong in their own modules next to it, not in the generated file.
//!
//! ```no_run
//! use heimdall_sdk::{Client, prelude::*};
//!
//! # async fn example() -> Result<(), heimdall_sdk::Error<heimdall_sdk::types::ErrorBody>> {
//! let client = Client::new("http://127.0.0.1:8080");
//! let jwks = client.jwks_get().app_slug("acme").send().await?;
//! println!("{} keys", jwks.keys.len());
//! # Ok(())
//! # }
//! ```

// Generated code follows progenitor's idioms and carries the server's doc text verbatim: lint the
// spec and the generator, not their output. `missing_docs` is allowed so the hand-written modules
// can deny it. The file is laid out by prettyplease, not rustfmt: `cargo fmt` rewriting it would
// make `cargo xtask check` fail.
#[rustfmt::skip]
#[allow(clippy::all, missing_docs)]
mod generated;

pub use generated::*;
