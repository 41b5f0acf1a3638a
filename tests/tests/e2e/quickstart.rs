//! The README, kept true: its quickstart (the fenced blocks marked `sh quickstart`) runs as
//! written, in bash, against a fresh `heimdall` process, and must reach a signed token, an
//! allowed `/authorize` and an offline verification; and no README line points at a file the
//! repository does not have.
//!
//! The only stand-in is `cargo`: the quickstart's `cargo run -q --release -- <args>` runs this
//! build's binary with `<args>` (a release build here would take many minutes), through a
//! `cargo` script first on `PATH`.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use heimdall_tests::{TestDatabase, db_test};

use crate::process::{BIN, Running, heimdall};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repository root").to_path_buf()
}

fn readme() -> String {
    std::fs::read_to_string(repository().join("README.md")).expect("README.md")
}

/// The fenced blocks whose info string is `sh quickstart`, in order, joined.
fn quickstart(readme: &str) -> String {
    let mut script = String::new();
    let mut inside = false;
    for line in readme.lines() {
        if !inside && line.trim() == "```sh quickstart" {
            inside = true;
        } else if inside && line.trim() == "```" {
            inside = false;
            script.push('\n');
        } else if inside {
            script.push_str(line);
            script.push('\n');
        }
    }
    script
}

db_test!(
    async fn the_readme_quickstart_runs_as_written_to_a_decision(db: Db) {
        let script = quickstart(&readme());
        assert!(script.contains("/authorize") && script.contains("jwks.json"), "no quickstart in README.md:\n{script}");
        let database = TestDatabase::create_empty(db).await;
        let data = tempfile::tempdir().unwrap();
        let key = heimdall_server::secrets::random_bytes::<32>();
        let server = Running::start(heimdall(data.path(), &database.url, key), data.path());

        let shims = tempfile::tempdir().unwrap();
        let cargo = shims.path().join("cargo");
        std::fs::write(
            &cargo,
            format!("#!/bin/sh\nwhile [ \"$1\" != \"--\" ]; do shift; done\nshift\nexec '{BIN}' \"$@\"\n"),
        )
        .unwrap();
        std::fs::set_permissions(&cargo, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let path = format!("{}:{}", shims.path().display(), std::env::var("PATH").unwrap_or_default());

        // The operator's shell: the server's database and data dir, nothing else of ours.
        let mut shell = Command::new("bash");
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("HEIMDALL") {
                shell.env_remove(name);
            }
        }
        let out = shell
            .args(["-euo", "pipefail", "-c", &script])
            .env("PATH", path)
            .env("HEIMDALL", format!("http://127.0.0.1:{}", server.port))
            .env("HEIMDALL_DATA_DIR", data.path())
            .env("HEIMDALL_DATABASE_URL", &database.url)
            .env("HEIMDALL_LOG", "warn")
            .stdin(Stdio::null())
            .output()
            .expect("bash");
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "the quickstart failed ({}):\n{stdout}\n{stderr}", out.status);
        assert!(stdout.contains(r#""slug":"acme""#), "{stdout}");
        assert!(stdout.contains(r#"{"authorized":true,"allowed":true}"#), "{stdout}");
        assert!(stdout.contains("verified offline: m2m_") && stdout.contains("may docs.read"), "{stdout}\n{stderr}");
    }
);

/// Every relative link of the README and every path it names in backticks that looks like a
/// file of the repository (a name with a `/` and an extension) exists.
#[test]
fn no_readme_line_points_at_a_missing_file() {
    let root = repository();
    let text = readme();
    let mut named = Vec::new();
    for (n, line) in text.lines().enumerate() {
        for link in line.split("](").skip(1).filter_map(|rest| rest.split(')').next()) {
            if !link.contains("://") && !link.starts_with('#') {
                named.push((n + 1, link.split('#').next().unwrap_or(link).to_owned()));
            }
        }
        for (i, quoted) in line.split('`').enumerate() {
            let looks_like_file = i % 2 == 1
                && quoted.contains('/')
                && !quoted.starts_with('/')
                && !quoted.contains(['<', '*', ' ', '$', '{', ':', ','])
                && Path::new(quoted)
                    .extension()
                    .is_some_and(|e| e.to_string_lossy().bytes().all(|b| b.is_ascii_alphabetic()))
                && !quoted.starts_with("data/");
            if looks_like_file {
                named.push((n + 1, quoted.to_owned()));
            }
        }
    }
    assert!(named.iter().any(|(_, p)| p == "xtask/README.md"), "{named:?}");
    let missing: Vec<_> = named.iter().filter(|(_, p)| !root.join(p.trim_end_matches('/')).exists()).collect();
    assert!(missing.is_empty(), "README.md names files the repository does not have: {missing:?}");
}
