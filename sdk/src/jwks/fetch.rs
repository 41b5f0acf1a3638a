//! One JWKS request and what it answered: the usable verification keys and how long to trust
//! them. Which requests to make, and when, is the cache's business (`cache.rs`).

use std::{collections::HashMap, str::FromStr, time::Duration};

use jsonwebtoken::{Algorithm, DecodingKey};
use reqwest::StatusCode;
use serde::Deserialize;

use super::{errors::JwksFetchError, options::VerifierOptions};

/// One usable public key of the set.
pub(super) struct VerifyKey {
    pub(super) decoding: DecodingKey,
    /// The JWK's `alg`: `None` when absent (fits any algorithm of the key's family),
    /// `Some(None)` when it names an algorithm this crate does not know (fits nothing).
    alg: Option<Option<Algorithm>>,
}

impl VerifyKey {
    pub(super) fn fits(&self, alg: Algorithm) -> bool {
        self.decoding.family() == alg.family()
            && match self.alg {
                None => true,
                Some(key_alg) => key_alg == Some(alg),
            }
    }
}

/// A key set as fetched: keys by `kid`, and the TTL its `Cache-Control` earns it.
pub(super) struct Fetched {
    pub(super) keys: HashMap<String, VerifyKey>,
    pub(super) ttl: Duration,
}

/// GETs `url` and parses the key set. Only a direct 200 counts: the client must not follow
/// redirects, and an answer from another URL is refused as well.
pub(super) async fn fetch(
    http: &reqwest::Client,
    url: &str,
    options: &VerifierOptions,
) -> Result<Fetched, JwksFetchError> {
    let response = http
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json, application/jwk-set+json")
        .timeout(options.fetch_timeout)
        .send()
        .await
        .map_err(transport_error)?;
    if response.status() != StatusCode::OK {
        return Err(JwksFetchError::Status(response.status()));
    }
    if response.url().as_str() != url {
        return Err(JwksFetchError::Redirected(response.url().to_string()));
    }
    let ttl = options.ttl_for(response.headers());
    let body = response.bytes().await.map_err(transport_error)?;
    Ok(Fetched { keys: parse_key_set(&body)?, ttl })
}

fn transport_error(error: reqwest::Error) -> JwksFetchError {
    if error.is_timeout() { JwksFetchError::Timeout } else { JwksFetchError::Transport(error) }
}

/// JWK members that only private keys have.
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Parses `{"keys": [...]}` into the usable verification keys by `kid`. Keys without a `kid`,
/// of an unknown type, not meant for signatures or not allowing `verify` are skipped; private
/// material or a repeated `kid` make the whole set unusable.
fn parse_key_set(body: &[u8]) -> Result<HashMap<String, VerifyKey>, JwksFetchError> {
    #[derive(Deserialize)]
    struct RawSet {
        keys: Vec<serde_json::Map<String, serde_json::Value>>,
    }
    let raw: RawSet =
        serde_json::from_slice(body).map_err(|e| JwksFetchError::Malformed(format!("not a JSON key set: {e}")))?;
    let mut keys = HashMap::with_capacity(raw.keys.len());
    for member in raw.keys {
        let kid = member.get("kid").and_then(|v| v.as_str()).map(str::to_owned);
        if let Some(private) = PRIVATE_MEMBERS.iter().find(|m| member.contains_key(**m)) {
            return Err(JwksFetchError::Malformed(format!(
                "key {} contains private key material (`{private}`)",
                kid.as_deref().unwrap_or("without kid")
            )));
        }
        let Some(kid) = kid else { continue };
        if member.get("use").is_some_and(|u| u.as_str() != Some("sig")) {
            continue;
        }
        if let Some(ops) = member.get("key_ops") {
            let verifies = ops.as_array().is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")));
            if !verifies {
                continue;
            }
        }
        let alg = member.get("alg").map(|a| a.as_str().and_then(|a| Algorithm::from_str(a).ok()));
        let jwk: jsonwebtoken::jwk::Jwk = match serde_json::from_value(serde_json::Value::Object(member)) {
            Ok(jwk) => jwk,
            Err(_) => continue,
        };
        let Ok(decoding) = DecodingKey::from_jwk(&jwk) else { continue };
        if keys.insert(kid.clone(), VerifyKey { decoding, alg }).is_some() {
            return Err(JwksFetchError::Malformed(format!("two keys share the kid `{kid}`")));
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_sets_with_private_material_or_repeated_kids_are_refused() {
        let private = br#"{"keys":[{"kty":"RSA","kid":"a","n":"AQAB","e":"AQAB","d":"AQAB"}]}"#;
        assert!(matches!(parse_key_set(private), Err(JwksFetchError::Malformed(m)) if m.contains("private")));
        let secret = br#"{"keys":[{"kty":"oct","kid":"a","k":"c2VjcmV0"}]}"#;
        assert!(matches!(parse_key_set(secret), Err(JwksFetchError::Malformed(_))));
        let twice = br#"{"keys":[{"kty":"RSA","kid":"a","n":"AQAB","e":"AQAB"},{"kty":"RSA","kid":"a","n":"AQAB","e":"AQAB"}]}"#;
        assert!(matches!(parse_key_set(twice), Err(JwksFetchError::Malformed(m)) if m.contains("share")));
        assert!(matches!(parse_key_set(b"[]"), Err(JwksFetchError::Malformed(_))));
    }

    #[test]
    fn unusable_keys_are_skipped() {
        let body = br#"{"keys":[
            {"kty":"RSA","n":"AQAB","e":"AQAB"},
            {"kty":"RSA","kid":"enc","use":"enc","n":"AQAB","e":"AQAB"},
            {"kty":"RSA","kid":"ops","key_ops":["encrypt"],"n":"AQAB","e":"AQAB"},
            {"kty":"XYZ","kid":"odd"},
            {"kty":"RSA","kid":"ok","use":"sig","alg":"RS256","n":"AQAB","e":"AQAB"}
        ]}"#;
        let keys = parse_key_set(body).unwrap();
        assert_eq!(keys.keys().collect::<Vec<_>>(), ["ok"]);
        assert!(keys["ok"].fits(Algorithm::RS256));
        assert!(!keys["ok"].fits(Algorithm::RS512), "the JWK's alg pins the algorithm");
        assert!(!keys["ok"].fits(Algorithm::ES256));
    }
}
