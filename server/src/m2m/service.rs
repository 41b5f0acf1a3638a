//! M2M client rules: creation, activation, secret rotation, scopes, and the cached records the
//! token endpoint reads.

use std::{sync::Arc, time::Duration};

use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use uuid::Uuid;

use super::store;
use crate::access::AdminPrincipal;
use crate::access::Origin;
use crate::audit::Action;
use crate::{
    audit::Entry,
    clock,
    coherence::Change,
    db,
    entity::m2m_client,
    http::error::Error,
    permissions,
    secrets::{self, hash_secret},
    state::AppState,
    ttl_cache::TtlCache,
};

/// Prefix of client ids.
pub const CLIENT_ID_PREFIX: &str = "m2m_";
/// Longest client id looked up: ours are `m2m_` and 24 characters.
pub const CLIENT_ID_MAX: usize = 64;

/// Whether `raw` could be a client id at all. Anything else is unknown without a database read
/// or a cache entry (the id arrives from unauthenticated callers, up to the body limit long).
pub fn is_client_id(raw: &str) -> bool {
    raw.len() <= CLIENT_ID_MAX
        && raw.strip_prefix(CLIENT_ID_PREFIX).is_some_and(|rest| {
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Prefix of client secrets.
pub const SECRET_PREFIX: &str = "m2ms_";

/// What the token endpoint needs to know about a client.
#[derive(Debug)]
pub struct ClientRecord {
    pub id: Uuid,
    pub app_id: Uuid,
    pub client_id: String,
    pub secret_hash: String,
    pub active: bool,
    pub scopes: Vec<String>,
}

/// Cache of client records by `client_id`, kept coherent by the change bus.
pub struct Clients {
    cache: TtlCache<String, Option<Arc<ClientRecord>>>,
}

impl Default for Clients {
    fn default() -> Self {
        Clients { cache: TtlCache::new(Duration::from_secs(30), 100_000) }
    }
}

impl Clients {
    pub async fn get(&self, state: &AppState, client_id: &str) -> Result<Option<Arc<ClientRecord>>, Error> {
        if !is_client_id(client_id) {
            return Ok(None);
        }
        if let Some(found) = self.cache.get(client_id) {
            return Ok(found);
        }
        // Boxed: keeps the query's large future out of every `/authorize` future.
        Box::pin(self.load(state, client_id)).await
    }

    async fn load(&self, state: &AppState, client_id: &str) -> Result<Option<Arc<ClientRecord>>, Error> {
        let record = store::find_by_client_id(&state.db, client_id).await?.map(|c| {
            Arc::new(ClientRecord {
                id: c.id,
                app_id: c.app_id,
                client_id: c.client_id,
                secret_hash: c.secret_hash,
                active: c.is_active,
                scopes: serde_json::from_value(c.scopes).unwrap_or_default(),
            })
        });
        self.cache.insert(client_id.to_owned(), record.clone());
        Ok(record)
    }

    pub fn apply(&self, change: &Change) {
        match change {
            Change::Client(id) => self.cache.retain(|_, c| c.as_ref().is_none_or(|c| c.id != *id)),
            Change::All => self.cache.clear(),
            _ => {}
        }
    }
}

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
) -> Result<(m2m_client::Model, String), Error> {
    crate::access::admin::visible(state, principal, app_id, permissions::CREDENTIAL_WRITE).await?;
    let name = Error::check_name("name", raw_name)?;
    let scopes = grantable(principal, scopes)?;
    let secret = format!("{SECRET_PREFIX}{}", secrets::random_token());
    let client_id = format!("{CLIENT_ID_PREFIX}{}", &secrets::random_token()[..24]);
    let now = clock::now();
    let tx = db::begin_write(&state.db).await?;
    let row = m2m_client::ActiveModel {
        id: Set(Uuid::now_v7()),
        app_id: Set(app_id),
        client_id: Set(client_id),
        name: Set(name),
        secret_hash: Set(hash_secret(&secret)),
        is_active: Set(true),
        scopes: Set(serde_json::json!(scopes)),
        created_at: Set(now),
        updated_at: Set(now),
        last_used_at: Set(None),
    }
    .insert(&tx)
    .await?;
    Entry::new(app_id, &principal.actor(), Action::CredentialCreated, ctx)
        .resource("m2m_client", &row.client_id)
        .details(serde_json::json!({ "name": row.name, "scopes": scopes }))
        .record(&tx)
        .await?;
    tx.commit().await?;
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
    let mut model = current.clone().into_active_model();
    let mut details = serde_json::Map::new();
    let mut action = Action::CredentialUpdated;
    if let Some(active) = changes.is_active.filter(|a| *a != current.is_active) {
        model.is_active = Set(active);
        details.insert("is_active".into(), active.into());
        action = if active { Action::CredentialActivated } else { Action::CredentialDeactivated };
    }
    if let Some(raw) = changes.name {
        let n = Error::check_name("name", &raw)?;
        details.insert("name".into(), n.clone().into());
        model.name = Set(n);
    }
    if let Some(scopes) = changes.scopes {
        let scopes = grantable(principal, &scopes)?;
        details.insert("scopes".into(), serde_json::json!(scopes));
        model.scopes = Set(serde_json::json!(scopes));
        action = Action::CredentialScopesSet;
    }
    let secret = changes.rotate_secret.then(|| format!("{SECRET_PREFIX}{}", secrets::random_token()));
    if let Some(s) = &secret {
        model.secret_hash = Set(hash_secret(s));
        action = Action::CredentialSecretRotated;
    }
    if details.is_empty() && secret.is_none() {
        return Ok((current, None));
    }
    model.updated_at = Set(clock::now());
    let tx = db::begin_write(&state.db).await?;
    let row = model.update(&tx).await?;
    Entry::new(app_id, &principal.actor(), action, ctx)
        .resource("m2m_client", &row.client_id)
        .details(serde_json::Value::Object(details))
        .record(&tx)
        .await?;
    tx.commit().await?;
    state.bus.publish(Change::Client(row.id)).await;
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
    let tx = db::begin_write(&state.db).await?;
    m2m_client::Entity::delete_by_id(current.id).exec(&tx).await?;
    Entry::new(app_id, &principal.actor(), Action::CredentialDeleted, ctx)
        .resource("m2m_client", &current.client_id)
        .record(&tx)
        .await?;
    tx.commit().await?;
    state.bus.publish(Change::Client(current.id)).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{AdminPrincipal, Uuid, grantable, is_client_id};

    #[test]
    fn only_client_id_shapes_are_looked_up() {
        assert!(is_client_id("m2m_Ab3-_x9QrStUvWxYz0123456"));
        for bad in ["", "m2m_", "m2x_abc", "m2m_a b", "m2m_ä", &format!("m2m_{}", "a".repeat(61))] {
            assert!(!is_client_id(bad), "{bad:?}");
        }
    }

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
