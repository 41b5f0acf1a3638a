//! `cargo xtask soak`: the resident memory of a release server — idle, after a batch of sign-ups,
//! and sampled through a mixed soak — against the targets of issue 14 (< 80 MB after 100
//! sign-ups, < 200 MB at every sample of the soak). Memory, not speed, is what it checks: the
//! load is paced far below capacity, so the numbers hold on a machine busy with other work. Not
//! in CI: it runs for minutes.
//!
//! The soak runs in rounds. Each round signs up new users, signs in existing ones, mints M2M
//! tokens, and refreshes, verifies and authorizes with the tokens the previous round obtained —
//! each of them new to the server, so the verified-token cache keeps growing unless it expires
//! entries as it goes. The server is the bench's (same build, database set-up and pinning), with
//! as many hashing threads as this machine has cores, as an unpinned server would start.

use std::{
    cell::{Cell, RefCell},
    collections::BTreeMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::ExitCode,
    rc::Rc,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use serde_json::json;

use super::{
    CHILD_ENV,
    load::{self, Load, Outcome, Requests},
    provision::{self, Fixture},
    report::{ms, thousands},
    server::{Database, DbKind, Server, fill_key_pool},
};

const USAGE: &str = "usage: cargo xtask soak [options]

Builds heimdall in release mode, starts it on a fresh database (pinned to core 0, as the bench
does) and reports its resident memory (VmRSS): idle, after --signups sign-ups, and sampled every
100 ms through a mixed soak of sign-ups, sign-ins, token refreshes, M2M token minting and
first-time /verify and /authorize calls with the tokens so obtained. Exits non-zero if the
memory after the sign-ups reaches 80 MB or any sample of the soak reaches 200 MB.

options:
  --db sqlite|postgres   database (default sqlite; PostgreSQL from HEIMDALL_BENCH_POSTGRES_URL)
  --duration S           seconds of mixed soak (default 180)
  --signups N            sign-ups before the soak (default 100)
  --token-rate R         M2M tokens minted, and later authorized, per second (default 200)
  --hash-concurrency N   HEIMDALL_HASH_CONCURRENCY of the server (default: this machine's cores)
  --server PATH          run this heimdall binary instead of the one just built (to measure
                         another build with the same load)
";

/// Resident memory after the sign-ups must stay below this (bytes).
const AFTER_SIGNUPS_TARGET: u64 = 80_000_000;
/// Resident memory at every sample of the soak must stay below this (bytes).
const SOAK_TARGET: u64 = 200_000_000;
/// Length of a round: tokens obtained in one are used in the next.
const ROUND: Duration = Duration::from_secs(10);
/// Paced rates of the soak's operations, per second.
const SIGNUP_RATE: f64 = 4.0;
const SIGNIN_RATE: f64 = 8.0;
/// At most this many refreshes (and end-user verifications) per second, from the previous
/// round's tokens.
const REFRESH_RATE: f64 = 10.0;
const VERIFY_RATE: f64 = 10.0;
/// Connections of the sign-ups before the soak: as many as hashing threads, so every thread
/// hashes.
const SIGNUP_CONNECTIONS: usize = 2;
/// How often the sampler reads VmRSS.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);

struct Options {
    db: DbKind,
    duration: Duration,
    signups: usize,
    token_rate: f64,
    hash_concurrency: usize,
    server: Option<PathBuf>,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let mut o = Options {
            db: DbKind::Sqlite,
            duration: Duration::from_secs(180),
            signups: 100,
            token_rate: 200.0,
            // The machine's, not this process's: the soak runs pinned to one core.
            hash_concurrency: super::cores().max(1),
            server: None,
        };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut value = || it.next().with_context(|| format!("`{arg}` needs a value"));
            match arg.as_str() {
                "--db" => {
                    o.db = match value()?.as_str() {
                        "sqlite" => DbKind::Sqlite,
                        "postgres" => DbKind::Postgres,
                        other => bail!("--db takes sqlite or postgres, not `{other}`"),
                    }
                }
                "--duration" => {
                    let s: f64 = value()?.parse().context("--duration takes seconds")?;
                    anyhow::ensure!(s > 0.0, "--duration must be positive");
                    o.duration = Duration::from_secs_f64(s);
                }
                "--signups" => o.signups = value()?.parse().context("--signups takes a count")?,
                "--token-rate" => o.token_rate = value()?.parse().context("--token-rate takes a rate")?,
                "--hash-concurrency" => {
                    o.hash_concurrency = value()?.parse().context("--hash-concurrency takes a count")?
                }
                "--server" => o.server = Some(PathBuf::from(value()?)),
                other => bail!("unknown option `{other}`\n\n{USAGE}"),
            }
        }
        anyhow::ensure!(o.signups >= 1 && o.token_rate > 0.0, "--signups and --token-rate must be positive");
        Ok(o)
    }
}

/// `cargo xtask soak …`
pub fn run(args: &[String]) -> Result<ExitCode> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{USAGE}");
        return Ok(ExitCode::SUCCESS);
    }
    let opts = Options::parse(args)?;
    if std::env::var_os(CHILD_ENV).is_none() {
        return super::build_and_reexec("soak", args);
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, soak(opts))
}

async fn soak(opts: Options) -> Result<ExitCode> {
    let bin = match &opts.server {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("heimdall"),
    };
    anyhow::ensure!(bin.exists(), "{} is missing", bin.display());
    let db = Database::create(opts.db, "soak").await?;
    let result = soak_on(&db, &opts, &bin).await;
    let cleanup = db.destroy().await;
    let report = result?;
    cleanup?;
    println!("\n{}", report.table(&opts));
    if report.passed() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("memory targets missed (FAIL rows above)");
        Ok(ExitCode::FAILURE)
    }
}

async fn soak_on(db: &Database, opts: &Options, bin: &Path) -> Result<Report> {
    fill_key_pool(db, 4).await?;
    let env =
        [("HEIMDALL_KEY_POOL_SIZE", "4".to_owned()), ("HEIMDALL_HASH_CONCURRENCY", opts.hash_concurrency.to_string())];
    let server = Server::start(bin, db, &env).await?;
    eprintln!("[{}] {} ready on {} (pid {})", opts.db.name(), bin.display(), server.addr, server.pid());
    let result = drive(db, opts, &server).await;
    if result.is_err() {
        eprintln!("server log tail:\n{}", server.log_tail());
    }
    server.stop()?;
    result
}

/// Resident memory in bytes.
fn rss(server: &Server) -> Result<u64> {
    server.rss_kib().map(|kib| kib * 1024).context("cannot read the server's VmRSS")
}

/// What the soak measured.
#[derive(Default)]
struct Report {
    idle: u64,
    after_signups: u64,
    /// Peak sampled over each round, with the time since the soak started.
    rounds: Vec<(Duration, u64)>,
    /// Per operation over the whole soak.
    operations: BTreeMap<&'static str, Outcome>,
}

impl Report {
    fn peak(&self) -> u64 {
        self.rounds.iter().map(|(_, b)| *b).max().unwrap_or(0)
    }

    fn passed(&self) -> bool {
        self.after_signups < AFTER_SIGNUPS_TARGET && self.peak() < SOAK_TARGET
    }

    fn table(&self, opts: &Options) -> String {
        let mb = |b: u64| format!("{:.1} MB", b as f64 / 1e6);
        let verdict = |ok: bool| if ok { "ok" } else { "FAIL" };
        let mut out = format!(
            "memory soak on {} (HEIMDALL_HASH_CONCURRENCY={}, {} s of soak, {} M2M tokens/s)\n\n",
            opts.db.title(),
            opts.hash_concurrency,
            opts.duration.as_secs_f64(),
            opts.token_rate
        );
        out.push_str(&format!("{:<28} {:>10} {:>10}  verdict\n", "RSS", "measured", "target"));
        out.push_str(&format!("{:<28} {:>10} {:>10}\n", "idle", mb(self.idle), "-"));
        out.push_str(&format!(
            "{:<28} {:>10} {:>10}  {}\n",
            format!("after {} sign-ups", opts.signups),
            mb(self.after_signups),
            format!("< {}", mb(AFTER_SIGNUPS_TARGET).replace(".0", "")),
            verdict(self.after_signups < AFTER_SIGNUPS_TARGET)
        ));
        out.push_str(&format!(
            "{:<28} {:>10} {:>10}  {}\n",
            "soak peak (100 ms samples)",
            mb(self.peak()),
            format!("< {}", mb(SOAK_TARGET).replace(".0", "")),
            verdict(self.peak() < SOAK_TARGET)
        ));
        out.push_str("\npeak per round: ");
        let rounds: Vec<String> =
            self.rounds.iter().map(|(t, b)| format!("{:.0}s {:.0}", t.as_secs_f64(), *b as f64 / 1e6)).collect();
        out.push_str(&rounds.join(", "));
        out.push_str(" (MB)\n\n");
        out.push_str(&format!(
            "{:<12} {:>8} {:>8} {:>9} {:>9} {:>9}\n",
            "operation", "2xx", "other", "p50", "p99", "max"
        ));
        for (name, o) in &self.operations {
            out.push_str(&format!(
                "{:<12} {:>8} {:>8} {:>9} {:>9} {:>9}\n",
                name,
                thousands(o.ok as f64),
                o.non_2xx + o.io_errors,
                ms(o.latency.quantile(0.5)),
                ms(o.latency.quantile(0.99)),
                ms(o.latency.quantile(1.0)),
            ));
        }
        out.push_str("(latencies are paced requests on a shared machine: for information only)\n");
        out
    }
}

/// Tokens obtained by one round, used by the next.
#[derive(Default)]
struct Tokens {
    user_access: Rc<RefCell<Vec<String>>>,
    refresh: Rc<RefCell<Vec<String>>>,
    m2m: Rc<RefCell<Vec<String>>>,
}

impl Tokens {
    /// `load` keeps the access and refresh tokens of its answers here.
    fn keep_user_tokens(&self, mut load: Load) -> Load {
        load.capture = Some(self.user_access.clone());
        load.capture_refresh = Some(self.refresh.clone());
        load
    }
}

/// A paced load of `items` spread over `length`, or none when there are none.
fn spread(items: Vec<Vec<u8>>, length: Duration, connections: usize) -> Option<Load> {
    if items.is_empty() {
        return None;
    }
    let rate = items.len() as f64 / length.as_secs_f64();
    let mut load = Load::new(connections.min(items.len()), Requests::pool(items));
    load.pace = Some(rate);
    Some(load)
}

struct Soak<'a> {
    addr: SocketAddr,
    fx: Fixture,
    opts: &'a Options,
    /// Sign-ups so far (usernames are numbered).
    signed_up: usize,
}

impl Soak<'_> {
    fn post(&self, path: &str, body: serde_json::Value) -> Vec<u8> {
        load::request(
            &self.addr,
            "POST",
            &format!("/{}/v1/{path}", self.fx.slug),
            &[],
            Some(body.to_string().as_bytes()),
        )
    }

    fn signups(&mut self, count: usize) -> Vec<Vec<u8>> {
        let first = self.signed_up;
        self.signed_up += count;
        (first..self.signed_up)
            .map(|i| {
                let username = format!("soak-user-{i}");
                let email = format!("{username}@example.com");
                self.post(
                    "auth/signup",
                    json!({ "username": username, "email": email, "password": provision::PASSWORD }),
                )
            })
            .collect()
    }

    fn signins(&self) -> Vec<Vec<u8>> {
        (0..self.opts.signups.min(100))
            .map(|i| {
                let body = json!({ "identifier": format!("soak-user-{i}"), "password": provision::PASSWORD });
                self.post("auth/signin", body)
            })
            .collect()
    }

    /// One round of `length`: new sign-ups, sign-ins and M2M tokens, and refreshes, verifications
    /// and authorizations with the tokens of the previous round (`prev`). Returns the tokens this
    /// round obtained and the outcome per operation.
    async fn round(&mut self, length: Duration, prev: Tokens) -> Result<(Tokens, Vec<(&'static str, Outcome)>)> {
        let next = Tokens::default();
        let secs = length.as_secs_f64();
        let mut loads: Vec<(&'static str, Load)> = Vec::new();

        let signups = self.signups((SIGNUP_RATE * secs).ceil() as usize);
        if let Some(load) = spread(signups, length, 4) {
            loads.push(("signup", next.keep_user_tokens(load)));
        }
        let mut signin = Load::new(4, Requests::cycle(self.signins()));
        signin.pace = Some(SIGNIN_RATE);
        loads.push(("signin", next.keep_user_tokens(signin)));
        let token_body = json!({
            "grant_type": "client_credentials",
            "client_id": self.fx.client_id,
            "client_secret": self.fx.client_secret,
        });
        let mut token = Load::new(8, Requests::Fixed(self.post("oauth/token", token_body)));
        token.pace = Some(self.opts.token_rate);
        token.capture = Some(next.m2m.clone());
        loads.push(("token", token));

        let cap = |rate: f64| (rate * secs).ceil() as usize;
        let refresh_tokens = prev.refresh.take();
        let refreshes = refresh_tokens
            .iter()
            .take(cap(REFRESH_RATE))
            .map(|t| self.post("auth/refresh", json!({ "refresh_token": t })))
            .collect();
        if let Some(load) = spread(refreshes, length, 4) {
            loads.push(("refresh", next.keep_user_tokens(load)));
        }
        let user_tokens = prev.user_access.take();
        let verifies =
            user_tokens.iter().take(cap(VERIFY_RATE)).map(|t| self.post("verify", json!({ "token": t }))).collect();
        if let Some(load) = spread(verifies, length, 4) {
            loads.push(("verify", load));
        }
        let m2m = prev.m2m.take();
        let authorizes = m2m
            .iter()
            .map(|t| self.post("authorize", json!({ "token": t, "permission": provision::PERMISSION })))
            .collect();
        if let Some(load) = spread(authorizes, length, 8) {
            loads.push(("authorize", load));
        }

        let (names, loads): (Vec<_>, Vec<_>) = loads.into_iter().unzip();
        let outcomes = load::run(self.addr, loads, Duration::ZERO, length).await?;
        Ok((next, names.into_iter().zip(outcomes).collect()))
    }
}

async fn drive(db: &Database, opts: &Options, server: &Server) -> Result<Report> {
    let addr = server.addr;
    let mut report = Report::default();
    tokio::time::sleep(Duration::from_secs(2)).await;
    report.idle = rss(server)?;
    eprintln!("[{}] idle: {:.1} MB", opts.db.name(), report.idle as f64 / 1e6);

    let fx = provision::fixture(addr, &db.pak, "soak", 0).await?;
    let mut soak = Soak { addr, fx, opts, signed_up: 0 };
    let started = Instant::now();
    let first = Tokens::default();
    let signups = soak.signups(opts.signups);
    let load = first.keep_user_tokens(Load::new(SIGNUP_CONNECTIONS, Requests::pool(signups)));
    let o = load::run(addr, vec![load], Duration::ZERO, Duration::from_secs(3600)).await?;
    // Answers completing after the pool ran out are not counted in the outcome; their tokens are.
    let signed_up = first.user_access.borrow().len();
    anyhow::ensure!(
        signed_up == opts.signups,
        "only {signed_up} of {} sign-ups succeeded ({:?}, {} I/O errors)",
        opts.signups,
        o[0].statuses,
        o[0].io_errors
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    report.after_signups = rss(server)?;
    eprintln!(
        "[{}] after {} sign-ups ({:.1?}): {:.1} MB",
        opts.db.name(),
        opts.signups,
        started.elapsed(),
        report.after_signups as f64 / 1e6
    );

    // The sampler keeps the highest VmRSS seen since the round began.
    let peak = Rc::new(Cell::new(0u64));
    let done = Rc::new(Cell::new(false));
    let pid = server.pid();
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        tokio::task::spawn_local(async move {
            while !done.get() {
                if let Some(kib) = super::server::rss_kib(pid) {
                    peak.set(peak.get().max(kib * 1024));
                }
                tokio::time::sleep(SAMPLE_EVERY).await;
            }
        })
    };
    let soak_started = Instant::now();
    let mut tokens = first;
    while soak_started.elapsed() < opts.duration {
        let length = ROUND.min(opts.duration - soak_started.elapsed()).max(Duration::from_secs(1));
        peak.set(rss(server)?);
        let (next, outcomes) = soak.round(length, tokens).await?;
        tokens = next;
        for (name, o) in outcomes {
            report.operations.entry(name).or_default().merge(&o);
        }
        report.rounds.push((soak_started.elapsed(), peak.get().max(rss(server)?)));
        eprintln!(
            "[{}] {:.0?}: peak {:.1} MB",
            opts.db.name(),
            soak_started.elapsed(),
            report.rounds.last().map_or(0, |(_, b)| *b) as f64 / 1e6
        );
    }
    done.set(true);
    sampler.await.context("the sampler panicked")?;
    Ok(report)
}
