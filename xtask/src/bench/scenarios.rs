//! The scenarios of DESIGN §10, run against one database: provision, warm up, then each selected
//! scenario for the fixed duration.

use std::{
    cell::RefCell,
    net::SocketAddr,
    path::Path,
    rc::Rc,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use serde_json::json;

use super::{
    Options,
    limits::{Primitive, Rate},
    load::{self, Load, Outcome, Requests},
    provision::{self, Fixture},
    report::{Bar, Cpu, DbReport, Row, thousands},
    server::{Database, DbKind, Server, cpu_time, fill_key_pool},
};

/// Every scenario, in the order they run, with its description for `--help`.
pub const SCENARIOS: &[(&str, &str)] = &[
    ("healthz", "GET /healthz through Heimdall's middleware (report, next to the bare trivial limit)"),
    ("jwks", "GET /{slug}/v1/.well-known/jwks.json (bar: >= 70% of trivial)"),
    ("authorize_repeated", "POST /{slug}/v1/authorize, one end-user token again and again (>= 70% of trivial)"),
    ("verify", "POST /{slug}/v1/verify, one end-user token again and again (report)"),
    ("token", "POST /{slug}/v1/oauth/token, client credentials (>= 80% of raw RS256 sign)"),
    ("token_es256", "POST /{slug}/v1/oauth/token for an ES256 app (>= 80% of raw ES256 sign)"),
    ("token_eddsa", "POST /{slug}/v1/oauth/token for an EdDSA app (>= 80% of raw EdDSA sign)"),
    ("authorize_new", "POST /{slug}/v1/authorize, a never-seen M2M token each request (>= 50% of raw verify)"),
    ("signin", "POST /{slug}/v1/auth/signin, a handful of users (>= 85% of raw argon2id verify)"),
    ("storm", "authorize (paced) while a sign-in storm saturates hashing (authorize p99 < 5 ms)"),
    ("list_first", "GET /v1/apps/{id}/end-users?limit=50, first page of the seeded users (report)"),
    ("list_deep", "GET /v1/apps/{id}/end-users?limit=50&cursor=..., a page deep in them (report)"),
    ("app_create", "POST /v1/apps with a pre-filled key pool (report req/s and p50)"),
    (
        "events",
        "POST /v1/apps/{id}/permissions: changes written with their event; webhook delivery lag to a local receiver (report)",
    ),
    ("sdk_verify", "heimdall-sdk JwksVerifier, warm cache, one thread (wrapper costs < 10% of jsonwebtoken)"),
];

/// Verifications timed on each side of `sdk_verify`.
const SDK_VERIFY_ITERATIONS: u64 = 50_000;

/// Connections of the throughput scenarios.
pub const CONNECTIONS: usize = 64;
/// Alternating windows of a scenario and the limit it is compared with.
const ROUNDS: u32 = 4;
/// Connections of sign-in: enough to keep the hashing queue full.
const SIGNIN_CONNECTIONS: usize = 16;
/// Connections of admin scenarios (listing, app creation).
const ADMIN_CONNECTIONS: usize = 8;
/// `/authorize` rate during the sign-in storm (a steady load, far below capacity, so the p99 shows
/// what hashing does to it rather than queueing behind our own requests).
const STORM_AUTHORIZE_RATE: f64 = 1000.0;
const STORM_AUTHORIZE_CONNECTIONS: usize = 8;
/// Changes per second of the `events` scenario's steady-state phase.
const EVENTS_PACE: f64 = 100.0;
/// End-users signed up through the API (sign-in cycles through them).
const SIGNIN_USERS: usize = 8;

/// What a scenario is compared with.
#[derive(Clone, Copy)]
enum Limit {
    /// The bare poem-openapi handler, receiving a body of this many bytes.
    Trivial { body_len: usize },
    /// A raw operation on the server's core.
    Raw(Primitive),
}

impl Limit {
    fn name(self) -> String {
        match self {
            Limit::Trivial { body_len: 0 } => "trivial".to_owned(),
            Limit::Trivial { body_len } => format!("trivial, {body_len}-byte body"),
            Limit::Raw(Primitive::Rs256Sign) => "raw RS256 sign".to_owned(),
            Limit::Raw(Primitive::Rs256Verify) => "raw RS256 verify".to_owned(),
            Limit::Raw(Primitive::Argon2Verify) => "raw argon2id verify".to_owned(),
            Limit::Raw(Primitive::JsonwebtokenDecode) => "jsonwebtoken::decode".to_owned(),
            Limit::Raw(Primitive::Es256Sign) => "raw ES256 sign".to_owned(),
            Limit::Raw(Primitive::EdDsaSign) => "raw EdDSA sign".to_owned(),
        }
    }
}

/// The windows of an alternating measurement.
#[derive(Clone, Copy)]
struct Plan {
    /// Warm-up before each window of the scenario and of the trivial endpoint.
    warmup: Duration,
    /// Length of each window (of the scenario, and of the limit's measurement).
    slice: Duration,
}

impl Plan {
    /// The run's duration shared by [`ROUNDS`] windows, each after a warm-up of at most 1 s.
    fn of(opts: &Options) -> Plan {
        Plan { warmup: opts.warmup.min(Duration::from_secs(1)), slice: opts.duration / ROUNDS }
    }
}

/// Operations, wall seconds and CPU seconds of a limit over several windows.
#[derive(Default)]
struct Tally {
    ops: f64,
    wall_s: f64,
    cpu_s: f64,
}

impl Tally {
    /// Adds a window of `wall_s` seconds measured at `rate`.
    fn add(&mut self, rate: Rate, wall_s: f64) {
        let ops = rate.wall * wall_s;
        self.ops += ops;
        self.wall_s += wall_s;
        self.cpu_s += if rate.cpu > 0.0 { ops / rate.cpu } else { wall_s };
    }

    fn rate(&self) -> Rate {
        let per = |s: f64| if s > 0.0 { self.ops / s } else { 0.0 };
        Rate { wall: per(self.wall_s), cpu: per(self.cpu_s) }
    }
}

struct Run<'a> {
    opts: &'a Options,
    server: &'a Server,
    addr: SocketAddr,
    fx: Fixture,
    report: DbReport,
    trivial: Option<Rate>,
    tokens: Rc<RefCell<Vec<String>>>,
    /// The scenario running, for profile file names.
    scenario: &'static str,
    kind: DbKind,
}

/// Runs the selected scenarios on a fresh database of `kind` with a fresh server.
pub async fn run_db(kind: DbKind, opts: &Options, trivial: Option<Rate>, bin: &Path) -> Result<DbReport> {
    let db = Database::create(kind, kind.name()).await?;
    let result = run_on(&db, kind, opts, trivial, bin).await;
    let cleanup = db.destroy().await;
    let report = result?;
    cleanup?;
    Ok(report)
}

fn app_requests(opts: &Options) -> usize {
    if opts.wants("app_create") {
        ((opts.warmup + opts.duration).as_secs_f64() * 1500.0).clamp(2000.0, 30_000.0) as usize
    } else {
        0
    }
}

async fn run_on(db: &Database, kind: DbKind, opts: &Options, trivial: Option<Rate>, bin: &Path) -> Result<DbReport> {
    let pooled = app_requests(opts) + 16;
    eprintln!("[{}] pre-filling the key pool with {pooled} sealed keys", kind.name());
    fill_key_pool(db, pooled).await?;
    // The `events` scenario's webhook receiver listens on loopback, which the guard refuses
    // unless the operator allows it.
    let env = [("HEIMDALL_KEY_POOL_SIZE", "8".into()), ("HEIMDALL_WEBHOOK_ALLOW_NETWORKS", "127.0.0.1/32".into())];
    let server = Server::start(bin, db, &env).await?;
    eprintln!(
        "[{}] heimdall ready on {} after {:.0?} (pid {})",
        kind.name(),
        server.addr,
        server.ready_after,
        server.pid()
    );
    let result = drive(db, kind, opts, trivial, &server).await;
    if result.is_err() {
        eprintln!("server log tail:\n{}", server.log_tail());
    }
    server.stop()?;
    result
}

async fn drive(
    db: &Database,
    kind: DbKind,
    opts: &Options,
    trivial: Option<Rate>,
    server: &Server,
) -> Result<DbReport> {
    let addr = server.addr;
    eprintln!("[{}] provisioning", kind.name());
    let fx = provision::fixture(addr, &db.pak, "bench", SIGNIN_USERS).await?;
    let mut run = Run {
        opts,
        server,
        addr,
        fx,
        report: DbReport { db: format!("{} ({})", kind.title(), kind.name()), ..Default::default() },
        trivial,
        tokens: Rc::default(),
        scenario: "",
        kind,
    };
    run.check_answers().await?;

    let mut cursors = None;
    if opts.wants("list_first") || opts.wants("list_deep") {
        let started = Instant::now();
        let conn = db.connect().await?;
        let app_id = run.fx.app_id.parse()?;
        provision::seed_users(&conn, app_id, "seed-", opts.seed_users).await?;
        // What autovacuum would do after a bulk load (it is off on some machines): without
        // statistics PostgreSQL may read a deep page through the wrong index (see `db::scoped_page`).
        sea_orm::ConnectionTrait::execute_unprepared(&conn, "ANALYZE end_users").await?;
        let depth = opts.seed_users.saturating_sub(1000).max(1) as u64;
        cursors = Some((provision::cursor_at(&conn, app_id, depth).await?, depth));
        conn.close().await?;
        eprintln!("[{}] seeded {} end-users in {:.1?}", kind.name(), opts.seed_users, started.elapsed());
    }

    eprintln!("[{}] warming up for {:?}", kind.name(), opts.warmup);
    let warm = vec![Load::new(16, run.trivial_request()), Load::new(16, run.authorize_request())];
    load::run(addr, warm, Duration::ZERO, opts.warmup).await?;

    for (name, _) in SCENARIOS {
        if !opts.wants(name) {
            continue;
        }
        eprintln!("[{}] {name}", kind.name());
        run.scenario = name;
        match *name {
            "healthz" => {
                let (o, cpu) = run.measure(vec![Load::new(CONNECTIONS, run.trivial_request())]).await?;
                let mut row = Row::new(name, CONNECTIONS.to_string(), &o[0], cpu);
                if let Some(t) = run.trivial {
                    row = row.against("trivial", t, Bar::Report);
                }
                run.report.rows.push(row);
            }
            "jwks" => {
                let req = load::request(&addr, "GET", &format!("/{}/v1/.well-known/jwks.json", run.fx.slug), &[], None);
                run.vs_trivial(name, &req, 0, Bar::AtLeast(0.7)).await?;
            }
            "authorize_repeated" => {
                let body = Run::authorize_body(&run.fx.user_token);
                let req = load::request(&addr, "POST", &format!("/{}/v1/authorize", run.fx.slug), &[], Some(&body));
                run.vs_trivial(name, &req, body.len(), Bar::AtLeast(0.7)).await?;
            }
            "verify" => {
                let body = json!({ "token": run.fx.user_token }).to_string();
                let path = format!("/{}/v1/verify", run.fx.slug);
                let req = load::request(&addr, "POST", &path, &[], Some(body.as_bytes()));
                run.vs_trivial(name, &req, body.len(), Bar::Report).await?;
            }
            "token" => {
                let rounds = (0..ROUNDS)
                    .map(|_| {
                        let mut load = Load::new(CONNECTIONS, run.token_request());
                        load.capture = Some(run.tokens.clone());
                        vec![load]
                    })
                    .collect();
                let limit = Limit::Raw(Primitive::Rs256Sign);
                run.alternate(name, rounds, limit, Plan::of(opts), Bar::AtLeast(0.8)).await?;
            }
            "token_es256" | "token_eddsa" => {
                let (alg, primitive) = match *name {
                    "token_es256" => ("ES256", Primitive::Es256Sign),
                    _ => ("EdDSA", Primitive::EdDsaSign),
                };
                let request = run.token_request_for(alg, kind).await?;
                let rounds =
                    (0..ROUNDS).map(|_| vec![Load::new(CONNECTIONS, Requests::Fixed(request.clone()))]).collect();
                run.alternate(name, rounds, Limit::Raw(primitive), Plan::of(opts), Bar::AtLeast(0.8)).await?;
            }
            "authorize_new" => run.authorize_new().await?,
            "signin" => {
                let rounds = (0..ROUNDS).map(|_| vec![Load::new(SIGNIN_CONNECTIONS, run.signin_requests())]).collect();
                let limit = Limit::Raw(Primitive::Argon2Verify);
                run.alternate(name, rounds, limit, Plan::of(opts), Bar::AtLeast(0.85)).await?;
            }
            "storm" => run.storm().await?,
            "list_first" | "list_deep" => {
                let (cursor, depth) = cursors.clone().context("no seeded users")?;
                let mut path = format!("/v1/apps/{}/end-users?limit=50", run.fx.app_id);
                if *name == "list_deep" {
                    path.push_str(&format!("&cursor={cursor}"));
                    run.report.notes.push(format!(
                        "list_*: {} end-users seeded by SQL into the bench app; list_deep starts after user {}",
                        thousands(opts.seed_users as f64),
                        thousands(depth as f64)
                    ));
                }
                let auth = vec![format!("Authorization: Bearer {}", run.fx.pak)];
                let req = load::request(&addr, "GET", &path, &auth, None);
                let (o, cpu) = run.measure(vec![Load::new(ADMIN_CONNECTIONS, Requests::Fixed(req))]).await?;
                run.report.rows.push(Row::new(name, ADMIN_CONNECTIONS.to_string(), &o[0], cpu));
            }
            "app_create" => run.app_create(kind).await?,
            "events" => run.events(kind).await?,
            "sdk_verify" => run.sdk_verify().await?,
            other => bail!("unknown scenario {other}"),
        }
    }
    Ok(run.report)
}

impl Run<'_> {
    /// Runs `loads` for the configured warm-up and duration; also returns the share of its core
    /// the server used meanwhile.
    async fn measure(&self, loads: Vec<Load>) -> Result<(Vec<Outcome>, Cpu)> {
        self.measure_for(loads, self.opts.warmup, self.opts.duration).await
    }

    async fn measure_for(&self, loads: Vec<Load>, warmup: Duration, duration: Duration) -> Result<(Vec<Outcome>, Cpu)> {
        let profiler = match &self.opts.profile {
            Some(dir) => Some(self.profile(dir, warmup + duration)?),
            None => None,
        };
        let (server0, load0) = (self.server.cpu_time(), cpu_time("self"));
        let t0 = Instant::now();
        let outcomes = load::run(self.addr, loads, warmup, duration).await?;
        let wall = t0.elapsed().as_secs_f64();
        if let Some(mut p) = profiler {
            p.wait()?;
        }
        let share = |a: Option<Duration>, b: Option<Duration>| a.zip(b).map(|(a, b)| (b - a).as_secs_f64() / wall);
        Ok((outcomes, Cpu { server: share(server0, self.server.cpu_time()), load: share(load0, cpu_time("self")) }))
    }

    /// Starts `perf record` on the server for `length` (`--profile DIR`).
    fn profile(&self, dir: &Path, length: Duration) -> Result<std::process::Child> {
        record_profile(self.server.pid(), dir, &format!("{}-{}", self.kind.name(), self.scenario), length)
    }

    /// Runs the scenario against the trivial endpoint receiving a body of `body_len` bytes.
    async fn vs_trivial(&mut self, name: &str, request: &[u8], body_len: usize, bar: Bar) -> Result<()> {
        let rounds = (0..ROUNDS).map(|_| vec![Load::new(CONNECTIONS, Requests::Fixed(request.to_vec()))]).collect();
        self.alternate(name, rounds, Limit::Trivial { body_len }, Plan::of(self.opts), bar).await?;
        Ok(())
    }

    /// Runs `rounds` (the loads of each window) in [`ROUNDS`] windows alternating with
    /// measurements of `limit` on the server's core, and reports the scenario against the limit
    /// over all windows. This VM's speed drifts by ±20% from minute to minute; alternating makes
    /// the drift weigh on both sides of the ratio alike. Returns the scenario's merged outcome.
    async fn alternate(
        &mut self,
        name: &str,
        rounds: Vec<Vec<Load>>,
        limit: Limit,
        plan: Plan,
        bar: Bar,
    ) -> Result<Outcome> {
        let connections: usize = rounds.first().map_or(0, |loads| loads.iter().map(|l| l.connections).sum());
        let (mut scenario, mut limit_tally, mut server_cpu_s) = (Outcome::default(), Tally::default(), 0.0);
        for loads in rounds {
            let rate = match limit {
                Limit::Trivial { body_len } => {
                    let profile = format!("{}-{name}-trivial", self.kind.name());
                    let (rate, o) =
                        super::trivial::measure_for(self.opts, body_len, &profile, plan.warmup, plan.slice).await?;
                    limit_tally.add(rate, o.window.as_secs_f64());
                    rate
                }
                Limit::Raw(p) => {
                    let rate = super::measure_limit(p, plan.slice.as_secs_f64())?;
                    limit_tally.add(rate, plan.slice.as_secs_f64());
                    rate
                }
            };
            let (o, cpu) = self.measure_for(loads, plan.warmup, plan.slice).await?;
            server_cpu_s += cpu.server.unwrap_or(1.0) * o[0].window.as_secs_f64();
            eprintln!(
                "  round: {} {}/s ({}/CPU-s), {name} {}/s (server CPU {:.0}%)",
                limit.name(),
                thousands(rate.wall),
                thousands(rate.cpu),
                thousands(o[0].rate()),
                cpu.server.unwrap_or(0.0) * 100.0
            );
            scenario.merge(&o[0]);
        }
        let cpu = Cpu { server: Some(server_cpu_s / scenario.window.as_secs_f64().max(1e-9)), load: None };
        let row =
            Row::new(name, connections.to_string(), &scenario, cpu).against(&limit.name(), limit_tally.rate(), bar);
        self.report.rows.push(row);
        Ok(scenario)
    }

    fn trivial_request(&self) -> Requests {
        Requests::Fixed(load::request(&self.addr, "GET", "/healthz", &[], None))
    }

    fn authorize_body(token: &str) -> Vec<u8> {
        json!({ "token": token, "permission": provision::PERMISSION }).to_string().into_bytes()
    }

    fn authorize_request(&self) -> Requests {
        let path = format!("/{}/v1/authorize", self.fx.slug);
        Requests::Fixed(load::request(&self.addr, "POST", &path, &[], Some(&Self::authorize_body(&self.fx.user_token))))
    }

    fn token_request(&self) -> Requests {
        let body = json!({
            "grant_type": "client_credentials",
            "client_id": self.fx.client_id,
            "client_secret": self.fx.client_secret,
        })
        .to_string();
        let path = format!("/{}/v1/oauth/token", self.fx.slug);
        Requests::Fixed(load::request(&self.addr, "POST", &path, &[], Some(body.as_bytes())))
    }

    /// A client-credentials request of a new app signing with `alg`, its M2M client holding the
    /// bench permission.
    async fn token_request_for(&self, alg: &str, kind: DbKind) -> Result<Vec<u8>> {
        let pak = self.fx.pak.clone();
        let slug = format!("bench-{}-{}", alg.to_ascii_lowercase(), kind.name());
        let body = json!({ "display_name": format!("Bench {alg}"), "slug": slug, "signing_alg": alg });
        let app = provision::call(self.addr, "POST", "/v1/apps", Some(&pak), Some(body)).await?;
        let app_id = app["id"].as_str().context("app id")?.to_owned();
        let body = json!({ "name": "bench", "scopes": [] });
        let client =
            provision::call(self.addr, "POST", &format!("/v1/apps/{app_id}/credentials"), Some(&pak), Some(body))
                .await?;
        let body = json!({
            "grant_type": "client_credentials",
            "client_id": client["client_id"],
            "client_secret": client["client_secret"],
        })
        .to_string();
        let path = format!("/{slug}/v1/oauth/token");
        Ok(load::request(&self.addr, "POST", &path, &[], Some(body.as_bytes())))
    }

    fn signin_requests(&self) -> Requests {
        let path = format!("/{}/v1/auth/signin", self.fx.slug);
        let items = self
            .fx
            .users
            .iter()
            .map(|u| {
                let body = json!({ "identifier": u, "password": provision::PASSWORD }).to_string();
                load::request(&self.addr, "POST", &path, &[], Some(body.as_bytes()))
            })
            .collect();
        Requests::cycle(items)
    }

    /// Checks once that the bench's requests get the answers they are meant to (a 200 that says
    /// `authorized: false` would otherwise count as throughput).
    async fn check_answers(&self) -> Result<()> {
        let slug = &self.fx.slug;
        let a = provision::call(
            self.addr,
            "POST",
            &format!("/{slug}/v1/authorize"),
            None,
            Some(json!({ "token": self.fx.user_token, "permission": provision::PERMISSION })),
        )
        .await?;
        if a["authorized"] != json!(true) {
            bail!("the bench user is not authorized: {a}");
        }
        let v = provision::call(
            self.addr,
            "POST",
            &format!("/{slug}/v1/verify"),
            None,
            Some(json!({ "token": self.fx.user_token })),
        )
        .await?;
        if v["valid"] != json!(true) {
            bail!("the bench user's token does not verify: {v}");
        }
        Ok(())
    }

    /// Mints M2M tokens until the pool holds `want`, with the token load itself.
    async fn mint(&self, want: usize) -> Result<()> {
        let have = self.tokens.borrow().len();
        if have >= want {
            return Ok(());
        }
        let started = Instant::now();
        let mut load = Load::new(CONNECTIONS, self.token_request());
        load.capture = Some(self.tokens.clone());
        load.stop_after_ok = Some((want - have) as u64);
        load::run(self.addr, vec![load], Duration::ZERO, Duration::from_secs(600)).await?;
        eprintln!("  minted {} tokens in {:.1?}", want - have, started.elapsed());
        Ok(())
    }

    async fn authorize_new(&mut self) -> Result<()> {
        self.mint(self.opts.token_pool).await?;
        let tokens = std::mem::take(&mut *self.tokens.borrow_mut());
        let first = tokens.first().context("no minted tokens")?;
        let path = format!("/{}/v1/authorize", self.fx.slug);
        // The check uses (and so caches) the first token: it is left out of the pool.
        let check = provision::call(
            self.addr,
            "POST",
            &path,
            None,
            Some(json!({ "token": first, "permission": provision::PERMISSION })),
        )
        .await?;
        if check["authorized"] != json!(true) {
            bail!("a minted M2M token is not authorized: {check}");
        }
        let items: Vec<Vec<u8>> = tokens[1..]
            .iter()
            .map(|t| load::request(&self.addr, "POST", &path, &[], Some(&Self::authorize_body(t))))
            .collect();
        let pool = items.len();
        let share = pool.div_ceil(ROUNDS as usize);
        let rounds = items.chunks(share).map(|c| vec![Load::new(CONNECTIONS, Requests::pool(c.to_vec()))]).collect();
        // No warm-up: the server is warm from the repeated-token scenarios, and each token may
        // be used once only. Each window ends when its share of the pool does.
        let plan = Plan { warmup: Duration::ZERO, ..Plan::of(self.opts) };
        let limit = Limit::Raw(Primitive::Rs256Verify);
        let o = self.alternate("authorize_new", rounds, limit, plan, Bar::AtLeast(0.5)).await?;
        if o.exhausted {
            self.report.notes.push(format!(
                "authorize_new: the pool of {} never-seen tokens, a share per window, ran out after {:.2} s in all, which ends the windows (no token was sent twice; raise --token-pool for longer windows)",
                thousands(pool as f64),
                o.window.as_secs_f64()
            ));
        }
        Ok(())
    }

    async fn storm(&mut self) -> Result<()> {
        let mut authorize = Load::new(STORM_AUTHORIZE_CONNECTIONS, self.authorize_request());
        authorize.pace = Some(STORM_AUTHORIZE_RATE);
        let signin = Load::new(SIGNIN_CONNECTIONS, self.signin_requests());
        let (o, cpu) = self.measure(vec![authorize, signin]).await?;
        let conns = format!("{STORM_AUTHORIZE_CONNECTIONS}+{SIGNIN_CONNECTIONS}");
        let row = Row::new("storm_authorize", conns, &o[0], cpu).bar(Bar::P99Below(Duration::from_millis(5)));
        self.report.rows.push(row);
        self.report.notes.push(format!(
            "storm: /authorize paced at {} req/s on {} connections while {} connections sign in; sign-ins meanwhile: {}/s (p50 {}), non-2xx {}",
            thousands(STORM_AUTHORIZE_RATE),
            STORM_AUTHORIZE_CONNECTIONS,
            SIGNIN_CONNECTIONS,
            thousands(o[1].rate()),
            super::report::ms(o[1].latency.quantile(0.5)),
            o[1].non_2xx + o[1].io_errors,
        ));
        Ok(())
    }

    /// A counter of the server's `heimdall_events_total` (from `/metrics`), if it can be read.
    async fn event_count(&self, event: &str) -> Option<u64> {
        let req = load::request(&self.addr, "GET", "/metrics", &[], None);
        let (status, body) = load::once(self.addr, &req).await.ok()?;
        if status != 200 {
            return None;
        }
        let needle = format!("heimdall_events_total{{event=\"{event}\"}} ");
        let text = String::from_utf8(body).ok()?;
        Some(
            text.lines().find_map(|l| l.strip_prefix(needle.as_str())).and_then(|n| n.trim().parse().ok()).unwrap_or(0),
        )
    }

    /// The SDK's local verification against a bare `jsonwebtoken::decode` of the same token, both
    /// timed on this (the load generator's) core while no load runs: issue 5's "wrapper costs
    /// less than 10%", i.e. at least 1/1.1 of the raw rate.
    async fn sdk_verify(&mut self) -> Result<()> {
        let consumer = heimdall_sdk::Heimdall::builder()
            .base_url(format!("http://{}", self.addr))
            .build()?
            .consumer(&self.fx.slug);
        let t = super::verify_bench::verify_throughput(&consumer, &self.fx.user_token, SDK_VERIFY_ITERATIONS)
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
        let raw = Rate { wall: t.raw_per_sec, cpu: t.raw_per_sec };
        self.report.rows.push(Row {
            scenario: "sdk_verify".into(),
            connections: "-".into(),
            rate: t.verifier_per_sec,
            p50: Duration::ZERO,
            p99: Duration::ZERO,
            ok: t.iterations,
            non_2xx: 0,
            io_errors: 0,
            window: Duration::from_secs_f64(t.iterations as f64 / t.verifier_per_sec.max(1.0)),
            // One thread doing nothing else: its rate is its per-CPU rate.
            cpu: Cpu { server: Some(1.0), load: None },
            limit: Some(("jsonwebtoken::decode".into(), raw)),
            bar: Bar::AtLeast(1.0 / 1.1),
        });
        self.report.notes.push(format!(
            "sdk_verify: {t}; timed on the load generator's core between scenarios, so not comparable with the server's core figures"
        ));
        Ok(())
    }

    /// The change feed's cost and delivery, in two apps of their own whose one webhook endpoint
    /// each points at a receiver on 127.0.0.1. First as many changes as 8 connections write, each
    /// with its event in the same transaction: the write rate, the rate the endpoint receives
    /// them (one at a time, in order) and the lag of the backlog. Then changes paced at
    /// [`EVENTS_PACE`], below delivery capacity: the lag a subscriber sees in steady state.
    /// The lag runs from the event's `time`, stamped in the writing transaction, to its arrival.
    async fn events(&mut self, kind: DbKind) -> Result<()> {
        let (o, cpu, burst) = self.events_phase(&format!("events-{}", kind.name()), None).await?;
        let (_, _, paced) = self.events_phase(&format!("events-paced-{}", kind.name()), Some(EVENTS_PACE)).await?;
        self.report.notes.push(format!(
            "events: {} permission changes written at {:.0}/s by 8 connections, each with its change-feed event in the same transaction; the webhook endpoint received {} of them at {:.0}/s (one at a time, in order), the backlog's lag p50 {:.2?}, p99 {:.2?}. Paced at {EVENTS_PACE:.0} changes/s: {} events, lag p50 {:.2?}, p99 {:.2?}",
            thousands(o.ok as f64),
            o.rate(),
            thousands(burst.count as f64),
            burst.rate(),
            burst.lag.quantile(0.50),
            burst.lag.quantile(0.99),
            thousands(paced.count as f64),
            paced.lag.quantile(0.50),
            paced.lag.quantile(0.99),
        ));
        let lag_row = |name: &str, a: &super::receiver::Arrivals| {
            let mut row = Row::new(name, "1", &o, cpu);
            (row.rate, row.p50, row.p99, row.ok, row.non_2xx) =
                (a.rate(), a.lag.quantile(0.50), a.lag.quantile(0.99), a.count, 0);
            row
        };
        let rows = [
            Row::new("events", ADMIN_CONNECTIONS.to_string(), &o, cpu),
            lag_row("events_delivered", &burst),
            lag_row("events_paced_lag", &paced),
        ];
        self.report.rows.extend(rows);
        Ok(())
    }

    /// Writes permission changes into a new app `slug` (as fast as possible, or at `pace` per
    /// second) with a webhook endpoint at a local receiver, then waits until every event arrived
    /// (or none arrived for 20 s).
    async fn events_phase(
        &mut self,
        slug: &str,
        pace: Option<f64>,
    ) -> Result<(Outcome, Cpu, super::receiver::Arrivals)> {
        const WATCHED: &str = "heimdall.permission.created";
        let pak = self.fx.pak.clone();
        let body = json!({ "display_name": "Bench events", "slug": slug });
        let app = provision::call(self.addr, "POST", "/v1/apps", Some(&pak), Some(body)).await?;
        let app_id = app["id"].as_str().context("app id")?.to_owned();
        let receiver = super::receiver::Receiver::start(WATCHED).await?;
        let hook = json!({ "url": format!("http://{}/hook", receiver.addr), "event_types": [WATCHED] });
        provision::call(self.addr, "POST", &format!("/v1/apps/{app_id}/webhooks"), Some(&pak), Some(hook)).await?;

        let per_s = pace.unwrap_or(2000.0);
        let count = ((self.opts.warmup + self.opts.duration).as_secs_f64() * per_s * 1.2).max(100.0) as usize;
        let auth = vec![format!("Authorization: Bearer {pak}")];
        let path = format!("/v1/apps/{app_id}/permissions");
        let items: Vec<Vec<u8>> = (0..count)
            .map(|i| {
                let body = json!({ "resource": format!("r{i}"), "action": "read" }).to_string();
                load::request(&self.addr, "POST", &path, &auth, Some(body.as_bytes()))
            })
            .collect();
        let mut load = Load::new(ADMIN_CONNECTIONS, Requests::pool(items));
        load.pace = pace;
        let (mut o, cpu) = self.measure(vec![load]).await?;
        // Every successful write, warm-up included, has an event to deliver.
        let mut last = (receiver.count(), Instant::now());
        loop {
            let got = receiver.count();
            if got != last.0 {
                last = (got, Instant::now());
            }
            if got >= o[0].ok || last.1.elapsed() > Duration::from_secs(20) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let arrivals = std::mem::take(&mut *receiver.arrivals.lock().expect("arrivals"));
        Ok((o.remove(0), cpu, arrivals))
    }

    async fn app_create(&mut self, kind: DbKind) -> Result<()> {
        let count = app_requests(self.opts);
        let generated_before = self.event_count("signing_key_generated").await;
        let auth = vec![format!("Authorization: Bearer {}", self.fx.pak)];
        let items: Vec<Vec<u8>> = (0..count)
            .map(|i| {
                let body =
                    json!({ "display_name": format!("Bench {i}"), "slug": format!("bench-{}-{i}", kind.name()) })
                        .to_string();
                load::request(&self.addr, "POST", "/v1/apps", &auth, Some(body.as_bytes()))
            })
            .collect();
        let (o, cpu) = self.measure(vec![Load::new(ADMIN_CONNECTIONS, Requests::pool(items))]).await?;
        if o[0].exhausted {
            self.report.notes.push(format!(
                "app_create: all {} prepared creations were used after {:.2} s of the window",
                thousands(count as f64),
                o[0].window.as_secs_f64()
            ));
        }
        let generated = self.event_count("signing_key_generated").await.zip(generated_before).map(|(a, b)| a - b);
        let created = o[0].ok + o[0].non_2xx;
        self.report.notes.push(match generated {
            Some(g) => format!(
                "app_create: key pool pre-filled with {} sealed keys (HEIMDALL_KEY_POOL_SIZE=8); the server still generated {g} RSA keys on its core during warm-up + window, while {} creations completed in the window (/metrics signing_key_generated)",
                thousands((count + 16) as f64),
                thousands(created as f64),
            ),
            None => format!("app_create: key pool pre-filled with {} sealed keys (HEIMDALL_KEY_POOL_SIZE=8)", thousands((count + 16) as f64)),
        });
        self.report.rows.push(Row::new("app_create", ADMIN_CONNECTIONS.to_string(), &o[0], cpu));
        Ok(())
    }
}

/// Starts `perf record` on process `pid` for `length`, into `DIR/<name>.perf` (`--profile DIR`).
pub fn record_profile(pid: u32, dir: &Path, name: &str, length: Duration) -> Result<std::process::Child> {
    std::fs::create_dir_all(dir)?;
    let file = dir.join(format!("{name}.perf"));
    std::process::Command::new("perf")
        .args(["record", "-q", "-F", "250", "--call-graph", "dwarf,32768", "-p", &pid.to_string(), "-o"])
        .arg(&file)
        .args(["--", "sleep", &format!("{:.1}", length.as_secs_f64())])
        .stdout(std::process::Stdio::null())
        .spawn()
        .context("cannot run `perf record` (--profile needs perf)")
}
