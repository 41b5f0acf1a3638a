//! Tenant rules: slugs unique per app, suspension, deletion with the memberships, and members
//! holding one of the app's roles per tenant. Every change is audited through the write unit.

use uuid::Uuid;

use super::store;
use crate::access::{AdminPrincipal, Origin};
use crate::audit::{Action, Entry};
use crate::entity::{role, tenant, tenant_member};
use crate::error::{Code, Error};
use crate::{clock, coherence::Change, db, end_users, permissions, rbac, state::AppState, write};

/// A tenant's status: `active` tenants admit sign-ins; `suspended` ones refuse them.
pub const ACTIVE: &str = "active";
pub const SUSPENDED: &str = "suspended";

pub struct NewTenant {
    pub slug: String,
    pub display_name: String,
    pub metadata: Option<serde_json::Value>,
}

#[derive(Default)]
pub struct TenantChanges {
    pub slug: Option<String>,
    pub display_name: Option<String>,
    pub metadata: Option<serde_json::Value>,
}

/// A tenant slug: 2–64 lowercase letters, digits and inner hyphens.
pub fn slug(raw: &str) -> Result<String, Error> {
    let s = raw.trim();
    let ok = (2..=64).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if !ok {
        return Err(Error::validation("slug", "must be 2 to 64 lowercase letters, digits and inner hyphens"));
    }
    Ok(s.to_owned())
}

fn metadata(value: Option<serde_json::Value>) -> Result<Option<serde_json::Value>, Error> {
    match value {
        Some(v) if !v.is_object() => Err(Error::validation("metadata", "must be a JSON object")),
        other => Ok(other),
    }
}

fn slug_taken(slug: &str) -> Error {
    Error::new(Code::TenantSlugTaken, format!("another tenant of this app has the slug '{slug}'"))
}

pub(super) fn not_found() -> Error {
    Error::new(Code::TenantNotFound, "no tenant with this id in the app")
}

pub async fn create(
    state: &AppState,
    principal: &AdminPrincipal,
    ctx: &Origin,
    app_id: Uuid,
    new: NewTenant,
) -> Result<tenant::Model, Error> {
    crate::access::admin::visible(state, principal, app_id, permissions::TENANT_WRITE).await?;
    let slug = slug(&new.slug)?;
    let display_name = Error::check_name("display_name", &new.display_name)?;
    let metadata = metadata(new.metadata)?.unwrap_or_else(|| serde_json::json!({}));
    let mut unit = write::begin(&state.db, &state.bus).await?;
    let row = store::insert(unit.conn(), store::NewTenant { app_id, slug, display_name, metadata, now: clock::now() })
        .await
        // The unique index on (app_id, slug) decides between racing creations.
        .map_err(|e| if db::is_unique_violation(&e) { slug_taken(new.slug.trim()) } else { Error::from(e) })?;
    unit.audit(
        Entry::new(app_id, &principal.actor(), Action::TenantCreated, ctx)
            .resource("tenant", row.id)
            .details(serde_json::json!({ "slug": row.slug })),
    )
    .await?;
    unit.commit().await?;
    Ok(row)
}

pub async fn list(
    state: &AppState,
    principal: &AdminPrincipal,
    app_id: Uuid,
    search: Option<&str>,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<tenant::Model>, Error> {
    crate::access::admin::visible(state, principal, app_id, permissions::TENANT_READ).await?;
    Ok(store::list(&state.db, app_id, search, after, limit).await?)
}

/// The tenant `tenant_id` of the app, if the caller may read the app's tenants.
pub async fn get(
    state: &AppState,
    principal: &AdminPrincipal,
    app_id: Uuid,
    tenant_id: Uuid,
) -> Result<tenant::Model, Error> {
    crate::access::admin::visible(state, principal, app_id, permissions::TENANT_READ).await?;
    store::find(&state.db, app_id, tenant_id).await?.ok_or_else(not_found)
}

pub async fn update(
    state: &AppState,
    principal: &AdminPrincipal,
    ctx: &Origin,
    app_id: Uuid,
    tenant_id: Uuid,
    changes: TenantChanges,
) -> Result<tenant::Model, Error> {
    crate::access::admin::visible(state, principal, app_id, permissions::TENANT_WRITE).await?;
    let new_slug = changes.slug.as_deref().map(slug).transpose()?;
    let display_name = changes.display_name.as_deref().map(|n| Error::check_name("display_name", n)).transpose()?;
    let metadata = metadata(changes.metadata)?;
    let mut unit = write::begin(&state.db, &state.bus).await?;
    let mut row = store::find(unit.conn(), app_id, tenant_id).await?.ok_or_else(not_found)?;
    let mut changed = Vec::new();
    if let Some(s) = new_slug.filter(|s| *s != row.slug) {
        row.slug = s;
        changed.push("slug");
    }
    if let Some(n) = display_name.filter(|n| *n != row.display_name) {
        row.display_name = n;
        changed.push("display_name");
    }
    if let Some(m) = metadata.filter(|m| *m != row.metadata) {
        row.metadata = m;
        changed.push("metadata");
    }
    if changed.is_empty() {
        return Ok(row);
    }
    row.updated_at = clock::now();
    let slug = row.slug.clone();
    let row = store::update(unit.conn(), row)
        .await
        .map_err(|e| if db::is_unique_violation(&e) { slug_taken(&slug) } else { Error::from(e) })?;
    unit.audit(
        Entry::new(app_id, &principal.actor(), Action::TenantUpdated, ctx)
            .resource("tenant", row.id)
            .details(serde_json::json!({ "changed": changed })),
    )
    .await?;
    unit.commit().await?;
    Ok(row)
}

/// Suspends or reactivates a tenant. A suspended tenant keeps its members but refuses tenant
/// sign-ins.
pub async fn set_status(
    state: &AppState,
    principal: &AdminPrincipal,
    ctx: &Origin,
    app_id: Uuid,
    tenant_id: Uuid,
    status: &'static str,
) -> Result<tenant::Model, Error> {
    crate::access::admin::visible(state, principal, app_id, permissions::TENANT_WRITE).await?;
    let mut unit = write::begin(&state.db, &state.bus).await?;
    let mut row = store::find(unit.conn(), app_id, tenant_id).await?.ok_or_else(not_found)?;
    if row.status == status {
        return Ok(row);
    }
    let from = std::mem::replace(&mut row.status, status.to_owned());
    row.updated_at = clock::now();
    let row = store::update(unit.conn(), row).await?;
    unit.audit(
        Entry::new(app_id, &principal.actor(), Action::TenantStatusChanged, ctx)
            .resource("tenant", row.id)
            .details(serde_json::json!({ "from": from, "to": status })),
    )
    .await?;
    unit.announce(Change::Tenant(row.id));
    unit.commit().await?;
    Ok(row)
}

/// The tenant `tenant_id` of the app (404 `tenant_not_found` otherwise), for other domains that
/// name one (an invite into a tenant).
pub async fn find(state: &AppState, app_id: Uuid, tenant_id: Uuid) -> Result<tenant::Model, Error> {
    store::find(&state.db, app_id, tenant_id).await?.ok_or_else(not_found)
}

/// Whether the tenant exists in the app and is active.
pub async fn is_active(state: &AppState, app_id: Uuid, tenant_id: Uuid) -> Result<bool, Error> {
    Ok(store::find(&state.db, app_id, tenant_id).await?.is_some_and(|t| t.status == ACTIVE))
}

/// Makes `end_user_id` a member of the tenant with `role_id` inside `unit` (an accepted tenant
/// invite; the caller audits). False when the tenant no longer exists or is suspended.
pub async fn join(
    unit: &mut write::Unit,
    app_id: Uuid,
    tenant_id: Uuid,
    end_user_id: Uuid,
    role_id: Uuid,
) -> Result<bool, Error> {
    match store::find(unit.conn(), app_id, tenant_id).await? {
        Some(t) if t.status == ACTIVE => {}
        _ => return Ok(false),
    }
    let now = clock::now();
    let row = tenant_member::Model { tenant_id, end_user_id, app_id, role_id, created_at: now, updated_at: now };
    store::upsert_member(unit.conn(), row).await?;
    unit.announce(Change::Tenant(tenant_id));
    Ok(true)
}

/// A membership with its role.
pub struct Member {
    pub row: tenant_member::Model,
    pub role_name: Option<String>,
}

/// Adds `end_user_id` to the tenant with the role `role_name`, or changes the role they hold
/// there. Returns the membership and whether it is new.
#[allow(clippy::too_many_arguments)]
pub async fn set_member(
    state: &AppState,
    principal: &AdminPrincipal,
    ctx: &Origin,
    app_id: Uuid,
    tenant_id: Uuid,
    end_user_id: Uuid,
    role_name: &str,
) -> Result<(Member, bool), Error> {
    crate::access::admin::visible(state, principal, app_id, permissions::TENANT_WRITE).await?;
    let role = app_role(state, app_id, role_name).await?;
    end_users::service::find(state, app_id, end_user_id).await?.ok_or_else(|| Error::not_found("end-user"))?;
    let mut unit = write::begin(&state.db, &state.bus).await?;
    store::find(unit.conn(), app_id, tenant_id).await?.ok_or_else(not_found)?;
    let now = clock::now();
    let existing = store::membership(unit.conn(), app_id, tenant_id, end_user_id).await?;
    if existing.as_ref().is_some_and(|m| m.role_id == role.id) {
        let row = existing.expect("checked");
        return Ok((Member { row, role_name: Some(role.name) }, false));
    }
    let row = tenant_member::Model {
        tenant_id,
        end_user_id,
        app_id,
        role_id: role.id,
        created_at: existing.as_ref().map_or(now, |m| m.created_at),
        updated_at: now,
    };
    // The end-user may have been deleted since it was read: the foreign key refuses then.
    store::upsert_member(unit.conn(), row.clone())
        .await
        .map_err(|e| if db::is_foreign_key_violation(&e) { Error::not_found("end-user") } else { Error::from(e) })?;
    unit.audit(
        Entry::new(app_id, &principal.actor(), Action::TenantMemberSet, ctx)
            .resource("tenant", tenant_id)
            .details(serde_json::json!({ "end_user_id": end_user_id, "role": role.name, "added": existing.is_none() })),
    )
    .await?;
    unit.announce(Change::Tenant(tenant_id));
    unit.commit().await?;
    Ok((Member { row, role_name: Some(role.name) }, existing.is_none()))
}

/// Removes a member from a tenant; 404 when they were not a member.
pub async fn remove_member(
    state: &AppState,
    principal: &AdminPrincipal,
    ctx: &Origin,
    app_id: Uuid,
    tenant_id: Uuid,
    end_user_id: Uuid,
) -> Result<(), Error> {
    crate::access::admin::visible(state, principal, app_id, permissions::TENANT_WRITE).await?;
    let mut unit = write::begin(&state.db, &state.bus).await?;
    store::find(unit.conn(), app_id, tenant_id).await?.ok_or_else(not_found)?;
    if !store::remove_member(unit.conn(), app_id, tenant_id, end_user_id).await? {
        return Err(Error::not_found("membership"));
    }
    unit.audit(
        Entry::new(app_id, &principal.actor(), Action::TenantMemberRemoved, ctx)
            .resource("tenant", tenant_id)
            .details(serde_json::json!({ "end_user_id": end_user_id })),
    )
    .await?;
    unit.announce(Change::Tenant(tenant_id));
    unit.commit().await
}

/// A page of a tenant's members, by end-user id.
pub async fn members(
    state: &AppState,
    principal: &AdminPrincipal,
    app_id: Uuid,
    tenant_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Member>, Error> {
    crate::access::admin::visible(state, principal, app_id, permissions::TENANT_READ).await?;
    store::find(&state.db, app_id, tenant_id).await?.ok_or_else(not_found)?;
    let rows = store::members(&state.db, app_id, tenant_id, after, limit).await?;
    let roles = rbac::service::names(state, app_id).await?;
    Ok(rows.into_iter().map(|row| Member { role_name: roles.get(&row.role_id).cloned(), row }).collect())
}

/// One tenant of a user, with the role they hold there.
pub struct Membership {
    pub tenant: tenant::Model,
    pub row: tenant_member::Model,
    pub role_name: Option<String>,
}

/// A page of the tenants `end_user_id` belongs to, by tenant id.
pub async fn tenants_of_user(
    state: &AppState,
    principal: &AdminPrincipal,
    app_id: Uuid,
    end_user_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Membership>, Error> {
    crate::access::admin::visible(state, principal, app_id, permissions::TENANT_READ).await?;
    end_users::service::find(state, app_id, end_user_id).await?.ok_or_else(|| Error::not_found("end-user"))?;
    memberships_of(state, app_id, end_user_id, after, limit).await
}

/// A page of the tenants `end_user_id` belongs to, for the user themselves (no admin check).
pub async fn memberships_of(
    state: &AppState,
    app_id: Uuid,
    end_user_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Membership>, Error> {
    let rows = store::memberships_of(&state.db, app_id, end_user_id, after, limit).await?;
    let roles = rbac::service::names(state, app_id).await?;
    Ok(rows
        .into_iter()
        .map(|(row, tenant)| Membership { role_name: roles.get(&row.role_id).cloned(), tenant, row })
        .collect())
}

/// The role a member holds in an active tenant: what a tenant session's tokens carry (`tid`,
/// `trole`) and what decisions about them use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRole {
    pub tenant_id: Uuid,
    pub role_id: Uuid,
    pub role_name: String,
}

/// Admits `end_user_id` to the tenant: 403 `tenant_membership_required` unless they are a
/// member of an active tenant of the app (an unknown tenant, another app's, a suspended one).
pub async fn admit(state: &AppState, app_id: Uuid, tenant_id: Uuid, end_user_id: Uuid) -> Result<TenantRole, Error> {
    match current_role(state, app_id, tenant_id, end_user_id).await? {
        Some(role) => Ok(role),
        None => Err(Error::new(
            Code::TenantMembershipRequired,
            "the account is not a member of that tenant, or the tenant is suspended",
        )),
    }
}

/// [`admit`] when a tenant is named: the session flows (sign-in, refresh, switch) take an
/// optional tenant and hand the admitted role on to the token they sign.
pub async fn admit_to(
    state: &AppState,
    app_id: Uuid,
    tenant_id: Option<Uuid>,
    end_user_id: Uuid,
) -> Result<Option<TenantRole>, Error> {
    match tenant_id {
        Some(tenant_id) => Ok(Some(admit(state, app_id, tenant_id, end_user_id).await?)),
        None => Ok(None),
    }
}

/// The role `end_user_id` holds now in the tenant, if it is an active tenant of the app and they
/// are a member.
pub async fn current_role(
    state: &AppState,
    app_id: Uuid,
    tenant_id: Uuid,
    end_user_id: Uuid,
) -> Result<Option<TenantRole>, Error> {
    let Some((member, status)) = store::membership_with_status(&state.db, app_id, tenant_id, end_user_id).await? else {
        return Ok(None);
    };
    if status != ACTIVE {
        return Ok(None);
    }
    let Some(role) = rbac::service::find(state, app_id, member.role_id).await? else { return Ok(None) };
    Ok(Some(TenantRole { tenant_id, role_id: role.id, role_name: role.name }))
}

async fn app_role(state: &AppState, app_id: Uuid, name: &str) -> Result<role::Model, Error> {
    rbac::service::find_by_name(state, app_id, name.trim())
        .await?
        .ok_or_else(|| Error::new(Code::RoleNotFound, format!("no role named '{}'", name.trim())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_slugs_are_short_lowercase_words() {
        for ok in ["ab", "acme", "acme-eu", "a1", &"x".repeat(64)] {
            assert_eq!(slug(ok).unwrap(), ok);
        }
        for bad in ["a", "", "Acme", "-acme", "acme-", "ac me", "acme_eu", &"x".repeat(65)] {
            assert!(slug(bad).is_err(), "{bad:?}");
        }
    }
}
