//! `last_used_at` bookkeeping without a database write per request: uses are collected in
//! memory and flushed in one batch per maintenance tick (and on shutdown).

use std::{collections::HashMap, sync::Mutex};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{clock, db::Db, error::Error};

mod store;

/// A credential whose uses are stamped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Credential {
    PlatformKey,
    AppKey,
    Client,
}

impl Credential {
    async fn stamp(self, db: &Db, id: Uuid, at: DateTime<Utc>) -> Result<(), Error> {
        match self {
            Credential::PlatformKey => store::stamp_platform_key(db, id, at).await?,
            Credential::AppKey => store::stamp_app_key(db, id, at).await?,
            Credential::Client => store::stamp_client(db, id, at).await?,
        }
        Ok(())
    }
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
    pub async fn flush(&self, db: &Db) -> Result<(), Error> {
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
