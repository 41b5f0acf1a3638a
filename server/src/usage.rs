//! `last_used_at` bookkeeping without a database write per request: uses are collected in
//! memory and flushed in one batch per maintenance tick.

use std::{collections::HashMap, sync::Mutex};

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, sea_query::Expr};
use uuid::Uuid;

use crate::{
    clock,
    entity::{app_api_key, m2m_client, platform_api_key},
};

#[derive(Default)]
pub struct Usage {
    platform_keys: Mutex<HashMap<Uuid, DateTime<Utc>>>,
    app_keys: Mutex<HashMap<Uuid, DateTime<Utc>>>,
    clients: Mutex<HashMap<Uuid, DateTime<Utc>>>,
}

impl Usage {
    pub fn touch_platform_key(&self, id: Uuid) {
        self.platform_keys.lock().expect("usage lock").insert(id, clock::now());
    }

    pub fn touch_app_key(&self, id: Uuid) {
        self.app_keys.lock().expect("usage lock").insert(id, clock::now());
    }

    pub fn touch_client(&self, id: Uuid) {
        self.clients.lock().expect("usage lock").insert(id, clock::now());
    }

    /// Writes the collected timestamps.
    pub async fn flush(&self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        let platform = std::mem::take(&mut *self.platform_keys.lock().expect("usage lock"));
        for (id, at) in platform {
            platform_api_key::Entity::update_many()
                .col_expr(platform_api_key::Column::LastUsedAt, Expr::value(at))
                .filter(platform_api_key::Column::Id.eq(id))
                .exec(db)
                .await?;
        }
        let app = std::mem::take(&mut *self.app_keys.lock().expect("usage lock"));
        for (id, at) in app {
            app_api_key::Entity::update_many()
                .col_expr(app_api_key::Column::LastUsedAt, Expr::value(at))
                .filter(app_api_key::Column::Id.eq(id))
                .exec(db)
                .await?;
        }
        let clients = std::mem::take(&mut *self.clients.lock().expect("usage lock"));
        for (id, at) in clients {
            m2m_client::Entity::update_many()
                .col_expr(m2m_client::Column::LastUsedAt, Expr::value(at))
                .filter(m2m_client::Column::Id.eq(id))
                .exec(db)
                .await?;
        }
        Ok(())
    }
}
