//! Tenant and membership queries, always scoped by app.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Set,
    sea_query::{Expr, ExprTrait, Func, LikeExpr, OnConflict},
};
use uuid::Uuid;

use crate::entity::{tenant, tenant_member};

pub(super) struct NewTenant {
    pub app_id: Uuid,
    pub slug: String,
    pub display_name: String,
    pub metadata: serde_json::Value,
    pub now: DateTime<Utc>,
}

pub(super) async fn insert(db: &impl ConnectionTrait, new: NewTenant) -> Result<tenant::Model, DbErr> {
    tenant::ActiveModel {
        id: Set(Uuid::now_v7()),
        app_id: Set(new.app_id),
        slug: Set(new.slug),
        display_name: Set(new.display_name),
        status: Set("active".into()),
        metadata: Set(new.metadata),
        created_at: Set(new.now),
        updated_at: Set(new.now),
    }
    .insert(db)
    .await
}

pub(super) async fn find(db: &impl ConnectionTrait, app_id: Uuid, id: Uuid) -> Result<Option<tenant::Model>, DbErr> {
    tenant::Entity::find_by_id(id).filter(tenant::Column::AppId.eq(app_id)).one(db).await
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// A page of the app's tenants, oldest first; `search` is a case-insensitive substring of the
/// slug or the display name.
pub(super) async fn list(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    search: Option<&str>,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<tenant::Model>, DbErr> {
    let mut q = tenant::Entity::find();
    if let Some(search) = search.map(str::trim).filter(|s| !s.is_empty()) {
        let pattern = format!("%{}%", escape_like(&search.to_lowercase()));
        let like = |col: tenant::Column| {
            Expr::expr(Func::lower(Expr::col(col))).like(LikeExpr::new(pattern.clone()).escape('\\'))
        };
        q = q.filter(Condition::any().add(like(tenant::Column::Slug)).add(like(tenant::Column::DisplayName)));
    }
    crate::db::scoped_page(q, (tenant::Column::AppId, app_id), tenant::Column::Id, after, limit).all(db).await
}

/// Writes the changed profile fields and status of `row`.
pub(super) async fn update(db: &impl ConnectionTrait, row: tenant::Model) -> Result<tenant::Model, DbErr> {
    let mut active: tenant::ActiveModel = row.clone().into();
    active.slug = Set(row.slug);
    active.display_name = Set(row.display_name);
    active.status = Set(row.status);
    active.metadata = Set(row.metadata);
    active.updated_at = Set(row.updated_at);
    active.update(db).await
}

/// Deletes a tenant; its memberships go with it (foreign key cascade).
pub(super) async fn delete(db: &impl ConnectionTrait, app_id: Uuid, id: Uuid) -> Result<bool, DbErr> {
    let res = tenant::Entity::delete_many()
        .filter(tenant::Column::Id.eq(id))
        .filter(tenant::Column::AppId.eq(app_id))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

pub(super) async fn membership(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    tenant_id: Uuid,
    end_user_id: Uuid,
) -> Result<Option<tenant_member::Model>, DbErr> {
    tenant_member::Entity::find_by_id((tenant_id, end_user_id))
        .filter(tenant_member::Column::AppId.eq(app_id))
        .one(db)
        .await
}

/// A membership with its tenant's status (`None` when either is missing).
pub(super) async fn membership_with_status(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    tenant_id: Uuid,
    end_user_id: Uuid,
) -> Result<Option<(tenant_member::Model, String)>, DbErr> {
    // One round trip: sign-in, refresh and decisions ask this for every tenant token.
    let to_tenant: sea_orm::RelationDef = tenant_member::Entity::belongs_to(tenant::Entity)
        .from(tenant_member::Column::TenantId)
        .to(tenant::Column::Id)
        .into();
    tenant_member::Entity::find_by_id((tenant_id, end_user_id))
        .filter(tenant_member::Column::AppId.eq(app_id))
        .join(sea_orm::JoinType::InnerJoin, to_tenant)
        .filter(tenant::Column::AppId.eq(app_id))
        .select_also(tenant::Entity)
        .one(db)
        .await
        .map(|row| row.and_then(|(member, tenant)| tenant.map(|t| (member, t.status))))
}

/// Adds the member or changes their role.
pub(super) async fn upsert_member(db: &impl ConnectionTrait, row: tenant_member::Model) -> Result<(), DbErr> {
    tenant_member::Entity::insert(tenant_member::ActiveModel {
        tenant_id: Set(row.tenant_id),
        end_user_id: Set(row.end_user_id),
        app_id: Set(row.app_id),
        role_id: Set(row.role_id),
        created_at: Set(row.created_at),
        updated_at: Set(row.updated_at),
    })
    .on_conflict(
        OnConflict::columns([tenant_member::Column::TenantId, tenant_member::Column::EndUserId])
            .update_columns([tenant_member::Column::RoleId, tenant_member::Column::UpdatedAt])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

pub(super) async fn remove_member(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    tenant_id: Uuid,
    end_user_id: Uuid,
) -> Result<bool, DbErr> {
    let res = tenant_member::Entity::delete_many()
        .filter(tenant_member::Column::TenantId.eq(tenant_id))
        .filter(tenant_member::Column::EndUserId.eq(end_user_id))
        .filter(tenant_member::Column::AppId.eq(app_id))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// A page of a tenant's members by end-user id (the primary key's order).
pub(super) async fn members(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    tenant_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<tenant_member::Model>, DbErr> {
    use tenant_member::Column as C;
    crate::db::scoped_page(
        tenant_member::Entity::find().filter(C::AppId.eq(app_id)),
        (C::TenantId, tenant_id),
        C::EndUserId,
        after,
        limit,
    )
    .all(db)
    .await
}

/// A page of a user's memberships by tenant id, with their tenants.
pub(super) async fn memberships_of(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    end_user_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<(tenant_member::Model, tenant::Model)>, DbErr> {
    use tenant_member::Column as C;
    let rows = crate::db::scoped_page(
        tenant_member::Entity::find().filter(C::AppId.eq(app_id)),
        (C::EndUserId, end_user_id),
        C::TenantId,
        after,
        limit,
    )
    .all(db)
    .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let tenants = tenant::Entity::find()
        .filter(tenant::Column::AppId.eq(app_id))
        .filter(tenant::Column::Id.is_in(rows.iter().map(|r| r.tenant_id)))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|m| {
            let t = tenants.iter().find(|t| t.id == m.tenant_id)?.clone();
            Some((m, t))
        })
        .collect())
}
