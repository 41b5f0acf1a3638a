//! `cargo xtask fuzz`: runs the fuzz targets in `fuzz/` (libFuzzer through `cargo fuzz`, on the
//! nightly toolchain) for a bounded time each, one at a time, and fails when one finds a crash.
//! A campaign, not a test: it never runs under `cargo test` or CI, whose time it would eat.
//!
//! Each target reads the seeds committed in `fuzz/corpus/<target>` and grows its corpus in
//! `fuzz/generated/<target>` (ignored by git, kept between runs so a run resumes where the last
//! one stopped). A crash leaves its input in `fuzz/artifacts/<target>/`; the fix comes with a
//! unit test in the server that replays it.

use std::{
    fs,
    io::{BufRead, BufReader, Write},
    path::Path,
    process::{Command, ExitCode, Stdio},
    time::Instant,
};

use anyhow::{Context, Result, bail, ensure};

/// The `cargo-fuzz` this command installs when it is missing, pinned like any other tool.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// libFuzzer needs the nightly toolchain (`-Zsanitizer`, coverage instrumentation).
const TOOLCHAIN: &str = "nightly";

const USAGE: &str = "usage: cargo xtask fuzz [options]

Builds the fuzz targets in fuzz/ with cargo-fuzz on the nightly toolchain (installing cargo-fuzz
if it is missing), runs each for a bounded time, one after the other, and prints a summary.
Fails when a target crashes or breaks one of its invariants; the input is left in
fuzz/artifacts/<target>/. The full libFuzzer output of each run is in fuzz/target/<target>.log.

options:
  --target NAME        run only this target (repeatable; default: every target)
  --seconds N          seconds per target (default 60)
  --sanitizer NAME     address (default) or none
  --list               print the targets and exit
";

struct Options {
    targets: Vec<String>,
    seconds: u64,
    sanitizer: String,
    list: bool,
}

/// What one target's run came to.
struct Outcome {
    target: String,
    seconds: f64,
    runs: Option<u64>,
    corpus: usize,
    crash: Option<String>,
}

pub fn run(args: &[String]) -> Result<ExitCode> {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{USAGE}");
        return Ok(ExitCode::SUCCESS);
    }
    let fuzz_dir = crate::workspace_root().join("fuzz");
    let all = targets(&fuzz_dir)?;
    let options = parse(args, &all)?;
    if options.list {
        all.iter().for_each(|t| println!("{t}"));
        return Ok(ExitCode::SUCCESS);
    }
    ensure_cargo_fuzz()?;
    let nightly = Command::new("rustup").args(["run", TOOLCHAIN, "rustc", "--version"]).output();
    ensure!(
        nightly.is_ok_and(|o| o.status.success()),
        "cargo fuzz needs the nightly toolchain: rustup toolchain install {TOOLCHAIN}"
    );
    let chosen = if options.targets.is_empty() { all } else { options.targets.clone() };

    eprintln!("building {} fuzz target(s) (nightly, sanitizer {})", chosen.len(), options.sanitizer);
    let status = cargo_fuzz(&fuzz_dir)
        .args(["build", "--sanitizer", &options.sanitizer])
        .status()
        .context("running cargo fuzz build")?;
    ensure!(status.success(), "cargo fuzz build failed");

    let mut outcomes = Vec::new();
    for target in &chosen {
        eprintln!("fuzzing {target} for {} s", options.seconds);
        outcomes.push(fuzz_one(&fuzz_dir, target, &options)?);
    }
    print_summary(&outcomes);
    Ok(if outcomes.iter().any(|o| o.crash.is_some()) { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn parse(args: &[String], all: &[String]) -> Result<Options> {
    let mut o = Options { targets: Vec::new(), seconds: 60, sanitizer: "address".into(), list: false };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().with_context(|| format!("`{arg}` needs a value"));
        match arg.as_str() {
            "--target" => {
                let name = value()?;
                if !all.contains(name) {
                    bail!("unknown target `{name}`; the targets are {}", all.join(", "));
                }
                o.targets.push(name.clone());
            }
            "--seconds" => {
                o.seconds = value()?.parse().context("--seconds takes a whole number")?;
                ensure!(o.seconds > 0, "--seconds must be positive");
            }
            "--sanitizer" => {
                o.sanitizer = value()?.clone();
                ensure!(matches!(o.sanitizer.as_str(), "address" | "none"), "--sanitizer takes address or none");
            }
            "--list" => o.list = true,
            other => bail!("unknown option `{other}`\n\n{USAGE}"),
        }
    }
    Ok(o)
}

/// The targets: one file each in `fuzz/fuzz_targets/`, named as its binary.
fn targets(fuzz_dir: &Path) -> Result<Vec<String>> {
    let dir = fuzz_dir.join("fuzz_targets");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|entry| entry.ok()?.path().file_stem()?.to_str().map(str::to_owned))
        .collect();
    names.sort();
    Ok(names)
}

/// Installs the pinned `cargo-fuzz` unless that version is already there.
fn ensure_cargo_fuzz() -> Result<()> {
    let installed = Command::new("cargo").args(["fuzz", "--version"]).stderr(Stdio::null()).output();
    if installed.is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains(CARGO_FUZZ_VERSION)) {
        return Ok(());
    }
    eprintln!("installing cargo-fuzz {CARGO_FUZZ_VERSION}");
    let status = Command::new("cargo")
        .args(["install", "cargo-fuzz", "--locked", "--version", CARGO_FUZZ_VERSION])
        .status()
        .context("running cargo install")?;
    ensure!(status.success(), "cargo install cargo-fuzz {CARGO_FUZZ_VERSION} failed");
    Ok(())
}

/// `cargo fuzz` on the nightly toolchain, through rustup: under `cargo xtask` the `cargo` on the
/// path may be the stable toolchain's own, which knows no `+nightly`.
fn cargo_fuzz(fuzz_dir: &Path) -> Command {
    let mut command = Command::new("rustup");
    command
        .args(["run", TOOLCHAIN, "cargo", "fuzz"])
        .current_dir(fuzz_dir.parent().expect("fuzz/ is in the workspace"));
    // The workspace's own cargo and rustc settings (a stable toolchain among them) stay out.
    for var in ["RUSTUP_TOOLCHAIN", "CARGO", "RUSTC", "RUSTFLAGS", "CARGO_TARGET_DIR"] {
        command.env_remove(var);
    }
    command
}

/// Runs one target for `options.seconds`, its output kept in `fuzz/target/<target>.log`.
fn fuzz_one(fuzz_dir: &Path, target: &str, options: &Options) -> Result<Outcome> {
    let generated = fuzz_dir.join("generated").join(target);
    let seeds = fuzz_dir.join("corpus").join(target);
    fs::create_dir_all(&generated)?;
    fs::create_dir_all(&seeds)?;
    let log_path = fuzz_dir.join("target").join(format!("{target}.log"));
    let mut log = fs::File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;

    let started = Instant::now();
    let mut child = cargo_fuzz(fuzz_dir)
        .args(["run", "--sanitizer", &options.sanitizer, target])
        .arg(&generated)
        .arg(&seeds)
        .arg("--")
        .arg(format!("-max_total_time={}", options.seconds))
        .args(["-print_final_stats=1", "-max_len=4096"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running cargo fuzz run")?;
    // libFuzzer reports on stderr; cargo-fuzz's own advice on a crash goes to stdout.
    let stdout = child.stdout.take().expect("piped");
    let copier = std::thread::spawn(move || BufReader::new(stdout).lines().map_while(Result::ok).collect::<Vec<_>>());
    let mut runs = None;
    let mut crash = None;
    let mut tail: Vec<String> = Vec::new();
    for line in BufReader::new(child.stderr.take().expect("piped")).lines() {
        let line = line?;
        writeln!(log, "{line}")?;
        if let Some(n) = line.strip_prefix("stat::number_of_executed_units:") {
            runs = n.trim().parse().ok();
        }
        if let Some(path) = line.split("Test unit written to ").nth(1) {
            crash = Some(path.trim().to_owned());
        }
        // The progress lines (`#1024 pulse ...`) are in the log; keep the rest for a failure.
        if !line.starts_with('#') {
            tail.push(line);
        }
    }
    let status = child.wait()?;
    for line in copier.join().expect("stdout reader") {
        writeln!(log, "{line}")?;
        tail.push(line);
    }
    if !status.success() && crash.is_none() {
        crash = Some(format!("exit {status} (see {})", log_path.display()));
    }
    if crash.is_some() {
        let from = tail.len().saturating_sub(40);
        eprintln!("{target} failed; the end of its output:\n{}", tail[from..].join("\n"));
    }
    let corpus = fs::read_dir(&generated)?.count();
    Ok(Outcome { target: target.to_owned(), seconds: started.elapsed().as_secs_f64(), runs, corpus, crash })
}

fn print_summary(outcomes: &[Outcome]) {
    println!("\n{:<16} {:>8} {:>12} {:>10} {:>9}  result", "target", "seconds", "runs", "runs/s", "corpus");
    for o in outcomes {
        let runs = o.runs.map_or("-".to_owned(), |r| r.to_string());
        let rate = o.runs.map_or("-".to_owned(), |r| format!("{:.0}", r as f64 / o.seconds));
        let result = o.crash.as_deref().map_or("ok".to_owned(), |c| format!("CRASH {c}"));
        println!("{:<16} {:>8.0} {:>12} {:>10} {:>9}  {result}", o.target, o.seconds, runs, rate, o.corpus);
    }
}
