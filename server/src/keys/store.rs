//! Signing-key and key-pool queries.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
    sea_query::{Expr, ExprTrait, LockBehavior, LockType, Order, Query},
};
use uuid::Uuid;

use super::crypto::{PublicJwk, SealedKey, SigningAlg};
use crate::{
    db,
    entity::{app, key_pool, server_meta, signing_key},
};

pub async fn pool_size(db: &impl ConnectionTrait) -> Result<u64, sea_orm::DbErr> {
    key_pool::Entity::find().count(db).await
}

/// Adds sealed RSA keys to the pool (also how tests and the bench pre-fill it), 500 rows per
/// statement to stay far below SQLite's bound-parameter limit. Only RSA keys are pooled (the
/// others take microseconds to make); any other key is skipped.
pub async fn pool_put(db: &impl ConnectionTrait, keys: &[SealedKey], now: DateTime<Utc>) -> Result<(), sea_orm::DbErr> {
    let rsa: Vec<_> = keys
        .iter()
        .filter_map(|key| match &key.public {
            PublicJwk::Rsa { n, e } if key.alg == SigningAlg::Rs256 => Some((key, n, e)),
            _ => None,
        })
        .collect();
    for chunk in rsa.chunks(500) {
        let rows = chunk.iter().map(|(key, n, e)| key_pool::ActiveModel {
            id: Set(Uuid::now_v7()),
            kid: Set(key.kid.clone()),
            jwk_n: Set((*n).clone()),
            jwk_e: Set((*e).clone()),
            private_key_enc: Set(key.private_key_enc.clone()),
            created_at: Set(now),
        });
        key_pool::Entity::insert_many(rows).exec(db).await?;
    }
    Ok(())
}

fn take_oldest() -> sea_orm::DeleteMany<key_pool::Entity> {
    let oldest = Query::select()
        .column(key_pool::Column::Id)
        .from(key_pool::Entity)
        .order_by(key_pool::Column::Id, Order::Asc)
        .limit(1)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .to_owned();
    key_pool::Entity::delete_many().filter(Expr::col(key_pool::Column::Id).in_subquery(oldest))
}

/// Removes and returns one pooled key in one statement. On PostgreSQL, concurrent takers skip
/// rows another taker has locked (`FOR UPDATE SKIP LOCKED`), so simultaneous app creations each
/// get their own key instead of racing for the oldest one; SQLite, which serialises writers
/// anyway, has no row locks and sea-query leaves the clause out there.
pub async fn pool_take(db: &impl ConnectionTrait) -> Result<Option<SealedKey>, sea_orm::DbErr> {
    let taken = take_oldest().exec_with_returning(db).await?;
    Ok(taken.into_iter().next().map(|row| SealedKey {
        kid: row.kid,
        alg: SigningAlg::Rs256,
        public: PublicJwk::Rsa { n: row.jwk_n, e: row.jwk_e },
        private_key_enc: row.private_key_enc,
    }))
}

pub async fn insert(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    key: &SealedKey,
    now: DateTime<Utc>,
    activates_at: DateTime<Utc>,
) -> Result<signing_key::Model, sea_orm::DbErr> {
    let (n, e, x, y) = match &key.public {
        PublicJwk::Rsa { n, e } => (n.clone(), e.clone(), None, None),
        PublicJwk::Ec { x, y } => (String::new(), String::new(), Some(x.clone()), Some(y.clone())),
        PublicJwk::Okp { x } => (String::new(), String::new(), Some(x.clone()), None),
    };
    signing_key::ActiveModel {
        id: Set(Uuid::now_v7()),
        app_id: Set(app_id),
        kid: Set(key.kid.clone()),
        alg: Set(key.alg),
        jwk_n: Set(n),
        jwk_e: Set(e),
        jwk_x: Set(x),
        jwk_y: Set(y),
        private_key_enc: Set(key.private_key_enc.clone()),
        created_at: Set(now),
        activates_at: Set(activates_at),
        retires_at: Set(None),
        expires_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(db)
    .await
}

/// The public half of a stored key, as its algorithm publishes it.
pub fn public_jwk(row: &signing_key::Model) -> PublicJwk {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    match row.alg {
        SigningAlg::Rs256 => PublicJwk::Rsa { n: row.jwk_n.clone(), e: row.jwk_e.clone() },
        SigningAlg::Es256 => PublicJwk::Ec { x: text(&row.jwk_x), y: text(&row.jwk_y) },
        SigningAlg::EdDsa => PublicJwk::Okp { x: text(&row.jwk_x) },
    }
}

/// Every key of the app that may still be published (not revoked, not expired).
pub async fn live_keys(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<signing_key::Model>, sea_orm::DbErr> {
    signing_key::Entity::find()
        .filter(signing_key::Column::AppId.eq(app_id))
        .filter(signing_key::Column::RevokedAt.is_null())
        .filter(
            sea_orm::Condition::any()
                .add(signing_key::Column::ExpiresAt.is_null())
                .add(signing_key::Column::ExpiresAt.gt(now)),
        )
        .order_by_asc(signing_key::Column::ActivatesAt)
        .all(db)
        .await
}

/// Every key row of the app, for the admin listing.
pub async fn all_keys(db: &impl ConnectionTrait, app_id: Uuid) -> Result<Vec<signing_key::Model>, sea_orm::DbErr> {
    signing_key::Entity::find()
        .filter(signing_key::Column::AppId.eq(app_id))
        .order_by_desc(signing_key::Column::CreatedAt)
        .order_by_desc(signing_key::Column::Id)
        .all(db)
        .await
}

/// Schedules the retirement of every live key that activated before `successor_at`.
pub async fn retire_before(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    successor_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    signing_key::Entity::update_many()
        .col_expr(signing_key::Column::RetiresAt, Expr::value(successor_at))
        .col_expr(signing_key::Column::ExpiresAt, Expr::value(expires_at))
        .filter(signing_key::Column::AppId.eq(app_id))
        .filter(signing_key::Column::ActivatesAt.lt(successor_at))
        .filter(signing_key::Column::RetiresAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Withdraws every key of the app except `keep` at once (emergency rotation).
pub async fn revoke_all_but(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    keep: Uuid,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    signing_key::Entity::update_many()
        .col_expr(signing_key::Column::RevokedAt, Expr::value(now))
        .filter(signing_key::Column::AppId.eq(app_id))
        .filter(signing_key::Column::Id.ne(keep))
        .filter(signing_key::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Compare-and-set of `apps.keys_rotated_at`: the guard that lets exactly one of several
/// concurrent rotations (across instances) win. The winner also sets the app's algorithm.
pub async fn claim_rotation(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    seen: DateTime<Utc>,
    now: DateTime<Utc>,
    alg: SigningAlg,
) -> Result<bool, sea_orm::DbErr> {
    let res = app::Entity::update_many()
        .col_expr(app::Column::KeysRotatedAt, Expr::value(now))
        .col_expr(app::Column::SigningAlg, Expr::value(alg.as_str()))
        .filter(app::Column::Id.eq(app_id))
        .filter(app::Column::KeysRotatedAt.eq(seen))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Apps whose last rotation is older than `cutoff`, oldest first, with their algorithm.
pub async fn due_for_rotation(
    db: &impl ConnectionTrait,
    cutoff: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<(Uuid, DateTime<Utc>, SigningAlg)>, sea_orm::DbErr> {
    app::Entity::find()
        .select_only()
        .column(app::Column::Id)
        .column(app::Column::KeysRotatedAt)
        .column(app::Column::SigningAlg)
        .filter(app::Column::KeysRotatedAt.lt(cutoff))
        .order_by_asc(app::Column::KeysRotatedAt)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await
}

/// Deletes keys that left the JWKS more than a day ago.
pub async fn prune(db: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64, sea_orm::DbErr> {
    let res = signing_key::Entity::delete_many()
        .filter(
            sea_orm::Condition::any()
                .add(signing_key::Column::ExpiresAt.lt(before))
                .add(signing_key::Column::RevokedAt.lt(before)),
        )
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// A `server_meta` value (the master-key check lives there).
pub async fn meta_value(db: &impl ConnectionTrait, name: &str) -> Result<Option<String>, sea_orm::DbErr> {
    Ok(server_meta::Entity::find_by_id(name.to_owned()).one(db).await?.map(|row| row.value))
}

/// Stores a `server_meta` value; `false` when another writer stored `name` first.
pub async fn insert_meta(db: &impl ConnectionTrait, name: &str, value: String) -> Result<bool, sea_orm::DbErr> {
    match (server_meta::ActiveModel { name: Set(name.to_owned()), value: Set(value) }).insert(db).await {
        Ok(_) => Ok(true),
        Err(e) if db::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{DbBackend, QueryTrait};

    use super::*;

    #[test]
    fn concurrent_takers_skip_locked_rows_on_postgres_only() {
        let pg = take_oldest().build(DbBackend::Postgres).to_string();
        assert!(pg.contains("FOR UPDATE SKIP LOCKED"), "{pg}");
        let sqlite = take_oldest().build(DbBackend::Sqlite).to_string();
        assert!(!sqlite.contains("FOR UPDATE"), "{sqlite}");
    }
}
