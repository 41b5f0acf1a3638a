//! Resolving the master key and proving it is the one this database was created with.

use std::path::Path;

use base64::{Engine, engine::general_purpose::STANDARD};

use super::{crypto::MasterKey, store};
use crate::{config::decode_master_key, db::Db, secrets::random_bytes};

const CHECK_NAME: &str = "master_key_check";
const CHECK_AAD: &str = "heimdall-master-key-check";
const CHECK_PLAINTEXT: &[u8] = b"heimdall master key check v1";

/// The configured key, or the development key file in `data_dir`, created on first use — only
/// for a database that has no key yet: a missing file next to a database sealed with a key is
/// reported as exactly that (a new key could not open it).
/// Also says where the key came from, for [`verify`]'s refusal.
pub async fn resolve(explicit: Option<[u8; 32]>, data_dir: &Path, db_conn: &Db) -> anyhow::Result<(MasterKey, String)> {
    if let Some(bytes) = explicit {
        return Ok((MasterKey::new(&bytes), "HEIMDALL_MASTER_KEY".to_owned()));
    }
    let path = data_dir.join("master.key");
    let bytes = if path.exists() {
        let raw = std::fs::read_to_string(&path)?;
        decode_master_key(raw.trim()).map_err(|m| anyhow::anyhow!("{}: {m}", path.display()))?
    } else if store::meta_value(db_conn, CHECK_NAME).await?.is_some() {
        anyhow::bail!(
            "the master key file {} is missing, but this database was created with a master key (its signing \
             keys are sealed with it): put that file back, or set HEIMDALL_MASTER_KEY to the same key; a new \
             key cannot open this database",
            path.display()
        )
    } else {
        std::fs::create_dir_all(data_dir)?;
        let bytes = random_bytes::<32>();
        write_private(&path, &STANDARD.encode(bytes))?;
        bytes
    };
    tracing::warn!(
        path = %path.display(),
        "HEIMDALL_MASTER_KEY is not set: using a development master key from the data dir; set HEIMDALL_MASTER_KEY in production"
    );
    Ok((MasterKey::new(&bytes), format!("the master key file {}", path.display())))
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}

/// Fails if `master` (from `source`) is not the key this database's secrets are sealed with; on a
/// new database, records a check value sealed with it.
pub async fn verify(db_conn: &Db, master: &MasterKey, source: &str) -> anyhow::Result<()> {
    match store::meta_value(db_conn, CHECK_NAME).await? {
        Some(value) => {
            let sealed = STANDARD.decode(value.trim())?;
            match master.open(CHECK_AAD, &sealed) {
                Ok(plain) if plain == CHECK_PLAINTEXT => Ok(()),
                _ => {
                    anyhow::bail!("{source}: does not match the key this database was created with; refusing to start")
                }
            }
        }
        None => {
            let sealed = STANDARD.encode(master.seal(CHECK_AAD, CHECK_PLAINTEXT));
            if store::insert_meta(db_conn, CHECK_NAME, sealed).await? {
                Ok(())
            } else {
                // Another instance initialised it first: check against theirs.
                Box::pin(verify(db_conn, master, source)).await
            }
        }
    }
}
