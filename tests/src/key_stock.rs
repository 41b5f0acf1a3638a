//! RSA keys generated once per test process and put into each new server's key pool.
//!
//! RSA-2048 generation costs a few hundred milliseconds of CPU and every app (and rotation) needs
//! a key, which would make key generation most of the suite's run time. So every server of the
//! process starts with the same random master key, and its key pool is seeded with copies of
//! [`STOCK_SIZE`] keys sealed under it. Each database gets its own copies, so keys never repeat
//! within one server's world; the server's own pool refill and on-demand generation still take
//! over once a test uses more keys than the stock holds.

use std::sync::{LazyLock, OnceLock};

use heimdall_server::{
    keys::crypto::{MasterKey, SealedKey, SigningAlg, generate_sealed},
    secrets,
};
use sea_orm::DatabaseConnection;

/// Keys seeded into every pool; enough for the busiest test of the suite.
pub const STOCK_SIZE: usize = 8;

static MASTER_KEY: LazyLock<[u8; 32]> = LazyLock::new(secrets::random_bytes::<32>);
static STOCK: OnceLock<Vec<SealedKey>> = OnceLock::new();

/// The master key of this process's test servers (random per process).
pub fn master_key() -> [u8; 32] {
    *MASTER_KEY
}

fn stock() -> &'static [SealedKey] {
    STOCK.get_or_init(|| {
        let master = MasterKey::new(&MASTER_KEY);
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, STOCK_SIZE);
        let mut keys: Vec<SealedKey> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|t| {
                    let master = &master;
                    scope.spawn(move || {
                        (t..STOCK_SIZE)
                            .step_by(threads)
                            .map(|_| generate_sealed(master, SigningAlg::Rs256).expect("RSA key generation"))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers.into_iter().flat_map(|w| w.join().expect("key generation thread")).collect()
        });
        keys.sort_by(|a, b| a.kid.cmp(&b.kid));
        keys
    })
}

/// Puts copies of the stock keys into the `key_pool` table of a migrated, empty database.
pub async fn seed_key_pool(db: &DatabaseConnection) -> anyhow::Result<()> {
    let keys = tokio::task::spawn_blocking(stock).await?;
    heimdall_server::keys::pool_put(db, keys, chrono::Utc::now()).await?;
    Ok(())
}
