//! Sign-up and sign-in.
//!
//! Sign-in is built so its answers and timing do not reveal which accounts exist: unknown
//! identifiers are checked against a dummy hash, and wrong password, unknown user and empty
//! password get the same 401 body. Failed attempts are counted per identifier (the account lock,
//! which expires with its window) and per IP, in shared counters, and answered with 429 and
//! `Retry-After` once over the limit — for unknown identifiers too.

use std::time::Duration;

use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
use uuid::Uuid;

use super::service::{self, Tokens, user_actor};
use crate::access::Origin;
use crate::audit::Action;
use crate::audit::ActorKind;
use crate::error::Code;
use crate::{
    apps::AppRef,
    audit::{Actor, Entry},
    auth_config, clock, db,
    end_users::{
        self,
        identity::{Email, Username, identifier_key},
    },
    http::error::Error,
    ratelimit::Limit,
    rbac,
    secrets::hash_secret,
    state::AppState,
};

/// How long an identifier stays locked after too many failures.
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

fn ip_key(app: &AppRef, ctx: &Origin) -> String {
    format!("signin:ip:{}:{}", app.id, ctx.ip_string().unwrap_or_default())
}

pub async fn signin(state: &AppState, app: &AppRef, ctx: &Origin, input: Signin) -> Result<Tokens, Error> {
    app.require_active()?;
    let config = auth_config::load(&state.db, app.id).await?;
    if !config.signin_enabled {
        return Err(Error::new(Code::SigninDisabled, "sign-in is disabled for this app"));
    }
    if input.tenant_id.is_some() {
        return Err(Error::new(Code::TenantMembershipRequired, "the account is not a member of that tenant"));
    }
    let lock = Limit { max: config.max_failed_login_attempts, window: LOCK_WINDOW };
    let ip_limit = Limit { max: IP_FAILURE_LIMIT, window: LOCK_WINDOW };
    let (id_key, ip_key) = (id_key(app, &input.identifier), ip_key(app, ctx));
    state.limits.check(&id_key, lock).await?;
    state.limits.check(&ip_key, ip_limit).await?;

    let key = identifier_key(&input.identifier);
    let user = if key.contains('@') {
        // Only a verified primary email signs in.
        end_users::store::find_by_email(&state.db, app.id, &key).await?.filter(|u| u.email_verified_at.is_some())
    } else {
        end_users::store::find_by_username(&state.db, app.id, &key).await?
    };
    let password = if input.password.len() > crate::passwords::MAX_PASSWORD_BYTES { "" } else { &input.password };
    let verified = state.passwords.verify(user.as_ref().and_then(|u| u.password_hash.as_deref()), password).await?;
    let ok = verified.ok && !input.password.is_empty();

    let Some(user) = user.clone().filter(|_| ok) else {
        state.limits.hit(&id_key, lock).await?;
        state.limits.hit(&ip_key, ip_limit).await?;
        let (actor, reason) = match &user {
            Some(u) => (user_actor(u.id), "wrong_password"),
            None => (Actor::unnamed(ActorKind::Anonymous), "unknown_identifier"),
        };
        let mut entry = Entry::new(app.id, &actor, Action::EndUserSigninFailed, ctx)
            .details(serde_json::json!({ "reason": reason }));
        if let Some(u) = &user {
            entry = entry.resource("end_user", u.id);
        }
        entry.record(&state.db).await?;
        return Err(invalid_credentials());
    };
    if !user.is_active() {
        return Err(Error::new(Code::AccountInactive, format!("the account is {}", user.status.as_str())));
    }
    state.limits.clear(&id_key).await?;

    let new_hash = if verified.needs_rehash { Some(state.passwords.hash(password).await?) } else { None };
    let tx = db::begin_write(&state.db).await?;
    let mut model = user.clone().into_active_model();
    if let Some(hash) = new_hash {
        model.password_hash = Set(Some(hash));
    }
    model.last_used_at = Set(Some(clock::now()));
    let user = model.update(&tx).await?;
    let opened = service::open(&tx, app.id, &user, &["pwd"], ctx, &config).await?;
    Entry::new(app.id, &user_actor(user.id), Action::EndUserSignin, ctx)
        .resource("session", opened.session.id)
        .details(serde_json::json!({ "amr": ["pwd"] }))
        .record(&tx)
        .await?;
    tx.commit().await?;
    opened.announce(state).await;
    service::tokens_for(state, app, &user, &opened.session, opened.refresh).await
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
    let role = rbac::store::find_by_name(&state.db, app.id, &config.signup_default_role).await?;
    if role.is_none() {
        tracing::warn!(app = %app.id, role = %config.signup_default_role, "signup default role is missing; user gets no role");
    }
    let tx = db::begin_write(&state.db).await?;
    let user = end_users::service::insert(
        &tx,
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
    let opened = service::open(&tx, app.id, &user, &["pwd"], ctx, &config).await?;
    Entry::new(app.id, &user_actor(user.id), Action::EndUserSignup, ctx)
        .resource("end_user", user.id)
        .record(&tx)
        .await?;
    tx.commit().await?;
    opened.announce(state).await;
    service::tokens_for(state, app, &user, &opened.session, opened.refresh).await
}
