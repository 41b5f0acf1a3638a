//! `cargo xtask bench`: per-core throughput and latency of the hot paths, each compared with its
//! physical limit measured in the same run (DESIGN §10). A benchmark, not a test: nothing here
//! runs under `cargo test` or CI.
//!
//! Layout of a run:
//! 1. the (debug) xtask builds `heimdall` and the xtask itself in release mode, then re-executes
//!    the release xtask under `taskset -c 1`: the load generator and everything it does run on
//!    core 1;
//! 2. the raw limits (RS256 sign/verify, argon2id verify) are measured by `taskset -c 0
//!    xtask bench-limits`, on the core the server will use;
//! 3. per database, a fresh database and a fresh `heimdall` under `taskset -c 0` (tokio then sees
//!    one CPU: one worker, and its blocking pool inherits the affinity), provisioning through the
//!    API, a warm-up, and each scenario for `--duration` seconds on keep-alive connections;
//! 4. a table per database (and `--json`).
//!
//! PostgreSQL itself is not pinned: its backends run wherever the kernel puts them, as they would
//! in production next to a one-core Heimdall.

mod limits;
mod load;
mod provision;
mod receiver;
mod report;
mod scale;
mod scenarios;
mod server;
mod soak;
mod trivial;
// The SDK's verification micro-benchmark lives with its example, outside the SDK's API; both the
// example and the `sdk_verify` row time that one file. Its `run` and `main` are the example's.
#[allow(dead_code)]
#[path = "../../sdk/examples/verify_bench.rs"]
mod verify_bench;

use std::{
    path::PathBuf,
    process::{Command, ExitCode, Stdio},
    time::Duration,
};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::workspace_root;

pub use limits::run as run_limits;
use server::DbKind;
pub use soak::run as run_soak;
pub use trivial::serve as run_trivial;

/// Set in the environment of the re-executed, pinned release xtask.
const CHILD_ENV: &str = "HEIMDALL_BENCH_CHILD";

const USAGE: &str = "usage: cargo xtask bench [options]

Builds heimdall in release mode, runs it pinned to core 0 and the load generator pinned to
core 1, and reports each scenario against its limit measured in the same run (DESIGN §10).
`ratio` is the scenario's requests per second of server CPU time over the limit's operations
per second of CPU time, so whatever else runs on core 0 cancels out; `wall ratio` is the same
with wall-clock rates (the two agree on an idle machine, where the server runs at ~100%).
Non-2xx answers are counted apart and never in req/s; a row with any fails its bar.

options:
  --db sqlite|postgres|both   databases to run on (default both; PostgreSQL from
                              HEIMDALL_BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres,
                              where a database is created for the run and dropped after it)
  --duration S                measured seconds per scenario (default 10)
  --warmup S                  warm-up seconds per scenario (default 2)
  --scenario NAME             run only this scenario (repeatable); `trivial` runs whenever a
                              scenario is compared with it
  --json FILE                 also write the results as JSON
  --limits-seconds S          seconds per raw-limit measurement (default 2)
  --token-pool N              never-seen M2M tokens minted for authorize_new (default 30000)
  --seed-users N              end-users seeded for the list scenarios (default 20000)
  --profile DIR               record a `perf` profile of the server per scenario into DIR
                              (<db>-<scenario>.perf; read with `perf report -i FILE`)
  --scale                     scale mode instead: PostgreSQL with --scale-apps apps (default
                              100000) and --scale-users end-users (default 1000000); the
                              largest app also holds --scale-tenants tenants (default 100000)
                              with --scale-memberships memberships (default 1000000)

scenarios:
";

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub dbs: Vec<DbKind>,
    pub duration: Duration,
    pub warmup: Duration,
    pub scenarios: Vec<String>,
    pub json: Option<PathBuf>,
    pub limits_seconds: f64,
    pub token_pool: usize,
    pub seed_users: usize,
    pub profile: Option<PathBuf>,
    pub scale: bool,
    pub scale_apps: usize,
    pub scale_users: usize,
    pub scale_tenants: usize,
    pub scale_memberships: usize,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let mut o = Options {
            dbs: vec![DbKind::Sqlite, DbKind::Postgres],
            duration: Duration::from_secs(10),
            warmup: Duration::from_secs(2),
            scenarios: Vec::new(),
            json: None,
            limits_seconds: 2.0,
            token_pool: 30_000,
            seed_users: 20_000,
            profile: None,
            scale: false,
            scale_apps: 100_000,
            scale_users: 1_000_000,
            scale_tenants: 100_000,
            scale_memberships: 1_000_000,
        };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut value = || it.next().with_context(|| format!("`{arg}` needs a value"));
            let seconds = |v: &String| -> Result<Duration> {
                let s: f64 = v.parse().with_context(|| format!("`{v}` is not a number of seconds"))?;
                anyhow::ensure!(s > 0.0, "seconds must be positive");
                Ok(Duration::from_secs_f64(s))
            };
            match arg.as_str() {
                "--db" => {
                    o.dbs = match value()?.as_str() {
                        "sqlite" => vec![DbKind::Sqlite],
                        "postgres" => vec![DbKind::Postgres],
                        "both" => vec![DbKind::Sqlite, DbKind::Postgres],
                        other => bail!("--db takes sqlite, postgres or both, not `{other}`"),
                    }
                }
                "--duration" => o.duration = seconds(value()?)?,
                "--warmup" => o.warmup = seconds(value()?)?,
                "--scenario" => {
                    let name = value()?;
                    if !scenarios::SCENARIOS.iter().any(|(n, _)| n == name) {
                        bail!("unknown scenario `{name}`\n\n{}", usage());
                    }
                    o.scenarios.push(name.clone());
                }
                "--json" => o.json = Some(PathBuf::from(value()?)),
                "--limits-seconds" => o.limits_seconds = seconds(value()?)?.as_secs_f64(),
                "--token-pool" => o.token_pool = value()?.parse().context("--token-pool takes a count")?,
                "--seed-users" => o.seed_users = value()?.parse().context("--seed-users takes a count")?,
                "--profile" => o.profile = Some(PathBuf::from(value()?)),
                "--scale" => o.scale = true,
                "--scale-apps" => o.scale_apps = value()?.parse().context("--scale-apps takes a count")?,
                "--scale-users" => o.scale_users = value()?.parse().context("--scale-users takes a count")?,
                "--scale-tenants" => o.scale_tenants = value()?.parse().context("--scale-tenants takes a count")?,
                "--scale-memberships" => {
                    o.scale_memberships = value()?.parse().context("--scale-memberships takes a count")?
                }
                other => bail!("unknown option `{other}`\n\n{}", usage()),
            }
        }
        anyhow::ensure!(
            o.token_pool >= 2 && o.seed_users >= 2 && o.scale_apps >= 1 && o.scale_users >= 2 && o.scale_tenants >= 3,
            "counts must be at least 2 (3 tenants)"
        );
        // Past the big tenant, each of the largest app's users joins at most two tenants.
        anyhow::ensure!(o.scale_memberships <= o.scale_users, "--scale-memberships is at most --scale-users");
        Ok(o)
    }

    pub fn wants(&self, name: &str) -> bool {
        self.scenarios.is_empty() || self.scenarios.iter().any(|s| s == name)
    }

    pub fn needs_trivial(&self) -> bool {
        ["healthz", "jwks", "authorize_repeated", "verify"].iter().any(|n| self.wants(n))
    }
}

fn usage() -> String {
    let mut out = USAGE.to_owned();
    for (name, help) in scenarios::SCENARIOS {
        out.push_str(&format!("  {name:<20} {help}\n"));
    }
    out
}

/// The machine's cores (/proc/cpuinfo), whatever this process is pinned to.
fn cores() -> usize {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    cpuinfo.lines().filter(|l| l.starts_with("processor")).count()
}

fn require_tools() -> Result<()> {
    let ok = Command::new("taskset")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    anyhow::ensure!(ok, "`taskset` (util-linux) is required to pin the server and the load generator");
    let cores = cores();
    anyhow::ensure!(cores >= 2, "the bench needs two cores (server on 0, load on 1); this machine has {cores}");
    Ok(())
}

/// `cargo xtask bench …`
pub fn run(args: &[String]) -> Result<ExitCode> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{}", usage());
        return Ok(ExitCode::SUCCESS);
    }
    let opts = Options::parse(args)?;
    if std::env::var_os(CHILD_ENV).is_none() {
        return build_and_reexec("bench", args);
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, bench(opts))
}

/// Builds the release binaries and runs the release xtask's `command` pinned to core 1.
fn build_and_reexec(command: &str, args: &[String]) -> Result<ExitCode> {
    require_tools()?;
    let root = workspace_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("building heimdall and xtask (release)");
    let status = Command::new(&cargo)
        .current_dir(&root)
        .args(["build", "--release", "-p", "heimdall-server", "-p", "xtask"])
        .status()
        .context("cannot run cargo")?;
    anyhow::ensure!(status.success(), "release build failed");
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    let xtask = target.join("release").join("xtask");
    let status = Command::new("taskset")
        .args(["-c", "1"])
        .arg(&xtask)
        .arg(command)
        .args(args)
        .env(CHILD_ENV, "1")
        .status()
        .with_context(|| format!("cannot run {}", xtask.display()))?;
    Ok(if status.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Measures raw limits on core 0 in a separate process: `which` for `seconds` each (every
/// primitive when `which` is empty); returns `bench-limits`' JSON.
fn measure_raw(seconds: f64, which: &[limits::Primitive]) -> Result<Value> {
    let me = std::env::current_exe()?;
    let out = Command::new("taskset")
        .args(["-c", "0"])
        .arg(&me)
        .arg("bench-limits")
        .arg(seconds.to_string())
        .args(which.iter().map(|p| p.name()))
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run bench-limits")?;
    anyhow::ensure!(out.status.success(), "bench-limits failed");
    serde_json::from_slice(&out.stdout).context("bench-limits printed no JSON")
}

/// Every raw limit, measured on core 0.
fn measure_limits(opts: &Options) -> Result<limits::Limits> {
    limits::Limits::from_json(&measure_raw(opts.limits_seconds, &[])?)
}

/// One raw limit, measured on core 0 for `seconds` (between windows of the scenario compared
/// with it).
pub(crate) fn measure_limit(p: limits::Primitive, seconds: f64) -> Result<limits::Rate> {
    limits::Rate::from_json(&measure_raw(seconds, &[p])?, p)
}

fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned());
    let cores = cores();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_owned();
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    json!({
        "cpu": model,
        "cores": cores,
        "kernel": kernel,
        "loadavg_at_start": loadavg.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    })
}

async fn bench(opts: Options) -> Result<ExitCode> {
    let bin = std::env::current_exe()?.with_file_name("heimdall");
    anyhow::ensure!(
        bin.exists(),
        "{} is missing: build it with `cargo build --release -p heimdall-server`",
        bin.display()
    );
    let machine = machine();
    eprintln!("machine: {machine}");
    eprintln!("measuring raw limits on core 0 ({} s each)", opts.limits_seconds);
    let limits = measure_limits(&opts)?;
    let r = |r: limits::Rate| format!("{}/s ({}/CPU-s)", report::thousands(r.wall), report::thousands(r.cpu));
    let limits_line = format!(
        "raw limits on core 0: RS256 sign {}, RS256 verify {}, argon2id verify {} (reference: jsonwebtoken::decode {})",
        r(limits.rs256_sign),
        r(limits.rs256_verify),
        r(limits.argon2_verify),
        r(limits.jsonwebtoken_decode)
    );
    eprintln!("{limits_line}");

    let trivial = if opts.needs_trivial() && !opts.scale {
        let (rate, o) = trivial::measure(&opts, 0, "trivial").await?;
        let line = format!(
            "trivial poem-openapi JSON POST on core 0: {}/s ({}/CPU-s), p50 {}, p99 {}",
            report::thousands(rate.wall),
            report::thousands(rate.cpu),
            report::ms(o.latency.quantile(0.5)),
            report::ms(o.latency.quantile(0.99))
        );
        eprintln!("{line}");
        Some((rate, line))
    } else {
        None
    };
    let mut limits_json = limits.to_json();
    if let Some((rate, _)) = &trivial {
        limits_json["trivial_per_s"] = json!(rate.wall);
        limits_json["trivial_per_cpu_s"] = json!(rate.cpu);
    }
    let mut out = json!({ "machine": machine, "limits": limits_json, "options": {
        "duration_s": opts.duration.as_secs_f64(), "warmup_s": opts.warmup.as_secs_f64(),
    }});
    let mut tables = Vec::new();
    let mut failed = false;
    if opts.scale {
        let r = scale::run(&opts, limits, &bin).await?;
        failed |= r.measures.iter().any(|m| m.pass == Some(false))
            || r.rows.rows.iter().any(|row| row.verdict() == Some(false));
        let t = r.table();
        println!("\n{t}");
        tables.push(t);
        out["scale"] = r.to_json();
    } else {
        let mut dbs = Vec::new();
        for kind in &opts.dbs {
            let r = scenarios::run_db(*kind, &opts, trivial.as_ref().map(|(r, _)| *r), &bin).await?;
            failed |= r.rows.iter().any(|row| row.verdict() == Some(false));
            let t = report::table(&r);
            println!("\n{t}");
            tables.push(t);
            dbs.push(report::db_json(&r));
        }
        out["databases"] = Value::Array(dbs);
    }
    println!("{limits_line}");
    if let Some((_, line)) = &trivial {
        println!("{line}");
    }
    println!(
        "machine: {}, {} cores, load average at start {}",
        machine["cpu"].as_str().unwrap_or("?"),
        machine["cores"],
        machine["loadavg_at_start"].as_str().unwrap_or("?")
    );
    if let Some(path) = &opts.json {
        std::fs::write(path, serde_json::to_string_pretty(&out)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    if failed {
        eprintln!("some bars were missed (FAIL rows above)");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
