//! App queries. Reads that serve an admin caller are filtered by workspace in the service.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QuerySelect, QueryTrait, Set, sea_query::OnConflict,
};
use uuid::Uuid;

use crate::entity::{app, app_api_key, app_slug_alias, auth_config, end_user, role};

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<app::Model>, DbErr> {
    app::Entity::find_by_id(id).one(db).await
}

pub async fn list(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<app::Model>, DbErr> {
    use app::Column as C;
    crate::db::scoped_page(app::Entity::find(), (C::WorkspaceId, workspace_id), C::Id, after, limit).all(db).await
}

/// Whether `slug` is taken by another app, as its slug or as an unexpired alias.
pub async fn slug_taken(
    db: &impl ConnectionTrait,
    slug: &str,
    except_app: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let mut apps = app::Entity::find().filter(app::Column::Slug.eq(slug));
    let mut aliases = app_slug_alias::Entity::find()
        .filter(app_slug_alias::Column::Slug.eq(slug))
        .filter(app_slug_alias::Column::ExpiresAt.gt(now));
    if let Some(id) = except_app {
        apps = apps.filter(app::Column::Id.ne(id));
        aliases = aliases.filter(app_slug_alias::Column::AppId.ne(id));
    }
    Ok(apps.count(db).await? > 0 || aliases.count(db).await? > 0)
}

/// Records `old_slug` as an alias of the app until `expires_at`, replacing an expired alias of
/// the same name.
pub async fn put_alias(
    db: &impl ConnectionTrait,
    old_slug: &str,
    app_id: Uuid,
    expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    app_slug_alias::Entity::insert(app_slug_alias::ActiveModel {
        slug: Set(old_slug.to_owned()),
        app_id: Set(app_id),
        expires_at: Set(expires_at),
    })
    .on_conflict(
        OnConflict::column(app_slug_alias::Column::Slug)
            .update_columns([app_slug_alias::Column::AppId, app_slug_alias::Column::ExpiresAt])
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

pub async fn drop_alias(db: &impl ConnectionTrait, slug: &str) -> Result<(), DbErr> {
    app_slug_alias::Entity::delete_by_id(slug.to_owned()).exec(db).await?;
    Ok(())
}

/// The app currently named `slug`, or the app that had it within the alias window. The flag is
/// true when found through an alias.
pub async fn resolve_slug(
    db: &impl ConnectionTrait,
    slug: &str,
    now: DateTime<Utc>,
) -> Result<Option<(app::Model, bool)>, DbErr> {
    if let Some(app) = app::Entity::find().filter(app::Column::Slug.eq(slug)).one(db).await? {
        return Ok(Some((app, false)));
    }
    let Some(alias) = app_slug_alias::Entity::find_by_id(slug.to_owned())
        .filter(app_slug_alias::Column::ExpiresAt.gt(now))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(find(db, alias.app_id).await?.map(|a| (a, true)))
}

pub async fn insert_auth_config(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    config: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    auth_config::ActiveModel { app_id: Set(app_id), config: Set(config), updated_at: Set(now) }.insert(db).await?;
    Ok(())
}

pub async fn insert_system_role(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    name: &str,
    description: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    role::ActiveModel {
        id: Set(Uuid::now_v7()),
        app_id: Set(app_id),
        name: Set(name.to_owned()),
        description: Set(Some(description.to_owned())),
        is_system: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Apps, end-users and API keys in a workspace.
pub async fn workspace_counts(db: &impl ConnectionTrait, workspace_id: Uuid) -> Result<(u64, u64, u64), DbErr> {
    let apps = app::Entity::find().filter(app::Column::WorkspaceId.eq(workspace_id)).count(db).await?;
    let in_workspace = || {
        app::Entity::find()
            .select_only()
            .column(app::Column::Id)
            .filter(app::Column::WorkspaceId.eq(workspace_id))
            .into_query()
    };
    let end_users =
        end_user::Entity::find().filter(end_user::Column::AppId.in_subquery(in_workspace())).count(db).await?;
    let api_keys =
        app_api_key::Entity::find().filter(app_api_key::Column::AppId.in_subquery(in_workspace())).count(db).await?;
    Ok((apps, end_users, api_keys))
}

/// Inserts a new app; `None` when its slug is taken (unique violation).
pub async fn insert(db: &impl ConnectionTrait, m: app::Model) -> Result<Option<app::Model>, DbErr> {
    let inserted = app::ActiveModel {
        id: Set(m.id),
        workspace_id: Set(m.workspace_id),
        slug: Set(m.slug),
        display_name: Set(m.display_name),
        status: Set(m.status),
        metadata: Set(m.metadata),
        created_by: Set(m.created_by),
        created_at: Set(m.created_at),
        updated_at: Set(m.updated_at),
        keys_rotated_at: Set(m.keys_rotated_at),
        signing_alg: Set(m.signing_alg),
    }
    .insert(db)
    .await;
    match inserted {
        Ok(model) => Ok(Some(model)),
        Err(e) if crate::db::is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The profile fields an update sets (`None`: left as they are).
#[derive(Default)]
pub struct Profile {
    pub display_name: Option<String>,
    pub slug: Option<String>,
    pub metadata: Option<serde_json::Value>,
}

/// Writes the `Some` fields of `profile` over `current`; `None` when the new slug is taken
/// (unique violation).
pub async fn update_profile(
    db: &impl ConnectionTrait,
    current: app::Model,
    profile: Profile,
    now: DateTime<Utc>,
) -> Result<Option<app::Model>, DbErr> {
    let mut model = current.into_active_model();
    if let Some(name) = profile.display_name {
        model.display_name = Set(name);
    }
    if let Some(metadata) = profile.metadata {
        model.metadata = Set(metadata);
    }
    if let Some(slug) = profile.slug {
        model.slug = Set(slug);
    }
    model.updated_at = Set(now);
    match model.update(db).await {
        Ok(model) => Ok(Some(model)),
        Err(e) if crate::db::is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Sets the app's status.
pub async fn set_status(
    db: &impl ConnectionTrait,
    current: app::Model,
    status: app::AppStatus,
    now: DateTime<Utc>,
) -> Result<app::Model, DbErr> {
    let mut model = current.into_active_model();
    model.status = Set(status);
    model.updated_at = Set(now);
    model.update(db).await
}

/// Deletes the app (and, by cascade, everything in it); `false` when there was no such app.
pub async fn delete(db: &impl ConnectionTrait, app_id: Uuid) -> Result<bool, DbErr> {
    Ok(app::Entity::delete_by_id(app_id).exec(db).await?.rows_affected > 0)
}
