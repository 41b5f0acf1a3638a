//! `last_used_at` bookkeeping without a database write per request: uses are collected in
//! memory and flushed in one batch per maintenance tick (and on shutdown).

use std::{collections::HashMap, sync::Mutex};

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, sea_query::Expr};
use uuid::Uuid;

use crate::{
    clock,
    entity::{app_api_key, m2m_client, platform_api_key},
};

/// A credential whose uses are stamped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Credential {
    PlatformKey,
    AppKey,
    Client,
}

impl Credential {
    async fn stamp(self, db: &impl ConnectionTrait, id: Uuid, at: DateTime<Utc>) -> Result<(), DbErr> {
        match self {
            Credential::PlatformKey => {
                stamp::<platform_api_key::Entity>(
                    db,
                    platform_api_key::Column::Id,
                    platform_api_key::Column::LastUsedAt,
                    id,
                    at,
                )
                .await
            }
            Credential::AppKey => {
                stamp::<app_api_key::Entity>(db, app_api_key::Column::Id, app_api_key::Column::LastUsedAt, id, at).await
            }
            Credential::Client => {
                stamp::<m2m_client::Entity>(db, m2m_client::Column::Id, m2m_client::Column::LastUsedAt, id, at).await
            }
        }
    }
}

async fn stamp<E: EntityTrait>(
    db: &impl ConnectionTrait,
    id_column: E::Column,
    last_used: E::Column,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    E::update_many().col_expr(last_used, Expr::value(at)).filter(id_column.eq(id)).exec(db).await?;
    Ok(())
}

/// The latest use of each credential since the last flush.
#[derive(Default)]
pub struct Usage {
    pending: Mutex<HashMap<(Credential, Uuid), DateTime<Utc>>>,
}

impl Usage {
    pub fn touch(&self, credential: Credential, id: Uuid) {
        self.pending.lock().expect("usage lock").insert((credential, id), clock::now());
    }

    /// Writes the collected timestamps. On a failure, what was not written is kept for the next
    /// flush (unless a newer use replaced it meanwhile).
    pub async fn flush(&self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        let pending = std::mem::take(&mut *self.pending.lock().expect("usage lock"));
        let mut left = pending.into_iter();
        while let Some(((credential, id), at)) = left.next() {
            if let Err(e) = credential.stamp(db, id, at).await {
                let mut map = self.pending.lock().expect("usage lock");
                for (key, at) in std::iter::once(((credential, id), at)).chain(left) {
                    map.entry(key).or_insert(at);
                }
                return Err(e);
            }
        }
        Ok(())
    }
}
