//! Role and permission rules: names, the two catalogues, grants narrowed to the caller, and
//! change announcements so `/authorize` follows them at once on every instance.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use super::store;
use crate::access::AdminPrincipal;
use crate::access::Origin;
use crate::audit::Action;
use crate::error::Code;
use crate::{
    audit::Entry,
    clock,
    coherence::Change,
    db,
    entity::{end_user, permission, role, role_permission},
    http::error::Error,
    permissions,
    state::AppState,
};

/// Role names that would shadow routes (`/roles/assign`, `/roles/permissions`).
pub const RESERVED_ROLE_NAMES: [&str; 2] = ["assign", "permissions"];

/// When system permissions were defined (their catalogue `created_at`).
pub fn system_epoch() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_392_000, 0).expect("valid timestamp")
}

/// A stable id for a system permission, derived from its name.
pub fn system_permission_id(name: &str) -> Uuid {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, name.as_bytes());
    Uuid::new_v8(d.as_ref()[..16].try_into().expect("16 bytes"))
}

/// A role name: 2–64 lowercase letters, digits, `_` and `-`; not reserved.
pub fn role_name(raw: &str) -> Result<String, Error> {
    let n = raw.trim();
    let ok = (2..=64).contains(&n.len()) && permissions::is_word(n);
    if !ok {
        return Err(Error::validation("name", "must be 2 to 64 lowercase letters, digits, '_' or '-'"));
    }
    if RESERVED_ROLE_NAMES.contains(&n) {
        return Err(Error::validation("name", format!("'{n}' is reserved")));
    }
    Ok(n.to_owned())
}

/// A custom permission segment: lowercase letters, digits, `_`, `-`, dots between words.
fn segment(field: &str, raw: &str) -> Result<String, Error> {
    let v = raw.trim();
    let ok = v.len() <= 64 && v.split('.').all(permissions::is_word);
    if !ok {
        return Err(Error::validation(field, "must be lowercase letters, digits, '_' or '-' (dots between words)"));
    }
    Ok(v.to_owned())
}

pub async fn find_role(state: &AppState, app_id: Uuid, name: &str) -> Result<role::Model, Error> {
    store::find_by_name(&state.db, app_id, name)
        .await?
        .ok_or_else(|| Error::new(Code::RoleNotFound, format!("no role named '{name}'")))
}

pub async fn custom_permissions(state: &AppState, app_id: Uuid) -> Result<Vec<permission::Model>, Error> {
    Ok(permission::Entity::find()
        .filter(permission::Column::AppId.eq(app_id))
        .order_by_asc(permission::Column::Resource)
        .order_by_asc(permission::Column::Action)
        .all(&state.db)
        .await?)
}

pub async fn create_role(
    state: &AppState,
    principal: &AdminPrincipal,
    ctx: &Origin,
    app_id: Uuid,
    raw_name: &str,
    description: Option<String>,
) -> Result<role::Model, Error> {
    crate::access::admin::visible(state, principal, app_id, permissions::ROLE_WRITE).await?;
    let name = role_name(raw_name)?;
    let now = clock::now();
    let tx = db::begin_write(&state.db).await?;
    let row = role::ActiveModel {
        id: Set(Uuid::now_v7()),
        app_id: Set(app_id),
        name: Set(name.clone()),
        description: Set(description.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty())),
        is_system: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&tx)
    .await
    .map_err(|e| {
        if db::is_unique_violation(&e) {
            Error::new(Code::RoleExists, format!("a role named '{name}' exists"))
        } else {
            e.into()
        }
    })?;
    Entry::new(app_id, &principal.actor(), Action::RoleCreated, ctx).resource("role", &row.name).record(&tx).await?;
    tx.commit().await?;
    Ok(row)
}

pub async fn update_role(
    state: &AppState,
    principal: &AdminPrincipal,
    ctx: &Origin,
    app_id: Uuid,
    name: &str,
    description: Option<String>,
) -> Result<role::Model, Error> {
    crate::access::admin::visible(state, principal, app_id, permissions::ROLE_WRITE).await?;
    let current = find_role(state, app_id, name).await?;
    let Some(description) = description else { return Ok(current) };
    let tx = db::begin_write(&state.db).await?;
    let mut m = current.into_active_model();
    m.description = Set(Some(description.trim().to_owned()).filter(|d| !d.is_empty()));
    m.updated_at = Set(clock::now());
    let row = m.update(&tx).await?;
    Entry::new(app_id, &principal.actor(), Action::RoleUpdated, ctx).resource("role", &row.name).record(&tx).await?;
    tx.commit().await?;
    Ok(row)
}

pub async fn delete_role(
    state: &AppState,
    principal: &AdminPrincipal,
    ctx: &Origin,
    app_id: Uuid,
    name: &str,
) -> Result<(), Error> {
    crate::access::admin::visible(state, principal, app_id, permissions::ROLE_WRITE).await?;
    let current = find_role(state, app_id, name).await?;
    if current.is_system {
        return Err(Error::forbidden(format!("'{name}' is a system role and cannot be deleted")));
    }
    let in_use = |holders: &str| {
        Error::new(Code::RoleInUse, format!("{holders} end-user(s) hold '{name}'; reassign them first"))
    };
    // Counted inside the write transaction; an assignment racing past it still cannot leave a
    // dangling role (the foreign key refuses the delete), and is reported the same way.
    let tx = db::begin_write(&state.db).await?;
    let holders = end_user::Entity::find().filter(end_user::Column::RoleId.eq(current.id)).count(&tx).await?;
    if holders > 0 {
        return Err(in_use(&holders.to_string()));
    }
    role::Entity::delete_by_id(current.id)
        .exec(&tx)
        .await
        .map_err(|e| if db::is_foreign_key_violation(&e) { in_use("some") } else { Error::from(e) })?;
    Entry::new(app_id, &principal.actor(), Action::RoleDeleted, ctx).resource("role", name).record(&tx).await?;
    tx.commit().await?;
    state.bus.publish(Change::Roles(app_id)).await;
    Ok(())
}

/// Replaces a role's permission set. Each entry must be a catalogue permission (system or
/// custom) or an explicit wildcard, and the caller must hold it.
pub async fn set_permissions(
    state: &AppState,
    principal: &AdminPrincipal,
    ctx: &Origin,
    app_id: Uuid,
    name: &str,
    wanted: &[String],
) -> Result<(role::Model, Vec<String>), Error> {
    crate::access::admin::visible(state, principal, app_id, permissions::ROLE_WRITE).await?;
    let role = find_role(state, app_id, name).await?;
    let custom = custom_permissions(state, app_id).await?;
    let mut grants: Vec<String> = Vec::new();
    for raw in wanted {
        let p = permissions::parse_grant(raw)?;
        let wildcard = p == "*" || p.ends_with(".*");
        let known = permissions::SYSTEM.iter().any(|(n, _)| *n == p)
            || custom.iter().any(|c| format!("{}.{}", c.resource, c.action) == p);
        if !wildcard && !known {
            return Err(Error::validation("permissions", format!("'{p}' is not in the app's permission catalogue")));
        }
        if !permissions::grants(principal.permissions(), &p) {
            return Err(Error::forbidden(format!("this key cannot grant '{p}', which it does not hold")));
        }
        if !grants.contains(&p) {
            grants.push(p);
        }
    }
    grants.sort();
    let before = store::permissions_of(&state.db, app_id, Some(role.id)).await?;
    let tx = db::begin_write(&state.db).await?;
    role_permission::Entity::delete_many().filter(role_permission::Column::RoleId.eq(role.id)).exec(&tx).await?;
    for p in &grants {
        role_permission::ActiveModel { role_id: Set(role.id), app_id: Set(app_id), permission: Set(p.clone()) }
            .insert(&tx)
            .await?;
    }
    Entry::new(app_id, &principal.actor(), Action::RolePermissionsSet, ctx)
        .resource("role", &role.name)
        .details(serde_json::json!({ "before": before, "after": grants }))
        .record(&tx)
        .await?;
    tx.commit().await?;
    state.bus.publish(Change::Roles(app_id)).await;
    Ok((role, grants))
}

pub async fn create_permission(
    state: &AppState,
    principal: &AdminPrincipal,
    ctx: &Origin,
    app_id: Uuid,
    resource: &str,
    action: &str,
    description: Option<String>,
) -> Result<permission::Model, Error> {
    crate::access::admin::visible(state, principal, app_id, permissions::PERMISSION_WRITE).await?;
    let resource = segment("resource", resource)?;
    let action = segment("action", action)?;
    if action.contains('.') {
        return Err(Error::validation("action", "must be one word (no dots)"));
    }
    let key = format!("{resource}.{action}");
    if permissions::SYSTEM.iter().any(|(n, _)| *n == key) {
        return Err(Error::new(Code::PermissionExists, format!("'{key}' is a system permission")));
    }
    let tx = db::begin_write(&state.db).await?;
    let row = permission::ActiveModel {
        id: Set(Uuid::now_v7()),
        app_id: Set(app_id),
        resource: Set(resource),
        action: Set(action),
        description: Set(description.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty())),
        created_at: Set(clock::now()),
    }
    .insert(&tx)
    .await
    .map_err(|e| {
        if db::is_unique_violation(&e) {
            Error::new(Code::PermissionExists, format!("'{key}' exists"))
        } else {
            e.into()
        }
    })?;
    Entry::new(app_id, &principal.actor(), Action::PermissionCreated, ctx)
        .resource("permission", &key)
        .record(&tx)
        .await?;
    tx.commit().await?;
    Ok(row)
}

/// Deletes a custom permission and takes it away from every role.
pub async fn delete_permission(
    state: &AppState,
    principal: &AdminPrincipal,
    ctx: &Origin,
    app_id: Uuid,
    key: &str,
) -> Result<(), Error> {
    crate::access::admin::visible(state, principal, app_id, permissions::PERMISSION_WRITE).await?;
    if permissions::SYSTEM.iter().any(|(n, _)| *n == key) {
        return Err(Error::forbidden(format!("'{key}' is a system permission and cannot be deleted")));
    }
    let (resource, action) = permissions::split(key);
    let row = permission::Entity::find()
        .filter(permission::Column::AppId.eq(app_id))
        .filter(permission::Column::Resource.eq(resource))
        .filter(permission::Column::Action.eq(action))
        .one(&state.db)
        .await?
        .ok_or_else(|| Error::not_found("permission"))?;
    let tx = db::begin_write(&state.db).await?;
    permission::Entity::delete_by_id(row.id).exec(&tx).await?;
    role_permission::Entity::delete_many()
        .filter(role_permission::Column::AppId.eq(app_id))
        .filter(role_permission::Column::Permission.eq(key))
        .exec(&tx)
        .await?;
    Entry::new(app_id, &principal.actor(), Action::PermissionDeleted, ctx)
        .resource("permission", key)
        .record(&tx)
        .await?;
    tx.commit().await?;
    state.bus.publish(Change::Roles(app_id)).await;
    Ok(())
}

/// The app's role named `name`, read inside the caller's write unit.
// Wrapper added by the platform layering (auth_config): the integrator may merge it with the
// account group's rbac service functions.
pub async fn find_by_name(unit: &crate::write::Unit, app_id: Uuid, name: &str) -> Result<Option<role::Model>, Error> {
    Ok(store::find_by_name(unit.conn(), app_id, name).await?)
}

/// Permissions granted by a role (none without a role), through the pool.
// Wrapper added by the platform layering (authz engine cache misses).
pub async fn permissions_of(db: &crate::db::Db, app_id: Uuid, role_id: Option<Uuid>) -> Result<Vec<String>, Error> {
    Ok(store::permissions_of(db, app_id, role_id).await?)
}
