//! Workspaces and platform API keys: bootstrap of the first key, and the keys' lifecycle
//! (create, list, revoke, expiry) through the admin API.

use uuid::Uuid;

use crate::{db::Db, error::Error, secrets::PlatformKey};

pub mod api;
pub mod service;
mod store;

/// A new workspace and its first platform API key (holding every permission).
pub async fn create_with_key(db: &Db, name: &str, key: &PlatformKey) -> Result<Uuid, Error> {
    Ok(store::insert_with_key(db, name, key).await?)
}

/// What `heimdall bootstrap` issued.
pub struct Bootstrapped {
    pub workspace_id: Uuid,
    pub workspace_name: String,
    /// Whether the workspace is new (none existed, or one was asked for).
    pub created: bool,
    pub key: PlatformKey,
}

/// `heimdall bootstrap`: a platform key holding every permission for the existing workspace
/// (the oldest, so the key sees the apps made with the first one), or for a new workspace named
/// `name` when there is none or `new_workspace` asks for one.
pub async fn bootstrap_key(db: &Db, name: &str, new_workspace: bool) -> Result<Bootstrapped, Error> {
    let key = PlatformKey::generate();
    let existing = if new_workspace { None } else { store::oldest_workspace(db).await? };
    let Some(workspace) = existing else {
        let workspace_id = create_with_key(db, name, &key).await?;
        return Ok(Bootstrapped { workspace_id, workspace_name: name.to_owned(), created: true, key });
    };
    // The command line has no other instance to tell: a local bus.
    let bus = std::sync::Arc::new(crate::coherence::Bus::new(None));
    let mut unit = crate::write::begin(db, &bus).await?;
    let row = store::insert_key(
        unit.conn(),
        crate::entity::platform_api_key::Model {
            id: Uuid::now_v7(),
            workspace_id: workspace.id,
            name: "bootstrap".into(),
            key_prefix: crate::secrets::display_prefix(key.expose()),
            key_hash: crate::secrets::hash_secret(key.expose()),
            permissions: serde_json::json!(["*"]),
            created_at: crate::clock::now(),
            last_used_at: None,
            expires_at: None,
            revoked_at: None,
        },
    )
    .await?;
    let actor = crate::audit::Actor::system();
    let origin = crate::access::Origin::default();
    unit.audit(
        crate::audit::Entry::workspace(workspace.id, &actor, crate::audit::Action::PlatformKeyCreated, &origin)
            .resource("platform_key", row.id)
            .details(serde_json::json!({ "name": row.name, "permissions": ["*"], "key_prefix": row.key_prefix, "by": "heimdall bootstrap" })),
    )
    .await?;
    unit.commit().await?;
    Ok(Bootstrapped { workspace_id: workspace.id, workspace_name: workspace.name, created: false, key })
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
