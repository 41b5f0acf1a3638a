//! Access tokens: JWTs signed with the app's current key (RS256, ES256 or EdDSA), verified strictly.
//!
//! Signing uses the key ring's pre-parsed key (no per-token key parsing). Verification requires a
//! `kid` that belongs to the app and verifies with that key's own algorithm: a header naming any
//! other algorithm is refused, so no RS/ES/HS confusion is possible. It checks `iss`, `aud`, `exp`,
//! `nbf` and `iat` with 60 s of leeway (a token issued in the future, by an instance whose clock
//! runs ahead, would otherwise outlive its lifetime). Header members such as `jku`, `jwk` and `x5u` are never used:
//! keys come only from the app's own key set.

use aws_lc_rs::signature::ParsedPublicKey;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{apps::AppRef, entity::signing_key::SigningAlg, error::Error, state::AppState};

/// Leeway for `exp`, `nbf` and `iat`: the clock skew tolerated between instances.
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
    /// Tenant id, when the session is signed in to a tenant of the app.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tid: Option<Uuid>,
    /// The role the user holds in that tenant.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub trole: Option<String>,
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
    #[error("token algorithm is not its key's")]
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
    let header = serde_json::json!({ "alg": signer.alg.as_str(), "typ": "JWT", "kid": signer.kid });
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
    let unverified = match Unverified::split(token) {
        Ok(unverified) => unverified,
        Err(e) => return Ok(Err(e)),
    };
    let mut set = state.keys.key_set(app.id).await?;
    if set.find(&unverified.kid).is_none() {
        set = state.keys.key_set_after_miss(app.id, &set).await?;
    }
    let Some(key) = set.find(&unverified.kid) else { return Ok(Err(TokenError::UnknownKid)) };
    let now = chrono::Utc::now().timestamp();
    Ok(unverified.check(key.alg, &key.verifier, |iss| state.is_issuer(iss, &app.slug), &app.slug, now))
}

/// A token split into its parts with its header accepted, before any key is looked up: the
/// pure halves of [`verify`], apart from the (cached, possibly reloaded) key set. Public so the
/// fuzz targets (`fuzz/`) can drive the verifier without a database.
pub struct Unverified<'a> {
    kid: String,
    alg: SigningAlg,
    /// `header.payload`, the signed input.
    signed: &'a str,
    payload: &'a str,
    signature: &'a str,
}

impl<'a> Unverified<'a> {
    /// Splits `token` and accepts its header: RS256, a `kid`, no `crit`.
    pub fn split(token: &'a str) -> Result<Self, TokenError> {
        let (signed, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let (header, payload) = signed.split_once('.').ok_or(TokenError::Malformed)?;
        let header_json = b64(header)?;
        // A JOSE header is a JSON object (RFC 7515 §4); serde would also read the struct from
        // an array.
        if header_json.trim_ascii_start().first() != Some(&b'{') {
            return Err(TokenError::Malformed);
        }
        let header: Header = serde_json::from_slice(&header_json).map_err(|_| TokenError::Malformed)?;
        // Only the algorithms Heimdall signs with; which one is right is the key's to say.
        let alg = SigningAlg::from_jose(&header.alg).ok_or(TokenError::Algorithm)?;
        if header.crit.is_some() {
            return Err(TokenError::Malformed);
        }
        // Owned: it borrows from the decoded header, which ends here.
        let kid = header.kid.ok_or(TokenError::MissingKid)?.into_owned();
        Ok(Unverified { kid, alg, signed, payload, signature })
    }

    /// The key id the header names; the caller looks it up in the app's key set.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The signature under `key`, then the claims at `now` (Unix seconds).
    /// Verifies the token with `key`, a key of algorithm `key_alg`: the key decides, and a
    /// header naming another algorithm is refused before any signature check.
    pub fn check(
        self,
        key_alg: SigningAlg,
        key: &ParsedPublicKey,
        is_issuer: impl FnOnce(&str) -> bool,
        audience: &str,
        now: i64,
    ) -> Result<AccessClaims, TokenError> {
        if self.alg != key_alg {
            return Err(TokenError::Algorithm);
        }
        key.verify_sig(self.signed.as_bytes(), &b64(self.signature)?).map_err(|_| TokenError::Signature)?;
        let claims: AccessClaims = serde_json::from_slice(&b64(self.payload)?).map_err(|_| TokenError::Malformed)?;
        if expired(&claims, now) {
            return Err(TokenError::Expired);
        }
        let not_before = claims.nbf.map_or(claims.iat, |nbf| nbf.max(claims.iat));
        if not_before.saturating_sub(LEEWAY_SECS as i64) > now {
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
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use serde_json::{Value, json};

    use super::*;
    use crate::keys::crypto::{MasterKey, Signer, generate_sealed};

    const ISSUER: &str = "https://auth.example.com/acme";
    const AUDIENCE: &str = "acme";
    const NOW: i64 = 1_700_000_000;

    struct TestKey {
        signer: Signer,
        public: ParsedPublicKey,
        /// The public half as JWK members, for headers that try to smuggle a key in.
        jwk: serde_json::Value,
    }

    fn test_key_for(alg: SigningAlg) -> TestKey {
        let master = MasterKey::new(&[9; 32]);
        let sealed = generate_sealed(&master, alg).unwrap();
        let signer = Signer::open(&master, &sealed.kid, alg, &sealed.private_key_enc).unwrap();
        let public = sealed.public.parse(alg).unwrap();
        TestKey { jwk: sealed.public.to_jwk(&sealed.kid, alg), signer, public }
    }

    fn test_key() -> TestKey {
        test_key_for(SigningAlg::Rs256)
    }

    /// The app's only key, and a stranger's. RSA generation is slow: once per test binary.
    fn keys() -> &'static (TestKey, TestKey) {
        static KEYS: OnceLock<(TestKey, TestKey)> = OnceLock::new();
        KEYS.get_or_init(|| (test_key(), test_key()))
    }

    fn app_key() -> &'static TestKey {
        &keys().0
    }

    fn stranger() -> &'static TestKey {
        &keys().1
    }

    /// What `verify` does, with the app's key set reduced to its one key.
    fn verify_at(token: &str, now: i64) -> Result<AccessClaims, TokenError> {
        let unverified = Unverified::split(token)?;
        let key =
            (unverified.kid == app_key().signer.kid).then_some(&app_key().public).ok_or(TokenError::UnknownKid)?;
        unverified.check(SigningAlg::Rs256, key, |iss| iss == ISSUER, AUDIENCE, now)
    }

    fn header() -> Value {
        json!({ "alg": "RS256", "typ": "JWT", "kid": app_key().signer.kid })
    }

    fn claims() -> Value {
        json!({
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "m2m_client",
            "aid": "0190c8a4-0000-7000-8000-000000000001",
            "type": "m2m",
            "permissions": ["docs.read"],
            "scope": "docs.read",
            "iat": NOW - 10,
            "exp": NOW + 3600,
            "jti": "jti-1",
        })
    }

    fn b64_json(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    }

    /// `header.payload` signed by `key`, parts taken as they are.
    fn signed(header: &str, payload: &str, key: &TestKey) -> String {
        let input = format!("{header}.{payload}");
        let signature = URL_SAFE_NO_PAD.encode(key.signer.sign(input.as_bytes()));
        format!("{input}.{signature}")
    }

    fn token(header: &Value, claims: &Value, key: &TestKey) -> String {
        signed(&b64_json(header), &b64_json(claims), key)
    }

    fn with(mut v: Value, member: &str, value: Value) -> Value {
        v[member] = value;
        v
    }

    fn without(mut v: Value, member: &str) -> Value {
        v.as_object_mut().unwrap().remove(member);
        v
    }

    #[test]
    fn a_token_signed_with_the_app_key_is_accepted_with_its_claims() {
        let claims = verify_at(&token(&header(), &claims(), app_key()), NOW).unwrap();
        assert_eq!(claims.sub, "m2m_client");
        assert_eq!(claims.aud, AUDIENCE);
        assert_eq!(claims.token_type, TokenType::M2m);
        assert_eq!(claims.permissions, ["docs.read"]);
        assert_eq!(claims.scope.as_deref(), Some("docs.read"));
        assert_eq!((claims.sid, claims.role, claims.nbf), (None, None, None));
    }

    #[test]
    fn a_token_without_three_parts_is_malformed() {
        for bad in ["", "abc", "abc.def", "."] {
            assert_eq!(verify_at(bad, NOW).unwrap_err(), TokenError::Malformed, "{bad:?}");
        }
    }

    #[test]
    fn a_signed_payload_holding_a_fourth_part_is_malformed() {
        // Even correctly signed, `header.payload.extra` never parses as claims.
        let forged = signed(&b64_json(&header()), &format!("{}.extra", b64_json(&claims())), app_key());
        assert_eq!(verify_at(&forged, NOW).unwrap_err(), TokenError::Malformed);
    }

    #[test]
    fn a_header_that_is_not_unpadded_base64url_is_malformed() {
        let good = token(&header(), &claims(), app_key());
        let (_, rest) = good.split_once('.').unwrap();
        let padded = base64::engine::general_purpose::URL_SAFE.encode(serde_json::to_vec(&header()).unwrap());
        assert!(padded.ends_with('='), "the test header must need padding");
        for bad in ["!!!!".to_owned(), padded, format!("{}+", b64_json(&header()))] {
            assert_eq!(verify_at(&format!("{bad}.{rest}"), NOW).unwrap_err(), TokenError::Malformed, "{bad}");
        }
    }

    #[test]
    fn a_header_that_is_not_a_jose_object_is_malformed() {
        let payload = b64_json(&claims());
        for bad in [
            URL_SAFE_NO_PAD.encode("not json"),
            b64_json(&json!("RS256")),
            b64_json(&without(header(), "alg")),
            b64_json(&with(header(), "alg", json!(256))),
            b64_json(&with(header(), "kid", json!(7))),
            b64_json(&json!(["RS256", app_key().signer.kid])),
        ] {
            assert_eq!(verify_at(&signed(&bad, &payload, app_key()), NOW).unwrap_err(), TokenError::Malformed, "{bad}");
        }
    }

    #[test]
    fn an_algorithm_other_than_rs256_is_refused() {
        for alg in ["none", "HS256", "RS512", "PS256", "ES256", "EdDSA", "rs256", "RS256 ", "eddsa", ""] {
            let t = token(&with(header(), "alg", json!(alg)), &claims(), app_key());
            assert_eq!(verify_at(&t, NOW).unwrap_err(), TokenError::Algorithm, "{alg:?}");
        }
        // The classic downgrade: `alg: none` with an empty signature.
        let none = format!("{}.{}.", b64_json(&with(header(), "alg", json!("none"))), b64_json(&claims()));
        assert_eq!(verify_at(&none, NOW).unwrap_err(), TokenError::Algorithm);
    }

    #[test]
    fn a_critical_header_extension_is_refused() {
        let t = token(&with(header(), "crit", json!(["exp"])), &claims(), app_key());
        assert_eq!(verify_at(&t, NOW).unwrap_err(), TokenError::Malformed);
    }

    #[test]
    fn a_token_without_a_kid_is_refused_with_missing_kid() {
        for h in [without(header(), "kid"), with(header(), "kid", Value::Null)] {
            assert_eq!(verify_at(&token(&h, &claims(), app_key()), NOW).unwrap_err(), TokenError::MissingKid);
        }
    }

    #[test]
    fn a_kid_outside_the_app_key_set_is_refused_with_unknown_kid() {
        for kid in [stranger().signer.kid.as_str(), "", "rs256-unknown"] {
            let t = token(&with(header(), "kid", json!(kid)), &claims(), stranger());
            assert_eq!(verify_at(&t, NOW).unwrap_err(), TokenError::UnknownKid, "{kid:?}");
        }
    }

    #[test]
    fn a_signature_by_another_key_under_the_app_kid_is_refused() {
        let t = token(&header(), &claims(), stranger());
        assert_eq!(verify_at(&t, NOW).unwrap_err(), TokenError::Signature);
    }

    #[test]
    fn a_changed_payload_or_header_breaks_the_signature() {
        let good = token(&header(), &claims(), app_key());
        let parts: Vec<&str> = good.split('.').collect();
        let richer = b64_json(&with(claims(), "permissions", json!(["*"])));
        assert_eq!(verify_at(&format!("{}.{richer}.{}", parts[0], parts[2]), NOW).unwrap_err(), TokenError::Signature);
        let retyped = b64_json(&with(header(), "typ", json!("at+jwt")));
        assert_eq!(verify_at(&format!("{retyped}.{}.{}", parts[1], parts[2]), NOW).unwrap_err(), TokenError::Signature);
        // An empty or truncated signature is a wrong signature; one that is not base64url is malformed.
        let unsigned = format!("{}.{}", parts[0], parts[1]);
        assert_eq!(verify_at(&format!("{unsigned}."), NOW).unwrap_err(), TokenError::Signature);
        assert_eq!(verify_at(&format!("{unsigned}.{}", &parts[2][..40]), NOW).unwrap_err(), TokenError::Signature);
        assert_eq!(verify_at(&format!("{unsigned}.*{}", parts[2]), NOW).unwrap_err(), TokenError::Malformed);
    }

    #[test]
    fn keys_named_in_the_header_are_never_used() {
        // A stranger's key offered inline (`jwk`) or by reference (`jku`, `x5u`) changes nothing:
        // the signature is still checked against the app's key named by `kid`.
        let smuggled = with(
            with(with(header(), "jwk", stranger().jwk.clone()), "jku", json!("https://attacker.example/jwks.json")),
            "x5u",
            json!("https://attacker.example/cert.pem"),
        );
        assert_eq!(verify_at(&token(&smuggled, &claims(), stranger()), NOW).unwrap_err(), TokenError::Signature);
        // Signed by the app's key, the same members are ignored.
        assert!(verify_at(&token(&smuggled, &claims(), app_key()), NOW).is_ok());
        // With the stranger's own kid the key is simply unknown.
        let theirs = with(smuggled, "kid", json!(stranger().signer.kid));
        assert_eq!(verify_at(&token(&theirs, &claims(), stranger()), NOW).unwrap_err(), TokenError::UnknownKid);
    }

    #[test]
    fn a_signed_payload_that_is_not_claims_is_malformed() {
        let h = b64_json(&header());
        for bad in [
            "!!!!".to_owned(),
            URL_SAFE_NO_PAD.encode("not json"),
            b64_json(&without(claims(), "exp")),
            b64_json(&without(claims(), "type")),
            b64_json(&with(claims(), "aid", json!("not-a-uuid"))),
            b64_json(&with(claims(), "exp", json!("tomorrow"))),
            // One audience only: an array is not accepted.
            b64_json(&with(claims(), "aud", json!([AUDIENCE]))),
        ] {
            assert_eq!(verify_at(&signed(&h, &bad, app_key()), NOW).unwrap_err(), TokenError::Malformed, "{bad}");
        }
    }

    #[test]
    fn expiry_has_sixty_seconds_of_leeway_and_no_more() {
        let at = |exp: i64| verify_at(&token(&header(), &with(claims(), "exp", json!(exp)), app_key()), NOW);
        assert!(at(NOW + 1).is_ok());
        assert!(at(NOW).is_ok());
        assert!(at(NOW - LEEWAY_SECS as i64 + 1).is_ok());
        assert_eq!(at(NOW - LEEWAY_SECS as i64).unwrap_err(), TokenError::Expired);
        assert_eq!(at(NOW - 86_400).unwrap_err(), TokenError::Expired);
        assert_eq!(at(i64::MIN).unwrap_err(), TokenError::Expired);
        assert!(at(i64::MAX).is_ok(), "the leeway saturates instead of overflowing");
    }

    #[test]
    fn a_not_before_in_the_future_is_refused_beyond_the_leeway() {
        let at = |nbf: Value| verify_at(&token(&header(), &with(claims(), "nbf", nbf), app_key()), NOW);
        assert!(at(Value::Null).is_ok());
        assert!(at(json!(NOW - 3600)).is_ok());
        assert!(at(json!(NOW + LEEWAY_SECS as i64)).is_ok());
        assert_eq!(at(json!(NOW + LEEWAY_SECS as i64 + 1)).unwrap_err(), TokenError::NotYetValid);
        assert_eq!(at(json!(i64::MAX)).unwrap_err(), TokenError::NotYetValid);
        assert!(at(json!(i64::MIN)).is_ok(), "the leeway saturates instead of overflowing");
    }

    #[test]
    fn an_issued_at_in_the_future_is_refused_beyond_the_leeway() {
        // An instance whose clock runs an hour ahead would issue a token living two hours here.
        let at = |iat: i64| verify_at(&token(&header(), &with(claims(), "iat", json!(iat)), app_key()), NOW);
        assert!(at(NOW - 3600).is_ok());
        assert!(at(NOW + LEEWAY_SECS as i64).is_ok());
        assert_eq!(at(NOW + LEEWAY_SECS as i64 + 1).unwrap_err(), TokenError::NotYetValid);
        assert_eq!(at(NOW + 3600).unwrap_err(), TokenError::NotYetValid);
        assert_eq!(at(i64::MAX).unwrap_err(), TokenError::NotYetValid);
        assert!(at(i64::MIN).is_ok(), "the leeway saturates instead of overflowing");
    }

    #[test]
    fn the_issuer_must_be_the_app_issuer() {
        for iss in ["https://auth.example.com/other", "https://auth.example.com/acme/", "https://evil.example/acme", ""]
        {
            let t = token(&header(), &with(claims(), "iss", json!(iss)), app_key());
            assert_eq!(verify_at(&t, NOW).unwrap_err(), TokenError::Issuer, "{iss:?}");
        }
    }

    #[test]
    fn the_audience_must_be_the_app_slug_exactly() {
        for aud in ["other", "ACME", "acme ", ""] {
            let t = token(&header(), &with(claims(), "aud", json!(aud)), app_key());
            assert_eq!(verify_at(&t, NOW).unwrap_err(), TokenError::Audience, "{aud:?}");
        }
    }

    #[test]
    fn time_is_checked_before_issuer_and_issuer_before_audience() {
        // Callers turn `Expired` into `token_expired`, telling the client to refresh; the time
        // checks come before issuer and audience.
        let stale = with(with(with(claims(), "exp", json!(NOW - 3600)), "iss", json!("x")), "aud", json!("y"));
        assert_eq!(verify_at(&token(&header(), &stale, app_key()), NOW).unwrap_err(), TokenError::Expired);
        let early = with(with(claims(), "nbf", json!(NOW + 3600)), "aud", json!("y"));
        assert_eq!(verify_at(&token(&header(), &early, app_key()), NOW).unwrap_err(), TokenError::NotYetValid);
        let elsewhere = with(with(claims(), "iss", json!("x")), "aud", json!("y"));
        assert_eq!(verify_at(&token(&header(), &elsewhere, app_key()), NOW).unwrap_err(), TokenError::Issuer);
    }

    #[test]
    fn expired_counts_the_leeway() {
        let claims: AccessClaims = serde_json::from_value(claims()).unwrap();
        assert!(!expired(&claims, claims.exp + LEEWAY_SECS as i64 - 1));
        assert!(expired(&claims, claims.exp + LEEWAY_SECS as i64));
    }

    #[test]
    fn the_key_decides_the_algorithm_never_the_header() {
        let ec = test_key_for(SigningAlg::Es256);
        let ed = test_key_for(SigningAlg::EdDsa);
        for (alg, key) in [(SigningAlg::Es256, &ec), (SigningAlg::EdDsa, &ed)] {
            let h = json!({ "alg": alg.as_str(), "typ": "JWT", "kid": key.signer.kid });
            let good = token(&h, &claims(), key);
            let check = |t: &str, as_alg: SigningAlg| {
                Unverified::split(t)?.check(as_alg, &key.public, |iss| iss == ISSUER, AUDIENCE, NOW)
            };
            assert_eq!(check(&good, alg).unwrap().sub, "m2m_client", "{alg:?}");
            // The same token presented against a key of another algorithm is refused outright.
            for other in SigningAlg::ALL.into_iter().filter(|a| *a != alg) {
                assert_eq!(check(&good, other).unwrap_err(), TokenError::Algorithm, "{alg:?} as {other:?}");
            }
            // A header that names another algorithm over this key's signature is refused.
            for named in ["RS256", "HS256", "ES384", "none"] {
                let t = token(&with(h.clone(), "alg", json!(named)), &claims(), key);
                assert_eq!(check(&t, alg).unwrap_err(), TokenError::Algorithm, "{named}");
            }
            // HS256 keyed with the public key's bytes: refused before any MAC is computed.
            let hs =
                format!("{}.{}.{}", b64_json(&with(h.clone(), "alg", json!("HS256"))), b64_json(&claims()), "AAAA");
            assert_eq!(check(&hs, alg).unwrap_err(), TokenError::Algorithm);
            // Another key's signature under this kid fails the signature check.
            let forged = token(&h, &claims(), if alg == SigningAlg::Es256 { &ed } else { &ec });
            assert_eq!(check(&forged, alg).unwrap_err(), TokenError::Signature);
        }
    }
}
