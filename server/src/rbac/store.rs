//! Role and permission queries, always scoped by app.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use uuid::Uuid;

use crate::entity::{end_user, permission, role, role_permission};

pub(super) async fn find_by_name(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    name: &str,
) -> Result<Option<role::Model>, DbErr> {
    role::Entity::find().filter(role::Column::AppId.eq(app_id)).filter(role::Column::Name.eq(name)).one(db).await
}

pub(super) async fn find(db: &impl ConnectionTrait, app_id: Uuid, id: Uuid) -> Result<Option<role::Model>, DbErr> {
    role::Entity::find_by_id(id).filter(role::Column::AppId.eq(app_id)).one(db).await
}

/// Role id → name for every role of the app.
pub(super) async fn names(db: &impl ConnectionTrait, app_id: Uuid) -> Result<HashMap<Uuid, String>, DbErr> {
    Ok(role::Entity::find()
        .filter(role::Column::AppId.eq(app_id))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect())
}

/// Permissions granted by a role (none without a role), as carried in new access tokens.
pub(super) async fn permissions_of(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    role_id: Option<Uuid>,
) -> Result<Vec<String>, DbErr> {
    let Some(role_id) = role_id else { return Ok(Vec::new()) };
    Ok(role_permission::Entity::find()
        .filter(role_permission::Column::RoleId.eq(role_id))
        .filter(role_permission::Column::AppId.eq(app_id))
        .order_by_asc(role_permission::Column::Permission)
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.permission)
        .collect())
}

/// A page of the app's roles, oldest first.
pub(super) async fn list(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<role::Model>, DbErr> {
    use role::Column as C;
    crate::db::scoped_page(role::Entity::find(), (C::AppId, app_id), C::Id, after, limit).all(db).await
}

/// Inserts a custom (non-system) role.
pub(super) async fn insert_role(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    name: &str,
    description: Option<String>,
    now: DateTime<Utc>,
) -> Result<role::Model, DbErr> {
    role::ActiveModel {
        id: Set(Uuid::now_v7()),
        app_id: Set(app_id),
        name: Set(name.to_owned()),
        description: Set(description),
        is_system: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
}

/// Sets a role's description.
pub(super) async fn set_description(
    db: &impl ConnectionTrait,
    current: role::Model,
    description: Option<String>,
    now: DateTime<Utc>,
) -> Result<role::Model, DbErr> {
    let mut m = current.into_active_model();
    m.description = Set(description);
    m.updated_at = Set(now);
    m.update(db).await
}

/// How many end-users hold the role.
pub(super) async fn holders(db: &impl ConnectionTrait, role_id: Uuid) -> Result<u64, DbErr> {
    end_user::Entity::find().filter(end_user::Column::RoleId.eq(role_id)).count(db).await
}

pub(super) async fn delete_role(db: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    role::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// Replaces the role's permission set with `grants`.
pub(super) async fn replace_permissions(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    role_id: Uuid,
    grants: &[String],
) -> Result<(), DbErr> {
    role_permission::Entity::delete_many().filter(role_permission::Column::RoleId.eq(role_id)).exec(db).await?;
    for p in grants {
        role_permission::ActiveModel { role_id: Set(role_id), app_id: Set(app_id), permission: Set(p.clone()) }
            .insert(db)
            .await?;
    }
    Ok(())
}

/// The app's custom permissions, by resource then action.
pub(super) async fn custom_permissions(
    db: &impl ConnectionTrait,
    app_id: Uuid,
) -> Result<Vec<permission::Model>, DbErr> {
    permission::Entity::find()
        .filter(permission::Column::AppId.eq(app_id))
        .order_by_asc(permission::Column::Resource)
        .order_by_asc(permission::Column::Action)
        .all(db)
        .await
}

pub(super) async fn find_permission(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    resource: &str,
    action: &str,
) -> Result<Option<permission::Model>, DbErr> {
    permission::Entity::find()
        .filter(permission::Column::AppId.eq(app_id))
        .filter(permission::Column::Resource.eq(resource))
        .filter(permission::Column::Action.eq(action))
        .one(db)
        .await
}

pub(super) async fn insert_permission(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    resource: String,
    action: String,
    description: Option<String>,
    now: DateTime<Utc>,
) -> Result<permission::Model, DbErr> {
    permission::ActiveModel {
        id: Set(Uuid::now_v7()),
        app_id: Set(app_id),
        resource: Set(resource),
        action: Set(action),
        description: Set(description),
        created_at: Set(now),
    }
    .insert(db)
    .await
}

/// Deletes the custom permission `id` (key `key`) and takes it away from every role of the app.
pub(super) async fn delete_permission(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    id: Uuid,
    key: &str,
) -> Result<(), DbErr> {
    permission::Entity::delete_by_id(id).exec(db).await?;
    role_permission::Entity::delete_many()
        .filter(role_permission::Column::AppId.eq(app_id))
        .filter(role_permission::Column::Permission.eq(key))
        .exec(db)
        .await?;
    Ok(())
}
