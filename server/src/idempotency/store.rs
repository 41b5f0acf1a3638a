//! Remembered `Idempotency-Key`s (`idempotency_keys`): bookkeeping rows, never audited.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::{
    db::{self, Db},
    entity::idempotency_key,
};

/// Records an unfinished create for (`scope`, `key`); `false` when the pair is already taken.
pub async fn claim(
    db: &Db,
    id: Uuid,
    scope: &str,
    key: &str,
    fingerprint: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let inserted = idempotency_key::ActiveModel {
        id: Set(id),
        scope: Set(scope.to_owned()),
        key: Set(key.to_owned()),
        fingerprint: Set(fingerprint.to_owned()),
        status_code: Set(None),
        response: Set(None),
        created_at: Set(now),
    }
    .insert(db)
    .await;
    match inserted {
        Ok(_) => Ok(true),
        Err(e) if db::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The record of (`scope`, `key`).
pub async fn find(db: &Db, scope: &str, key: &str) -> Result<Option<idempotency_key::Model>, DbErr> {
    idempotency_key::Entity::find()
        .filter(idempotency_key::Column::Scope.eq(scope))
        .filter(idempotency_key::Column::Key.eq(key))
        .one(db)
        .await
}

/// Stores the finished create's (sealed) response.
pub async fn complete(db: &Db, id: Uuid, status_code: i32, response: serde_json::Value) -> Result<(), DbErr> {
    idempotency_key::ActiveModel {
        id: Set(id),
        status_code: Set(Some(status_code)),
        response: Set(Some(response)),
        ..Default::default()
    }
    .update(db)
    .await?;
    Ok(())
}

pub async fn delete(db: &Db, id: Uuid) -> Result<(), DbErr> {
    idempotency_key::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// Deletes every record created before `cutoff`; returns how many.
pub async fn delete_created_before(db: &Db, cutoff: DateTime<Utc>) -> Result<u64, DbErr> {
    let res =
        idempotency_key::Entity::delete_many().filter(idempotency_key::Column::CreatedAt.lt(cutoff)).exec(db).await?;
    Ok(res.rows_affected)
}
