//! `cargo xtask <command>`: project chores written in Rust so they run the same on every machine
//! and in CI, with no shell scripts or extra tools to install.
//!
//! Each command lives in its own module; this file only dispatches, so adding one (say `bench`)
//! is a new module plus one row in [`COMMANDS`].

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

mod bench;
mod codegen;
mod fuzz;

/// A command: its name, a one-line help text, and what it runs with the remaining arguments.
struct Command {
    name: &'static str,
    help: &'static str,
    run: fn(&[String]) -> anyhow::Result<ExitCode>,
}

const COMMANDS: &[Command] = &[
    Command {
        name: "codegen",
        help: "write openapi.json and the SDK's generated client and scope wrappers from the server's spec",
        run: codegen::run_codegen,
    },
    Command {
        name: "check",
        help: "fail with a diff if openapi.json or the SDK's generated files are stale",
        run: codegen::run_check,
    },
    Command {
        name: "bench",
        help: "per-core benchmark against raw limits measured in the same run (--help)",
        run: bench::run,
    },
    Command {
        name: "soak",
        help: "resident memory of a release server idle, after sign-ups and through a mixed soak (--help)",
        run: bench::run_soak,
    },
    Command {
        name: "fuzz",
        help: "run the fuzz targets in fuzz/ for a bounded time each (nightly, cargo-fuzz; --help)",
        run: fuzz::run,
    },
    Command {
        name: "bench-limits",
        help: "(used by bench) print the raw RS256/argon2id rates of this core as JSON",
        run: bench::run_limits,
    },
    Command {
        name: "bench-trivial",
        help: "(used by bench) serve the bare poem-openapi endpoint of the trivial limit on ADDR",
        run: bench::run_trivial,
    },
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(name) = args.first() else {
        eprint!("{}", usage());
        return ExitCode::FAILURE;
    };
    if matches!(name.as_str(), "help" | "-h" | "--help") {
        print!("{}", usage());
        return ExitCode::SUCCESS;
    }
    let Some(command) = COMMANDS.iter().find(|c| c.name == name) else {
        eprint!("error: unknown command `{name}`\n\n{}", usage());
        return ExitCode::FAILURE;
    };
    match (command.run)(&args[1..]) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> String {
    let mut out = String::from("usage: cargo xtask <command>\n\ncommands:\n");
    for command in COMMANDS {
        out.push_str(&format!("  {:<13} {}\n", command.name, command.help));
    }
    out
}

/// Fails when a command that takes no arguments is given some, rather than ignoring a typo.
fn no_arguments(command: &str, args: &[String]) -> anyhow::Result<()> {
    match args.first() {
        None => Ok(()),
        Some(arg) => anyhow::bail!("`cargo xtask {command}` takes no arguments, got `{arg}`"),
    }
}

/// The workspace root: the xtask crate sits in it.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits in the workspace").to_path_buf()
}
