//! The server under test: a fresh database (SQLite file or a new PostgreSQL database that is
//! dropped afterwards), migrations and the pre-filled key pool, and the `heimdall` release binary
//! started under `taskset -c 0`.

use std::{
    fs,
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use heimdall_server::keys::crypto::{MasterKey, SealedKey, SigningAlg, generate_sealed};
use sea_orm::{ConnectionTrait, DatabaseConnection};

use super::load;

/// Which database a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

impl DbKind {
    pub fn name(self) -> &'static str {
        match self {
            DbKind::Sqlite => "sqlite",
            DbKind::Postgres => "postgres",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            DbKind::Sqlite => "SQLite",
            DbKind::Postgres => "PostgreSQL",
        }
    }
}

/// Where PostgreSQL runs: a database there is created per run and dropped after it.
pub fn postgres_admin_url() -> String {
    std::env::var("HEIMDALL_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database made for one run, with the secrets the server is started with.
pub struct Database {
    pub url: String,
    pub dir: PathBuf,
    pub master: [u8; 32],
    pub pak: String,
    pg_name: Option<String>,
}

fn random<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    aws_lc_rs::rand::fill(&mut out).expect("system randomness");
    out
}

impl Database {
    /// Creates the database and its temporary directory, and applies the migrations.
    pub async fn create(kind: DbKind, label: &str) -> Result<Database> {
        let dir = std::env::temp_dir().join(format!("heimdall-bench-{}-{label}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir)?;
        let (url, pg_name) = match kind {
            DbKind::Sqlite => (format!("sqlite://{}/h.db?mode=rwc", dir.display()), None),
            DbKind::Postgres => {
                let admin_url = postgres_admin_url();
                let name = format!("heimdall_bench_{}_{label}", std::process::id());
                let admin = sea_orm::Database::connect(&admin_url).await.with_context(|| {
                    format!("cannot reach PostgreSQL at {admin_url} (set HEIMDALL_BENCH_POSTGRES_URL)")
                })?;
                admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
                admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await?;
                admin.close().await?;
                let (base, _) = admin_url.rsplit_once('/').context("PostgreSQL URL without a database name")?;
                (format!("{base}/{name}"), Some(name))
            }
        };
        let db = Database {
            url,
            dir,
            master: random::<32>(),
            pak: format!("pcft_live_{}", URL_SAFE_NO_PAD.encode(random::<32>())),
            pg_name,
        };
        let conn = db.connect().await?;
        heimdall_server::db::migrate(&conn).await?;
        conn.close().await?;
        Ok(db)
    }

    pub async fn connect(&self) -> Result<DatabaseConnection> {
        heimdall_server::db::connect(&self.url).await
    }

    pub fn master_key(&self) -> MasterKey {
        MasterKey::new(&self.master)
    }

    /// Drops the PostgreSQL database and removes the directory.
    pub async fn destroy(self) -> Result<()> {
        if let Some(name) = &self.pg_name {
            let admin = sea_orm::Database::connect(&postgres_admin_url()).await?;
            admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
            admin.close().await?;
        }
        let _ = fs::remove_dir_all(&self.dir);
        Ok(())
    }
}

/// Puts `count` sealed signing keys into the server's key pool, so app creation never waits for
/// RSA generation. Bench shortcut: one generated RSA key sealed under `count` distinct kids (real
/// pools hold distinct keys; creation does the same work either way).
pub async fn fill_key_pool(db: &Database, count: usize) -> Result<()> {
    let master = db.master_key();
    let template = generate_sealed(&master, SigningAlg::Rs256)?;
    let der = master.open(&template.kid, &template.private_key_enc)?;
    let keys: Vec<SealedKey> = (0..count)
        .map(|_| {
            let kid = format!("rs256-{}", uuid::Uuid::new_v4().simple());
            SealedKey { private_key_enc: master.seal(&kid, &der), kid, ..template.clone() }
        })
        .collect();
    let conn = db.connect().await?;
    heimdall_server::keys::pool_put(&conn, &keys, chrono::Utc::now()).await?;
    conn.close().await?;
    Ok(())
}

/// A running server.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub log: PathBuf,
    /// From spawning the process to the first 200 of `/readyz`.
    pub ready_after: Duration,
}

/// CPU time (user + system, all threads) of process `pid` (`self` for this one), assuming the
/// usual 100 clock ticks per second.
pub fn cpu_time(pid: &str) -> Option<Duration> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// Resident set size (VmRSS) of process `pid` in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Server {
    /// Starts `heimdall` pinned to core 0 and waits until `/readyz` answers 200.
    pub async fn start(bin: &Path, db: &Database, extra_env: &[(&str, String)]) -> Result<Server> {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
        let mut cmd = Command::new("taskset");
        cmd.args(["-c", "0"])
            .arg(bin)
            .env("HEIMDALL_LISTEN", addr.to_string())
            .env("HEIMDALL_DATABASE_URL", &db.url)
            .env("HEIMDALL_MASTER_KEY", STANDARD.encode(db.master))
            .env("HEIMDALL_BOOTSTRAP_PAK", &db.pak)
            .env("HEIMDALL_DATA_DIR", &db.dir)
            .env("HEIMDALL_LOG", "warn");
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        Server::spawn(cmd, addr, db.dir.join("server.log"), load::request(&addr, "GET", "/readyz", &[], None)).await
    }

    /// Starts the bare poem-openapi endpoint of the trivial-endpoint limit (`xtask bench-trivial`)
    /// pinned to core 0.
    pub async fn start_trivial(dir: &Path) -> Result<Server> {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
        let mut cmd = Command::new("taskset");
        cmd.args(["-c", "0"]).arg(std::env::current_exe()?).arg("bench-trivial").arg(addr.to_string());
        fs::create_dir_all(dir)?;
        let ready = super::trivial::request(&addr, 0);
        Server::spawn(cmd, addr, dir.join("trivial.log"), ready).await
    }

    async fn spawn(mut cmd: Command, addr: SocketAddr, log: PathBuf, ready: Vec<u8>) -> Result<Server> {
        let out = fs::File::create(&log)?;
        cmd.stdin(Stdio::null()).stdout(out.try_clone()?).stderr(out);
        let started = Instant::now();
        let child = cmd.spawn().context("cannot start the server under `taskset -c 0` (is util-linux installed?)")?;
        let mut server = Server { child, addr, log, ready_after: Duration::ZERO };
        loop {
            if let Some(status) = server.child.try_wait()? {
                bail!("the server exited with {status} before it was ready:\n{}", server.log_tail());
            }
            if let Ok((200, _)) = load::once(addr, &ready).await {
                server.ready_after = started.elapsed();
                return Ok(server);
            }
            if started.elapsed() > Duration::from_secs(120) {
                bail!("the server is not ready after 120 s:\n{}", server.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident set size (VmRSS) in KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib(self.pid())
    }

    /// CPU time (user + system) the server has used so far.
    pub fn cpu_time(&self) -> Option<Duration> {
        cpu_time(&self.pid().to_string())
    }

    pub fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// SIGTERM, then SIGKILL if it has not exited within 10 s.
    pub fn stop(mut self) -> Result<()> {
        let _ = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}
