//! Admin HTTP surface of roles and permissions (`/v1/apps/{app_id}/roles…`,
//! `/v1/apps/{app_id}/permissions…`). Roles are addressed by name; `assign` and `permissions`
//! are reserved names because they are routes.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::{Request, web::Data};
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use uuid::Uuid;

use super::service;
use crate::access::api::{AdminKey, authenticate};
use crate::audit::Action;
use crate::http::strict_json::StrictJson;
use crate::tags::ApiTags;
use crate::{
    created_response,
    end_users::service as end_users,
    entity::{permission, role},
    http::{
        error::{AdminReadErrors, AdminWriteErrors, Error, Errors},
        pagination::PageRequest,
        responses::NoContent,
    },
    page_type, permissions,
    state::AppState,
};

/// A role of an app.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct Role {
    /// The role's id.
    pub id: Uuid,
    /// The app the role belongs to.
    pub app_id: Uuid,
    /// Unique in the app; used in paths.
    pub name: String,
    /// What the role is for, for people.
    #[oai(nullable)]
    pub description: Option<String>,
    /// `owner`, `admin` and `member` are system roles: they cannot be deleted.
    pub is_system: bool,
    /// When the role was created.
    pub created_at: DateTime<Utc>,
    /// When the role last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<role::Model> for Role {
    fn from(r: role::Model) -> Self {
        Role {
            id: r.id,
            app_id: r.app_id,
            name: r.name,
            description: r.description,
            is_system: r.is_system,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// A role with its permission set.
#[derive(Debug, Clone, Object)]
pub struct RoleWithPermissions {
    /// The role's id.
    pub id: Uuid,
    /// The app the role belongs to.
    pub app_id: Uuid,
    /// The role's name, unique in the app.
    pub name: String,
    /// What the role is for, for people.
    #[oai(nullable)]
    pub description: Option<String>,
    /// Whether it is a system role (`owner`, `admin`, `member`), which cannot be deleted.
    pub is_system: bool,
    /// When the role was created.
    pub created_at: DateTime<Utc>,
    /// When the role last changed.
    pub updated_at: DateTime<Utc>,
    /// Granted permissions, including explicit wildcards (`resource.*`, `*`).
    pub permissions: Vec<String>,
}

/// The role with its current permission set.
async fn with_grants(state: &AppState, role: role::Model) -> Result<RoleWithPermissions, Error> {
    let grants = service::permissions_of(&state.db, role.app_id, Some(role.id)).await?;
    Ok(with_permissions(role, grants))
}

fn with_permissions(r: role::Model, permissions: Vec<String>) -> RoleWithPermissions {
    RoleWithPermissions {
        id: r.id,
        app_id: r.app_id,
        name: r.name,
        description: r.description,
        is_system: r.is_system,
        created_at: r.created_at,
        updated_at: r.updated_at,
        permissions,
    }
}

/// A permission of the catalogue.
#[derive(Debug, Clone, Object)]
pub struct Permission {
    /// The permission's id.
    pub id: Uuid,
    /// The resource part of `resource.action`.
    pub resource: String,
    /// The action part of `resource.action`.
    pub action: String,
    /// What the permission allows, for people.
    #[oai(nullable)]
    pub description: Option<String>,
    /// `null` for system permissions.
    #[oai(nullable)]
    pub app_id: Option<Uuid>,
    /// When the permission was created.
    pub created_at: DateTime<Utc>,
}

/// A catalogue entry with its origin.
#[derive(Debug, Clone, Object)]
pub struct PermissionCatalogEntry {
    /// The permission's id.
    pub id: Uuid,
    /// The resource part of `resource.action`.
    pub resource: String,
    /// The action part of `resource.action`.
    pub action: String,
    /// What the permission allows, for people.
    #[oai(nullable)]
    pub description: Option<String>,
    /// The app of a custom permission; `null` for a system permission.
    #[oai(nullable)]
    pub app_id: Option<Uuid>,
    /// When the permission was created.
    pub created_at: DateTime<Utc>,
    /// Heimdall's own permissions (they guard its admin API) cannot be deleted.
    pub is_system: bool,
}

/// A new role.
#[derive(Debug, Clone, Object)]
pub struct CreateRole {
    /// 2–64 lowercase letters, digits, `_`, `-`; not `assign` or `permissions`.
    pub name: String,
    /// What the role is for, for people; optional.
    #[oai(nullable)]
    pub description: Option<String>,
}

/// Changes to a role.
#[derive(Debug, Clone, Object)]
pub struct UpdateRole {
    /// New description; empty clears it.
    #[oai(nullable)]
    pub description: Option<String>,
}

/// Assigning a role.
#[derive(Debug, Clone, Object)]
pub struct AssignRole {
    /// End-user account id.
    pub account_id: Uuid,
    /// Role name.
    pub role: String,
}

/// The resulting membership.
#[derive(Debug, Clone, Object)]
pub struct AppMembership {
    /// Membership id (the account id: an account holds one role per app).
    pub id: Uuid,
    /// The end-user's account id (the token `sub`).
    pub account_id: Uuid,
    /// The app's id.
    pub app_id: Uuid,
    /// Id of the role now held.
    pub role_id: Uuid,
    /// When the end-user first received a role in the app.
    pub joined_at: DateTime<Utc>,
}

/// The complete new permission set.
#[derive(Debug, Clone, Object)]
pub struct SetPermissions {
    /// Every permission the role will hold (`resource.action`, wildcards allowed).
    pub permissions: Vec<String>,
}

/// A new custom permission.
#[derive(Debug, Clone, Object)]
pub struct CreatePermission {
    /// Lowercase letters, digits, `_`, `-` (dots between words), e.g. `documents`.
    pub resource: String,
    /// One word, e.g. `read`.
    pub action: String,
    /// What the permission allows, for people; optional.
    #[oai(nullable)]
    pub description: Option<String>,
}

page_type!(RoleList, Role, "A page of roles, oldest first.");
created_response!(RoleCreated, Role);
created_response!(PermissionCreated, Permission);

fn permission_of(p: permission::Model) -> Permission {
    Permission {
        id: p.id,
        resource: p.resource,
        action: p.action,
        description: p.description,
        app_id: Some(p.app_id),
        created_at: p.created_at,
    }
}

async fn catalogue(state: &AppState, app_id: Uuid) -> Result<Vec<PermissionCatalogEntry>, Error> {
    let mut out: Vec<PermissionCatalogEntry> = permissions::SYSTEM
        .iter()
        .map(|(name, description)| {
            let (resource, action) = permissions::split(name);
            PermissionCatalogEntry {
                id: service::system_permission_id(name),
                resource,
                action,
                description: Some((*description).to_owned()),
                app_id: None,
                created_at: service::system_epoch(),
                is_system: true,
            }
        })
        .collect();
    out.extend(service::custom_permissions(state, app_id).await?.into_iter().map(|p| PermissionCatalogEntry {
        id: p.id,
        resource: p.resource,
        action: p.action,
        description: p.description,
        app_id: Some(p.app_id),
        created_at: p.created_at,
        is_system: false,
    }));
    Ok(out)
}

pub struct RbacApi;

#[OpenApi]
impl RbacApi {
    /// List roles
    ///
    /// The app's roles, oldest first, by cursor: the system roles `owner`, `admin` and `member`
    /// and any custom ones. Their permissions are on the single-role read.
    #[oai(path = "/v1/apps/:app_id/roles", method = "get", operation_id = "role_list", tag = "ApiTags::Roles")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        /// The app's id.
        app_id: Path<Uuid>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<Json<RoleList>, Errors<AdminReadErrors>> {
        let principal = authenticate(&state, &auth).await?;
        crate::access::admin::visible(&state, &principal, app_id.0, permissions::ROLE_READ).await?;
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let rows = service::list(&state, app_id.0, page.after, page.fetch()).await?;
        let (rows, pagination) = page.finish(rows, |r| r.id);
        Ok(Json(RoleList { data: rows.into_iter().map(Role::from).collect(), pagination }))
    }

    /// Permission catalogue for roles
    ///
    /// Every permission a role can be given: Heimdall's system permissions and the app's custom
    /// ones, with `is_system`. A bare array.
    #[oai(
        path = "/v1/apps/:app_id/roles/permissions",
        method = "get",
        operation_id = "permission_catalog_get",
        tag = "ApiTags::Roles"
    )]
    async fn role_catalogue(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        /// The app's id.
        app_id: Path<Uuid>,
    ) -> Result<Json<Vec<PermissionCatalogEntry>>, Errors<AdminReadErrors>> {
        let principal = authenticate(&state, &auth).await?;
        crate::access::admin::visible(&state, &principal, app_id.0, permissions::PERMISSION_READ).await?;
        Ok(Json(catalogue(&state, app_id.0).await?))
    }

    /// Create a role
    ///
    /// A new role starts with no permissions.
    #[oai(path = "/v1/apps/:app_id/roles", method = "post", operation_id = "role_create", tag = "ApiTags::Roles")]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id.
        app_id: Path<Uuid>,
        body: StrictJson<CreateRole>,
    ) -> Result<RoleCreated, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let row = service::create_role(
            &state,
            &principal,
            &crate::http::context::origin(req),
            app_id.0,
            &body.0.name,
            body.0.description,
        )
        .await?;
        Ok(RoleCreated::Created(Json(row.into())))
    }

    /// Assign a role
    ///
    /// Gives an end-user the named role (replacing their previous one). `/authorize` uses it
    /// from the next call, on every instance.
    #[oai(
        path = "/v1/apps/:app_id/roles/assign",
        method = "post",
        operation_id = "role_assign",
        tag = "ApiTags::Roles"
    )]
    async fn assign(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id.
        app_id: Path<Uuid>,
        body: StrictJson<AssignRole>,
    ) -> Result<Json<AppMembership>, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let ctx = crate::http::context::origin(req);
        let b = body.0;
        let user = end_users::set_role(
            &state,
            &principal,
            &ctx,
            app_id.0,
            b.account_id,
            Some(&b.role),
            Action::RoleAssigned,
            permissions::ROLE_ASSIGN,
        )
        .await?;
        Ok(Json(AppMembership {
            id: user.id,
            account_id: user.id,
            app_id: app_id.0,
            role_id: user.role_id.unwrap_or_default(),
            joined_at: user.created_at,
        }))
    }

    /// Get a role
    ///
    /// The role with its permission set.
    #[oai(
        path = "/v1/apps/:app_id/roles/:role_name",
        method = "get",
        operation_id = "role_get",
        tag = "ApiTags::Roles"
    )]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        /// The app's id.
        app_id: Path<Uuid>,
        /// The role's name, e.g. `member`.
        role_name: Path<String>,
    ) -> Result<Json<RoleWithPermissions>, Errors<AdminReadErrors>> {
        let principal = authenticate(&state, &auth).await?;
        crate::access::admin::visible(&state, &principal, app_id.0, permissions::ROLE_READ).await?;
        let role = service::find_role(&state, app_id.0, &role_name.0).await?;
        Ok(Json(with_grants(&state, role).await?))
    }

    /// Update a role
    ///
    /// Changes the description (the name is the role's identity).
    #[oai(
        path = "/v1/apps/:app_id/roles/:role_name",
        method = "patch",
        operation_id = "role_update",
        tag = "ApiTags::Roles"
    )]
    async fn update(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id.
        app_id: Path<Uuid>,
        /// The role's name, e.g. `member`.
        role_name: Path<String>,
        body: StrictJson<UpdateRole>,
    ) -> Result<Json<RoleWithPermissions>, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let role = service::update_role(
            &state,
            &principal,
            &crate::http::context::origin(req),
            app_id.0,
            &role_name.0,
            body.0.description,
        )
        .await?;
        Ok(Json(with_grants(&state, role).await?))
    }

    /// Delete a role
    ///
    /// System roles cannot be deleted (403); a role still held by end-users answers 409
    /// `role_in_use`. Pending invites for the role are deleted with it.
    #[oai(
        path = "/v1/apps/:app_id/roles/:role_name",
        method = "delete",
        operation_id = "role_delete",
        tag = "ApiTags::Roles"
    )]
    async fn delete(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id.
        app_id: Path<Uuid>,
        /// The role's name, e.g. `member`.
        role_name: Path<String>,
    ) -> Result<NoContent, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        service::delete_role(&state, &principal, &crate::http::context::origin(req), app_id.0, &role_name.0).await?;
        Ok(NoContent::NoContent)
    }

    /// Set a role's permissions
    ///
    /// Replaces the whole set. Each entry is a catalogue permission or an explicit wildcard
    /// (`resource.*`, `*`), and the calling key must itself hold every permission it grants.
    /// `/authorize` follows the new set from the next call, on every instance.
    #[oai(
        path = "/v1/apps/:app_id/roles/:role_name/permissions",
        method = "put",
        operation_id = "role_set_permissions",
        tag = "ApiTags::Roles"
    )]
    async fn set_permissions(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id.
        app_id: Path<Uuid>,
        /// The role's name, e.g. `member`.
        role_name: Path<String>,
        body: StrictJson<SetPermissions>,
    ) -> Result<Json<RoleWithPermissions>, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let (role, grants) = service::set_permissions(
            &state,
            &principal,
            &crate::http::context::origin(req),
            app_id.0,
            &role_name.0,
            &body.0.permissions,
        )
        .await?;
        Ok(Json(with_permissions(role, grants)))
    }

    /// List permissions
    ///
    /// System and custom permissions of the app (system ones have `app_id: null`). A bare array.
    #[oai(
        path = "/v1/apps/:app_id/permissions",
        method = "get",
        operation_id = "permission_list",
        tag = "ApiTags::Permissions"
    )]
    async fn permissions(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        /// The app's id.
        app_id: Path<Uuid>,
    ) -> Result<Json<Vec<Permission>>, Errors<AdminReadErrors>> {
        let principal = authenticate(&state, &auth).await?;
        crate::access::admin::visible(&state, &principal, app_id.0, permissions::PERMISSION_READ).await?;
        let list = catalogue(&state, app_id.0)
            .await?
            .into_iter()
            .map(|e| Permission {
                id: e.id,
                resource: e.resource,
                action: e.action,
                description: e.description,
                app_id: e.app_id,
                created_at: e.created_at,
            })
            .collect();
        Ok(Json(list))
    }

    /// Create a custom permission
    ///
    /// Adds `resource.action` to the app's catalogue so roles can be granted it. A key that
    /// already exists, or that names a system permission, answers 409 `permission_exists`.
    #[oai(
        path = "/v1/apps/:app_id/permissions",
        method = "post",
        operation_id = "permission_create",
        tag = "ApiTags::Permissions"
    )]
    async fn create_permission(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id.
        app_id: Path<Uuid>,
        body: StrictJson<CreatePermission>,
    ) -> Result<PermissionCreated, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let b = body.0;
        let row = service::create_permission(
            &state,
            &principal,
            &crate::http::context::origin(req),
            app_id.0,
            &b.resource,
            &b.action,
            b.description,
        )
        .await?;
        Ok(PermissionCreated::Created(Json(permission_of(row))))
    }

    /// Delete a custom permission
    ///
    /// `{permission_key}` is `resource.action`. Removes it from every role. System permissions
    /// answer 403.
    #[oai(
        path = "/v1/apps/:app_id/permissions/:permission_key",
        method = "delete",
        operation_id = "permission_delete",
        tag = "ApiTags::Permissions"
    )]
    async fn delete_permission(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id.
        app_id: Path<Uuid>,
        /// The permission, `resource.action`, e.g. `docs.read`.
        permission_key: Path<String>,
    ) -> Result<NoContent, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        service::delete_permission(&state, &principal, &crate::http::context::origin(req), app_id.0, &permission_key.0)
            .await?;
        Ok(NoContent::NoContent)
    }
}

/// The codes each operation answers beyond those every operation of its kind answers
/// (`http::spec` adds both to the spec).
pub const ERROR_CODES: crate::http::spec::OperationCodes = {
    #[allow(unused_imports)]
    use crate::error::Code::*;
    &[
        ("role_list", &[]),
        ("role_create", &[RoleExists, InvalidPermission]),
        ("role_get", &[RoleNotFound]),
        ("role_update", &[RoleNotFound]),
        ("role_delete", &[RoleNotFound, RoleInUse]),
        ("role_set_permissions", &[RoleNotFound, InvalidPermission]),
        ("role_assign", &[RoleNotFound]),
        ("permission_catalog_get", &[]),
        ("permission_list", &[]),
        ("permission_create", &[PermissionExists, InvalidPermission]),
        ("permission_delete", &[InvalidPermission]),
    ]
};
