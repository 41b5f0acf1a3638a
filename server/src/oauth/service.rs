//! The rules of an app's OAuth 2.0 endpoints: client authentication with failure throttling,
//! the client-credentials grant (RFC 6749 §4.4), introspection (RFC 7662) and revocation
//! (RFC 7009). The wire (JSON or form bodies, HTTP Basic) is `api.rs`'s.

use std::{sync::Arc, time::Duration};

use aws_lc_rs::constant_time::verify_slices_are_equal;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{
    access::Origin,
    apps::AppRef,
    audit::{Action, Actor, ActorKind, Entry},
    authz::{self, Principal},
    clock,
    error::{Code, Error},
    m2m::clients::{CLIENT_ID_MAX, ClientRecord},
    permissions,
    ratelimit::{self, Limit},
    secrets::hash_secret,
    sessions,
    state::AppState,
    tokens::{self, AccessClaims, TokenType},
    write,
};

/// Failed client authentications per client and IP before the endpoint answers 429.
pub const CLIENT_FAILURE_LIMIT: Limit = Limit { max: 20, window: Duration::from_secs(300) };
/// Failed client authentications per IP and app, whatever the client id (bounds guessing and
/// the audit entries failures write).
pub const IP_FAILURE_LIMIT: Limit = Limit { max: 100, window: Duration::from_secs(300) };

/// Client credentials as presented: `client_id`, secret, and whether they came with HTTP
/// Basic (a refusal then carries a `Basic` challenge).
pub struct ClientCredentials {
    pub client_id: String,
    pub secret: String,
    pub basic: bool,
}

/// 401 `invalid_client`, with a `Basic` challenge when the client used HTTP Basic.
pub fn invalid_client(basic: bool, message: &str) -> Error {
    let e = Error::new(Code::InvalidClient, message);
    if basic { e.with_challenge("Basic realm=\"heimdall\"") } else { e }
}

/// Only the client-credentials grant is supported.
pub fn check_grant_type(grant_type: Option<&str>) -> Result<(), Error> {
    match grant_type {
        Some("client_credentials") => Ok(()),
        // The refusal never repeats the caller's value.
        Some(_) => {
            Err(Error::new(Code::UnsupportedGrantType, "this grant_type is not supported; use client_credentials"))
        }
        None => Err(Error::new(Code::InvalidRequest, "grant_type is missing")),
    }
}

/// Authenticates the calling client of `app`, throttling failures per client and address.
///
/// The secret compare is a cheap hash, and a correct secret must not cost a database write (the
/// token endpoint is a hot path), so the order is: a blocked key is refused (a cached read) →
/// compare → only a failure is counted, and the count it draws decides its answer: within both
/// budgets 401 (audited), beyond either 429 with `Retry-After` — so N concurrent wrong secrets
/// get at most the budget's worth of 401s, and while a key is blocked even a correct secret is 429.
pub async fn authenticate_client(
    state: &AppState,
    app: &AppRef,
    ctx: &Origin,
    creds: ClientCredentials,
) -> Result<Arc<ClientRecord>, Error> {
    let ClientCredentials { client_id, secret, basic } = creds;
    let ip = ratelimit::client_address(ctx.ip);
    let throttle = format!("oauth:{}:{}:{ip}", app.id, hash_secret(&client_id));
    let ip_throttle = format!("oauth:{}:ip:{ip}", app.id);
    state.limits.check(&throttle, CLIENT_FAILURE_LIMIT).await?;
    state.limits.check(&ip_throttle, IP_FAILURE_LIMIT).await?;
    let record = state.clients.get(&client_id).await?.filter(|c| c.app_id == app.id);
    let reason = match &record {
        None => Some("unknown_client"),
        Some(c) if verify_slices_are_equal(c.secret_hash.as_bytes(), hash_secret(&secret).as_bytes()).is_err() => {
            Some("bad_secret")
        }
        Some(c) if !c.active => Some("inactive_client"),
        Some(_) => None,
    };
    if let Some(reason) = reason {
        // Beyond a budget the failure is answered 429 here, and not audited.
        state.limits.hit(&throttle, CLIENT_FAILURE_LIMIT).await?;
        state.limits.hit(&ip_throttle, IP_FAILURE_LIMIT).await?;
        // The audit keeps what was claimed, but no more of it than a real id could be.
        let claimed: String = client_id.chars().take(CLIENT_ID_MAX).collect();
        let mut unit = write::begin(&state.db, &state.bus).await?;
        unit.audit(
            Entry::new(app.id, &Actor::new(ActorKind::M2mClient, &claimed), Action::OauthClientAuthFailed, ctx)
                .resource("m2m_client", &claimed)
                .details(serde_json::json!({ "reason": reason })),
        )
        .await?;
        unit.commit().await?;
        let message =
            if reason == "inactive_client" { "the client is deactivated" } else { "client authentication failed" };
        return Err(invalid_client(basic, message));
    }
    Ok(record.expect("checked above"))
}

/// An access token issued to a client.
pub struct Issued {
    pub access_token: String,
    pub expires_in: u64,
    /// Granted scopes, space-separated.
    pub scope: String,
}

/// Authenticates the client and issues an M2M access token with `scope` (space-separated; all
/// The scopes a token request is granted: all of the client's when `requested` is absent or
/// blank, else each space-separated scope asked for (once), provided it is a permission the
/// client holds. `Err`
/// is the first scope it does not hold.
pub(super) fn granted_scopes<'a>(held: &[String], requested: Option<&'a str>) -> Result<Vec<String>, &'a str> {
    let Some(requested) = requested.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(held.to_vec());
    };
    let mut out: Vec<String> = Vec::new();
    for s in requested.split_whitespace() {
        // A scope is a permission (or an explicit wildcard); a client holding `*` still cannot
        // put arbitrary strings into its token.
        if permissions::parse_grant(s).is_err() || !permissions::grants(held, s) {
            return Err(s);
        }
        if !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    }
    Ok(out)
}

/// of the client's scopes when absent), each of which the client must hold.
pub async fn issue_token(
    state: &AppState,
    app: &AppRef,
    ctx: &Origin,
    creds: ClientCredentials,
    scope: Option<&str>,
) -> Result<Issued, Error> {
    let client = authenticate_client(state, app, ctx, creds).await?;
    let granted = granted_scopes(&client.scopes, scope)
        // The refusal never repeats the caller's value.
        .map_err(|_| Error::new(Code::InvalidScope, "a requested scope is not a permission granted to this client"))?;
    // A client bound to a tenant gets tokens only while its tenant is active.
    if let Some(tid) = client.tenant_id
        && !state.authz.tenant_active(state, app.id, tid).await?
    {
        return Err(Error::new(Code::UnauthorizedClient, "the client's tenant is suspended or deleted"));
    }
    let ttl = state.config.access_token_ttl.as_secs();
    let now = chrono::Utc::now().timestamp();
    let scope = granted.join(" ");
    let claims = AccessClaims {
        iss: state.issuer(&app.slug),
        aud: app.slug.clone(),
        sub: client.client_id.clone(),
        aid: app.id,
        sid: None,
        role: None,
        tid: client.tenant_id,
        trole: None,
        token_type: TokenType::M2m,
        amr: None,
        permissions: granted,
        scope: Some(scope.clone()),
        iat: now,
        exp: now + ttl as i64,
        nbf: None,
        jti: Uuid::now_v7().to_string(),
    };
    let access_token = tokens::sign(state, app.id, &claims).await?;
    state.usage.touch(crate::usage::Credential::Client, client.id);
    Ok(Issued { access_token, expires_in: ttl, scope })
}

/// What introspection found.
pub enum Introspected {
    /// Unknown, expired, revoked or otherwise not usable now.
    Inactive,
    /// A live refresh token of `user`'s session, which ends at `expires_at`.
    Refresh { user: Uuid, expires_at: DateTime<Utc> },
    /// A valid access token and who it speaks for now.
    Access(Principal),
}

/// Whether `token` (an access or refresh token of `app`) is active now.
pub async fn introspect(state: &AppState, app: &AppRef, token: &str) -> Result<Introspected, Error> {
    if token.starts_with(sessions::service::REFRESH_PREFIX) {
        let live = match sessions::service::find_refresh(state, app.id, &hash_secret(token)).await? {
            Some(r) if r.used_at.is_none() => sessions::service::find(state, app.id, r.session_id)
                .await?
                .filter(|s| s.revoked_at.is_none() && s.expires_at > clock::now())
                .map(|s| (s.end_user_id, s.expires_at)),
            _ => None,
        };
        return Ok(match live {
            Some((user, expires_at)) => Introspected::Refresh { user, expires_at },
            None => Introspected::Inactive,
        });
    }
    Ok(match state.authz.check(state, app, token).await? {
        Ok(p) => Introspected::Access(p),
        Err(_) => Introspected::Inactive,
    })
}

/// Revokes `token` for the authenticated client `caller`: a refresh token or an end-user
/// access token ends its session; an M2M access token (only its own client may revoke it) is
/// refused everywhere from now on. `false` when the token was unknown or already invalid.
pub async fn revoke(
    state: &AppState,
    app: &AppRef,
    ctx: &Origin,
    caller: &ClientRecord,
    token: &str,
) -> Result<bool, Error> {
    let actor = Actor::new(ActorKind::M2mClient, &caller.client_id);
    if token.starts_with(sessions::service::REFRESH_PREFIX) {
        let Some(r) = sessions::service::find_refresh(state, app.id, &hash_secret(token)).await? else {
            return Ok(false);
        };
        return sessions::service::revoke_session(state, app.id, r.session_id, "oauth_revoked", &actor, ctx).await;
    }
    let claims: AccessClaims = match tokens::verify(state, app, token).await? {
        Ok(c) => c,
        Err(_) => return Ok(false),
    };
    match (claims.token_type, claims.sid) {
        (TokenType::EndUser, Some(sid)) => {
            sessions::service::revoke_session(state, app.id, sid, "oauth_revoked", &actor, ctx).await
        }
        _ if claims.sub != caller.client_id => {
            Err(Error::new(Code::UnauthorizedClient, "an M2M token can only be revoked by the client it was issued to"))
        }
        _ => {
            let expires =
                chrono::DateTime::from_timestamp(claims.exp + tokens::LEEWAY_SECS as i64, 0).unwrap_or_else(clock::now);
            // The revoked id and its audit entry in one transaction; announced after the commit.
            let mut unit = write::begin(&state.db, &state.bus).await?;
            authz::engine::revoke_token(&mut unit, app.id, &claims.jti, expires).await?;
            unit.audit(
                Entry::new(app.id, &actor, Action::OauthTokenRevoked, ctx)
                    .resource("token", &claims.jti)
                    .details(serde_json::json!({ "sub": claims.sub })),
            )
            .await?;
            unit.commit().await?;
            Ok(true)
        }
    }
}
