//! How credentials travel on HTTP: the bearer security schemes of the spec, and the thin bridge
//! from them to the access rules.

use poem_openapi::{SecurityScheme, auth::Bearer};

use super::{admin, end_user, principal::AdminPrincipal};
use crate::{apps::AppRef, error::Error, state::AppState};

pub use super::end_user::SignedIn;

/// A platform API key (`pcft_live_…`) or an app API key (`hdk_live_…`) as a bearer token.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "pcft_live_… | hdk_live_…")]
pub struct AdminKey(pub Bearer);

/// An end-user access token (RS256 JWT issued by this app).
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT")]
pub struct EndUserToken(pub Bearer);

/// The principal behind an admin request.
pub async fn authenticate(state: &AppState, key: &AdminKey) -> Result<AdminPrincipal, Error> {
    admin::authenticate(state, &key.0.token).await
}

/// The API-key lane of consumer routes (code minting).
pub async fn admin_for_app(
    state: &AppState,
    key: &AdminKey,
    app: &AppRef,
    permission: &str,
) -> Result<AdminPrincipal, Error> {
    admin::for_consumer_app(state, &key.0.token, app, permission).await
}

/// The signed-in end-user behind a `/me` request.
pub async fn signed_in(state: &AppState, app: &AppRef, token: &EndUserToken) -> Result<SignedIn, Error> {
    end_user::signed_in(state, app, &token.0.token).await
}
