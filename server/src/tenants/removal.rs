//! Deleting a tenant and what points into it. Apart from the tenant rules because it reaches
//! into the domains that refer to tenants (invites, M2M clients), which themselves ask the
//! tenant rules whether a tenant exists.

use uuid::Uuid;

use super::{service::not_found, store};
use crate::access::{AdminPrincipal, Origin};
use crate::audit::{Action, Entry};
use crate::error::Error;
use crate::{coherence::Change, invites, m2m, permissions, state::AppState, write};

/// Deletes a tenant with all its memberships, revokes its pending invites and deletes the M2M
/// clients bound to it.
pub async fn delete(
    state: &AppState,
    principal: &AdminPrincipal,
    ctx: &Origin,
    app_id: Uuid,
    tenant_id: Uuid,
) -> Result<(), Error> {
    crate::access::admin::visible(state, principal, app_id, permissions::TENANT_WRITE).await?;
    let mut unit = write::begin(&state.db, &state.bus).await?;
    let row = store::find(unit.conn(), app_id, tenant_id).await?.ok_or_else(not_found)?;
    store::delete(unit.conn(), app_id, tenant_id).await?;
    // Nothing keeps pointing into a deleted tenant: its pending invites are revoked and the M2M
    // clients bound to it deleted, in the same transaction.
    let invites_revoked = invites::service::revoke_into_tenant(&mut unit, app_id, tenant_id).await?;
    let clients_deleted = m2m::service::delete_bound_to(&mut unit, app_id, tenant_id).await?;
    unit.audit(
        Entry::new(app_id, &principal.actor(), Action::TenantDeleted, ctx).resource("tenant", tenant_id).details(
            serde_json::json!({
                "slug": row.slug,
                "invites_revoked": invites_revoked,
                "clients_deleted": clients_deleted,
            }),
        ),
    )
    .await?;
    unit.announce(Change::Tenant(tenant_id));
    unit.commit().await
}
