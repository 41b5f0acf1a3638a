//! End-user rules shared by sign-up, invites and the admin API.

use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter, Set};
use uuid::Uuid;

use super::{
    identity::{Email, Username},
    store,
};
use crate::access::AdminPrincipal;
use crate::access::Origin;
use crate::audit::Action;
use crate::entity::end_user::EndUserStatus;
use crate::error::Code;
use crate::{
    audit::Entry, clock, coherence::Change, db, entity::end_user, http::error::Error, permissions, rbac, sessions,
    state::AppState,
};

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

pub struct NewEndUser {
    pub username: Username,
    pub email: Option<Email>,
    pub email_verified: bool,
    pub display_name: Option<String>,
    pub password_hash: Option<String>,
    pub role_id: Option<Uuid>,
}

fn taken(err: sea_orm::DbErr) -> Error {
    if db::is_unique_violation(&err) {
        Error::new(Code::AccountExists, "the username or email is already registered in this app")
    } else {
        err.into()
    }
}

/// Inserts an account; 409 `username_taken` / `email_taken` when either is registered already.
pub async fn insert(tx: &DatabaseTransaction, app_id: Uuid, new: NewEndUser) -> Result<end_user::Model, Error> {
    if store::find_by_username(tx, app_id, &new.username.key()).await?.is_some() {
        return Err(Error::new(Code::UsernameTaken, "the username is already registered in this app"));
    }
    if let Some(email) = &new.email
        && store::find_by_email(tx, app_id, &email.key()).await?.is_some()
    {
        return Err(Error::new(Code::EmailTaken, "the email is already registered in this app"));
    }
    let now = clock::now();
    end_user::ActiveModel {
        id: Set(Uuid::now_v7()),
        app_id: Set(app_id),
        username: Set(new.username.as_str().to_owned()),
        username_key: Set(new.username.key()),
        email: Set(new.email.as_ref().map(|e| e.as_str().to_owned())),
        email_key: Set(new.email.as_ref().map(Email::key)),
        email_verified_at: Set(new.email_verified.then_some(now)),
        display_name: Set(new.display_name),
        password_hash: Set(new.password_hash),
        status: Set(EndUserStatus::Active),
        role_id: Set(new.role_id),
        created_at: Set(now),
        updated_at: Set(now),
        last_used_at: Set(None),
    }
    .insert(tx)
    .await
    .map_err(taken)
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
    let tx = db::begin_write(&state.db).await?;
    let mut model = user.clone().into_active_model();
    let mut changed = serde_json::Map::new();
    if let Some(raw) = display {
        let name = display_name(Some(&raw))?;
        if name != user.display_name {
            changed.insert("display_name".into(), true.into());
            model.display_name = Set(name);
        }
    }
    if let Some(raw) = email {
        let email = Email::parse(&raw)?;
        if Some(email.key()) != user.email_key {
            if store::find_by_email(&tx, app_id, &email.key()).await?.is_some() {
                return Err(Error::new(Code::EmailTaken, "the email is already registered in this app"));
            }
            changed.insert("email".into(), true.into());
            model.email = Set(Some(email.as_str().to_owned()));
            model.email_key = Set(Some(email.key()));
            model.email_verified_at = Set(None);
        }
    }
    if changed.is_empty() {
        return Ok(user);
    }
    model.updated_at = Set(clock::now());
    let updated = model.update(&tx).await.map_err(taken)?;
    Entry::new(app_id, &principal.actor(), Action::EndUserUpdated, ctx)
        .resource("end_user", user_id)
        .details(serde_json::Value::Object(changed))
        .record(&tx)
        .await?;
    tx.commit().await?;
    Ok(updated)
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
            rbac::store::find_by_name(&state.db, app_id, name.trim())
                .await?
                .ok_or_else(|| Error::new(Code::RoleNotFound, format!("no role named '{name}'")))?,
        ),
        None => None,
    };
    let tx = db::begin_write(&state.db).await?;
    let mut model = user.clone().into_active_model();
    model.role_id = Set(role.as_ref().map(|r| r.id));
    model.updated_at = Set(clock::now());
    let updated = model.update(&tx).await?;
    Entry::new(app_id, &principal.actor(), action, ctx)
        .resource("end_user", user_id)
        .details(serde_json::json!({ "role": role.map(|r| r.name) }))
        .record(&tx)
        .await?;
    tx.commit().await?;
    state.bus.publish(Change::User(user_id)).await;
    Ok(updated)
}

/// Changes the status; suspension and deactivation end every session at once.
/// The account `id` of the app, in any state.
pub async fn find(state: &AppState, app_id: Uuid, id: Uuid) -> Result<Option<end_user::Model>, Error> {
    Ok(store::find(&state.db, app_id, id).await?)
}

pub async fn set_status(
    state: &AppState,
    principal: &AdminPrincipal,
    ctx: &Origin,
    app_id: Uuid,
    user_id: Uuid,
    status: EndUserStatus,
) -> Result<end_user::Model, Error> {
    let user = visible(state, principal, app_id, user_id, permissions::END_USER_UPDATE).await?;
    let now = clock::now();
    let tx = db::begin_write(&state.db).await?;
    let mut model = user.clone().into_active_model();
    model.status = Set(status);
    model.updated_at = Set(now);
    let updated = model.update(&tx).await?;
    let revoked = if status == EndUserStatus::Active {
        0
    } else {
        sessions::store::revoke_all(&tx, app_id, user_id, status.as_str(), now).await?
    };
    Entry::new(app_id, &principal.actor(), Action::EndUserStatusChanged, ctx)
        .resource("end_user", user_id)
        .details(
            serde_json::json!({ "from": user.status.as_str(), "to": status.as_str(), "sessions_revoked": revoked }),
        )
        .record(&tx)
        .await?;
    tx.commit().await?;
    state.bus.publish(Change::User(user_id)).await;
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
    let tx = db::begin_write(&state.db).await?;
    let revoked = sessions::store::revoke_all(&tx, app_id, user_id, "admin_revoked", clock::now()).await?;
    Entry::new(app_id, &principal.actor(), Action::EndUserSessionsRevoked, ctx)
        .resource("end_user", user_id)
        .details(serde_json::json!({ "sessions_revoked": revoked }))
        .record(&tx)
        .await?;
    tx.commit().await?;
    state.bus.publish(Change::User(user_id)).await;
    Ok(revoked)
}

/// Deletes the account with its sessions and codes. `actor` may be the user themself.
pub async fn delete(
    state: &AppState,
    actor: &crate::audit::Actor,
    ctx: &Origin,
    app_id: Uuid,
    user_id: Uuid,
) -> Result<(), Error> {
    let tx = db::begin_write(&state.db).await?;
    let res = end_user::Entity::delete_many()
        .filter(end_user::Column::Id.eq(user_id))
        .filter(end_user::Column::AppId.eq(app_id))
        .exec(&tx)
        .await?;
    if res.rows_affected == 0 {
        return Err(Error::not_found("end-user"));
    }
    Entry::new(app_id, actor, Action::EndUserDeleted, ctx).resource("end_user", user_id).record(&tx).await?;
    tx.commit().await?;
    state.bus.publish(Change::User(user_id)).await;
    Ok(())
}
