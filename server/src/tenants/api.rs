//! HTTP surface of tenants: the app-scoped admin API for tenants and their members.

use std::{collections::BTreeMap, sync::Arc};

use chrono::{DateTime, Utc};
use poem::{Request, web::Data};
use poem_openapi::{
    ApiResponse, Enum, Object, OpenApi,
    param::{Header, Path, Query},
    payload::Json,
};
use uuid::Uuid;

use super::removal;
use super::service::{self, Member, Membership, NewTenant, TenantChanges};
use crate::access::api::{AdminKey, authenticate};
use crate::http::strict_json::StrictJson;
use crate::tags::ApiTags;
use crate::{
    created_response,
    entity::tenant,
    http::{
        error::{AdminCreateErrors, AdminReadErrors, AdminWriteErrors, Errors},
        pagination::PageRequest,
        responses::NoContent,
    },
    idempotency, page_type,
    state::AppState,
};

/// Status of a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, serde::Serialize, serde::Deserialize)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum TenantStatus {
    /// Its members can sign in to it.
    Active,
    /// Tenant sign-ins and tenant tokens are refused; members and settings are kept.
    Suspended,
}

impl TenantStatus {
    fn from_stored(s: &str) -> Self {
        if s == service::SUSPENDED { TenantStatus::Suspended } else { TenantStatus::Active }
    }

    fn stored(self) -> &'static str {
        match self {
            TenantStatus::Active => service::ACTIVE,
            TenantStatus::Suspended => service::SUSPENDED,
        }
    }
}

/// An organization inside an app (a tenant). Tokens issued for it carry its id as `tid`.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
#[oai(example)]
pub struct Tenant {
    /// Tenant id (UUID): the `tenant_id` of sign-in and the `tid` claim.
    pub id: Uuid,
    /// The app the tenant belongs to.
    pub app_id: Uuid,
    /// Unique within the app: 2–64 lowercase letters, digits and inner hyphens.
    pub slug: String,
    /// Human-readable name shown to members.
    pub display_name: String,
    /// `active`, or `suspended` (tenant sign-ins and tenant tokens refused).
    pub status: TenantStatus,
    /// Free-form JSON object for the operator's own use.
    pub metadata: BTreeMap<String, serde_json::Value>,
    /// When the tenant was created.
    pub created_at: DateTime<Utc>,
    /// When the tenant last changed.
    pub updated_at: DateTime<Utc>,
}

impl poem_openapi::types::Example for Tenant {
    fn example() -> Self {
        Tenant {
            id: "0193a3f0-7a00-7000-8000-00000000a001".parse().unwrap(),
            app_id: "0193a3f0-6b1c-7d2e-9f00-1a2b3c4d5e6f".parse().unwrap(),
            slug: "globex".into(),
            display_name: "Globex Corporation".into(),
            status: TenantStatus::Active,
            metadata: BTreeMap::from([("plan".to_owned(), serde_json::json!("enterprise"))]),
            created_at: "2026-12-08T10:00:00Z".parse().unwrap(),
            updated_at: "2026-12-08T10:00:00Z".parse().unwrap(),
        }
    }
}

impl From<tenant::Model> for Tenant {
    fn from(m: tenant::Model) -> Self {
        Tenant {
            id: m.id,
            app_id: m.app_id,
            slug: m.slug,
            display_name: m.display_name,
            status: TenantStatus::from_stored(&m.status),
            metadata: serde_json::from_value(m.metadata).unwrap_or_default(),
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// A new tenant.
#[derive(Debug, Clone, Object, serde::Serialize)]
#[oai(example)]
pub struct CreateTenant {
    /// 2–64 lowercase letters, digits and inner hyphens, unique within the app (409
    /// `tenant_slug_taken`).
    #[oai(validator(min_length = 2, max_length = 64, pattern = r"^[a-z0-9][a-z0-9-]*[a-z0-9]$"))]
    pub slug: String,
    /// Human-readable name, 1–120 characters.
    #[oai(validator(min_length = 1, max_length = 120))]
    pub display_name: String,
    /// Initial metadata object (default `{}`).
    #[oai(nullable)]
    pub metadata: Option<BTreeMap<String, serde_json::Value>>,
}

impl poem_openapi::types::Example for CreateTenant {
    fn example() -> Self {
        CreateTenant {
            slug: "globex".into(),
            display_name: "Globex Corporation".into(),
            metadata: Some(BTreeMap::from([("plan".to_owned(), serde_json::json!("enterprise"))])),
        }
    }
}

/// Changes to a tenant; fields left out stay as they are.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct UpdateTenant {
    /// New slug, unique within the app.
    #[oai(validator(min_length = 2, max_length = 64, pattern = r"^[a-z0-9][a-z0-9-]*[a-z0-9]$"))]
    #[oai(nullable)]
    pub slug: Option<String>,
    /// New human-readable name, 1–120 characters.
    #[oai(validator(min_length = 1, max_length = 120))]
    #[oai(nullable)]
    pub display_name: Option<String>,
    /// Replaces the whole metadata object.
    #[oai(nullable)]
    pub metadata: Option<BTreeMap<String, serde_json::Value>>,
}

impl poem_openapi::types::Example for UpdateTenant {
    fn example() -> Self {
        UpdateTenant { slug: None, display_name: Some("Globex Inc.".into()), metadata: None }
    }
}

/// New status of a tenant.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct UpdateTenantStatus {
    pub status: TenantStatus,
}

impl poem_openapi::types::Example for UpdateTenantStatus {
    fn example() -> Self {
        UpdateTenantStatus { status: TenantStatus::Suspended }
    }
}

/// An end-user's membership of a tenant.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
#[oai(example)]
pub struct TenantMember {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The member (an end-user of the app).
    pub end_user_id: Uuid,
    /// The app role the user holds in this tenant (the `trole` claim of their tenant tokens).
    pub role_id: Uuid,
    /// The role's name (the `trole` claim).
    #[oai(nullable)]
    pub role_name: Option<String>,
    /// When the user joined the tenant.
    pub created_at: DateTime<Utc>,
    /// When the membership last changed (its role).
    pub updated_at: DateTime<Utc>,
}

impl poem_openapi::types::Example for TenantMember {
    fn example() -> Self {
        TenantMember {
            tenant_id: "0193a3f0-7a00-7000-8000-00000000a001".parse().unwrap(),
            end_user_id: "0193a3f0-7b00-7000-8000-00000000b001".parse().unwrap(),
            role_id: "0193a3f0-7c00-7000-8000-00000000c001".parse().unwrap(),
            role_name: Some("admin".into()),
            created_at: "2026-12-08T10:00:00Z".parse().unwrap(),
            updated_at: "2026-12-08T10:00:00Z".parse().unwrap(),
        }
    }
}

impl From<Member> for TenantMember {
    fn from(m: Member) -> Self {
        TenantMember {
            tenant_id: m.row.tenant_id,
            end_user_id: m.row.end_user_id,
            role_id: m.row.role_id,
            role_name: m.role_name,
            created_at: m.row.created_at,
            updated_at: m.row.updated_at,
        }
    }
}

/// The role a member holds in a tenant.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct SetTenantMember {
    /// One of the app's roles (404 `role_not_found` otherwise).
    pub role_name: String,
}

impl poem_openapi::types::Example for SetTenantMember {
    fn example() -> Self {
        SetTenantMember { role_name: "admin".into() }
    }
}

/// A tenant a user belongs to, with the role they hold there.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct UserTenant {
    /// The tenant.
    pub tenant: Tenant,
    /// The app role the user holds in this tenant.
    pub role_id: Uuid,
    /// The role's name (the `trole` claim).
    #[oai(nullable)]
    pub role_name: Option<String>,
    /// When the user joined the tenant.
    pub joined_at: DateTime<Utc>,
}

impl From<Membership> for UserTenant {
    fn from(m: Membership) -> Self {
        UserTenant {
            tenant: m.tenant.into(),
            role_id: m.row.role_id,
            role_name: m.role_name,
            joined_at: m.row.created_at,
        }
    }
}

page_type!(TenantList, Tenant, "A page of tenants, oldest first.");
page_type!(TenantMemberList, TenantMember, "A page of a tenant's members, by end-user id.");
page_type!(UserTenantList, UserTenant, "A page of a user's tenants, by tenant id.");
created_response!(TenantCreated, Tenant);

/// The membership, new (201) or with its role changed (200).
#[derive(ApiResponse)]
pub enum TenantMemberSet {
    /// The user was already a member; their role in the tenant is now the one sent.
    #[oai(status = 200)]
    Updated(Json<TenantMember>),
    /// The user is now a member.
    #[oai(status = 201)]
    Added(Json<TenantMember>),
}

pub struct TenantsApi;

#[OpenApi]
impl TenantsApi {
    /// List tenants
    ///
    /// The app's tenants, oldest first, by cursor; `search` filters by a case-insensitive
    /// substring of the slug or display name.
    #[oai(path = "/v1/apps/:app_id/tenants", method = "get", operation_id = "tenant_list", tag = "ApiTags::Tenants")]
    async fn list(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        /// The app's id (or its slug).
        app_id: Path<Uuid>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Case-insensitive substring of the slug or display name, e.g. `glob`.
        search: Query<Option<String>>,
    ) -> Result<Json<TenantList>, Errors<AdminReadErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let rows = service::list(&state, &principal, app_id.0, search.0.as_deref(), page.after, page.fetch()).await?;
        let (rows, pagination) = page.finish(rows, |t| t.id);
        Ok(Json(TenantList { data: rows.into_iter().map(Tenant::from).collect(), pagination }))
    }

    /// Create a tenant
    ///
    /// Creates an active tenant in the app. 409 `tenant_slug_taken` when another tenant of the
    /// app has the slug. Send an `Idempotency-Key` to make retries safe.
    #[oai(path = "/v1/apps/:app_id/tenants", method = "post", operation_id = "tenant_create", tag = "ApiTags::Tenants")]
    async fn create(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id (or its slug).
        app_id: Path<Uuid>,
        /// Retries with the same key and body return the first response (24 hours).
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
        body: StrictJson<CreateTenant>,
    ) -> Result<TenantCreated, Errors<AdminCreateErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let ctx = crate::http::context::origin(req);
        let b = body.0;
        let op = format!("tenant_create:{}", app_id.0);
        let tenant: Tenant = idempotency::run(&state, &principal, idempotency_key.0.as_deref(), &op, &b, || async {
            let new = NewTenant {
                slug: b.slug.clone(),
                display_name: b.display_name.clone(),
                metadata: b.metadata.clone().map(|m| serde_json::to_value(m).expect("json")),
            };
            service::create(&state, &principal, &ctx, app_id.0, new).await.map(Tenant::from)
        })
        .await?;
        Ok(TenantCreated::Created(Json(tenant)))
    }

    /// Get a tenant
    ///
    /// One tenant of the app by id; 404 `tenant_not_found` for an unknown id or another app's
    /// tenant.
    #[oai(
        path = "/v1/apps/:app_id/tenants/:tenant_id",
        method = "get",
        operation_id = "tenant_get",
        tag = "ApiTags::Tenants"
    )]
    async fn get(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        /// The app's id (or its slug).
        app_id: Path<Uuid>,
        /// The tenant's id.
        tenant_id: Path<Uuid>,
    ) -> Result<Json<Tenant>, Errors<AdminReadErrors>> {
        let principal = authenticate(&state, &auth).await?;
        Ok(Json(service::get(&state, &principal, app_id.0, tenant_id.0).await?.into()))
    }

    /// Update a tenant
    ///
    /// Changes the slug, display name or metadata.
    #[oai(
        path = "/v1/apps/:app_id/tenants/:tenant_id",
        method = "patch",
        operation_id = "tenant_update",
        tag = "ApiTags::Tenants"
    )]
    async fn update(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id (or its slug).
        app_id: Path<Uuid>,
        /// The tenant's id.
        tenant_id: Path<Uuid>,
        body: StrictJson<UpdateTenant>,
    ) -> Result<Json<Tenant>, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let b = body.0;
        let changes = TenantChanges {
            slug: b.slug,
            display_name: b.display_name,
            metadata: b.metadata.map(|m| serde_json::to_value(m).expect("json")),
        };
        let row =
            service::update(&state, &principal, &crate::http::context::origin(req), app_id.0, tenant_id.0, changes)
                .await?;
        Ok(Json(row.into()))
    }

    /// Suspend or reactivate a tenant
    ///
    /// A `suspended` tenant keeps its members, but sign-ins into it are refused with 403
    /// `tenant_membership_required`.
    #[oai(
        path = "/v1/apps/:app_id/tenants/:tenant_id/status",
        method = "patch",
        operation_id = "tenant_update_status",
        tag = "ApiTags::Tenants"
    )]
    async fn update_status(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id (or its slug).
        app_id: Path<Uuid>,
        /// The tenant's id.
        tenant_id: Path<Uuid>,
        body: StrictJson<UpdateTenantStatus>,
    ) -> Result<Json<Tenant>, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let ctx = crate::http::context::origin(req);
        let row = service::set_status(&state, &principal, &ctx, app_id.0, tenant_id.0, body.0.status.stored()).await?;
        Ok(Json(row.into()))
    }

    /// Delete a tenant
    ///
    /// Permanently deletes the tenant and all its memberships, revokes its pending invites and
    /// deletes the M2M clients bound to it. The end-users stay in the app.
    #[oai(
        path = "/v1/apps/:app_id/tenants/:tenant_id",
        method = "delete",
        operation_id = "tenant_delete",
        tag = "ApiTags::Tenants"
    )]
    async fn delete(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id (or its slug).
        app_id: Path<Uuid>,
        /// The tenant's id.
        tenant_id: Path<Uuid>,
    ) -> Result<NoContent, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        removal::delete(&state, &principal, &crate::http::context::origin(req), app_id.0, tenant_id.0).await?;
        Ok(NoContent::NoContent)
    }

    /// List a tenant's members
    ///
    /// The tenant's members with the role each holds there, by end-user id, by cursor.
    #[oai(
        path = "/v1/apps/:app_id/tenants/:tenant_id/members",
        method = "get",
        operation_id = "tenant_member_list",
        tag = "ApiTags::Tenants"
    )]
    async fn member_list(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        /// The app's id (or its slug).
        app_id: Path<Uuid>,
        /// The tenant's id.
        tenant_id: Path<Uuid>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<Json<TenantMemberList>, Errors<AdminReadErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let rows = service::members(&state, &principal, app_id.0, tenant_id.0, page.after, page.fetch()).await?;
        let (rows, pagination) = page.finish(rows, |m| m.row.end_user_id);
        Ok(Json(TenantMemberList { data: rows.into_iter().map(TenantMember::from).collect(), pagination }))
    }

    /// Add a member or change their role
    ///
    /// Makes the app's end-user a member of the tenant holding `role_name` there (201), or
    /// changes the role they hold (200). The role is one of the app's roles; a user may hold a
    /// different role in each tenant, independent of their app-wide role.
    #[oai(
        path = "/v1/apps/:app_id/tenants/:tenant_id/members/:user_id",
        method = "put",
        operation_id = "tenant_member_set",
        tag = "ApiTags::Tenants"
    )]
    async fn member_set(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id (or its slug).
        app_id: Path<Uuid>,
        /// The tenant's id.
        tenant_id: Path<Uuid>,
        /// The end-user's id.
        user_id: Path<Uuid>,
        body: StrictJson<SetTenantMember>,
    ) -> Result<TenantMemberSet, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let ctx = crate::http::context::origin(req);
        let (member, added) =
            service::set_member(&state, &principal, &ctx, app_id.0, tenant_id.0, user_id.0, &body.0.role_name).await?;
        let member = Json(TenantMember::from(member));
        Ok(if added { TenantMemberSet::Added(member) } else { TenantMemberSet::Updated(member) })
    }

    /// Remove a member
    ///
    /// The user leaves the tenant (their account stays in the app). 404 when they were not a
    /// member.
    #[oai(
        path = "/v1/apps/:app_id/tenants/:tenant_id/members/:user_id",
        method = "delete",
        operation_id = "tenant_member_remove",
        tag = "ApiTags::Tenants"
    )]
    async fn member_remove(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        req: &Request,
        /// The app's id (or its slug).
        app_id: Path<Uuid>,
        /// The tenant's id.
        tenant_id: Path<Uuid>,
        /// The end-user's id.
        user_id: Path<Uuid>,
    ) -> Result<NoContent, Errors<AdminWriteErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let ctx = crate::http::context::origin(req);
        service::remove_member(&state, &principal, &ctx, app_id.0, tenant_id.0, user_id.0).await?;
        Ok(NoContent::NoContent)
    }

    /// List a user's tenants
    ///
    /// The tenants the end-user belongs to, with the role they hold in each, by tenant id, by
    /// cursor.
    #[oai(
        path = "/v1/apps/:app_id/end-users/:user_id/tenants",
        method = "get",
        operation_id = "tenant_list_for_user",
        tag = "ApiTags::Tenants"
    )]
    async fn list_for_user(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        /// The app's id (or its slug).
        app_id: Path<Uuid>,
        /// The end-user's id.
        user_id: Path<Uuid>,
        /// Page size, 1–200 (default 50).
        limit: Query<Option<u32>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<Json<UserTenantList>, Errors<AdminReadErrors>> {
        let principal = authenticate(&state, &auth).await?;
        let page = PageRequest::parse(limit.0, cursor.0.as_deref())?;
        let rows = service::tenants_of_user(&state, &principal, app_id.0, user_id.0, page.after, page.fetch()).await?;
        let (rows, pagination) = page.finish(rows, |m| m.tenant.id);
        Ok(Json(UserTenantList { data: rows.into_iter().map(UserTenant::from).collect(), pagination }))
    }
}

/// The codes each operation answers beyond those every operation of its kind answers
/// (`http::spec` adds both to the spec).
pub const ERROR_CODES: crate::http::spec::OperationCodes = {
    #[allow(unused_imports)]
    use crate::error::Code::*;
    &[
        ("tenant_list", &[]),
        ("tenant_create", &[TenantSlugTaken]),
        ("tenant_get", &[TenantNotFound]),
        ("tenant_update", &[TenantNotFound, TenantSlugTaken]),
        ("tenant_update_status", &[TenantNotFound]),
        ("tenant_delete", &[TenantNotFound]),
        ("tenant_member_list", &[TenantNotFound]),
        ("tenant_member_set", &[TenantNotFound, RoleNotFound]),
        ("tenant_member_remove", &[TenantNotFound]),
        ("tenant_list_for_user", &[]),
    ]
};
