//! The authorization engine behind `/verify`, `/authorize`, forward-auth and introspection.
//!
//! Hot path, no database round trip: a token seen before is found in the verified-token cache
//! (keyed by the SHA-256 of the whole token, so nothing unverified can hit it); its session,
//! role permissions or client scopes come from caches that the change bus keeps coherent across
//! instances. Revocation is checked on every call against those caches: a revoked session, a
//! suspended user, a deactivated client or a revoked token id is refused at once, on every
//! instance.

use std::{
    collections::HashSet,
    sync::{Arc, RwLock},
    time::Duration,
};

use aws_lc_rs::digest;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::{
    apps::AppRef,
    clock,
    coherence::Change,
    entity::{end_user, m2m_client, revoked_token, role, role_permission, session},
    http::error::ApiError,
    permissions,
    state::AppState,
    tokens::{self, AccessClaims, TokenError},
    ttl_cache::TtlCache,
};

const TTL: Duration = Duration::from_secs(30);

/// Why a token was not accepted; the code appears in `/verify` and `/authorize` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deny {
    Invalid,
    Expired,
    Revoked,
    AccountSuspended,
    ClientInactive,
    AppInactive,
}

impl Deny {
    pub fn code(self) -> &'static str {
        match self {
            Deny::Invalid => "TOKEN_INVALID",
            Deny::Expired => "TOKEN_EXPIRED",
            Deny::Revoked => "TOKEN_REVOKED",
            Deny::AccountSuspended => "ACCOUNT_SUSPENDED",
            Deny::ClientInactive => "CLIENT_INACTIVE",
            Deny::AppInactive => "APP_INACTIVE",
        }
    }
}

/// Current facts about a session, as authorization needs them.
#[derive(Debug)]
pub struct SessionFacts {
    pub app_id: Uuid,
    pub user_id: Uuid,
    pub live: bool,
    pub user_active: bool,
    pub role_id: Option<Uuid>,
    pub role_name: Option<String>,
}

/// Current facts about an M2M client.
#[derive(Debug)]
pub struct ClientFacts {
    pub id: Uuid,
    pub app_id: Uuid,
    pub active: bool,
    pub scopes: Vec<String>,
}

/// Who a valid token speaks for, with their permissions as of now.
#[derive(Debug, Clone)]
pub struct Principal {
    pub claims: Arc<AccessClaims>,
    /// Current role name (end-users).
    pub role: Option<String>,
    /// The role's current permissions (end-users) or the token's scopes still granted to the
    /// client (M2M).
    pub permissions: Arc<Vec<String>>,
}

impl Principal {
    pub fn allows(&self, permission: &str) -> bool {
        permissions::grants(&self.permissions, permission)
    }

    /// The subset of `wanted` this principal lacks.
    pub fn missing(&self, wanted: &[String]) -> Vec<String> {
        wanted.iter().filter(|p| !self.allows(p)).cloned().collect()
    }
}

pub struct Authz {
    db: DatabaseConnection,
    verified: TtlCache<[u8; 32], Arc<AccessClaims>>,
    sessions: TtlCache<Uuid, Arc<SessionFacts>>,
    roles: TtlCache<Uuid, (Uuid, Arc<Vec<String>>)>,
    clients: TtlCache<String, Option<Arc<ClientFacts>>>,
    revoked: RwLock<HashSet<String>>,
}

fn token_key(token: &str) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, token.as_bytes());
    d.as_ref().try_into().expect("sha-256 is 32 bytes")
}

impl Authz {
    pub fn new(db: DatabaseConnection) -> Self {
        Authz {
            db,
            verified: TtlCache::new(Duration::from_secs(300), 200_000),
            sessions: TtlCache::new(TTL, 200_000),
            roles: TtlCache::new(TTL, 100_000),
            clients: TtlCache::new(TTL, 100_000),
            revoked: RwLock::default(),
        }
    }

    /// Applies a change announced on the bus.
    pub fn apply(&self, change: &Change) {
        match change {
            Change::Session(sid) => self.sessions.remove(sid),
            Change::User(uid) => self.sessions.retain(|_, f| f.user_id != *uid),
            Change::Roles(app) => {
                self.roles.retain(|_, (a, _)| a != app);
                self.sessions.retain(|_, f| f.app_id != *app);
            }
            Change::Client(id) => self.clients.retain(|_, c| c.as_ref().is_none_or(|c| c.id != *id)),
            Change::TokenRevoked(jti) => {
                self.revoked.write().expect("revoked lock").insert(jti.clone());
            }
            Change::App(_) => {}
            Change::All => {
                self.sessions.clear();
                self.roles.clear();
                self.clients.clear();
            }
        }
    }

    /// Reloads the revoked token ids that have not expired (start-up and each maintenance tick).
    pub async fn reload_revoked(&self) -> Result<(), sea_orm::DbErr> {
        let ids: Vec<String> = revoked_token::Entity::find()
            .select_only()
            .column(revoked_token::Column::Jti)
            .filter(revoked_token::Column::ExpiresAt.gt(clock::now()))
            .into_tuple()
            .all(&self.db)
            .await?;
        *self.revoked.write().expect("revoked lock") = ids.into_iter().collect();
        Ok(())
    }

    async fn claims(&self, state: &AppState, app: &AppRef, token: &str) -> Result<Arc<AccessClaims>, Deny> {
        let key = token_key(token);
        let claims = match self.verified.get(&key) {
            Some(c) => c,
            None => {
                let claims: AccessClaims = tokens::verify(state, app, token).await.map_err(|e| match e {
                    TokenError::Expired => Deny::Expired,
                    _ => Deny::Invalid,
                })?;
                let claims = Arc::new(claims);
                self.verified.insert(key, claims.clone());
                claims
            }
        };
        // A cached verification was made for some app: it must be this one, under its current slug.
        if claims.aid != app.id || claims.aud != app.slug || !state.is_issuer(&claims.iss, &app.slug) {
            return Err(Deny::Invalid);
        }
        if claims.exp + tokens::LEEWAY_SECS as i64 <= chrono::Utc::now().timestamp() {
            return Err(Deny::Expired);
        }
        Ok(claims)
    }

    async fn session(&self, app_id: Uuid, sid: Uuid) -> Result<Option<Arc<SessionFacts>>, ApiError> {
        // Cached facts answer only for the app they were loaded for.
        if let Some(f) = self.sessions.get(&sid).filter(|f| f.app_id == app_id) {
            return Ok(Some(f));
        }
        let Some(s) = session::Entity::find_by_id(sid).filter(session::Column::AppId.eq(app_id)).one(&self.db).await?
        else {
            return Ok(None);
        };
        let user = end_user::Entity::find_by_id(s.end_user_id).one(&self.db).await?;
        let role_id = user.as_ref().and_then(|u| u.role_id);
        let role_name = match role_id {
            Some(id) => role::Entity::find_by_id(id).one(&self.db).await?.map(|r| r.name),
            None => None,
        };
        let facts = Arc::new(SessionFacts {
            app_id,
            user_id: s.end_user_id,
            live: s.revoked_at.is_none() && s.expires_at > clock::now(),
            user_active: user.as_ref().is_some_and(|u| u.status == "active"),
            role_id,
            role_name,
        });
        self.sessions.insert(sid, facts.clone());
        Ok(Some(facts))
    }

    /// The current permissions of a role.
    pub async fn role_permissions(&self, app_id: Uuid, role_id: Uuid) -> Result<Arc<Vec<String>>, ApiError> {
        if let Some((_, p)) = self.roles.get(&role_id).filter(|(a, _)| *a == app_id) {
            return Ok(p);
        }
        let perms: Vec<String> = role_permission::Entity::find()
            .select_only()
            .column(role_permission::Column::Permission)
            .filter(role_permission::Column::RoleId.eq(role_id))
            .filter(role_permission::Column::AppId.eq(app_id))
            .into_tuple()
            .all(&self.db)
            .await?;
        let perms = Arc::new(perms);
        self.roles.insert(role_id, (app_id, perms.clone()));
        Ok(perms)
    }

    async fn client(&self, client_id: &str) -> Result<Option<Arc<ClientFacts>>, ApiError> {
        if let Some(c) = self.clients.get(client_id) {
            return Ok(c);
        }
        let row = m2m_client::Entity::find().filter(m2m_client::Column::ClientId.eq(client_id)).one(&self.db).await?;
        let facts = row.map(|c| {
            Arc::new(ClientFacts {
                id: c.id,
                app_id: c.app_id,
                active: c.is_active,
                scopes: serde_json::from_value(c.scopes).unwrap_or_default(),
            })
        });
        self.clients.insert(client_id.to_owned(), facts.clone());
        Ok(facts)
    }

    /// Verifies `token` for `app` and resolves who it speaks for, as of now. `Err(Ok(deny))` is a
    /// token refused; `Err(Err(e))` a server failure.
    pub async fn check(
        &self,
        state: &AppState,
        app: &AppRef,
        token: &str,
    ) -> Result<Principal, Result<Deny, ApiError>> {
        if app.status != "active" {
            return Err(Ok(Deny::AppInactive));
        }
        let claims = self.claims(state, app, token).await.map_err(Ok)?;
        if self.revoked.read().expect("revoked lock").contains(&claims.jti) {
            return Err(Ok(Deny::Revoked));
        }
        match claims.token_type.as_str() {
            "end_user" => {
                let sid = claims.sid.ok_or(Ok(Deny::Invalid))?;
                let facts = self.session(app.id, sid).await.map_err(Err)?.ok_or(Ok(Deny::Revoked))?;
                if claims.sub.parse::<Uuid>().ok() != Some(facts.user_id) {
                    return Err(Ok(Deny::Invalid));
                }
                // Suspension also ends the sessions; say why.
                if !facts.user_active {
                    return Err(Ok(Deny::AccountSuspended));
                }
                if !facts.live {
                    return Err(Ok(Deny::Revoked));
                }
                let permissions = match facts.role_id {
                    Some(role_id) => self.role_permissions(app.id, role_id).await.map_err(Err)?,
                    None => Arc::new(Vec::new()),
                };
                Ok(Principal { role: facts.role_name.clone(), permissions, claims })
            }
            "m2m" => {
                let facts = self.client(&claims.sub).await.map_err(Err)?.ok_or(Ok(Deny::ClientInactive))?;
                if facts.app_id != app.id || !facts.active {
                    return Err(Ok(Deny::ClientInactive));
                }
                // What the token was issued with, as far as the client still holds it: a held
                // wildcard narrowed by the client keeps the narrower scopes it covers.
                let mut permissions: Vec<String> = Vec::new();
                for held in &claims.permissions {
                    let kept: Vec<&String> = if permissions::grants(&facts.scopes, held) {
                        vec![held]
                    } else {
                        facts.scopes.iter().filter(|s| permissions::grants(std::slice::from_ref(held), s)).collect()
                    };
                    for p in kept {
                        if !permissions.contains(p) {
                            permissions.push(p.clone());
                        }
                    }
                }
                Ok(Principal { role: None, permissions: Arc::new(permissions), claims })
            }
            _ => Err(Ok(Deny::Invalid)),
        }
    }
}
