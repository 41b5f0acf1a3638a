//! Sign-up and sign-in.
//!
//! Sign-in is built so its answers and timing do not reveal which accounts exist: unknown
//! identifiers are checked against a dummy hash, and wrong password, unknown user and empty
//! password get the same 401 body. Attempts are budgeted per account (the account lock, which
//! expires with its window — one budget whether the username or the email named it), per unknown
//! identifier (the same budget and answers, so unknown and known look alike) and per client
//! address, in shared counters. Each attempt is counted before its password is hashed and given
//! back if it succeeds, so however many arrive at once — on however many instances — at most
//! the budget is evaluated and the rest are answered 429 with `Retry-After`: the lock bounds
//! both the guesses and the CPU an attacker can spend.

use std::time::Duration;

use uuid::Uuid;

use super::service::{self, REFRESH_PREFIX, Tokens, invalid_refresh, user_actor};
use crate::access::Origin;
use crate::audit::Action;
use crate::audit::ActorKind;
use crate::error::{Code, Error};
use crate::{
    apps::AppRef,
    audit::{Actor, Entry},
    auth_config, clock,
    end_users::{
        self,
        identity::{Email, Username, identifier_key},
    },
    ratelimit::{self, Limit, Reservation},
    rbac,
    secrets::hash_secret,
    state::AppState,
    tenants, write,
};

/// How long an account (or an unknown identifier) stays locked after too many failures.
pub const LOCK_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failed sign-ins per IP per app in a lock window.
pub const IP_FAILURE_LIMIT: u32 = 50;

fn invalid_credentials() -> Error {
    Error::new(Code::InvalidCredentials, "invalid identifier or password")
}

/// A sign-in attempt.
pub struct Signin {
    pub identifier: String,
    pub password: String,
    pub tenant_id: Option<Uuid>,
}

/// A sign-up.
pub struct Signup {
    pub email: String,
    pub password: String,
    pub username: String,
    pub display_name: Option<String>,
}

fn id_key(app: &AppRef, identifier: &str) -> String {
    // Hashed: rate-limit keys must not hold identifiers in clear.
    format!("signin:id:{}:{}", app.id, hash_secret(&identifier_key(identifier)))
}

fn account_key(app: &AppRef, user_id: Uuid) -> String {
    format!("signin:account:{}:{user_id}", app.id)
}

fn ip_key(app: &AppRef, ctx: &Origin) -> String {
    format!("signin:ip:{}:{}", app.id, ratelimit::client_address(ctx.ip))
}

/// Gives back the attempts reserved for a sign-in that ended without being a failed guess, and
/// passes `error` on.
async fn give_back(state: &AppState, slots: [Option<Reservation>; 2], error: Error) -> Error {
    for slot in slots.into_iter().flatten() {
        state.limits.release(slot).await;
    }
    error
}

pub async fn signin(state: &AppState, app: &AppRef, ctx: &Origin, input: Signin) -> Result<Tokens, Error> {
    app.require_active()?;
    let config = auth_config::load(&state.db, app.id).await?;
    if !config.signin_enabled {
        return Err(Error::new(Code::SigninDisabled, "sign-in is disabled for this app"));
    }
    let lock = Limit { max: config.max_failed_login_attempts, window: LOCK_WINDOW };
    let ip_limit = Limit { max: IP_FAILURE_LIMIT, window: LOCK_WINDOW };
    // Each budget is drawn on before the hash is checked, so N concurrent attempts get at most
    // the budget's worth of argon2 verifications; the rest are 429 unevaluated.
    let ip_slot = state.limits.reserve(&ip_key(app, ctx), ip_limit).await?;

    let key = identifier_key(&input.identifier);
    let found = if key.contains('@') {
        // Only a verified primary email signs in.
        end_users::service::find_by_email(state, app.id, &key)
            .await
            .map(|u| u.filter(|u| u.email_verified_at.is_some()))
    } else {
        end_users::service::find_by_username(state, app.id, &key).await
    };
    let user = match found {
        Ok(user) => user,
        Err(e) => return Err(give_back(state, [Some(ip_slot), None], e).await),
    };
    // The lock belongs to the account, whichever identifier names it; an identifier naming none
    // has a budget of its own, drawn on and answered the same way.
    let lock_key = match &user {
        Some(u) => account_key(app, u.id),
        None => id_key(app, &input.identifier),
    };
    let lock_slot = match state.limits.reserve(&lock_key, lock).await {
        Ok(slot) => slot,
        // A locked account costs the address nothing: its budget counts evaluated failures.
        Err(e) => return Err(give_back(state, [Some(ip_slot), None], e).await),
    };

    let password = if input.password.len() > crate::passwords::MAX_PASSWORD_BYTES { "" } else { &input.password };
    let verified = match state.passwords.verify(user.as_ref().and_then(|u| u.password_hash.as_deref()), password).await
    {
        Ok(verified) => verified,
        // A busy hashing queue (503) is not the caller's failure.
        Err(e) => return Err(give_back(state, [Some(ip_slot), Some(lock_slot)], e).await),
    };
    let ok = verified.ok && !input.password.is_empty();

    let Some(user) = user.clone().filter(|_| ok) else {
        // The failure keeps both reservations: it is what they counted.
        let (actor, reason) = match &user {
            Some(u) => (user_actor(u.id), "wrong_password"),
            None => (Actor::unnamed(ActorKind::Anonymous), "unknown_identifier"),
        };
        let mut entry = Entry::new(app.id, &actor, Action::EndUserSigninFailed, ctx)
            .details(serde_json::json!({ "reason": reason }));
        if let Some(u) = &user {
            entry = entry.resource("end_user", u.id);
        }
        let mut unit = write::begin(&state.db, &state.bus).await?;
        unit.audit(entry).await?;
        unit.commit().await?;
        return Err(invalid_credentials());
    };
    if !user.is_active() {
        let inactive = Error::new(Code::AccountInactive, format!("the account is {}", user.status.as_str()));
        return Err(give_back(state, [Some(ip_slot), Some(lock_slot)], inactive).await);
    }
    state.limits.release(ip_slot).await;
    // A success forgets the account's earlier failures, not only this attempt.
    drop(lock_slot);
    state.limits.clear(&lock_key).await?;
    // Membership is told only to whoever proved the password: 403 when not a member.
    let admitted = tenants::service::admit_to(state, app.id, input.tenant_id, user.id).await?;

    let new_hash = if verified.needs_rehash { Some(state.passwords.hash(password).await?) } else { None };
    let mut unit = write::begin(&state.db, &state.bus).await?;
    let user = end_users::service::record_signin(&unit, user, new_hash).await?;
    let opened = service::open(&mut unit, app.id, &user, &["pwd"], ctx, &config, input.tenant_id).await?;
    unit.audit(
        Entry::new(app.id, &user_actor(user.id), Action::EndUserSignin, ctx)
            .resource("session", opened.session.id)
            .details(serde_json::json!({ "amr": ["pwd"], "tenant_id": input.tenant_id })),
    )
    .await?;
    unit.commit().await?;
    service::tokens_for(state, app, &user, &opened.session, opened.refresh, admitted).await
}

/// Creates an account and signs it in. The email starts unverified.
pub async fn signup(state: &AppState, app: &AppRef, ctx: &Origin, input: Signup) -> Result<Tokens, Error> {
    app.require_active()?;
    let config = auth_config::load(&state.db, app.id).await?;
    if !config.signup_enabled {
        return Err(Error::new(Code::SignupDisabled, "sign-up is disabled for this app"));
    }
    let username = Username::parse(&input.username)?;
    let email = Email::parse(&input.email)?;
    if !config.allows_signup_domain(email.domain()) {
        return Err(Error::new(
            Code::EmailDomainNotAllowed,
            format!("sign-up is not open to addresses at {}", email.domain()),
        ));
    }
    config.check_password(&input.password)?;
    let display_name = end_users::service::display_name(input.display_name.as_deref())?;
    let hash = state.passwords.hash(&input.password).await?;
    let role = rbac::service::find_by_name(state, app.id, &config.signup_default_role).await?;
    if role.is_none() {
        tracing::warn!(app = %app.id, role = %config.signup_default_role, "signup default role is missing; user gets no role");
    }
    let mut unit = write::begin(&state.db, &state.bus).await?;
    let user = end_users::service::insert(
        &unit,
        app.id,
        end_users::service::NewEndUser {
            username,
            email: Some(email),
            email_verified: false,
            display_name,
            password_hash: Some(hash),
            role_id: role.map(|r| r.id),
        },
    )
    .await?;
    let opened = service::open(&mut unit, app.id, &user, &["pwd"], ctx, &config, None).await?;
    unit.audit(Entry::new(app.id, &user_actor(user.id), Action::EndUserSignup, ctx).resource("end_user", user.id))
        .await?;
    unit.commit().await?;
    service::tokens_for(state, app, &user, &opened.session, opened.refresh, None).await
}

/// Exchanges a refresh token for a new pair.
pub async fn refresh(state: &AppState, app: &AppRef, raw: &str, ctx: &Origin) -> Result<Tokens, Error> {
    app.require_active()?;
    let raw = raw.trim();
    if !raw.starts_with(REFRESH_PREFIX) {
        return Err(invalid_refresh());
    }
    let now = clock::now();
    let token = service::find_refresh(state, app.id, &hash_secret(raw)).await?.ok_or_else(invalid_refresh)?;
    let session = service::find(state, app.id, token.session_id)
        .await?
        .filter(|s| s.revoked_at.is_none() && s.expires_at > now)
        .ok_or_else(invalid_refresh)?;
    let reused = Error::new(Code::RefreshTokenReused, "this refresh token was already used");
    if let Some(used_at) = token.used_at {
        end_for_reuse_unless_racing(state, app.id, &session, used_at, now, ctx).await?;
        return Err(reused);
    }
    let user = end_users::service::find(state, app.id, session.end_user_id)
        .await?
        .filter(|u| u.is_active())
        .ok_or_else(invalid_refresh)?;
    // A tenant session refreshes only while the user is still a member of the active tenant;
    // checked before the token is spent.
    let admitted = tenants::service::admit_to(state, app.id, session.tenant_id, user.id).await?;
    let Some(next) = service::rotate(state, app.id, token.id, session.id, now).await? else {
        // A concurrent refresh used it a moment ago: a reuse too.
        end_for_reuse_unless_racing(state, app.id, &session, now, now, ctx).await?;
        return Err(reused);
    };
    service::tokens_for(state, app, &user, &session, next, admitted).await
}

/// Switches the session of a refresh token to another tenant the user belongs to (`None`: back
/// to app-wide tokens), without a password: the refresh token is rotated as by a refresh, and the
/// new access token carries the tenant's `tid` and `trole`.
pub async fn switch_tenant(
    state: &AppState,
    app: &AppRef,
    raw: &str,
    tenant_id: Option<Uuid>,
    ctx: &Origin,
) -> Result<Tokens, Error> {
    app.require_active()?;
    let raw = raw.trim();
    if !raw.starts_with(REFRESH_PREFIX) {
        return Err(invalid_refresh());
    }
    let now = clock::now();
    let token = service::find_refresh(state, app.id, &hash_secret(raw)).await?.ok_or_else(invalid_refresh)?;
    let session = service::find(state, app.id, token.session_id)
        .await?
        .filter(|s| s.revoked_at.is_none() && s.expires_at > now)
        .ok_or_else(invalid_refresh)?;
    let reused = Error::new(Code::RefreshTokenReused, "this refresh token was already used");
    if let Some(used_at) = token.used_at {
        end_for_reuse_unless_racing(state, app.id, &session, used_at, now, ctx).await?;
        return Err(reused);
    }
    let user = end_users::service::find(state, app.id, session.end_user_id)
        .await?
        .filter(|u| u.is_active())
        .ok_or_else(invalid_refresh)?;
    let admitted = tenants::service::admit_to(state, app.id, tenant_id, user.id).await?;
    let Some(next) = service::switch_tenant(state, ctx, app.id, token.id, &session, tenant_id).await? else {
        end_for_reuse_unless_racing(state, app.id, &session, now, now, ctx).await?;
        return Err(reused);
    };
    let session = crate::entity::session::Model { tenant_id, ..session };
    service::tokens_for(state, app, &user, &session, next, admitted).await
}

/// A used refresh token was presented again (RFC 9700 §4.14.2): revokes the whole session, unless
/// the app grants racing clients a leeway (`refresh_reuse_grace_seconds`, 0 by default) and the
/// token was used within it — then the reuse is only refused.
async fn end_for_reuse_unless_racing(
    state: &AppState,
    app_id: Uuid,
    session: &crate::entity::session::Model,
    used_at: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
    ctx: &Origin,
) -> Result<(), Error> {
    let grace = auth_config::load(&state.db, app_id).await?.refresh_reuse_grace();
    // A clock behind the one that marked the token used counts as within the leeway.
    let racing = grace > chrono::Duration::zero() && now - used_at <= grace;
    if !racing {
        service::end_for_reuse(state, app_id, session, ctx).await?;
    }
    Ok(())
}
