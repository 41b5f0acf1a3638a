//! Session rules: opening a session with its first refresh token, rotating refresh tokens with
//! reuse detection, closing sessions, and minting access tokens.
//!
//! Every refresh token is single-use. Presenting one that was already rotated means two parties
//! hold it: the whole session is revoked — except within a short grace after the rotation, where
//! the duplicate is most likely the same client racing itself and is only refused.

use sea_orm::{ActiveModelTrait, DatabaseTransaction, Set};
use uuid::Uuid;

use super::store;
use crate::access::Origin;
use crate::audit::Action;
use crate::audit::ActorKind;
use crate::error::Code;
use crate::tokens::TokenType;
use crate::{
    apps::AppRef,
    audit::{Actor, Entry},
    auth_config::AuthConfig,
    clock,
    coherence::Change,
    db, end_users,
    entity::{end_user, session},
    http::error::Error,
    rbac,
    secrets::{self, hash_secret},
    state::AppState,
    tokens::{self, AccessClaims},
};

/// Prefix of refresh tokens.
pub const REFRESH_PREFIX: &str = "hrt_";

/// What sign-in, sign-up, refresh and invite acceptance hand back.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
    pub session_id: Uuid,
}

/// The actor for audit entries about an end-user's own actions.
pub fn user_actor(user_id: Uuid) -> Actor {
    Actor::new(ActorKind::EndUser, user_id)
}

fn invalid_refresh() -> Error {
    Error::new(Code::InvalidRefreshToken, "the refresh token is invalid or expired")
}

/// A session just opened.
/// The session `id` of the app, live or not.
pub async fn find(state: &AppState, app_id: Uuid, id: Uuid) -> Result<Option<session::Model>, Error> {
    Ok(store::find(&state.db, app_id, id).await?)
}

pub struct Opened {
    pub session: session::Model,
    /// The first (raw) refresh token.
    pub refresh: String,
    /// Older sessions ended to respect `max_sessions`; announce them after the commit.
    pub evicted: Vec<Uuid>,
}

impl Opened {
    /// Tells every instance about evicted sessions (call after the commit).
    pub async fn announce(&self, state: &AppState) {
        for id in &self.evicted {
            state.bus.publish(Change::Session(*id)).await;
        }
    }
}

/// Opens a session inside `tx` with its first refresh token. Evicts the oldest live sessions
/// beyond the app's `max_sessions`.
pub async fn open(
    tx: &DatabaseTransaction,
    app_id: Uuid,
    user: &end_user::Model,
    amr: &[&str],
    ctx: &Origin,
    config: &AuthConfig,
) -> Result<Opened, Error> {
    let now = clock::now();
    let live = store::live(tx, app_id, user.id, now, None, None).await?;
    let keep = config.max_sessions.saturating_sub(1) as usize;
    let mut evicted = Vec::new();
    if live.len() > keep {
        for old in &live[..live.len() - keep] {
            store::revoke(tx, app_id, old.id, "evicted", now).await?;
            evicted.push(old.id);
        }
    }
    let session = session::ActiveModel {
        id: Set(Uuid::now_v7()),
        app_id: Set(app_id),
        end_user_id: Set(user.id),
        amr: Set(serde_json::json!(amr)),
        ip: Set(ctx.ip_string()),
        user_agent: Set(ctx.user_agent.clone()),
        created_at: Set(now),
        last_used_at: Set(now),
        expires_at: Set(now + config.session_duration()),
        revoked_at: Set(None),
        revoke_reason: Set(None),
    }
    .insert(tx)
    .await?;
    let refresh = format!("{REFRESH_PREFIX}{}", secrets::random_token());
    store::insert_refresh(tx, app_id, session.id, hash_secret(&refresh), now).await?;
    Ok(Opened { session, refresh, evicted })
}

/// Signs an access token for the user's session.
pub async fn access_token(
    state: &AppState,
    app: &AppRef,
    user: &end_user::Model,
    session: &session::Model,
) -> Result<(String, u64), Error> {
    let role = match user.role_id {
        Some(id) => rbac::store::find(&state.db, app.id, id).await?.map(|r| r.name),
        None => None,
    };
    let permissions = rbac::store::permissions_of(&state.db, app.id, user.role_id).await?;
    let amr: Vec<String> = serde_json::from_value(session.amr.clone()).unwrap_or_default();
    let ttl = state.config.access_token_ttl.as_secs();
    let now = chrono::Utc::now().timestamp();
    let claims = AccessClaims {
        iss: state.issuer(&app.slug),
        aud: app.slug.clone(),
        sub: user.id.to_string(),
        aid: app.id,
        sid: Some(session.id),
        role,
        token_type: TokenType::EndUser,
        amr: Some(amr),
        permissions,
        scope: None,
        iat: now,
        exp: now + ttl as i64,
        nbf: None,
        jti: Uuid::now_v7().to_string(),
    };
    Ok((tokens::sign(state, app.id, &claims).await?, ttl))
}

/// Signs the access token of a session just opened and bundles it with its refresh token.
pub async fn tokens_for(
    state: &AppState,
    app: &AppRef,
    user: &end_user::Model,
    session: &session::Model,
    refresh_token: String,
) -> Result<Tokens, Error> {
    let (access_token, expires_in) = access_token(state, app, user, session).await?;
    Ok(Tokens { access_token, refresh_token, expires_in, session_id: session.id })
}

/// Exchanges a refresh token for a new pair.
pub async fn refresh(state: &AppState, app: &AppRef, raw: &str, ctx: &Origin) -> Result<Tokens, Error> {
    app.require_active()?;
    let raw = raw.trim();
    if !raw.starts_with(REFRESH_PREFIX) {
        return Err(invalid_refresh());
    }
    let now = clock::now();
    let token = store::find_refresh(&state.db, app.id, &hash_secret(raw)).await?.ok_or_else(invalid_refresh)?;
    let session = store::find(&state.db, app.id, token.session_id)
        .await?
        .filter(|s| s.revoked_at.is_none() && s.expires_at > now)
        .ok_or_else(invalid_refresh)?;
    let reused = Error::new(Code::RefreshTokenReused, "this refresh token was already used");
    if let Some(used_at) = token.used_at {
        // Within the grace the same client is racing itself; after it, someone replays a stolen
        // token.
        if (now - used_at).to_std().is_ok_and(|since| since > state.config.refresh_reuse_grace) {
            let audit = Entry::new(app.id, &Actor::system(), Action::SessionRefreshReuseDetected, ctx)
                .resource("session", session.id)
                .details(serde_json::json!({ "end_user_id": session.end_user_id }));
            end_session(state, app.id, session.id, "refresh_token_reuse", audit).await?;
        }
        return Err(reused);
    }
    let user = end_users::store::find(&state.db, app.id, session.end_user_id)
        .await?
        .filter(|u| u.is_active())
        .ok_or_else(invalid_refresh)?;
    let tx = db::begin_write(&state.db).await?;
    if !store::mark_used(&tx, token.id, now).await? {
        return Err(reused);
    }
    let next = format!("{REFRESH_PREFIX}{}", secrets::random_token());
    store::insert_refresh(&tx, app.id, session.id, hash_secret(&next), now).await?;
    store::touch(&tx, session.id, now).await?;
    tx.commit().await?;
    tokens_for(state, app, &user, &session, next).await
}

/// Ends the session that owns the refresh token. Unknown tokens are ignored (no oracle).
pub async fn logout(state: &AppState, app: &AppRef, raw: &str, ctx: &Origin) -> Result<(), Error> {
    let Some(token) = store::find_refresh(&state.db, app.id, &hash_secret(raw.trim())).await? else {
        return Ok(());
    };
    let Some(session) = store::find(&state.db, app.id, token.session_id).await? else {
        return Ok(());
    };
    let audit = Entry::new(app.id, &user_actor(session.end_user_id), Action::SessionLogout, ctx)
        .resource("session", session.id);
    end_session(state, app.id, session.id, "logout", audit).await?;
    Ok(())
}

/// Revokes one session (any reason), audits it and tells every instance. False if it was not live.
pub async fn revoke_session(
    state: &AppState,
    app_id: Uuid,
    session_id: Uuid,
    reason: &str,
    actor: &Actor,
    ctx: &Origin,
) -> Result<bool, Error> {
    let audit = Entry::new(app_id, actor, Action::SessionRevoked, ctx)
        .resource("session", session_id)
        .details(serde_json::json!({ "reason": reason }));
    end_session(state, app_id, session_id, reason, audit).await
}

/// The one way a session ends: revoked in a write transaction with its audit entry (written
/// only if it was live), then announced to every instance.
async fn end_session(
    state: &AppState,
    app_id: Uuid,
    session_id: Uuid,
    reason: &str,
    audit: Entry,
) -> Result<bool, Error> {
    let tx = db::begin_write(&state.db).await?;
    let revoked = store::revoke(&tx, app_id, session_id, reason, clock::now()).await?;
    if revoked {
        audit.record(&tx).await?;
    }
    tx.commit().await?;
    if revoked {
        state.bus.publish(Change::Session(session_id)).await;
    }
    Ok(revoked)
}

// Wrappers added by the platform layering (authz engine, OAuth introspection and revocation; `find` already
// existed):
// they delegate to the store so other domains never name it. The integrator may merge them with
// the account group's sessions service functions.

/// What an authorization decision needs of session `sid` of `app_id` (see `store::facts`).
pub async fn facts(db: &crate::db::Db, app_id: Uuid, sid: Uuid) -> Result<Option<store::SessionRow>, Error> {
    Ok(store::facts(db, app_id, sid).await?)
}

/// The refresh-token row of `app_id` with SHA-256 `hash`.
pub async fn find_refresh(
    db: &crate::db::Db,
    app_id: Uuid,
    hash: &str,
) -> Result<Option<crate::entity::refresh_token::Model>, Error> {
    Ok(store::find_refresh(db, app_id, hash).await?)
}
