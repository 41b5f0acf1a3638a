//! Tidy tests: the layering ARCHITECTURE.md describes, checked on every `cargo test` instead of
//! in a reviewer's head. Each rule reads the server's sources as text (cheap, no parsing crate)
//! and names the offending file and line.
//!
//! - sea-orm is used only in `store.rs` files and the persistence plumbing (`db.rs`,
//!   `write.rs`, `entity/`, the PostgreSQL listener of `coherence/`);
//! - poem and poem-openapi are used only in `api.rs` files and the HTTP edge (`http/`,
//!   `routes.rs`, `tags.rs`, `startup.rs`);
//! - a domain's store is private to it: no other module names `<domain>::store`;
//! - no import cycle between modules (files) of the crate;
//! - every module opens with a `//!` doc comment;
//! - every JSON request body is read strictly (`StrictJson`, or `DirectJson` on the hot paths),
//!   never by poem-openapi's `Json<T>`, which reads numbers and booleans into string fields;
//! - every error code the end-to-end tests expect is in the catalogue (`error::Code`).

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

use heimdall_server::error::Code;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, as paths relative to `dir` with `/` separators.
fn rust_files(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in fs::read_dir(dir).expect("readable source tree") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The file without its `#[cfg(test)]` module (tests may reach anything) and without comments.
fn code_of(text: &str) -> String {
    let body = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    body.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// Lines (1-based) of `code` that contain `needle` as a path segment start.
fn lines_naming(code: &str, needle: &str) -> Vec<usize> {
    code.lines()
        .enumerate()
        .filter(|(_, l)| {
            l.match_indices(needle)
                .any(|(at, _)| at == 0 || !l.as_bytes()[at - 1].is_ascii_alphanumeric() && l.as_bytes()[at - 1] != b'_')
        })
        .map(|(i, _)| i + 1)
        .collect()
}

fn sources() -> Vec<(String, String)> {
    rust_files(&src()).into_iter().map(|f| (f.clone(), fs::read_to_string(src().join(&f)).unwrap())).collect()
}

/// Files that may use sea-orm: stores, and the persistence plumbing.
fn may_use_sea_orm(file: &str) -> bool {
    file.ends_with("/store.rs")
        || file.starts_with("entity/")
        || matches!(file, "db.rs" | "write.rs")
        // PostgreSQL LISTEN/NOTIFY goes through sea-orm's re-exported sqlx pool.
        || file.starts_with("coherence/")
}

/// Files that may use poem or poem-openapi: each domain's HTTP operations (`api.rs`,
/// `<something>_api.rs`), its wire types (`dto.rs`) and the HTTP edge.
fn may_use_poem(file: &str) -> bool {
    let name = file.rsplit('/').next().unwrap_or(file);
    name == "api.rs"
        || name.ends_with("_api.rs")
        || name == "dto.rs"
        || file.starts_with("http/")
        || matches!(file, "routes.rs" | "tags.rs" | "startup.rs" | "main.rs")
}

#[test]
fn sea_orm_is_used_only_in_stores_and_persistence_plumbing() {
    let mut offenders = Vec::new();
    for (file, text) in sources() {
        if may_use_sea_orm(&file) {
            continue;
        }
        for line in lines_naming(&code_of(&text), "sea_orm") {
            offenders.push(format!("{file}:{line}"));
        }
    }
    assert!(offenders.is_empty(), "sea-orm outside store.rs/db.rs/write.rs/entity/: {offenders:#?}");
}

#[test]
fn poem_is_used_only_in_api_files_and_the_http_edge() {
    let mut offenders = Vec::new();
    for (file, text) in sources() {
        if may_use_poem(&file) {
            continue;
        }
        let code = code_of(&text);
        // HTTP plumbing is the edge's too (configuration aside: it sets up the edge).
        let plumbing: &[&str] = if file == "config.rs" { &[] } else { &["crate::http", "http::error"] };
        for needle in ["poem::", "poem_openapi", "use poem"].iter().chain(plumbing) {
            for line in lines_naming(&code, needle) {
                offenders.push(format!("{file}:{line}"));
            }
        }
    }
    offenders.sort();
    offenders.dedup();
    assert!(offenders.is_empty(), "HTTP types or plumbing outside api.rs and http/: {offenders:#?}");
}

/// The top-level module a file belongs to (`rbac/service.rs` → `rbac`, `db.rs` → `db`).
fn domain_of(file: &str) -> &str {
    file.split('/').next().unwrap().trim_end_matches(".rs")
}

#[test]
fn a_domain_store_is_reached_only_from_its_own_domain() {
    let domains: BTreeSet<String> =
        rust_files(&src()).iter().filter(|f| f.ends_with("/store.rs")).map(|f| domain_of(f).to_owned()).collect();
    let mut offenders = Vec::new();
    for (file, text) in sources() {
        let code = code_of(&text);
        for domain in &domains {
            if domain_of(&file) == domain {
                continue;
            }
            for pattern in
                [format!("{domain}::store"), format!("{domain}::{{store"), format!("{domain}::{{self, store")]
            {
                for line in lines_naming(&code, &pattern) {
                    offenders.push(format!("{file}:{line} names {domain}'s store"));
                }
            }
        }
        if file.ends_with("mod.rs") && code.lines().any(|l| l.trim() == "pub mod store;") {
            offenders.push(format!("{file}: `pub mod store` (stores are private to their domain)"));
        }
    }
    assert!(offenders.is_empty(), "{offenders:#?}");
}

/// The files `file` imports: every `crate::a::b::…` path (including each item of a `use
/// crate::{…}` group) resolved to the deepest module file that exists.
fn imports(file: &str, text: &str, files: &BTreeSet<String>) -> BTreeSet<String> {
    let code = code_of(text);
    let mut paths: Vec<Vec<String>> = Vec::new();
    // Grouped uses: `use crate::{a::{b, c}, d};` → a::b, a::c, d.
    fn expand(prefix: &[String], body: &str, out: &mut Vec<Vec<String>>) {
        let mut depth = 0;
        let mut start = 0;
        let bytes = body.as_bytes();
        let mut items = Vec::new();
        for (i, &b) in bytes.iter().enumerate() {
            match b {
                b'{' => depth += 1,
                b'}' => depth -= 1,
                b',' if depth == 0 => {
                    items.push(&body[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        items.push(&body[start..]);
        for item in items.into_iter().map(str::trim).filter(|i| !i.is_empty()) {
            if let Some(open) = item.find('{') {
                let head: Vec<String> =
                    item[..open].trim_end_matches("::").split("::").filter(|s| !s.is_empty()).map(Into::into).collect();
                let inner = &item[open + 1..item.rfind('}').unwrap_or(item.len())];
                let mut p = prefix.to_vec();
                p.extend(head);
                expand(&p, inner, out);
            } else {
                let mut p = prefix.to_vec();
                p.extend(item.split(" as ").next().unwrap().split("::").map(|s| s.trim().to_owned()));
                out.push(p);
            }
        }
    }
    let here: Vec<String> = {
        // The module path of this file: `a/b.rs` → [a, b]; `a/mod.rs` → [a].
        let mut p: Vec<String> = file.trim_end_matches(".rs").split('/').map(Into::into).collect();
        if p.last().is_some_and(|l| l == "mod") {
            p.pop();
        }
        p
    };
    let flat = code.replace('\n', " ").replace("self::", "").replace(
        "super::",
        &format!("crate::{}::", here[..here.len().saturating_sub(1)].join("::")).replace("crate::::", "crate::"),
    );
    // A `mod.rs` that re-exports from a child (`pub use child::Item;`) depends on that child.
    let flat = if file.ends_with("mod.rs") {
        let prefix = format!("crate::{}::", here.join("::"));
        flat.replace("pub use ", &format!("pub use {prefix}")).replace(&format!("{prefix}crate::"), "crate::")
    } else {
        flat
    };
    let mut rest = flat.as_str();
    while let Some(at) = rest.find("crate::") {
        let tail = &rest[at + "crate::".len()..];
        if let Some(group) = tail.strip_prefix('{') {
            let mut depth = 1;
            let end = group
                .char_indices()
                .find(|&(_, c)| {
                    if c == '{' {
                        depth += 1;
                    } else if c == '}' {
                        depth -= 1;
                    }
                    depth == 0
                })
                .map(|(i, _)| i)
                .unwrap_or(group.len());
            expand(&[], &group[..end], &mut paths);
            rest = &group[end..];
        } else {
            let len = tail.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(tail.len());
            paths.push(tail[..len].trim_end_matches(':').split("::").map(Into::into).collect());
            rest = &tail[len..];
        }
    }
    let mut out = BTreeSet::new();
    for path in paths {
        // The deepest prefix of the path that is a module file.
        for n in (1..=path.len()).rev() {
            let module = path[..n].join("/");
            let candidates = [format!("{module}.rs"), format!("{module}/mod.rs")];
            if let Some(hit) = candidates.iter().find(|c| files.contains(*c)) {
                if hit != file {
                    out.insert(hit.clone());
                }
                break;
            }
        }
    }
    out
}

#[test]
fn no_module_imports_itself_through_others() {
    let sources = sources();
    let files: BTreeSet<String> = sources.iter().map(|(f, _)| f.clone()).collect();
    let graph: BTreeMap<String, BTreeSet<String>> =
        sources.iter().map(|(f, t)| (f.clone(), imports(f, t, &files))).collect();
    // `lib.rs`/`main.rs` declare everything. `state.rs` is the shared-state container: it names
    // the caches the domains define, and every handler receives it — edges through it are the
    // composition, not one domain depending on another.
    let ignored = |f: &str| matches!(f, "lib.rs" | "main.rs" | "state.rs");
    let mut cycles = Vec::new();
    for start in graph.keys().filter(|f| !ignored(f)) {
        // A path back to `start` through its imports is a cycle.
        let mut stack: Vec<(String, Vec<String>)> = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((at, path)) = stack.pop() {
            for next in graph.get(&at).into_iter().flatten().filter(|n| !ignored(n)) {
                if next == start {
                    let mut cycle = path.clone();
                    cycle.push(start.clone());
                    cycles.push(cycle.join(" -> "));
                } else if seen.insert(next.clone()) {
                    let mut p = path.clone();
                    p.push(next.clone());
                    stack.push((next.clone(), p));
                }
            }
        }
    }
    cycles.sort();
    cycles.dedup();
    assert!(cycles.is_empty(), "import cycles ({}):\n{}", cycles.len(), cycles.join("\n"));
}

#[test]
fn every_module_opens_with_a_doc_comment() {
    let missing: Vec<String> =
        sources().into_iter().filter(|(_, t)| !t.trim_start().starts_with("//!")).map(|(f, _)| f).collect();
    assert!(missing.is_empty(), "modules without `//!`: {missing:?}");
}

/// Lines of `code` that take a JSON request body through poem-openapi's own `Json<T>`: an
/// operation parameter (`body: Json<T>`) or a variant of an `ApiRequest` enum.
fn lenient_bodies(code: &str) -> Vec<usize> {
    let mut in_request_enum = false;
    let mut found = Vec::new();
    for (i, line) in code.lines().enumerate() {
        if line.contains("derive(ApiRequest") {
            in_request_enum = true;
        } else if in_request_enum && line.starts_with('}') {
            in_request_enum = false;
        }
        if line.contains(": Json<") || in_request_enum && line.contains("(Json<") {
            found.push(i + 1);
        }
    }
    found
}

#[test]
fn request_bodies_are_read_strictly() {
    let mut offenders = Vec::new();
    for (file, text) in sources() {
        for line in lenient_bodies(&code_of(&text)) {
            offenders.push(format!("{file}:{line}"));
        }
    }
    assert!(
        offenders.is_empty(),
        "request bodies read by poem-openapi's lenient Json<T>, use StrictJson<T>: {offenders:#?}"
    );
}

/// Codes answered by the SDK's `Authenticator` middleware in the customer's backend, not by
/// Heimdall (sdk/src/authenticator.rs).
const SDK_MIDDLEWARE_CODES: &[&str] =
    &["missing_token", "jwks_unavailable", "invalid_token", "insufficient_permissions"];

#[test]
fn every_error_code_the_tests_expect_is_in_the_catalogue() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests");
    let mut unknown = BTreeSet::new();
    let mut seen = 0;
    for file in rust_files(&tests) {
        let text = fs::read_to_string(tests.join(&file)).unwrap();
        for line in text.lines() {
            // `r.expect_error(409, "slug_taken")`, `assert_eq!(r.body["code"], "slug_taken")`.
            let literal = if let Some(at) = line.find("expect_error(") {
                let rest = &line[at..];
                let Some(open) = rest.find('"') else { continue };
                rest[open + 1..].split('"').next().unwrap_or_default()
            } else if let Some(at) = line.find("[\"code\"], \"").filter(|_| line.contains("assert")) {
                line[at + "[\"code\"], \"".len()..].split('"').next().unwrap_or_default()
            } else {
                continue;
            };
            // Snake case, or the contract's upper-case mail codes (`ENVOI_…`).
            let code_like = literal.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                || (literal.starts_with("ENVOI_") && literal.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'));
            if literal.is_empty() || !code_like {
                continue;
            }
            seen += 1;
            if Code::parse(literal).is_none() && !SDK_MIDDLEWARE_CODES.contains(&literal) {
                unknown.insert(format!("{file}: {literal}"));
            }
        }
    }
    assert!(seen > 50, "the scan found only {seen} expected codes; has the tests' assertion style changed?");
    assert!(unknown.is_empty(), "codes the tests expect but the catalogue lacks: {unknown:#?}");
}

#[test]
fn the_rules_catch_what_they_describe() {
    // Each rule's detector, fed a violating snippet.
    assert_eq!(lines_naming("use sea_orm::EntityTrait;", "sea_orm"), vec![1]);
    assert!(lines_naming("let my_sea_orm = 1;", "sea_orm").is_empty());
    assert!(code_of("//! doc\n// sea_orm in a comment\nfn f() {}").find("sea_orm").is_none());
    let files: BTreeSet<String> = ["a/mod.rs", "a/service.rs", "b.rs"].into_iter().map(Into::into).collect();
    let found = imports("b.rs", "use crate::{a::{service::f, X}, c};", &files);
    assert_eq!(found, ["a/mod.rs", "a/service.rs"].into_iter().map(String::from).collect());
    assert!(!may_use_poem("rbac/service.rs") && may_use_poem("rbac/api.rs"));
    let api = "async fn f(\n    body: Json<SignupRequest>,\n) -> Result<Json<Out>, E> {}\n\
               #[derive(ApiRequest)]\nenum B {\n    Json(Json<TokenRequest>),\n}\n\
               #[derive(ApiResponse)]\nenum R {\n    Ok(Json<Out>),\n}\n\
               async fn g(body: StrictJson<X>, other: DirectJson<Y>) {}";
    assert_eq!(lenient_bodies(api), vec![2, 6]);
    assert!(!may_use_sea_orm("rbac/service.rs") && may_use_sea_orm("rbac/store.rs"));
}
