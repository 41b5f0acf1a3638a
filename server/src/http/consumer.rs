//! Helpers for the consumer surface (`/{app_slug}/v1/...`): resolving the app, the end-user
//! bearer lane for `/me`, and the PAK lane of the code-minting endpoints.

use std::sync::Arc;

use poem::http::StatusCode;
use poem_openapi::{SecurityScheme, auth::Bearer};

use super::{
    auth::{AdminKey, AdminPrincipal, authenticate},
    error::ApiError,
};
use crate::{
    apps::AppRef,
    clock, end_users,
    entity::{end_user, session},
    sessions,
    state::AppState,
    tokens::{self, AccessClaims},
};

/// An end-user access token (RS256 JWT issued by this app).
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT")]
pub struct EndUserToken(pub Bearer);

/// The app behind a consumer route. Former slugs only serve the JWKS, not the auth flows.
pub async fn app(state: &AppState, slug: &str) -> Result<Arc<AppRef>, ApiError> {
    let app = state.directory.resolve(&state.db, slug).await?;
    if app.via_alias {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "app_not_found", format!("no app with slug '{slug}'")));
    }
    Ok(app)
}

/// 403 `app_inactive` unless the app is active (suspended and archived apps refuse sign-ins).
pub fn require_active(app: &AppRef) -> Result<(), ApiError> {
    if app.status == "active" {
        Ok(())
    } else {
        Err(ApiError::new(StatusCode::FORBIDDEN, "app_inactive", format!("the app is {}", app.status)))
    }
}

/// A signed-in end-user: their token's claims, account and live session.
pub struct SignedIn {
    pub claims: AccessClaims,
    pub user: end_user::Model,
    pub session: session::Model,
}

fn rejected(code: &'static str, message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code, message.to_owned())
}

/// Verifies an end-user access token for `app` and checks, against the database, that its
/// session is live and its account active — so logout, revocation, password reset, suspension
/// and deletion take effect at once on every instance.
pub async fn signed_in(state: &AppState, app: &AppRef, token: &EndUserToken) -> Result<SignedIn, ApiError> {
    require_active(app)?;
    let claims: AccessClaims = tokens::verify(state, app, token.0.token.trim()).await.map_err(|e| {
        tracing::debug!(reason = %e, "end-user token refused");
        match e {
            tokens::TokenError::Expired => rejected("token_expired", "the access token has expired"),
            _ => rejected("unauthorized", "invalid access token"),
        }
    })?;
    if claims.token_type != "end_user" {
        return Err(rejected("unauthorized", "not an end-user token"));
    }
    let (Some(sid), Ok(user_id)) = (claims.sid, claims.sub.parse()) else {
        return Err(rejected("unauthorized", "invalid access token"));
    };
    let session = sessions::store::find(&state.db, app.id, sid)
        .await?
        .filter(|s| s.end_user_id == user_id && s.revoked_at.is_none() && s.expires_at > clock::now())
        .ok_or_else(|| rejected("session_revoked", "the session has ended; sign in again"))?;
    let user = end_users::store::find(&state.db, app.id, user_id)
        .await?
        .filter(|u| u.status == "active")
        .ok_or_else(|| rejected("session_revoked", "the account is not active"))?;
    Ok(SignedIn { claims, user, session })
}

/// The PAK lane on consumer routes: the key must be able to see this app and hold `permission`.
pub async fn admin_for_app(
    state: &AppState,
    key: &AdminKey,
    app: &AppRef,
    permission: &str,
) -> Result<AdminPrincipal, ApiError> {
    let principal = authenticate(state, key).await?;
    let visible = match &principal {
        AdminPrincipal::Platform { workspace_id, .. } => *workspace_id == app.workspace_id,
        AdminPrincipal::App { app_id, .. } => *app_id == app.id,
    };
    if !visible {
        return Err(ApiError::forbidden("this key is not valid for this app"));
    }
    principal.require(permission)?;
    Ok(principal)
}
