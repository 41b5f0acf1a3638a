//! The OpenAPI document is a public contract: the SDK, other languages' generated clients and AI
//! assistants are built from it. The snapshot makes every change to it a reviewed diff, even one
//! caused by a dependency upgrade; the tidy test holds each operation to the bar in DESIGN.md
//! (named, tagged, documented, declared security, typed errors) so nobody has to check by eye.

use heimdall_server::{
    http::error::status,
    routes::{ERROR_CODES, spec_json},
};
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
    "redeliver",
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
fn every_schema_property_is_described() {
    let spec: Value = serde_json::from_str(&spec_json()).expect("the spec is JSON");
    let problems = schema_problems(&spec);
    assert!(
        problems.is_empty(),
        "{} undescribed schema propert(ies): add a `///` doc comment to the field:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn every_operation_declares_the_error_codes_it_answers() {
    let spec: Value = serde_json::from_str(&spec_json()).expect("the spec is JSON");
    let mut documented = std::collections::BTreeMap::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let id = op["operationId"].as_str().unwrap_or_default().to_owned();
            let statuses: Vec<u16> =
                op["responses"].as_object().into_iter().flatten().filter_map(|(s, _)| s.parse().ok()).collect();
            documented.insert(id, (format!("{} {path}", method.to_uppercase()), statuses));
        }
    }
    let mut problems = Vec::new();
    let mut declared = std::collections::BTreeMap::new();
    for (id, codes) in ERROR_CODES.iter().flat_map(|t| t.iter()) {
        *declared.entry(*id).or_insert(0) += 1;
        let Some((name, statuses)) = documented.get(*id) else {
            problems.push(format!("{id}: in an `ERROR_CODES` table but no such operation"));
            continue;
        };
        for code in codes.iter() {
            let answered = status(*code).as_u16();
            if !statuses.contains(&answered) {
                problems.push(format!(
                    "{id} ({name}): declares `{}` but documents no {answered}: add {answered} to its error set",
                    code.as_str()
                ));
            }
        }
    }
    for (id, (name, _)) in &documented {
        match declared.get(id.as_str()) {
            None => problems.push(format!(
                "{id} ({name}): not in the `ERROR_CODES` table of its api.rs: list the catalogue codes it answers \
                 beyond the common ones (`&[]` when none)"
            )),
            Some(n) if *n > 1 => problems.push(format!("{id} ({name}): in the `ERROR_CODES` tables {n} times")),
            Some(_) => {}
        }
    }
    assert!(problems.is_empty(), "{} problem(s) with declared error codes:\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn tidy_problems_name_the_offending_operation() {
    let error = json!({ "application/json": { "schema": { "$ref": ERROR_BODY } } });
    let spec = json!({ "paths": {
        "/good": { "get": {
            "operationId": "thing_get", "tags": ["Things"], "summary": "s", "description": "d",
            "security": [], "responses": {
                "200": { "description": "ok" },
                "404": { "description": "gone", "x-error-codes": ["not_found"], "content": error }
            }
        } },
        "/bad": { "post": {
            "operationId": "Thing-Make", "summary": " ",
            "parameters": [{ "name": "q", "in": "query" }],
            "responses": { "409": { "content": { "text/plain": { "schema": { "type": "string" } } } } }
        } },
        "/quiet": { "put": {
            "operationId": "thing_replace", "tags": ["Things"], "summary": "s", "description": "d",
            "security": [{ "AdminKey": [] }], "responses": { "200": { "description": "ok" } }
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
        "Thing-Make (POST /bad): the 409 response has no description",
        "Thing-Make (POST /bad): the 409 response names no error code",
        "Thing-Make (POST /bad): parameter `q` has no description",
        "thing_replace (PUT /quiet): documents no 4xx or 5xx response",
    ] {
        assert!(problems.iter().any(|p| p.starts_with(expected)), "missing `{expected}` in:\n{}", problems.join("\n"));
    }
    assert_eq!(problems.len(), 10, "{}", problems.join("\n"));

    let schemas = json!({ "components": { "schemas": {
        "Thing": { "properties": {
            "name": { "type": "string", "description": "d" },
            "kind": { "$ref": "#/components/schemas/Kind" },
            "size": { "type": "integer" }
        } }
    } } });
    assert_eq!(schema_problems(&schemas), vec!["Thing.size".to_owned()]);
}

/// Every schema property without a description (a bare `$ref` is described by its target:
/// OpenAPI 3.0 allows nothing beside it).
fn schema_problems(spec: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, schema) in spec.pointer("/components/schemas").and_then(Value::as_object).into_iter().flatten() {
        for (field, prop) in schema.get("properties").and_then(Value::as_object).into_iter().flatten() {
            if prop.get("$ref").is_none() && is_blank(prop.get("description")) {
                problems.push(format!("{name}.{field}"));
            }
        }
    }
    problems
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
    for param in operation.get("parameters").and_then(Value::as_array).into_iter().flatten() {
        if is_blank(param.get("description")) {
            let name = param.get("name").and_then(Value::as_str).unwrap_or("?");
            problems
                .push(format!("parameter `{name}` has no description: a `///` doc comment on the handler's argument"));
        }
    }

    let responses = operation.get("responses").and_then(Value::as_object);
    let mut error_statuses = 0;
    for (status, response) in responses.into_iter().flatten() {
        let is_error = status.starts_with('4') || status.starts_with('5');
        if !is_error && status != "default" {
            if is_blank(resolve(spec, response).get("description")) {
                problems.push(format!("the {status} response has no description"));
            }
            continue;
        }
        error_statuses += usize::from(is_error);
        let response = resolve(spec, response);
        if let Err(why) = uses_error_body(response) {
            problems.push(format!("the {status} response does not use {ERROR_BODY}: {why}"));
        }
        if is_blank(response.get("description")) {
            problems.push(format!("the {status} response has no description"));
        }
        if response.get("x-error-codes").and_then(Value::as_array).is_none_or(|c| c.is_empty()) {
            problems.push(format!(
                "the {status} response names no error code: declare its codes in the `ERROR_CODES` table of its api.rs"
            ));
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
