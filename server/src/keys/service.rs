//! The key ring: per-app signing keys, cached parsed, plus rotation and the pre-generated pool.
//!
//! Which key signs is decided from the cached key set at signing time: the newest key whose
//! `activates_at` has passed. A rotated-in key is therefore published in the JWKS for the
//! publish lead before any instance signs with it, and every instance agrees on the signer
//! without coordination. An instance whose clock lags the one that created the app's only key
//! sees no key active yet: it signs with the first to activate (published all the same) rather
//! than refuse to sign. Rotations themselves are serialised by a compare-and-set on
//! `apps.keys_rotated_at`, so concurrent instances cannot create two successors.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::Duration,
};

use aws_lc_rs::signature::ParsedPublicKey;
use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use uuid::Uuid;

use super::crypto::{MasterKey, SealedKey, Signer, SigningAlg, generate_sealed};
use super::store;
use crate::audit::Action;
use crate::{
    audit, clock,
    coherence::{Bus, Change},
    db::Db,
    entity::signing_key,
    error::Error,
    telemetry::Metrics,
    write,
};

/// How long a loaded key set is trusted before it is re-read (bounds staleness if a cache
/// invalidation from another instance is missed).
const KEY_SET_TTL: chrono::Duration = chrono::Duration::seconds(60);

/// One published key of an app, parsed for use.
pub struct LiveKey {
    pub kid: String,
    /// The key's algorithm: tokens under this key are verified with it, whatever their header.
    pub alg: SigningAlg,
    pub activates_at: DateTime<Utc>,
    /// The public half, parsed once for `alg`: verification without per-token key setup.
    pub verifier: Arc<ParsedPublicKey>,
    pub signer: Arc<Signer>,
}

/// An app's published keys and its serialized JWKS.
pub struct KeySet {
    valid_until: DateTime<Utc>,
    pub keys: Vec<LiveKey>,
    /// `{"keys":[…]}`, serialized once per load.
    pub jwks: bytes::Bytes,
}

impl KeySet {
    /// The key that signs at `now`: the newest one already active or, when `now` lies before
    /// every key's activation (a clock behind the instance that made them), the first to activate.
    /// `None` only for an empty set.
    pub fn current(&self, now: DateTime<Utc>) -> Option<&LiveKey> {
        signing_key_at(self.keys.iter().map(|k| k.activates_at), now).map(|i| &self.keys[i])
    }

    pub fn find(&self, kid: &str) -> Option<&LiveKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// The algorithms of the published keys, the one signing at `now` first, each once.
    pub fn algorithms(&self, now: DateTime<Utc>) -> Vec<SigningAlg> {
        let mut out: Vec<SigningAlg> = self.current(now).map(|k| k.alg).into_iter().collect();
        for key in &self.keys {
            if !out.contains(&key.alg) {
                out.push(key.alg);
            }
        }
        out
    }
}

/// Index of the key that signs at `now` among keys activating at `activations` (see
/// [`KeySet::current`]).
fn signing_key_at(activations: impl Iterator<Item = DateTime<Utc>> + Clone, now: DateTime<Utc>) -> Option<usize> {
    let newest_active = activations.clone().enumerate().filter(|(_, at)| *at <= now).max_by_key(|(_, at)| *at);
    newest_active.or_else(|| activations.enumerate().min_by_key(|(_, at)| *at)).map(|(i, _)| i)
}

/// Timings of the key lifecycle.
#[derive(Debug, Clone, Copy)]
pub struct KeyPolicy {
    pub rotation_period: Duration,
    pub publish_lead: Duration,
    pub overlap: Duration,
    pub pool_target: usize,
}

/// What a rotation did.
pub struct Rotation {
    pub new_key: signing_key::Model,
}

pub struct KeyRing {
    db: Db,
    master: MasterKey,
    policy: KeyPolicy,
    cache: RwLock<HashMap<Uuid, Arc<KeySet>>>,
    refill: Notify,
    metrics: Arc<Metrics>,
    /// Rotations announce their app's change after their commit.
    bus: Arc<Bus>,
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

impl KeyRing {
    pub fn new(db: Db, master: MasterKey, policy: KeyPolicy, metrics: Arc<Metrics>, bus: Arc<Bus>) -> Self {
        KeyRing { db, master, policy, cache: RwLock::default(), refill: Notify::new(), metrics, bus }
    }

    pub fn policy(&self) -> KeyPolicy {
        self.policy
    }

    /// The key-encryption key, for other secrets that must be kept recoverable at rest (e.g.
    /// idempotent replays of responses that carry a secret).
    pub fn master(&self) -> &MasterKey {
        &self.master
    }

    /// The app's key set, from cache or freshly loaded.
    pub async fn key_set(&self, app_id: Uuid) -> Result<Arc<KeySet>, Error> {
        let now = Utc::now();
        let expired = match self.cache.read().expect("key cache").get(&app_id) {
            Some(set) if set.valid_until > now => return Ok(set.clone()),
            other => other.cloned(),
        };
        self.reload(app_id, expired.as_deref()).await
    }

    /// Loads the app's key set, reusing keys parsed in `previous`, and caches it.
    async fn reload(&self, app_id: Uuid, previous: Option<&KeySet>) -> Result<Arc<KeySet>, Error> {
        // Boxed: the query's future is large, and every token request's future would carry it.
        let set = Arc::new(Box::pin(self.load(app_id, previous)).await?);
        self.cache.write().expect("key cache").insert(app_id, set.clone());
        Ok(set)
    }

    /// Reloads after a `kid` miss, at most once per 5 s per app so bad tokens cannot force a
    /// database read each.
    pub async fn key_set_after_miss(&self, app_id: Uuid, current: &Arc<KeySet>) -> Result<Arc<KeySet>, Error> {
        let loaded_at = current.valid_until - KEY_SET_TTL;
        if Utc::now() - loaded_at < chrono::Duration::seconds(5) {
            return Ok(current.clone());
        }
        self.reload(app_id, Some(current)).await
    }

    /// Reads the app's live keys. Keys already parsed in `previous` (the set this one replaces,
    /// timed out or missing a kid) are reused: a kid's key material never changes, and decrypting
    /// and parsing a private key costs far more than the query, every minute for every busy app.
    async fn load(&self, app_id: Uuid, previous: Option<&KeySet>) -> Result<KeySet, Error> {
        let now = clock::now();
        let rows = store::live_keys(&self.db, app_id, now).await?;
        let mut valid_until = now + KEY_SET_TTL;
        let mut keys = Vec::with_capacity(rows.len());
        let mut jwks = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some(exp) = row.expires_at {
                valid_until = valid_until.min(exp);
            }
            let public = store::public_jwk(&row);
            let (signer, verifier) = match previous.and_then(|set| set.find(&row.kid)) {
                Some(known) => (known.signer.clone(), known.verifier.clone()),
                None => (
                    Arc::new(Signer::open(&self.master, &row.kid, row.alg, &row.private_key_enc)?),
                    Arc::new(
                        public
                            .parse(row.alg)
                            .map_err(|e| Error::internal(format_args!("bad public key {}: {e}", row.kid)))?,
                    ),
                ),
            };
            jwks.push(public.to_jwk(&row.kid, row.alg));
            keys.push(LiveKey { kid: row.kid, alg: row.alg, activates_at: row.activates_at, verifier, signer });
        }
        let jwks = serde_json::to_vec(&serde_json::json!({ "keys": jwks })).expect("json").into();
        Ok(KeySet { valid_until, keys, jwks })
    }

    /// The parsed key that signs for the app right now.
    pub async fn signer(&self, app_id: Uuid) -> Result<Arc<Signer>, Error> {
        let set = self.key_set(app_id).await?;
        set.current(Utc::now())
            .map(|k| k.signer.clone())
            .ok_or_else(|| Error::internal(format_args!("app {app_id} has no signing key")))
    }

    pub fn invalidate(&self, app_id: Uuid) {
        self.cache.write().expect("key cache").remove(&app_id);
    }

    pub fn invalidate_all(&self) {
        self.cache.write().expect("key cache").clear();
    }

    /// A new sealed key for `alg`. RSA keys come from the pool when one is there and are
    /// generated on a blocking thread otherwise; P-256 and Ed25519 keys take microseconds, so
    /// they are made on the spot (no pool).
    pub async fn claim(&self, alg: SigningAlg) -> Result<SealedKey, Error> {
        if alg != SigningAlg::Rs256 {
            let key = generate_sealed(&self.master, alg).map_err(Error::internal)?;
            self.metrics.event("signing_key_generated");
            return Ok(key);
        }
        let taken = store::pool_take(&self.db).await?;
        self.refill.notify_one();
        match taken {
            Some(key) => Ok(key),
            None => self.generate().await,
        }
    }

    /// Puts an unused claimed key back (e.g. when the app creation that claimed it failed); only
    /// RSA keys are pooled, the others are simply dropped.
    pub async fn give_back(&self, key: &SealedKey) {
        if let Err(e) = store::pool_put(&self.db, std::slice::from_ref(key), clock::now()).await {
            tracing::warn!(error = %e, "could not return a key to the pool");
        }
    }

    async fn generate(&self) -> Result<SealedKey, Error> {
        let master = self.master.clone();
        let key = tokio::task::spawn_blocking(move || generate_sealed(&master, SigningAlg::Rs256))
            .await
            .map_err(Error::internal)??;
        self.metrics.event("signing_key_generated");
        Ok(key)
    }

    /// Stores the first key of a new app inside the app-creation write unit.
    pub async fn provision(
        &self,
        unit: &write::Unit,
        app_id: Uuid,
        key: &SealedKey,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        store::insert(unit.conn(), app_id, key, now, now).await?;
        Ok(())
    }

    /// Adds a successor key with algorithm `alg`, which becomes the app's algorithm for later
    /// keys too. It is published at once and signs after the publish lead (or at
    /// once when `immediate`, which also withdraws every older key: the emergency path after a
    /// key compromise). Older keys stay published for the overlap after the successor takes
    /// over, and verify their tokens with their own algorithm. `audit` is written in the same
    /// write unit, and the app's change is announced after the commit. Returns `None` when a
    /// concurrent rotation of the same app won.
    pub async fn rotate(
        &self,
        app_id: Uuid,
        seen_rotated_at: DateTime<Utc>,
        immediate: bool,
        alg: SigningAlg,
        audit: audit::Entry,
    ) -> Result<Option<Rotation>, Error> {
        let key = self.claim(alg).await?;
        let now = clock::now();
        let activates_at = if immediate { now } else { now + chrono_duration(self.policy.publish_lead) };
        let mut unit = write::begin(&self.db, &self.bus).await?;
        if !store::claim_rotation(unit.conn(), app_id, seen_rotated_at, now, alg).await? {
            unit.commit_unaudited("a concurrent rotation won: nothing was written").await?;
            self.give_back(&key).await;
            return Ok(None);
        }
        let new_key = store::insert(unit.conn(), app_id, &key, now, activates_at).await?;
        store::retire_before(unit.conn(), app_id, activates_at, activates_at + chrono_duration(self.policy.overlap))
            .await?;
        if immediate {
            store::revoke_all_but(unit.conn(), app_id, new_key.id, now).await?;
        }
        unit.audit(
            audit.resource("signing_key", &new_key.kid).details(
                serde_json::json!({ "activates_at": activates_at, "immediate": immediate, "alg": alg.as_str() }),
            ),
        )
        .await?;
        unit.announce(Change::App(app_id));
        unit.commit().await?;
        self.invalidate(app_id);
        self.metrics.event("signing_key_rotated");
        Ok(Some(Rotation { new_key }))
    }

    /// Every key row of an app, newest first, for the admin listing.
    pub async fn list(&self, app_id: Uuid) -> Result<Vec<signing_key::Model>, Error> {
        Ok(store::all_keys(&self.db, app_id).await?)
    }

    /// Keeps the pool at its target size; runs until the process ends.
    pub async fn run_pool_refill(self: Arc<Self>) {
        loop {
            match store::pool_size(&self.db).await {
                Ok(size) if (size as usize) < self.policy.pool_target => match self.generate().await {
                    Ok(key) => {
                        if let Err(e) = store::pool_put(&self.db, std::slice::from_ref(&key), clock::now()).await {
                            tracing::warn!(error = %e, "key pool refill failed");
                            tokio::time::sleep(Duration::from_secs(5)).await;
                        }
                        continue;
                    }
                    Err(e) => tracing::warn!(error = %e, "key generation failed"),
                },
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "key pool size check failed"),
            }
            tokio::select! {
                _ = self.refill.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            }
        }
    }

    /// One maintenance pass: rotates apps whose key is older than the rotation period and
    /// prunes keys that left the JWKS. Returns the apps rotated.
    pub async fn maintain(&self) -> Result<Vec<Uuid>, Error> {
        let now = clock::now();
        let cutoff = now - chrono_duration(self.policy.rotation_period);
        let mut rotated = Vec::new();
        for (app_id, seen, alg) in store::due_for_rotation(&self.db, cutoff, 100).await? {
            let entry = audit::Entry::system(app_id, Action::SigningKeyRotated);
            if self.rotate(app_id, seen, false, alg, entry).await?.is_some() {
                rotated.push(app_id);
            }
        }
        let pruned = store::prune(&self.db, now - chrono::Duration::days(1)).await?;
        if pruned > 0 {
            tracing::info!(pruned, "pruned expired signing keys");
        }
        Ok(rotated)
    }
}

impl From<super::crypto::DecryptError> for Error {
    fn from(e: super::crypto::DecryptError) -> Self {
        Error::internal(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_active_key_signs_and_a_successor_waits_for_its_activation() {
        let now = Utc::now();
        let (old, current, successor) = (now - KEY_SET_TTL * 10, now - KEY_SET_TTL, now + KEY_SET_TTL);
        assert_eq!(signing_key_at([old, current, successor].into_iter(), now), Some(1));
        assert_eq!(signing_key_at([successor, old].into_iter(), now), Some(1));
        assert_eq!(signing_key_at([old, current, successor].into_iter(), successor), Some(2));
    }

    #[test]
    fn a_clock_behind_every_activation_signs_with_the_first_key_to_activate() {
        // The app was created a few seconds ago by an instance whose clock runs ahead of this one.
        let now = Utc::now();
        let (first, later) = (now + chrono::Duration::seconds(5), now + chrono::Duration::hours(1));
        assert_eq!(signing_key_at([later, first].into_iter(), now), Some(1));
        assert_eq!(signing_key_at(std::iter::empty(), now), None);
    }
}
