//! End-user queries, always scoped by app.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter,
    QuerySelect, Set,
    sea_query::{Expr, ExprTrait, Func, LikeExpr},
};
use uuid::Uuid;

use super::identity::{Email, Username};
use crate::entity::{
    end_user::{self, EndUserStatus},
    session,
};

pub(super) async fn find(db: &impl ConnectionTrait, app_id: Uuid, id: Uuid) -> Result<Option<end_user::Model>, DbErr> {
    end_user::Entity::find_by_id(id).filter(end_user::Column::AppId.eq(app_id)).one(db).await
}

pub(super) async fn find_by_username(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    key: &str,
) -> Result<Option<end_user::Model>, DbErr> {
    end_user::Entity::find()
        .filter(end_user::Column::AppId.eq(app_id))
        .filter(end_user::Column::UsernameKey.eq(key))
        .one(db)
        .await
}

pub(super) async fn find_by_email(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    key: &str,
) -> Result<Option<end_user::Model>, DbErr> {
    end_user::Entity::find()
        .filter(end_user::Column::AppId.eq(app_id))
        .filter(end_user::Column::EmailKey.eq(key))
        .one(db)
        .await
}

/// Filters of the admin listing.
#[derive(Debug, Default)]
pub struct ListFilter {
    pub status: Option<String>,
    /// Case-insensitive substring of username, email or display name.
    pub search: Option<String>,
    /// Only users holding a role (members).
    pub with_role: bool,
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

pub(super) async fn list(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    filter: &ListFilter,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<end_user::Model>, DbErr> {
    let mut q = end_user::Entity::find();
    if let Some(status) = &filter.status {
        q = q.filter(end_user::Column::Status.eq(status.as_str()));
    }
    if filter.with_role {
        q = q.filter(end_user::Column::RoleId.is_not_null());
    }
    if let Some(search) = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let pattern = format!("%{}%", escape_like(&search.to_ascii_lowercase()));
        let like = |col: end_user::Column| {
            Expr::expr(Func::lower(Expr::col(col))).like(LikeExpr::new(pattern.clone()).escape('\\'))
        };
        q = q.filter(
            Condition::any()
                .add(like(end_user::Column::UsernameKey))
                .add(like(end_user::Column::EmailKey))
                .add(like(end_user::Column::DisplayName)),
        );
    }
    crate::db::scoped_page(q, (end_user::Column::AppId, app_id), end_user::Column::Id, after, limit).all(db).await
}

/// Live (not revoked, not expired) session counts for the given users.
pub(super) async fn live_session_counts(
    db: &impl ConnectionTrait,
    user_ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<HashMap<Uuid, u64>, DbErr> {
    if user_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Uuid, i64)> = session::Entity::find()
        .select_only()
        .column(session::Column::EndUserId)
        .column_as(session::Column::Id.count(), "n")
        .filter(session::Column::EndUserId.is_in(user_ids.iter().copied()))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(now))
        .group_by(session::Column::EndUserId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(id, n)| (id, u64::try_from(n).unwrap_or(0))).collect())
}

/// A new account's fields.
pub struct NewEndUser {
    pub username: Username,
    pub email: Option<Email>,
    pub email_verified: bool,
    pub display_name: Option<String>,
    pub password_hash: Option<String>,
    pub role_id: Option<Uuid>,
}

pub(super) async fn insert(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    new: NewEndUser,
    now: DateTime<Utc>,
) -> Result<end_user::Model, DbErr> {
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
    .insert(db)
    .await
}

/// Column changes of an account; `None` leaves a column as it is.
#[derive(Debug, Default)]
pub(super) struct Patch {
    pub display_name: Option<Option<String>>,
    /// A new primary email (its key follows).
    pub email: Option<Email>,
    pub email_verified_at: Option<Option<DateTime<Utc>>>,
    pub password_hash: Option<String>,
    pub role_id: Option<Option<Uuid>>,
    pub status: Option<EndUserStatus>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Writes the changed columns of `user`.
pub(super) async fn update(
    db: &impl ConnectionTrait,
    user: end_user::Model,
    patch: Patch,
) -> Result<end_user::Model, DbErr> {
    let mut m = user.into_active_model();
    if let Some(v) = patch.display_name {
        m.display_name = Set(v);
    }
    if let Some(email) = patch.email {
        m.email = Set(Some(email.as_str().to_owned()));
        m.email_key = Set(Some(email.key()));
    }
    if let Some(v) = patch.email_verified_at {
        m.email_verified_at = Set(v);
    }
    if let Some(v) = patch.password_hash {
        m.password_hash = Set(Some(v));
    }
    if let Some(v) = patch.role_id {
        m.role_id = Set(v);
    }
    if let Some(v) = patch.status {
        m.status = Set(v);
    }
    if let Some(v) = patch.last_used_at {
        m.last_used_at = Set(Some(v));
    }
    if let Some(v) = patch.updated_at {
        m.updated_at = Set(v);
    }
    m.update(db).await
}

/// Deletes the account (its sessions and codes go with it); false if there was none.
pub(super) async fn delete(db: &impl ConnectionTrait, app_id: Uuid, user_id: Uuid) -> Result<bool, DbErr> {
    let res = end_user::Entity::delete_many()
        .filter(end_user::Column::Id.eq(user_id))
        .filter(end_user::Column::AppId.eq(app_id))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}
