//! The trivial-endpoint limit of DESIGN §10: a bare poem-openapi JSON POST handler (no Heimdall
//! middleware, no state), served by `xtask bench-trivial ADDR` pinned to the server's core with
//! the same runtime shape as `heimdall`, and driven by the same load generator. What Heimdall's
//! cheapest routes are compared with: the cost of HTTP + routing + JSON on this core.
//!
//! It is measured with a 25-byte body (the limit for bodiless routes such as the JWKS) and with a
//! body as long as the scenario's own (`/authorize` and `/verify` carry a ~900-byte token, and
//! just receiving and parsing that costs a bare handler a fifth of its rate).

use std::{
    net::SocketAddr,
    process::ExitCode,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use poem::listener::TcpListener;
use poem_openapi::{Object, OpenApi, OpenApiService, payload::Json};

use super::{
    limits::Rate,
    load::{self, Load, Requests},
    scenarios::CONNECTIONS,
    server::Server,
};

#[derive(Object)]
struct Ping {
    name: String,
}

#[derive(Object)]
struct Pong {
    ok: bool,
    name: String,
}

struct Trivial;

#[OpenApi]
impl Trivial {
    /// Echoes the name back.
    #[oai(path = "/echo", method = "post", operation_id = "echo")]
    async fn echo(&self, body: Json<Ping>) -> Json<Pong> {
        Json(Pong { ok: true, name: body.0.name })
    }
}

/// A request to it whose JSON body is `body_len` bytes long (at least 25).
pub fn request(addr: &SocketAddr, body_len: usize) -> Vec<u8> {
    let body = format!(r#"{{"name":"heimdall-bench{}"}}"#, "x".repeat(body_len.saturating_sub(25)));
    load::request(addr, "POST", "/echo", &[], Some(body.as_bytes()))
}

/// `xtask bench-trivial ADDR`: serves the endpoint until killed.
pub fn serve(args: &[String]) -> Result<ExitCode> {
    let addr: SocketAddr = args.first().context("bench-trivial takes ADDR")?.parse()?;
    // The same runtime as `heimdall` (`#[tokio::main]`): multi-threaded, one worker per CPU the
    // process may use, which is one under `taskset -c 0`.
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let api = OpenApiService::new(Trivial, "trivial", "1");
        poem::Server::new(TcpListener::bind(addr)).run(api).await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Runs the load, with `body_len`-byte bodies, on a fresh `bench-trivial` for the warm-up and
/// duration of the scenarios; the rate per CPU-second uses the endpoint process's CPU time over
/// the whole run.
/// With `--profile DIR`, the endpoint is profiled into `DIR/<profile_name>.perf`.
pub async fn measure(opts: &super::Options, body_len: usize, profile_name: &str) -> Result<(Rate, load::Outcome)> {
    measure_for(opts, body_len, profile_name, opts.warmup, opts.duration).await
}

/// [`measure`] with its own warm-up and duration.
pub async fn measure_for(
    opts: &super::Options,
    body_len: usize,
    profile_name: &str,
    warmup: Duration,
    duration: Duration,
) -> Result<(Rate, load::Outcome)> {
    let dir = std::env::temp_dir().join(format!("heimdall-bench-{}-trivial", std::process::id()));
    let server = Server::start_trivial(&dir).await?;
    let loads = vec![Load::new(CONNECTIONS, Requests::Fixed(request(&server.addr, body_len)))];
    let profiler = match &opts.profile {
        Some(dir) => Some(super::scenarios::record_profile(server.pid(), dir, profile_name, warmup + duration)?),
        None => None,
    };
    let (cpu0, t0) = (server.cpu_time(), Instant::now());
    let result = load::run(server.addr, loads, warmup, duration).await;
    if let Some(mut p) = profiler {
        p.wait()?;
    }
    let (cpu1, wall) = (server.cpu_time(), t0.elapsed().as_secs_f64());
    server.stop()?;
    let _ = std::fs::remove_dir_all(&dir);
    let outcome = result?.remove(0);
    anyhow::ensure!(outcome.non_2xx == 0 && outcome.io_errors == 0, "the trivial endpoint failed requests");
    let share = cpu0.zip(cpu1).map(|(a, b)| (b - a).as_secs_f64() / wall).filter(|s| *s > 0.0);
    let wall_rate = outcome.rate();
    Ok((Rate { wall: wall_rate, cpu: share.map_or(wall_rate, |s| wall_rate / s) }, outcome))
}
