//! Session rules: opening a session with its first refresh token, rotating refresh tokens with
//! reuse detection, closing sessions, and minting access tokens.
//!
//! Every refresh token is single-use. Presenting one that was already rotated means two parties
//! hold it: the whole session is revoked (RFC 9700 §4.14.2) — unless the app's auth config grants
//! racing clients a leeway (`refresh_reuse_grace_seconds`, 0 by default) and the token was rotated
//! within it, where the duplicate is only refused.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::store::{self, NewSession};
use crate::access::Origin;
use crate::audit::Action;
use crate::audit::ActorKind;
use crate::error::{Code, Error};
use crate::tokens::TokenType;
use crate::{
    apps::AppRef,
    audit::{Actor, Entry},
    auth_config::AuthConfig,
    clock,
    coherence::Change,
    db::Db,
    entity::{end_user, refresh_token, session},
    rbac,
    secrets::{self, hash_secret},
    state::AppState,
    tenants,
    tokens::{self, AccessClaims},
    write::{self, Unit},
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

pub(super) fn invalid_refresh() -> Error {
    Error::new(Code::InvalidRefreshToken, "the refresh token is invalid or expired")
}

/// The session `id` of the app, live or not.
pub async fn find(state: &AppState, app_id: Uuid, id: Uuid) -> Result<Option<session::Model>, Error> {
    Ok(store::find(&state.db, app_id, id).await?)
}

/// The refresh-token row with this hash (see [`hash_secret`]), used or not.
pub async fn find_refresh(state: &AppState, app_id: Uuid, hash: &str) -> Result<Option<refresh_token::Model>, Error> {
    Ok(store::find_refresh(&state.db, app_id, hash).await?)
}

/// A user's live sessions, oldest first (`after`/`limit` page by id).
pub async fn live(
    state: &AppState,
    app_id: Uuid,
    user_id: Uuid,
    after: Option<Uuid>,
    limit: Option<u64>,
) -> Result<Vec<session::Model>, Error> {
    Ok(store::live(&state.db, app_id, user_id, clock::now(), after, limit).await?)
}

pub use store::SessionRow;

/// The facts of session `sid` of the app, in one query.
pub async fn facts(db: &Db, app_id: Uuid, sid: Uuid) -> Result<Option<SessionRow>, Error> {
    Ok(store::facts(db, app_id, sid).await?)
}

/// Revokes every live session of a user inside `unit`; returns how many. The caller audits and
/// announces the user's change.
pub async fn revoke_all(
    unit: &Unit,
    app_id: Uuid,
    user_id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<u64, Error> {
    Ok(store::revoke_all(unit.conn(), app_id, user_id, reason, now).await?)
}

/// A session just opened.
pub struct Opened {
    pub session: session::Model,
    /// The first (raw) refresh token.
    pub refresh: String,
}

/// Opens a session inside `unit` with its first refresh token, signed in to `tenant_id` when
/// given (the caller has admitted the user to it). Evicts the oldest live sessions
/// beyond the app's `max_sessions` (announced when the unit commits).
pub async fn open(
    unit: &mut Unit,
    app_id: Uuid,
    user: &end_user::Model,
    amr: &[&str],
    ctx: &Origin,
    config: &AuthConfig,
    tenant_id: Option<Uuid>,
) -> Result<Opened, Error> {
    let now = clock::now();
    let live = store::live(unit.conn(), app_id, user.id, now, None, None).await?;
    let keep = config.max_sessions.saturating_sub(1) as usize;
    if live.len() > keep {
        for old in &live[..live.len() - keep] {
            store::revoke(unit.conn(), app_id, old.id, "evicted", now).await?;
            unit.announce(Change::Session(old.id));
        }
    }
    let new = NewSession {
        app_id,
        end_user_id: user.id,
        amr: serde_json::json!(amr),
        ip: ctx.ip_string(),
        user_agent: ctx.user_agent.clone(),
        now,
        expires_at: now + config.session_duration(),
        tenant_id,
    };
    let session = store::insert(unit.conn(), new).await?;
    let refresh = format!("{REFRESH_PREFIX}{}", secrets::random_token());
    store::insert_refresh(unit.conn(), app_id, session.id, hash_secret(&refresh), now).await?;
    Ok(Opened { session, refresh })
}

/// Signs an access token for the user's session. A tenant session needs the role the user holds
/// in its tenant: `admitted` when the caller has just checked it (no second lookup), otherwise
/// it is looked up here.
pub async fn access_token(
    state: &AppState,
    app: &AppRef,
    user: &end_user::Model,
    session: &session::Model,
    admitted: Option<tenants::service::TenantRole>,
) -> Result<(String, u64), Error> {
    let role = match user.role_id {
        Some(id) => rbac::service::find(state, app.id, id).await?.map(|r| r.name),
        None => None,
    };
    // A tenant session's permissions are those of the role held in the tenant, as of now.
    let tenant = match admitted.filter(|role| Some(role.tenant_id) == session.tenant_id) {
        Some(role) => Some(role),
        None => tenants::service::admit_to(state, app.id, session.tenant_id, user.id).await?,
    };
    let permissions_role = tenant.as_ref().map_or(user.role_id, |t| Some(t.role_id));
    let permissions = rbac::service::permissions_of(&state.db, app.id, permissions_role).await?;
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
        tid: tenant.as_ref().map(|t| t.tenant_id),
        trole: tenant.map(|t| t.role_name),
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
    admitted: Option<tenants::service::TenantRole>,
) -> Result<Tokens, Error> {
    let (access_token, expires_in) = access_token(state, app, user, session, admitted).await?;
    Ok(Tokens { access_token, refresh_token, expires_in, session_id: session.id })
}

/// Rotates refresh token `token_id` of `session_id` (marks it used, stores its successor,
/// touches the session) and returns the successor; `None` when a concurrent refresh used it
/// first.
pub async fn rotate(
    state: &AppState,
    app_id: Uuid,
    token_id: Uuid,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<String>, Error> {
    let unit = write::begin(&state.db, &state.bus).await?;
    if !store::mark_used(unit.conn(), token_id, now).await? {
        return Ok(None);
    }
    let next = format!("{REFRESH_PREFIX}{}", secrets::random_token());
    store::insert_refresh(unit.conn(), app_id, session_id, hash_secret(&next), now).await?;
    store::touch(unit.conn(), session_id, now).await?;
    unit.commit_unaudited("refresh-token rotation is session bookkeeping; sign-in and revocation are audited").await?;
    Ok(Some(next))
}

/// Moves a session to another tenant of the app (`None`: app-wide) and rotates its refresh token
/// `token_id` like a refresh; `None` when a concurrent refresh used the token first. The caller
/// has admitted the user to the tenant.
pub async fn switch_tenant(
    state: &AppState,
    ctx: &Origin,
    app_id: Uuid,
    token_id: Uuid,
    session: &session::Model,
    tenant_id: Option<Uuid>,
) -> Result<Option<String>, Error> {
    let now = clock::now();
    let mut unit = write::begin(&state.db, &state.bus).await?;
    if !store::mark_used(unit.conn(), token_id, now).await? {
        return Ok(None);
    }
    let next = format!("{REFRESH_PREFIX}{}", secrets::random_token());
    store::insert_refresh(unit.conn(), app_id, session.id, hash_secret(&next), now).await?;
    store::touch(unit.conn(), session.id, now).await?;
    store::set_tenant(unit.conn(), session.id, tenant_id).await?;
    unit.audit(
        Entry::new(app_id, &user_actor(session.end_user_id), Action::SessionTenantSwitched, ctx)
            .resource("session", session.id)
            .details(serde_json::json!({ "from": session.tenant_id, "to": tenant_id })),
    )
    .await?;
    unit.announce(Change::Session(session.id));
    unit.commit().await?;
    Ok(Some(next))
}

/// Ends the session after one of its used refresh tokens was presented again (someone else may
/// hold it).
pub async fn end_for_reuse(
    state: &AppState,
    app_id: Uuid,
    session: &session::Model,
    ctx: &Origin,
) -> Result<bool, Error> {
    let audit = Entry::new(app_id, &Actor::system(), Action::SessionRefreshReuseDetected, ctx)
        .resource("session", session.id)
        .details(serde_json::json!({ "end_user_id": session.end_user_id }));
    end_session(state, app_id, session.id, "refresh_token_reuse", audit).await
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
    let mut unit = write::begin(&state.db, &state.bus).await?;
    let revoked = store::revoke(unit.conn(), app_id, session_id, reason, clock::now()).await?;
    if revoked {
        unit.audit(audit).await?;
        unit.announce(Change::Session(session_id));
        unit.commit().await?;
    } else {
        unit.commit_unaudited("nothing changed: the session was not live").await?;
    }
    Ok(revoked)
}

// Wrappers added by the platform layering (authz engine, OAuth introspection and revocation; `find` already
// existed):
// they delegate to the store so other domains never name it. The integrator may merge them with
// the account group's sessions service functions.
