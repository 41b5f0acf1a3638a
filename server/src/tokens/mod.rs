//! Access tokens: RS256 JWTs signed with the app's current key, verified strictly.
//!
//! Signing uses the key ring's pre-parsed key (no per-token key parsing). Verification pins the
//! algorithm to RS256, requires a `kid` that belongs to the app, and checks `iss`, `aud`, `exp`
//! and `nbf` with 60 s of leeway. Header members such as `jku`, `jwk` and `x5u` are never used:
//! keys come only from the app's own key set.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{apps::AppRef, error::Error, state::AppState};

/// Leeway for `exp` and `nbf`.
pub const LEEWAY_SECS: u64 = 60;

/// The claims of an access token (DESIGN §6).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// End-user account id, or the M2M `client_id`.
    pub sub: String,
    /// App id.
    pub aid: Uuid,
    /// Session id (end-user tokens).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sid: Option<Uuid>,
    /// Role name (end-user tokens).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub role: Option<String>,
    #[serde(rename = "type")]
    pub token_type: TokenType,
    /// Authentication methods (end-user tokens).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub amr: Option<Vec<String>>,
    /// Role permissions or client scopes.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// M2M tokens: the granted scopes, space-separated (RFC 9068).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scope: Option<String>,
    pub iat: i64,
    pub exp: i64,
    /// Never set by Heimdall; honoured when present (RFC 7519 §4.1.5).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub nbf: Option<i64>,
    pub jti: String,
}

/// Whose token it is (the `type` claim).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenType {
    /// An end-user's session token.
    EndUser,
    /// A machine-to-machine client's token.
    M2m,
}

impl TokenType {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenType::EndUser => "end_user",
            TokenType::M2m => "m2m",
        }
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is malformed")]
    Malformed,
    #[error("token algorithm is not RS256")]
    Algorithm,
    #[error("token has no key id")]
    MissingKid,
    #[error("token key id is not one of this app's keys")]
    UnknownKid,
    #[error("token signature is invalid")]
    Signature,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token issuer does not match the app")]
    Issuer,
    #[error("token audience does not match the app")]
    Audience,
}

/// Whether `claims` have expired at `now` (Unix seconds), leeway included.
pub fn expired(claims: &AccessClaims, now: i64) -> bool {
    claims.exp.saturating_add(LEEWAY_SECS as i64) <= now
}

/// Signs `claims` with the app's current key.
pub async fn sign<C: Serialize>(state: &AppState, app_id: Uuid, claims: &C) -> Result<String, Error> {
    let signer = state.keys.signer(app_id).await?;
    let header = serde_json::json!({ "alg": "RS256", "typ": "JWT", "kid": signer.kid });
    let mut token = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).expect("json"));
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).map_err(Error::internal)?));
    let signature = signer.sign(token.as_bytes());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
    Ok(token)
}

/// The JOSE header members verification looks at; everything else is ignored except `crit`.
#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    alg: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    kid: Option<std::borrow::Cow<'a, str>>,
    /// Critical extensions (RFC 7515 §4.1.11): Heimdall understands none, so any is refused.
    #[serde(default)]
    crit: Option<serde::de::IgnoredAny>,
}

fn b64(part: &str) -> Result<Vec<u8>, TokenError> {
    URL_SAFE_NO_PAD.decode(part).map_err(|_| TokenError::Malformed)
}

/// Verifies a token of `app`: signature with one of the app's keys, then expiry, not-before,
/// issuer and audience.
///
/// Hand-rolled rather than `jsonwebtoken::decode` because that rebuilds the RSA public key on
/// every call; here each key is parsed once per key-set load (see `keys::LiveKey`), which more
/// than doubles the verification rate.
///
/// The outer error is a server fault (the key set could not be loaded): the caller answers it as
/// such, never as an invalid token.
pub async fn verify(state: &AppState, app: &AppRef, token: &str) -> Result<Result<AccessClaims, TokenError>, Error> {
    let (verdict, set) = match parse(token) {
        Ok(parsed) => {
            let mut set = state.keys.key_set(app.id).await?;
            if set.find(&parsed.kid).is_none() {
                set = state.keys.key_set_after_miss(app.id, &set).await?;
            }
            (Ok(parsed), Some(set))
        }
        Err(e) => (Err(e), None),
    };
    let now = chrono::Utc::now().timestamp();
    Ok(verdict.and_then(|parsed| {
        let key = set.as_ref().and_then(|s| s.find(&parsed.kid)).ok_or(TokenError::UnknownKid)?;
        key.verifier.verify_sig(parsed.signed.as_bytes(), &parsed.signature).map_err(|_| TokenError::Signature)?;
        check_claims(parsed.payload, now, |iss| state.is_issuer(iss, &app.slug), &app.slug)
    }))
}

/// A token split and decoded up to its signature check.
struct Parsed<'a> {
    signed: &'a str,
    signature: Vec<u8>,
    payload: &'a str,
    kid: String,
}

/// Splits `token` and checks its header: RS256, no critical extensions, a `kid`.
fn parse(token: &str) -> Result<Parsed<'_>, TokenError> {
    let (signed, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
    let (header, payload) = signed.split_once('.').ok_or(TokenError::Malformed)?;
    let header_json = b64(header)?;
    let header: Header = serde_json::from_slice(&header_json).map_err(|_| TokenError::Malformed)?;
    if header.alg != "RS256" {
        return Err(TokenError::Algorithm);
    }
    if header.crit.is_some() {
        return Err(TokenError::Malformed);
    }
    let kid = header.kid.ok_or(TokenError::MissingKid)?.into_owned();
    Ok(Parsed { signed, signature: b64(signature)?, payload, kid })
}

/// The claims of a signature-checked payload, if they hold at `now` for the expected issuer and
/// audience.
fn check_claims(
    payload: &str,
    now: i64,
    is_issuer: impl Fn(&str) -> bool,
    audience: &str,
) -> Result<AccessClaims, TokenError> {
    let claims: AccessClaims = serde_json::from_slice(&b64(payload)?).map_err(|_| TokenError::Malformed)?;
    if expired(&claims, now) {
        return Err(TokenError::Expired);
    }
    if claims.nbf.is_some_and(|nbf| nbf.saturating_sub(LEEWAY_SECS as i64) > now) {
        return Err(TokenError::NotYetValid);
    }
    if !is_issuer(&claims.iss) {
        return Err(TokenError::Issuer);
    }
    if claims.aud != audience {
        return Err(TokenError::Audience);
    }
    Ok(claims)
}
