//! End-user rules shared by sign-up, invites and the admin API.

use std::collections::HashMap;

use uuid::Uuid;

use super::{
    identity::{Email, Username},
    store::{self, Patch},
};
use crate::access::AdminPrincipal;
use crate::access::Origin;
use crate::audit::{Action, Actor};
use crate::entity::end_user::EndUserStatus;
use crate::error::{Code, Error};
use crate::{
    audit::Entry,
    clock,
    coherence::Change,
    db,
    entity::end_user,
    permissions, rbac, sessions,
    state::AppState,
    write::{self, Unit},
};

pub use super::store::{ListFilter, NewEndUser};

/// Status values of an end-user.
pub const STATUSES: [&str; 3] = ["active", "suspended", "deactivated"];

/// A display name: trimmed, at most 120 characters; empty means none.
pub fn display_name(raw: Option<&str>) -> Result<Option<String>, Error> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if v.chars().count() > 120 => Err(Error::validation("display_name", "must be at most 120 characters")),
        Some(v) => Ok(Some(v.to_owned())),
    }
}

fn account_exists() -> Error {
    Error::new(Code::AccountExists, "the username or email is already registered in this app")
}

/// Inserts an account in `unit`; 409 `username_taken` / `email_taken` when either is
/// registered already.
pub async fn insert(unit: &Unit, app_id: Uuid, new: NewEndUser) -> Result<end_user::Model, Error> {
    if store::find_by_username(unit.conn(), app_id, &new.username.key()).await?.is_some() {
        return Err(Error::new(Code::UsernameTaken, "the username is already registered in this app"));
    }
    if let Some(email) = &new.email
        && store::find_by_email(unit.conn(), app_id, &email.key()).await?.is_some()
    {
        return Err(Error::new(Code::EmailTaken, "the email is already registered in this app"));
    }
    store::insert(unit.conn(), app_id, new, clock::now())
        .await
        .map_err(|e| if db::is_unique_violation(&e) { account_exists() } else { e.into() })
}

/// Whether `username` is registered in the app, read inside `unit`.
pub async fn username_taken(unit: &Unit, app_id: Uuid, username: &Username) -> Result<bool, Error> {
    Ok(store::find_by_username(unit.conn(), app_id, &username.key()).await?.is_some())
}

/// The account with this username key (see [`Username::key`]).
pub async fn find_by_username(state: &AppState, app_id: Uuid, key: &str) -> Result<Option<end_user::Model>, Error> {
    Ok(store::find_by_username(&state.db, app_id, key).await?)
}

/// The account with this email key (see [`Email::key`]), verified or not.
pub async fn find_by_email(state: &AppState, app_id: Uuid, key: &str) -> Result<Option<end_user::Model>, Error> {
    Ok(store::find_by_email(&state.db, app_id, key).await?)
}

/// A page of the app's accounts matching `filter`, oldest first (the caller checks visibility).
pub async fn list(
    state: &AppState,
    app_id: Uuid,
    filter: &ListFilter,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<end_user::Model>, Error> {
    Ok(store::list(&state.db, app_id, filter, after, limit).await?)
}

/// Live (not revoked, not expired) session counts for the given users.
pub async fn live_session_counts(state: &AppState, user_ids: &[Uuid]) -> Result<HashMap<Uuid, u64>, Error> {
    Ok(store::live_session_counts(&state.db, user_ids, clock::now()).await?)
}

/// Records a successful sign-in in `unit`: `last_used_at`, and the password's new hash when its
/// parameters were outdated.
pub async fn record_signin(
    unit: &Unit,
    user: end_user::Model,
    new_hash: Option<String>,
) -> Result<end_user::Model, Error> {
    let patch = Patch { password_hash: new_hash, last_used_at: Some(clock::now()), ..Default::default() };
    Ok(store::update(unit.conn(), user, patch).await?)
}

/// The end-user `user_id` of `app_id` if the caller may see the app and holds `permission`.
pub async fn visible(
    state: &AppState,
    principal: &AdminPrincipal,
    app_id: Uuid,
    user_id: Uuid,
    permission: &str,
) -> Result<end_user::Model, Error> {
    crate::access::admin::visible(state, principal, app_id, permission).await?;
    store::find(&state.db, app_id, user_id).await?.ok_or_else(|| Error::not_found("end-user"))
}

/// Profile changes by an admin. A new email starts unverified.
pub async fn update_profile(
    state: &AppState,
    principal: &AdminPrincipal,
    ctx: &Origin,
    app_id: Uuid,
    user_id: Uuid,
    display: Option<String>,
    email: Option<String>,
) -> Result<end_user::Model, Error> {
    let user = visible(state, principal, app_id, user_id, permissions::END_USER_UPDATE).await?;
    let mut unit = write::begin(&state.db, &state.bus).await?;
    let mut patch = Patch::default();
    let mut changed = serde_json::Map::new();
    if let Some(raw) = display {
        let name = display_name(Some(&raw))?;
        if name != user.display_name {
            changed.insert("display_name".into(), true.into());
            patch.display_name = Some(name);
        }
    }
    if let Some(raw) = email {
        let email = Email::parse(&raw)?;
        if Some(email.key()) != user.email_key {
            if store::find_by_email(unit.conn(), app_id, &email.key()).await?.is_some() {
                return Err(Error::new(Code::EmailTaken, "the email is already registered in this app"));
            }
            changed.insert("email".into(), true.into());
            patch.email = Some(email);
            patch.email_verified_at = Some(None);
        }
    }
    if changed.is_empty() {
        return Ok(user);
    }
    patch.updated_at = Some(clock::now());
    let updated = store::update(unit.conn(), user, patch)
        .await
        .map_err(|e| if db::is_unique_violation(&e) { account_exists() } else { e.into() })?;
    unit.audit(
        Entry::new(app_id, &principal.actor(), Action::EndUserUpdated, ctx)
            .resource("end_user", user_id)
            .details(serde_json::Value::Object(changed)),
    )
    .await?;
    unit.commit().await?;
    Ok(updated)
}

/// Profile changes by the user themself (`/me`): the display name.
pub async fn update_own_profile(
    state: &AppState,
    ctx: &Origin,
    app_id: Uuid,
    user: end_user::Model,
    display: Option<String>,
) -> Result<end_user::Model, Error> {
    let Some(raw) = display else { return Ok(user) };
    let name = display_name(Some(&raw))?;
    if name == user.display_name {
        return Ok(user);
    }
    let mut unit = write::begin(&state.db, &state.bus).await?;
    let patch = Patch { display_name: Some(name), updated_at: Some(clock::now()), ..Default::default() };
    let user = store::update(unit.conn(), user, patch).await?;
    unit.audit(
        Entry::new(app_id, &sessions::service::user_actor(user.id), Action::EndUserProfileUpdated, ctx)
            .resource("end_user", user.id),
    )
    .await?;
    unit.commit().await?;
    Ok(user)
}

/// Sets a new password hash (from a consumed reset code) and ends every session of the account.
pub async fn reset_password(
    state: &AppState,
    ctx: &Origin,
    app_id: Uuid,
    user: end_user::Model,
    hash: String,
) -> Result<(), Error> {
    let now = clock::now();
    let user_id = user.id;
    let mut unit = write::begin(&state.db, &state.bus).await?;
    let patch = Patch { password_hash: Some(hash), updated_at: Some(now), ..Default::default() };
    store::update(unit.conn(), user, patch).await?;
    let revoked = sessions::service::revoke_all(&unit, app_id, user_id, "password_reset", now).await?;
    unit.audit(
        Entry::new(app_id, &sessions::service::user_actor(user_id), Action::EndUserPasswordReset, ctx)
            .resource("end_user", user_id)
            .details(serde_json::json!({ "sessions_revoked": revoked })),
    )
    .await?;
    unit.announce(Change::User(user_id));
    unit.commit().await
}

/// Marks the account's primary email verified (from a consumed verification code).
pub async fn verify_email(
    state: &AppState,
    ctx: &Origin,
    app_id: Uuid,
    user: end_user::Model,
) -> Result<end_user::Model, Error> {
    let now = clock::now();
    let mut unit = write::begin(&state.db, &state.bus).await?;
    let patch = Patch { email_verified_at: Some(Some(now)), updated_at: Some(now), ..Default::default() };
    let user = store::update(unit.conn(), user, patch).await?;
    unit.audit(
        Entry::new(app_id, &sessions::service::user_actor(user.id), Action::EndUserEmailVerified, ctx)
            .resource("end_user", user.id),
    )
    .await?;
    unit.commit().await?;
    Ok(user)
}

/// Gives the user a role by name (`None` removes the role: the user stops being a member).
pub async fn set_role(
    state: &AppState,
    principal: &AdminPrincipal,
    ctx: &Origin,
    app_id: Uuid,
    user_id: Uuid,
    role_name: Option<&str>,
    action: Action,
    permission: &str,
) -> Result<end_user::Model, Error> {
    let user = visible(state, principal, app_id, user_id, permission).await?;
    let role = match role_name {
        Some(name) => Some(
            rbac::service::find_by_name(state, app_id, name.trim())
                .await?
                .ok_or_else(|| Error::new(Code::RoleNotFound, format!("no role named '{name}'")))?,
        ),
        None => None,
    };
    let mut unit = write::begin(&state.db, &state.bus).await?;
    let patch =
        Patch { role_id: Some(role.as_ref().map(|r| r.id)), updated_at: Some(clock::now()), ..Default::default() };
    let updated = store::update(unit.conn(), user, patch).await?;
    unit.audit(
        Entry::new(app_id, &principal.actor(), action, ctx)
            .resource("end_user", user_id)
            .details(serde_json::json!({ "role": role.map(|r| r.name) })),
    )
    .await?;
    unit.announce(Change::User(user_id));
    unit.commit().await?;
    Ok(updated)
}

/// The account `id` of the app, in any state.
pub async fn find(state: &AppState, app_id: Uuid, id: Uuid) -> Result<Option<end_user::Model>, Error> {
    Ok(store::find(&state.db, app_id, id).await?)
}

/// Changes the status; suspension and deactivation end every session at once.
pub async fn set_status(
    state: &AppState,
    principal: &AdminPrincipal,
    ctx: &Origin,
    app_id: Uuid,
    user_id: Uuid,
    status: EndUserStatus,
) -> Result<end_user::Model, Error> {
    let user = visible(state, principal, app_id, user_id, permissions::END_USER_UPDATE).await?;
    let from = user.status;
    let now = clock::now();
    let mut unit = write::begin(&state.db, &state.bus).await?;
    let patch = Patch { status: Some(status), updated_at: Some(now), ..Default::default() };
    let updated = store::update(unit.conn(), user, patch).await?;
    let revoked = if status == EndUserStatus::Active {
        0
    } else {
        sessions::service::revoke_all(&unit, app_id, user_id, status.as_str(), now).await?
    };
    unit.audit(
        Entry::new(app_id, &principal.actor(), Action::EndUserStatusChanged, ctx)
            .resource("end_user", user_id)
            .details(serde_json::json!({ "from": from.as_str(), "to": status.as_str(), "sessions_revoked": revoked })),
    )
    .await?;
    unit.announce(Change::User(user_id));
    unit.commit().await?;
    Ok(updated)
}

/// Ends every session of the user.
pub async fn revoke_sessions(
    state: &AppState,
    principal: &AdminPrincipal,
    ctx: &Origin,
    app_id: Uuid,
    user_id: Uuid,
) -> Result<u64, Error> {
    visible(state, principal, app_id, user_id, permissions::END_USER_UPDATE).await?;
    let mut unit = write::begin(&state.db, &state.bus).await?;
    let revoked = sessions::service::revoke_all(&unit, app_id, user_id, "admin_revoked", clock::now()).await?;
    unit.audit(
        Entry::new(app_id, &principal.actor(), Action::EndUserSessionsRevoked, ctx)
            .resource("end_user", user_id)
            .details(serde_json::json!({ "sessions_revoked": revoked })),
    )
    .await?;
    unit.announce(Change::User(user_id));
    unit.commit().await?;
    Ok(revoked)
}

/// Deletes the account with its sessions and codes. `actor` may be the user themself.
pub async fn delete(state: &AppState, actor: &Actor, ctx: &Origin, app_id: Uuid, user_id: Uuid) -> Result<(), Error> {
    let mut unit = write::begin(&state.db, &state.bus).await?;
    if !store::delete(unit.conn(), app_id, user_id).await? {
        return Err(Error::not_found("end-user"));
    }
    unit.audit(Entry::new(app_id, actor, Action::EndUserDeleted, ctx).resource("end_user", user_id)).await?;
    unit.announce(Change::User(user_id));
    unit.commit().await
}
