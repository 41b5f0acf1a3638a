//! `Idempotency-Key` on creates: the same key and body replay the first response, the same key
//! with another body is refused (422), and a retry racing the original gets 409.
//!
//! Keys are scoped to the calling credential and operation and remembered for 24 hours. A
//! failed create forgets its key, so the client can retry it. Remembered responses can carry a
//! secret shown once (an API key, a client secret, an invite code), so they are stored sealed
//! under the master key, bound to their scope and key, never in clear; only the same credential
//! retrying with the same key and body gets them back.

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::Duration;
use serde::{Serialize, de::DeserializeOwned};
use uuid::Uuid;

use crate::access::AdminPrincipal;
use crate::error::Code;
use crate::{clock, error::Error, secrets::hash_secret, state::AppState};

mod store;

/// How long a key is remembered.
pub const RETENTION_HOURS: i64 = 24;
/// A key whose create is still unfinished after this long is considered abandoned.
pub const ABANDON_MINUTES: i64 = 5;

fn validate(key: &str) -> Result<(), Error> {
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(Error::validation("Idempotency-Key", "must be 1 to 255 visible ASCII characters"));
    }
    Ok(())
}

/// Runs `create` at most once per (credential, operation, key).
pub async fn run<T, B, F, Fut>(
    state: &AppState,
    principal: &AdminPrincipal,
    key: Option<&str>,
    operation: &str,
    body: &B,
    create: F,
) -> Result<T, Error>
where
    T: Serialize + DeserializeOwned,
    B: Serialize,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let Some(key) = key.map(str::trim).filter(|k| !k.is_empty()) else {
        return create().await;
    };
    validate(key)?;
    let scope = format!("{}:{operation}", principal.key_id());
    let fingerprint = hash_secret(&serde_json::to_string(body).expect("request serializes"));
    let now = clock::now();
    let row_id = Uuid::now_v7();
    if !store::claim(&state.db, row_id, &scope, key, &fingerprint, now).await? {
        let existing = store::find(&state.db, &scope, key)
            .await?
            .ok_or_else(|| Error::new(Code::IdempotencyRequestInProgress, "retry shortly"))?;
        // Past retention, or a create that never finished (the instance died mid-request).
        let abandoned = existing.response.is_none() && existing.created_at < now - Duration::minutes(ABANDON_MINUTES);
        if existing.created_at < now - Duration::hours(RETENTION_HOURS) || abandoned {
            store::delete(&state.db, existing.id).await?;
            return Box::pin(run(state, principal, Some(key), operation, body, create)).await;
        }
        if existing.fingerprint != fingerprint {
            return Err(Error::new(
                Code::IdempotencyKeyReused,
                "this Idempotency-Key was used with a different request",
            ));
        }
        return match existing.response {
            Some(stored) => unseal(state, &aad(&scope, key), &stored),
            None => Err(Error::new(
                Code::IdempotencyRequestInProgress,
                "a request with this Idempotency-Key is still being processed",
            )),
        };
    }
    match create().await {
        Ok(value) => {
            let stored = seal(state, &aad(&scope, key), &value)?;
            store::complete(&state.db, row_id, 201, stored).await?;
            Ok(value)
        }
        Err(e) => {
            store::delete(&state.db, row_id).await?;
            Err(e)
        }
    }
}

fn aad(scope: &str, key: &str) -> String {
    format!("idempotency:{scope}:{key}")
}

fn seal<T: Serialize>(state: &AppState, aad: &str, value: &T) -> Result<serde_json::Value, Error> {
    let plain = serde_json::to_vec(value).map_err(Error::internal)?;
    let sealed = state.keys.master().seal(aad, &plain);
    Ok(serde_json::json!({ "sealed": STANDARD.encode(sealed) }))
}

fn unseal<T: DeserializeOwned>(state: &AppState, aad: &str, stored: &serde_json::Value) -> Result<T, Error> {
    let sealed = stored
        .get("sealed")
        .and_then(|v| v.as_str())
        .and_then(|s| STANDARD.decode(s).ok())
        .ok_or_else(|| Error::internal("idempotency record is not sealed"))?;
    let plain = state.keys.master().open(aad, &sealed)?;
    serde_json::from_slice(&plain).map_err(Error::internal)
}

/// Forgets keys past their retention.
pub async fn prune(state: &AppState) -> Result<u64, Error> {
    Ok(store::delete_created_before(&state.db, clock::now() - Duration::hours(RETENTION_HOURS)).await?)
}
