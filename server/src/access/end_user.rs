//! The consumer lanes: which app a `/{app_slug}/v1/...` route names, and the signed-in end-user
//! behind an access token.

use std::sync::Arc;

use crate::{
    apps::AppRef,
    clock, end_users,
    entity::{end_user, session},
    error::{Code, Error},
    sessions,
    state::AppState,
    tokens::{self, AccessClaims, TokenError, TokenType},
};

/// The app behind a consumer route. Former slugs only serve the JWKS, not the auth flows.
pub async fn consumer_app(state: &AppState, slug: &str) -> Result<Arc<AppRef>, Error> {
    let app = state.directory.resolve(&state.db, slug).await?;
    if app.via_alias {
        return Err(crate::apps::directory::no_such_app(slug));
    }
    Ok(app)
}

/// A signed-in end-user: their token's claims, account and live session.
pub struct SignedIn {
    pub claims: AccessClaims,
    pub user: end_user::Model,
    pub session: session::Model,
}

/// Verifies an end-user access token for `app` and checks, against the database, that its
/// session is live and its account active — so logout, revocation, password reset, suspension
/// and deletion take effect at once on every instance. A server fault while verifying stays a
/// server fault (never "invalid token").
pub async fn signed_in(state: &AppState, app: &AppRef, raw_token: &str) -> Result<SignedIn, Error> {
    app.require_active()?;
    let claims: AccessClaims = match tokens::verify(state, app, raw_token.trim()).await? {
        Ok(claims) => claims,
        Err(TokenError::Expired) => return Err(Error::new(Code::TokenExpired, "the access token has expired")),
        Err(e) => {
            tracing::debug!(reason = %e, "end-user token refused");
            return Err(Error::unauthorized("invalid access token"));
        }
    };
    if claims.token_type != TokenType::EndUser {
        return Err(Error::unauthorized("not an end-user token"));
    }
    let (Some(sid), Ok(user_id)) = (claims.sid, claims.sub.parse()) else {
        return Err(Error::unauthorized("invalid access token"));
    };
    let revoked = || Error::new(Code::SessionRevoked, "the session has ended; sign in again");
    let session = sessions::service::find(state, app.id, sid)
        .await?
        .filter(|s| s.end_user_id == user_id && s.revoked_at.is_none() && s.expires_at > clock::now())
        .ok_or_else(revoked)?;
    let user = end_users::service::find(state, app.id, user_id)
        .await?
        .filter(|u| u.is_active())
        .ok_or_else(|| Error::new(Code::SessionRevoked, "the account is not active"))?;
    Ok(SignedIn { claims, user, session })
}
