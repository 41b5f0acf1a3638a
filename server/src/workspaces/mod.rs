//! Workspaces and platform API keys: bootstrap of the first key, and creation of more.

use uuid::Uuid;

use crate::{db::Db, error::Error, secrets::PlatformKey};

mod store;

/// A new workspace and its first platform API key (holding every permission).
pub async fn create_with_key(db: &Db, name: &str, key: &PlatformKey) -> Result<Uuid, Error> {
    Ok(store::insert_with_key(db, name, key).await?)
}

/// What first start did.
pub enum FirstStart {
    /// The database already had a workspace.
    AlreadyBootstrapped,
    /// Seeded the operator-supplied key.
    Seeded,
    /// Generated a key; it must be shown to the operator once.
    Generated(PlatformKey),
}

/// On an empty database, creates the default workspace with `seed` (or a generated key).
pub async fn first_start(db: &Db, seed: Option<&PlatformKey>) -> Result<FirstStart, Error> {
    if store::any_workspace(db).await? {
        return Ok(FirstStart::AlreadyBootstrapped);
    }
    let key = seed.cloned().unwrap_or_else(PlatformKey::generate);
    if !store::bootstrap(db, &key).await? {
        return Ok(FirstStart::AlreadyBootstrapped);
    }
    Ok(if seed.is_some() { FirstStart::Seeded } else { FirstStart::Generated(key) })
}
