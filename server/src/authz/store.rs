//! Revoked access-token ids (`revoked_tokens`), kept until the token would have expired.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Set, sea_query::OnConflict};
use uuid::Uuid;

use crate::entity::revoked_token;

/// Records `jti` as revoked until `expires_at`; revoking it again changes nothing (and, inside
/// a transaction, does not abort it).
pub async fn insert_revoked(
    db: &impl ConnectionTrait,
    app_id: Uuid,
    jti: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    revoked_token::Entity::insert(revoked_token::ActiveModel {
        jti: Set(jti.to_owned()),
        app_id: Set(app_id),
        expires_at: Set(expires_at),
    })
    .on_conflict(OnConflict::column(revoked_token::Column::Jti).do_nothing().to_owned())
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Forgets ids whose tokens have expired by `now`.
pub async fn delete_expired(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<(), DbErr> {
    revoked_token::Entity::delete_many().filter(revoked_token::Column::ExpiresAt.lte(now)).exec(db).await?;
    Ok(())
}

/// The ids still revoked after `now`.
pub async fn live_ids(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<Vec<String>, DbErr> {
    revoked_token::Entity::find()
        .select_only()
        .column(revoked_token::Column::Jti)
        .filter(revoked_token::Column::ExpiresAt.gt(now))
        .into_tuple()
        .all(db)
        .await
}
