//! End-user queries, always scoped by app.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{Expr, ExprTrait, Func, LikeExpr},
};
use uuid::Uuid;

use crate::entity::{end_user, session};

pub async fn find(db: &impl ConnectionTrait, app_id: Uuid, id: Uuid) -> Result<Option<end_user::Model>, DbErr> {
    end_user::Entity::find_by_id(id).filter(end_user::Column::AppId.eq(app_id)).one(db).await
}

pub async fn find_by_username(
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

pub async fn find_by_email(
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

pub async fn list(
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
pub async fn live_session_counts(
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
