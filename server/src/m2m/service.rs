//! M2M client rules: creation, activation, secret rotation and scopes, each audited in its write
//! unit. The cached client records are `clients.rs`'s.

use uuid::Uuid;

use super::clients::CLIENT_ID_PREFIX;
use super::store;
use crate::access::AdminPrincipal;
use crate::access::Origin;
use crate::audit::Action;
use crate::{
    audit::Entry,
    clock,
    coherence::Change,
    entity::m2m_client,
    error::Error,
    permissions,
    secrets::{self, hash_secret},
    state::AppState,
    tenants, write,
};

/// Prefix of client secrets.
pub const SECRET_PREFIX: &str = "m2ms_";

/// Validates scopes and checks the caller holds each one (a key cannot grant more than it has).
pub fn grantable(principal: &AdminPrincipal, scopes: &[String]) -> Result<Vec<String>, Error> {
    let mut out = Vec::with_capacity(scopes.len());
    for raw in scopes {
        let scope = permissions::parse_grant(raw)?;
        if !permissions::grants(principal.permissions(), &scope) {
            return Err(Error::forbidden(format!("this key cannot grant '{scope}', which it does not hold")));
        }
        if !out.contains(&scope) {
            out.push(scope);
        }
    }
    Ok(out)
}

pub async fn visible(
    state: &AppState,
    principal: &AdminPrincipal,
    app_id: Uuid,
    key: &str,
    permission: &str,
) -> Result<m2m_client::Model, Error> {
    crate::access::admin::visible(state, principal, app_id, permission).await?;
    store::find(&state.db, app_id, key).await?.ok_or_else(|| Error::not_found("credential"))
}

/// Creates a client; returns it with its secret (shown once).
pub async fn create(
    state: &AppState,
    principal: &AdminPrincipal,
    ctx: &Origin,
    app_id: Uuid,
    raw_name: &str,
    scopes: &[String],
    tenant_id: Option<Uuid>,
) -> Result<(m2m_client::Model, String), Error> {
    crate::access::admin::visible(state, principal, app_id, permissions::CREDENTIAL_WRITE).await?;
    if let Some(tenant_id) = tenant_id {
        tenants::service::find(state, app_id, tenant_id).await?;
    }
    let name = Error::check_name("name", raw_name)?;
    let scopes = grantable(principal, scopes)?;
    let secret = format!("{SECRET_PREFIX}{}", secrets::random_token());
    let client_id = format!("{CLIENT_ID_PREFIX}{}", &secrets::random_token()[..24]);
    let now = clock::now();
    let mut unit = write::begin(&state.db, &state.bus).await?;
    let row = store::insert(
        unit.conn(),
        m2m_client::Model {
            id: Uuid::now_v7(),
            app_id,
            client_id,
            name,
            secret_hash: hash_secret(&secret),
            is_active: true,
            scopes: serde_json::json!(scopes),
            created_at: now,
            updated_at: now,
            last_used_at: None,
            tenant_id,
        },
    )
    .await?;
    let mut details = serde_json::json!({ "name": row.name, "scopes": scopes });
    // Only a bound client names its tenant: unbound ones keep the entry as it always was.
    if let Some(tenant_id) = row.tenant_id {
        details["tenant_id"] = serde_json::json!(tenant_id);
    }
    unit.audit(
        Entry::new(app_id, &principal.actor(), Action::CredentialCreated, ctx)
            .resource("m2m_client", &row.client_id)
            .details(details),
    )
    .await?;
    unit.commit().await?;
    Ok((row, secret))
}

/// What an update may change.
#[derive(Default)]
pub struct ClientChanges {
    pub is_active: Option<bool>,
    pub name: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub rotate_secret: bool,
}

/// Applies changes; deactivation, scope changes and rotation take effect at once on every
/// instance. Returns the row and, for a rotation, the new secret.
pub async fn change(
    state: &AppState,
    principal: &AdminPrincipal,
    ctx: &Origin,
    app_id: Uuid,
    key: &str,
    changes: ClientChanges,
) -> Result<(m2m_client::Model, Option<String>), Error> {
    let current = visible(state, principal, app_id, key, permissions::CREDENTIAL_WRITE).await?;
    let mut update = store::Update::default();
    let mut details = serde_json::Map::new();
    let mut action = Action::CredentialUpdated;
    if let Some(active) = changes.is_active.filter(|a| *a != current.is_active) {
        update.is_active = Some(active);
        details.insert("is_active".into(), active.into());
        action = if active { Action::CredentialActivated } else { Action::CredentialDeactivated };
    }
    if let Some(raw) = changes.name {
        let n = Error::check_name("name", &raw)?;
        details.insert("name".into(), n.clone().into());
        update.name = Some(n);
    }
    if let Some(scopes) = changes.scopes {
        let scopes = grantable(principal, &scopes)?;
        details.insert("scopes".into(), serde_json::json!(scopes));
        update.scopes = Some(serde_json::json!(scopes));
        action = Action::CredentialScopesSet;
    }
    let secret = changes.rotate_secret.then(|| format!("{SECRET_PREFIX}{}", secrets::random_token()));
    if let Some(s) = &secret {
        update.secret_hash = Some(hash_secret(s));
        action = Action::CredentialSecretRotated;
    }
    if details.is_empty() && secret.is_none() {
        return Ok((current, None));
    }
    let now = clock::now();
    let mut unit = write::begin(&state.db, &state.bus).await?;
    let row = store::update(unit.conn(), current, update, now).await?;
    unit.audit(
        Entry::new(app_id, &principal.actor(), action, ctx)
            .resource("m2m_client", &row.client_id)
            .details(serde_json::Value::Object(details)),
    )
    .await?;
    unit.announce(Change::Client(row.id));
    unit.commit().await?;
    Ok((row, secret))
}

pub async fn delete(
    state: &AppState,
    principal: &AdminPrincipal,
    ctx: &Origin,
    app_id: Uuid,
    key: &str,
) -> Result<(), Error> {
    let current = visible(state, principal, app_id, key, permissions::CREDENTIAL_WRITE).await?;
    let mut unit = write::begin(&state.db, &state.bus).await?;
    store::delete(unit.conn(), current.id).await?;
    unit.audit(
        Entry::new(app_id, &principal.actor(), Action::CredentialDeleted, ctx)
            .resource("m2m_client", &current.client_id),
    )
    .await?;
    unit.announce(Change::Client(current.id));
    unit.commit().await
}

/// Deletes the clients bound to a tenant that is being deleted, inside the deletion's `unit`
/// (its audit entry counts them), and drops them from every instance's cache after the commit;
/// how many.
pub async fn delete_bound_to(unit: &mut write::Unit, app_id: Uuid, tenant_id: Uuid) -> Result<usize, Error> {
    let ids = store::delete_bound_to(unit.conn(), app_id, tenant_id).await?;
    for id in &ids {
        unit.announce(Change::Client(*id));
    }
    Ok(ids.len())
}

#[cfg(test)]
mod tests {
    use super::{AdminPrincipal, Uuid, grantable};

    fn key_holding(permissions: &[&str]) -> AdminPrincipal {
        AdminPrincipal::App {
            key_id: Uuid::nil(),
            app_id: Uuid::nil(),
            workspace_id: Uuid::nil(),
            permissions: permissions.iter().map(|p| p.to_string()).collect(),
        }
    }

    fn scopes(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_key_grants_scopes_it_holds_once_each_in_order() {
        let key = key_holding(&["docs.*", "billing.read"]);
        let asked = scopes(&["docs.write", "billing.read", "docs.*", "docs.write"]);
        assert_eq!(grantable(&key, &asked).unwrap(), ["docs.write", "billing.read", "docs.*"]);
        assert!(grantable(&key, &[]).unwrap().is_empty());
        let root = key_holding(&["*"]);
        assert_eq!(grantable(&root, &scopes(&["*", "anything.at.all"])).unwrap(), ["*", "anything.at.all"]);
    }

    #[test]
    fn a_key_cannot_grant_more_than_it_holds() {
        let key = key_holding(&["docs.*", "billing.read"]);
        for beyond in ["billing.write", "billing.*", "*", "doc.read", "role.read"] {
            let err = grantable(&key, &scopes(&["docs.read", beyond])).unwrap_err();
            assert_eq!(
                (crate::http::error::status(err.code).as_u16(), err.code.as_str()),
                (403, "forbidden"),
                "{beyond}"
            );
            assert!(err.message.contains(&format!("'{beyond}'")), "{}", err.message);
        }
    }

    #[test]
    fn a_malformed_scope_is_refused_before_holding_is_considered() {
        // Even a key holding `*` cannot grant something that is not a permission.
        for bad in ["docs", "Docs.read", "docs.re*d", "*.read", ""] {
            let err = grantable(&key_holding(&["*"]), &scopes(&[bad])).unwrap_err();
            assert_eq!(
                (crate::http::error::status(err.code).as_u16(), err.code.as_str()),
                (400, "validation_failed"),
                "{bad:?}"
            );
        }
        let err = grantable(&key_holding(&[]), &scopes(&["nope", "docs.read"])).unwrap_err();
        assert_eq!(err.code.as_str(), "validation_failed", "the first scope is judged first");
    }
}
