//! The OpenAPI document is a public contract: the SDK, other languages' generated clients and AI
//! assistants are built from it. The snapshot makes every change to it a reviewed diff, even one
//! caused by a dependency upgrade; the tidy test holds each operation to the bar in DESIGN.md
//! (named, tagged, documented, declared security, typed errors) so nobody has to check by eye.

use heimdall_server::routes::spec_json;
use serde_json::{Value, json};

/// HTTP methods that may key an operation in an OpenAPI path item.
const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// The one error schema; progenitor panics on operations with more than one.
const ERROR_BODY: &str = "#/components/schemas/ErrorBody";

/// Verbs an operationId may use after its noun. They become SDK method names, so a new verb is a
/// deliberate addition here rather than a typo or a noun slipping into the verb's place.
const VERBS: &[&str] = &[
    "accept",
    "add",
    "assign",
    "authorize",
    "cancel",
    "change",
    "check",
    "complete",
    "confirm",
    "count",
    "create",
    "delete",
    "disable",
    "enable",
    "exchange",
    "export",
    "get",
    "import",
    "introspect",
    "issue",
    "join",
    "link",
    "list",
    "logout",
    "refresh",
    "remove",
    "replace",
    "request",
    "resend",
    "reset",
    "restore",
    "revoke",
    "rotate",
    "search",
    "send",
    "set",
    "signin",
    "signout",
    "signup",
    "start",
    "suspend",
    "switch",
    "unlink",
    "update",
    "verify",
];

#[test]
fn spec_matches_the_committed_snapshot() {
    insta::assert_snapshot!("openapi", spec_json());
}

#[test]
fn every_operation_is_named_tagged_documented_and_declares_security_and_errors() {
    let spec: Value = serde_json::from_str(&spec_json()).expect("the spec is JSON");
    let problems = spec_problems(&spec);
    assert!(problems.is_empty(), "{} problem(s) in the OpenAPI spec:\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn tidy_problems_name_the_offending_operation() {
    let error = json!({ "application/json": { "schema": { "$ref": ERROR_BODY } } });
    let spec = json!({ "paths": {
        "/good": { "get": {
            "operationId": "thing_get", "tags": ["Things"], "summary": "s", "description": "d",
            "security": [], "responses": { "200": {}, "404": { "content": error } }
        } },
        "/bad": { "post": {
            "operationId": "Thing-Make", "summary": " ",
            "responses": { "409": { "content": { "text/plain": { "schema": { "type": "string" } } } } }
        } },
        "/quiet": { "put": {
            "operationId": "thing_replace", "tags": ["Things"], "summary": "s", "description": "d",
            "security": [{ "AdminKey": [] }], "responses": { "200": {} }
        } }
    } });
    let problems = spec_problems(&spec);
    for expected in [
        "Thing-Make (POST /bad): operationId is not snake_case `noun_verb`",
        "Thing-Make (POST /bad): no tag",
        "Thing-Make (POST /bad): no summary",
        "Thing-Make (POST /bad): no description",
        "Thing-Make (POST /bad): no `security` key",
        "Thing-Make (POST /bad): the 409 response does not use",
        "thing_replace (PUT /quiet): documents no 4xx or 5xx response",
    ] {
        assert!(problems.iter().any(|p| p.starts_with(expected)), "missing `{expected}` in:\n{}", problems.join("\n"));
    }
    assert_eq!(problems.len(), 7, "{}", problems.join("\n"));
}

/// Every rule broken by every operation, each line starting with `operationId (METHOD path)`.
fn spec_problems(spec: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(paths) = spec.get("paths").and_then(Value::as_object) else {
        return vec!["the spec has no `paths`".to_owned()];
    };
    for (path, item) in paths {
        let Some(item) = item.as_object() else { continue };
        for (method, operation) in item.iter().filter(|(m, _)| METHODS.contains(&m.as_str())) {
            let id = operation.get("operationId").and_then(Value::as_str);
            let name = format!("{} ({} {path})", id.unwrap_or("<no operationId>"), method.to_uppercase());
            problems.extend(operation_problems(spec, operation).into_iter().map(|p| format!("{name}: {p}")));
        }
    }
    problems
}

/// The rules one operation breaks.
fn operation_problems(spec: &Value, operation: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    match operation.get("operationId").and_then(Value::as_str) {
        None => problems.push("no operationId: set `#[oai(operation_id = \"noun_verb\")]`".to_owned()),
        Some(id) if !is_noun_verb(id) => problems.push(
            "operationId is not snake_case `noun_verb` like `app_create`, `end_user_list` or \
             `openid_configuration_get_by_issuer` (known verbs: `VERBS` in server/tests/spec.rs)"
                .to_owned(),
        ),
        Some(_) => {}
    }
    if operation.get("tags").and_then(Value::as_array).is_none_or(|tags| tags.is_empty()) {
        problems.push("no tag: add `tag = \"ApiTags::…\"` to `#[oai(...)]`".to_owned());
    }
    if is_blank(operation.get("summary")) {
        problems.push("no summary: the first line of the handler's doc comment".to_owned());
    }
    if is_blank(operation.get("description")) {
        problems.push("no description: a paragraph after the summary in the handler's doc comment".to_owned());
    }
    if operation.get("security").is_none() {
        problems.push("no `security` key (public operations declare `security: []`)".to_owned());
    }

    let responses = operation.get("responses").and_then(Value::as_object);
    let mut error_statuses = 0;
    for (status, response) in responses.into_iter().flatten() {
        let is_error = status.starts_with('4') || status.starts_with('5');
        if !is_error && status != "default" {
            continue;
        }
        error_statuses += usize::from(is_error);
        if let Err(why) = uses_error_body(resolve(spec, response)) {
            problems.push(format!("the {status} response does not use {ERROR_BODY}: {why}"));
        }
    }
    if error_statuses == 0 {
        problems.push("documents no 4xx or 5xx response".to_owned());
    }
    problems
}

/// `snake_case`, a noun of one or more words, then a verb from [`VERBS`], then optional qualifiers.
fn is_noun_verb(id: &str) -> bool {
    let words: Vec<&str> = id.split('_').collect();
    let snake = words.iter().all(|w| {
        w.starts_with(|c: char| c.is_ascii_lowercase())
            && w.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    });
    snake && words.iter().skip(1).any(|w| VERBS.contains(w))
}

fn is_blank(text: Option<&Value>) -> bool {
    text.and_then(Value::as_str).is_none_or(|s| s.trim().is_empty())
}

/// Follows a local `$ref` (e.g. to `#/components/responses/...`); anything else as it is.
fn resolve<'a>(spec: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => spec.pointer(pointer).unwrap_or(&Value::Null),
        None => value,
    }
}

/// Whether every body of a response is JSON with the shared error schema.
fn uses_error_body(response: &Value) -> Result<(), String> {
    let content =
        response.get("content").and_then(Value::as_object).filter(|c| !c.is_empty()).ok_or("it has no body")?;
    for (media_type, body) in content {
        let essence = media_type.split(';').next().unwrap_or_default().trim();
        if essence != "application/json" {
            return Err(format!("its body is `{media_type}`, not JSON"));
        }
        let schema = body.pointer("/schema/$ref").and_then(Value::as_str);
        if schema != Some(ERROR_BODY) {
            return Err(format!("its schema is {}", body.get("schema").unwrap_or(&Value::Null)));
        }
    }
    Ok(())
}
