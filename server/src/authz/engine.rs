//! The authorization engine behind `/verify`, `/authorize`, forward-auth and introspection.
//!
//! Hot path, no database round trip: a token seen before is found in the verified-token cache
//! (keyed by the SHA-256 of the whole token, so nothing unverified can hit it); its session,
//! role permissions or client scopes come from caches that the change bus keeps coherent across
//! instances. Revocation is checked on every call against those caches: a revoked session, a
//! suspended user, a deactivated client or a revoked token id is refused at once, on every
//! instance.
//!
//! Every cache miss awaits its database work through `Box::pin`: a query's future is several
//! kilobytes, and without the box it would be part of every request's future, which poem moves
//! (copies) several times per request.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use aws_lc_rs::digest;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::invalid_tokens::InvalidTokens;
use super::store;
use crate::entity::end_user::EndUserStatus;
use crate::tokens::TokenType;
use crate::{
    apps::AppRef,
    clock,
    coherence::Change,
    db::Db,
    error::Error,
    permissions, rbac, sessions,
    state::AppState,
    tenants,
    tokens::{self, AccessClaims, TokenError},
    ttl_cache::TtlCache,
    write,
};

const TTL: Duration = Duration::from_secs(30);
/// How long a verification is remembered. The cache holds the rate of new tokens times this
/// (at 200 new tokens/s, 12,000 entries, a few MB); a token still in use after it costs one more
/// RSA verification (~25 µs) per minute.
const VERIFIED_TTL: Duration = Duration::from_secs(60);

/// Why a token was not accepted; the code appears in `/verify` and `/authorize` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deny {
    Invalid,
    Expired,
    Revoked,
    AccountSuspended,
    ClientInactive,
    AppInactive,
    /// A tenant token whose user is no longer a member of the tenant, or whose tenant is
    /// suspended or deleted.
    TenantRevoked,
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
            Deny::TenantRevoked => "TENANT_REVOKED",
        }
    }
}

impl From<TokenError> for Deny {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Expired => Deny::Expired,
            _ => Deny::Invalid,
        }
    }
}

/// Current facts about a session, as authorization needs them. Whether it is live is decided
/// at each check from `revoked` and `expires_at`, so a cached entry never outlives the session.
#[derive(Debug)]
pub struct SessionFacts {
    pub app_id: Uuid,
    pub user_id: Uuid,
    pub revoked: bool,
    pub expires_at: DateTime<Utc>,
    pub user_active: bool,
    pub role_id: Option<Uuid>,
    pub role_name: Option<String>,
}

/// Who a valid token speaks for, with their permissions as of now.
#[derive(Debug, Clone)]
pub struct Principal {
    pub claims: Arc<AccessClaims>,
    /// Current role name (end-users): the role held in the token's tenant for a tenant token.
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

/// A role held in a tenant: its id and name.
type HeldRole = (Uuid, Arc<str>);

pub struct Authz {
    db: Db,
    verified: TtlCache<[u8; 32], Arc<AccessClaims>>,
    sessions: TtlCache<Uuid, Arc<SessionFacts>>,
    roles: TtlCache<Uuid, (Uuid, Arc<Vec<String>>)>,
    /// The role each user holds now in a tenant, by (tenant, user), with the app it was loaded
    /// for: the role's id and name, `None` when they are not a member of an active tenant.
    tenant_roles: TtlCache<(Uuid, Uuid), (Uuid, Option<HeldRole>)>,
    /// Whether a tenant is active, by tenant, with the app it was loaded for (M2M tokens).
    tenants_active: TtlCache<Uuid, (Uuid, bool)>,
    /// Revoked token ids, with when this instance learned of each (see `reload_revoked`).
    revoked: RwLock<HashMap<String, Instant>>,
    /// Invalid tokens per client address, for the endpoints any caller may send tokens to.
    pub invalid_tokens: InvalidTokens,
}

fn token_key(token: &str) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, token.as_bytes());
    d.as_ref().try_into().expect("sha-256 is 32 bytes")
}

impl Authz {
    pub fn new(db: Db) -> Self {
        Authz {
            db,
            verified: TtlCache::new(VERIFIED_TTL, 200_000),
            sessions: TtlCache::new(TTL, 200_000),
            roles: TtlCache::new(TTL, 100_000),
            tenant_roles: TtlCache::new(TTL, 200_000),
            tenants_active: TtlCache::new(TTL, 100_000),
            revoked: RwLock::default(),
            invalid_tokens: InvalidTokens::default(),
        }
    }

    /// Applies a change announced on the bus.
    pub fn apply(&self, change: &Change) {
        match change {
            Change::Session(sid) => self.sessions.remove(sid),
            Change::User(uid) => {
                self.sessions.retain(|_, f| f.user_id != *uid);
                self.tenant_roles.retain(|(_, user), _| user != uid);
            }
            // Membership, role in the tenant, suspension or deletion: decide again.
            Change::Tenant(tid) => {
                self.tenant_roles.retain(|(tenant, _), _| tenant != tid);
                self.tenants_active.remove(tid);
            }
            // Role ids and names never change and a role with holders cannot be deleted, so
            // cached sessions stay right; only the permission sets go.
            Change::Roles(app) => self.roles.retain(|_, (a, _)| a != app),
            // Clients are cached once, by `m2m::Clients`, which applies this itself.
            Change::Client(_) => {}
            // The change feed holds no cache here.
            Change::Events(_) => {}
            Change::TokenRevoked(jti) => {
                self.revoked.write().expect("revoked lock").insert(jti.clone(), Instant::now());
            }
            // A key withdrawal (immediate rotation), suspension or rename: verifications made
            // under the old state must be made again.
            Change::App(app) => self.verified.retain(|_, c| c.aid != *app),
            Change::All => {
                self.verified.clear();
                self.sessions.clear();
                self.roles.clear();
                self.tenant_roles.clear();
                self.tenants_active.clear();
            }
        }
    }

    /// Reloads the revoked token ids that have not expired (start-up and each maintenance tick),
    /// after deleting the expired ones, which no check needs any more. Ids announced while the
    /// query ran are kept: the reload replaces only what it has seen.
    pub async fn reload_revoked(&self) -> Result<(), Error> {
        store::delete_expired(&self.db, clock::now()).await?;
        let started = Instant::now();
        let ids = store::live_ids(&self.db, clock::now()).await?;
        let mut revoked = self.revoked.write().expect("revoked lock");
        revoked.retain(|_, learned| *learned >= started);
        revoked.extend(ids.into_iter().map(|id| (id, started)));
        Ok(())
    }

    /// The token's verified claims (cached by the token's hash), or why it is refused; the outer
    /// error is a server fault.
    async fn claims(
        &self,
        state: &AppState,
        app: &AppRef,
        token: &str,
    ) -> Result<Result<Arc<AccessClaims>, Deny>, Error> {
        let key = token_key(token);
        let claims = match self.verified.get(&key) {
            Some(c) => c,
            None => {
                let claims = match tokens::verify(state, app, token).await? {
                    Ok(claims) => Arc::new(claims),
                    Err(e) => return Ok(Err(e.into())),
                };
                self.verified.insert(key, claims.clone());
                claims
            }
        };
        // A cached verification was made for some app: it must be this one, under its current slug.
        if claims.aid != app.id || claims.aud != app.slug || !state.is_issuer(&claims.iss, &app.slug) {
            return Ok(Err(Deny::Invalid));
        }
        if tokens::expired(&claims, chrono::Utc::now().timestamp()) {
            return Ok(Err(Deny::Expired));
        }
        Ok(Ok(claims))
    }

    async fn session(&self, app_id: Uuid, sid: Uuid) -> Result<Option<Arc<SessionFacts>>, Error> {
        // Cached facts answer only for the app they were loaded for.
        if let Some(f) = self.sessions.get(&sid).filter(|f| f.app_id == app_id) {
            return Ok(Some(f));
        }
        Box::pin(self.load_session(app_id, sid)).await
    }

    async fn load_session(&self, app_id: Uuid, sid: Uuid) -> Result<Option<Arc<SessionFacts>>, Error> {
        let Some(s) = sessions::service::facts(&self.db, app_id, sid).await? else {
            return Ok(None);
        };
        let facts = Arc::new(SessionFacts {
            app_id,
            user_id: s.end_user_id,
            revoked: s.revoked_at.is_some(),
            expires_at: s.expires_at,
            user_active: s.status == Some(EndUserStatus::Active),
            role_id: s.role_id,
            role_name: s.role_name,
        });
        self.sessions.insert(sid, facts.clone());
        Ok(Some(facts))
    }

    /// The current permissions of a role.
    pub async fn role_permissions(&self, app_id: Uuid, role_id: Uuid) -> Result<Arc<Vec<String>>, Error> {
        if let Some((_, p)) = self.roles.get(&role_id).filter(|(a, _)| *a == app_id) {
            return Ok(p);
        }
        let perms = Box::pin(rbac::service::permissions_of(&self.db, app_id, Some(role_id))).await?;
        let perms = Arc::new(perms);
        self.roles.insert(role_id, (app_id, perms.clone()));
        Ok(perms)
    }

    /// The role `user_id` holds now in tenant `tenant_id` of the app, if they are a member of it
    /// and it is active.
    async fn tenant_role(
        &self,
        state: &AppState,
        app_id: Uuid,
        tenant_id: Uuid,
        user_id: Uuid,
    ) -> Result<Option<HeldRole>, Error> {
        let key = (tenant_id, user_id);
        if let Some((_, role)) = self.tenant_roles.get(&key).filter(|(a, _)| *a == app_id) {
            return Ok(role);
        }
        let role = Box::pin(tenants::service::current_role(state, app_id, tenant_id, user_id))
            .await?
            .map(|r| (r.role_id, Arc::from(r.role_name)));
        self.tenant_roles.insert(key, (app_id, role.clone()));
        Ok(role)
    }

    /// Whether tenant `tenant_id` of the app exists and is active.
    pub async fn tenant_active(&self, state: &AppState, app_id: Uuid, tenant_id: Uuid) -> Result<bool, Error> {
        if let Some((_, active)) = self.tenants_active.get(&tenant_id).filter(|(a, _)| *a == app_id) {
            return Ok(active);
        }
        let active = Box::pin(tenants::service::is_active(state, app_id, tenant_id)).await?;
        self.tenants_active.insert(tenant_id, (app_id, active));
        Ok(active)
    }

    /// Verifies `token` for `app` and resolves who it speaks for, as of now: `Ok(Err(deny))` is
    /// a token refused, `Err` a server failure.
    pub async fn check(&self, state: &AppState, app: &AppRef, token: &str) -> Result<Result<Principal, Deny>, Error> {
        if app.require_active().is_err() {
            return Ok(Err(Deny::AppInactive));
        }
        let claims = match self.claims(state, app, token).await? {
            Ok(claims) => claims,
            Err(deny) => return Ok(Err(deny)),
        };
        if self.revoked.read().expect("revoked lock").contains_key(&claims.jti) {
            return Ok(Err(Deny::Revoked));
        }
        match claims.token_type {
            TokenType::EndUser => {
                let Some(sid) = claims.sid else { return Ok(Err(Deny::Invalid)) };
                let Some(facts) = self.session(app.id, sid).await? else { return Ok(Err(Deny::Revoked)) };
                if claims.sub.parse::<Uuid>().ok() != Some(facts.user_id) {
                    return Ok(Err(Deny::Invalid));
                }
                // Suspension also ends the sessions; say why.
                if !facts.user_active {
                    return Ok(Err(Deny::AccountSuspended));
                }
                if facts.revoked || facts.expires_at <= clock::now() {
                    return Ok(Err(Deny::Revoked));
                }
                // A tenant token is decided, and reported, by the role held in its tenant, as of now.
                let (role_id, role) = match claims.tid {
                    Some(tid) => match self.tenant_role(state, app.id, tid, facts.user_id).await? {
                        Some((role_id, name)) => (Some(role_id), Some(name.to_string())),
                        None => return Ok(Err(Deny::TenantRevoked)),
                    },
                    None => (facts.role_id, facts.role_name.clone()),
                };
                let permissions = match role_id {
                    Some(role_id) => self.role_permissions(app.id, role_id).await?,
                    None => Arc::new(Vec::new()),
                };
                Ok(Ok(Principal { role, permissions, claims }))
            }
            TokenType::M2m => {
                let client = state.clients.get(&claims.sub).await?;
                let Some(facts) = client.filter(|c| c.app_id == app.id && c.active) else {
                    return Ok(Err(Deny::ClientInactive));
                };
                if let Some(tid) = claims.tid
                    && (facts.tenant_id != Some(tid) || !self.tenant_active(state, app.id, tid).await?)
                {
                    return Ok(Err(Deny::TenantRevoked));
                }
                let permissions = still_granted(&claims.permissions, &facts.scopes);
                Ok(Ok(Principal { role: None, permissions: Arc::new(permissions), claims }))
            }
        }
    }
}

/// Records the access token `jti` of `app_id` as revoked until `expires_at`, in `unit` (with
/// the revocation's audit entry); announces it to every instance after the commit. Revoking a
/// token twice is not an error.
pub async fn revoke_token(
    unit: &mut write::Unit,
    app_id: Uuid,
    jti: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), Error> {
    store::insert_revoked(unit.conn(), app_id, jti, expires_at).await?;
    unit.announce(Change::TokenRevoked(jti.to_owned()));
    Ok(())
}

/// What an M2M token was issued with, as far as the client still holds it now: an issued scope
/// the client still holds is kept; one it no longer holds whole (a wildcard since narrowed)
/// keeps the client's current scopes that it covers. In issue order, without duplicates.
fn still_granted(issued: &[String], current: &[String]) -> Vec<String> {
    let mut kept: Vec<String> = Vec::new();
    for held in issued {
        let survivors: Vec<&String> = if permissions::grants(current, held) {
            vec![held]
        } else {
            current.iter().filter(|s| permissions::grants(std::slice::from_ref(held), s)).collect()
        };
        for p in survivors {
            if !kept.contains(p) {
                kept.push(p.clone());
            }
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn issued_scopes_the_client_still_holds_are_kept_in_issue_order() {
        let current = scopes(&["billing.read", "docs.read", "docs.write"]);
        assert_eq!(still_granted(&scopes(&["docs.write", "billing.read"]), &current), ["docs.write", "billing.read"]);
        // Held through a wildcard now: still the issued scope, not the wildcard.
        assert_eq!(still_granted(&scopes(&["docs.read"]), &scopes(&["docs.*"])), ["docs.read"]);
        assert_eq!(still_granted(&scopes(&["docs.*"]), &scopes(&["*"])), ["docs.*"]);
    }

    #[test]
    fn issued_scopes_taken_from_the_client_are_dropped() {
        assert!(still_granted(&scopes(&["docs.read", "billing.read"]), &[]).is_empty());
        assert_eq!(
            still_granted(&scopes(&["docs.read", "billing.read"]), &scopes(&["billing.read"])),
            ["billing.read"]
        );
    }

    #[test]
    fn a_wildcard_since_narrowed_keeps_the_current_scopes_it_covers() {
        let current = scopes(&["docs.read", "billing.read", "docs.write"]);
        assert_eq!(still_granted(&scopes(&["docs.*"]), &current), ["docs.read", "docs.write"]);
        assert_eq!(still_granted(&scopes(&["*"]), &current), current);
        // Never more than the token was issued with: `docs.*` does not reach billing.
        assert_eq!(still_granted(&scopes(&["docs.*"]), &scopes(&["billing.*"])), Vec::<String>::new());
    }

    #[test]
    fn overlapping_issued_scopes_do_not_repeat_a_permission() {
        let current = scopes(&["docs.read", "docs.write"]);
        assert_eq!(still_granted(&scopes(&["docs.read", "docs.*", "*"]), &current), ["docs.read", "docs.write"]);
        assert!(still_granted(&[], &current).is_empty());
    }

    #[test]
    fn only_an_expired_token_is_denied_as_expired() {
        assert_eq!(Deny::from(TokenError::Expired), Deny::Expired);
        for e in [
            TokenError::Malformed,
            TokenError::Algorithm,
            TokenError::MissingKid,
            TokenError::UnknownKid,
            TokenError::Signature,
            TokenError::NotYetValid,
            TokenError::Issuer,
            TokenError::Audience,
        ] {
            assert_eq!(Deny::from(e), Deny::Invalid, "{e:?}");
        }
    }

    #[test]
    fn a_principal_lacks_exactly_what_its_permissions_do_not_grant() {
        let claims: AccessClaims = serde_json::from_value(serde_json::json!({
            "iss": "i", "aud": "a", "sub": "s", "aid": Uuid::nil(), "type": "m2m", "iat": 0, "exp": 0, "jti": "j",
        }))
        .unwrap();
        let p =
            Principal { claims: Arc::new(claims), role: None, permissions: Arc::new(scopes(&["docs.*", "role.read"])) };
        assert!(p.allows("docs.delete"));
        assert!(!p.allows("role.write"));
        assert_eq!(
            p.missing(&scopes(&["docs.read", "role.write", "billing.read", "role.read"])),
            ["role.write", "billing.read"]
        );
    }
}
