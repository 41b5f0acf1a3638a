//! The published spec, finished: what poem-openapi cannot express by itself, added to its output
//! once, so `/openapi.json`, `openapi.json` in the repository and every generated client agree.
//!
//! - Error codes are contract: each error response of each operation lists the catalogue codes
//!   it can answer — the codes every operation of its kind answers (see [`common_codes`]) plus
//!   the ones its domain declares in the `ERROR_CODES` table of its `api.rs` — three ways that
//!   standard tools read: the response `description` (Swagger UI, Redoc, generated docstrings),
//!   one named entry per code in the media type's `examples` (an example body a client can
//!   switch on), and the `x-error-codes` extension (a plain list for code generators and
//!   linters).
//! - Public operations say `security: []` explicitly, so "public" differs from "forgot".
//! - A nullable enum field becomes an inline nullable enum: OpenAPI 3.0 only honours `nullable`
//!   beside a `type`, and `allOf` + `nullable` makes generators drop the operation.
//! - A success response without words takes its schema's description.
//! - `servers` names the default listen address, so "try it" and generated clients have a base.

use serde_json::{Map, Value, json};

use super::error::{oauth_description, oauth_error, status};
use crate::error::Code;

/// Per operation id, the codes it answers beyond those every operation of its kind answers.
pub type OperationCodes = &'static [(&'static str, &'static [Code])];

/// The request id the examples show.
const EXAMPLE_REQUEST_ID: &str = "0193a3f0-6b1c-7d2e-9f00-1a2b3c4d5e6f";

/// Finishes the spec poem-openapi produced (see the module documentation).
pub fn finish(spec: &mut Value, tables: &[OperationCodes]) {
    spec["servers"] = json!([{
        "url": "http://127.0.0.1:8080",
        "description": "A local Heimdall on the default `HEIMDALL_LISTEN`; use your `HEIMDALL_PUBLIC_URL` in production."
    }]);
    let schemas = spec.pointer("/components/schemas").cloned().unwrap_or(Value::Null);
    if let Some(all) = spec.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        for schema in all.values_mut() {
            inline_nullable_enums(schema, &schemas);
        }
    }
    let Some(paths) = spec.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for op in item.values_mut().filter_map(Value::as_object_mut) {
            op.entry("security").or_insert_with(|| json!([]));
            let id = op.get("operationId").and_then(Value::as_str).unwrap_or_default().to_owned();
            let declared: Vec<Code> = tables
                .iter()
                .flat_map(|t| t.iter())
                .filter(|(op_id, _)| *op_id == id)
                .flat_map(|(_, codes)| codes.iter().copied())
                .collect();
            let kind = Kind::of(path, op);
            let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else { continue };
            let statuses: Vec<u16> = responses.keys().filter_map(|s| s.parse().ok()).collect();
            let mut unanswered = Vec::new();
            for (key, response) in responses.iter_mut() {
                let Ok(code) = key.parse::<u16>() else { continue };
                if code < 400 {
                    describe_success(response, &schemas);
                    continue;
                }
                let codes = answered(code, &kind, &statuses, &declared);
                if codes.is_empty() {
                    unanswered.push(key.clone());
                } else {
                    document_errors(response, code, &codes, kind.oauth);
                }
            }
            // A status no code of the operation maps to is never answered: not documented.
            for key in unanswered {
                responses.remove(&key);
            }
        }
    }
}

/// What an operation is, as far as the codes every operation of its kind answers go.
struct Kind {
    /// Under `/v1/` with an API key: 401 `unauthorized`, 403 `forbidden`, 404 `not_found`.
    admin: bool,
    /// Under `/{app_slug}/`: 404 `app_not_found`.
    consumer: bool,
    /// Takes parameters or a body, so a value can fail validation.
    takes_input: bool,
    /// Lists with a `cursor`.
    paginated: bool,
    /// An OAuth endpoint: errors also carry RFC 6749 `error` and `error_description`.
    oauth: bool,
}

impl Kind {
    fn of(path: &str, op: &Map<String, Value>) -> Kind {
        let params = op.get("parameters").and_then(Value::as_array);
        let has_param = |name: &str| params.is_some_and(|ps| ps.iter().any(|p| p["name"] == name));
        Kind {
            admin: path.starts_with("/v1/")
                && op.get("security").and_then(Value::as_array).is_some_and(|s| !s.is_empty()),
            consumer: path.starts_with("/{app_slug}/"),
            takes_input: op.contains_key("requestBody") || params.is_some_and(|ps| !ps.is_empty()),
            paginated: has_param("cursor"),
            oauth: path.contains("/v1/oauth/"),
        }
    }
}

/// The codes every operation of its kind answers with `status`: the front door's (a request it
/// cannot read, a database that does not answer) and the credential checks of its surface.
pub fn common_codes(
    status: u16,
    kind_admin: bool,
    kind_consumer: bool,
    takes_input: bool,
    paginated: bool,
    idempotent: bool,
) -> Vec<Code> {
    use Code::*;
    let mut codes = match status {
        400 => vec![InvalidRequest],
        401 if kind_admin => vec![Unauthorized],
        403 if kind_admin => vec![Forbidden],
        404 if kind_admin => vec![NotFound],
        404 if kind_consumer => vec![AppNotFound],
        409 if idempotent => vec![IdempotencyRequestInProgress],
        422 => vec![IdempotencyKeyReused],
        429 => vec![RateLimited],
        500 => vec![InternalError],
        503 => vec![Unavailable, Overloaded],
        _ => vec![],
    };
    if status == 400 && takes_input {
        codes.push(ValidationFailed);
    }
    if status == 400 && paginated {
        codes.push(InvalidCursor);
    }
    codes
}

/// The codes an operation answers with `status`: the common ones, then its declared ones.
fn answered(status_code: u16, kind: &Kind, statuses: &[u16], declared: &[Code]) -> Vec<Code> {
    let idempotent = statuses.contains(&422);
    let mut codes = common_codes(status_code, kind.admin, kind.consumer, kind.takes_input, kind.paginated, idempotent);
    for code in declared.iter().copied().filter(|c| status(*c).as_u16() == status_code) {
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    codes
}

/// One error response: the codes in its description, one example body per code, and
/// `x-error-codes`.
fn document_errors(response: &mut Value, status_code: u16, codes: &[Code], oauth: bool) {
    let meaning = response["description"].as_str().unwrap_or_default();
    let meaning = meaning.split(" Codes: ").next().unwrap_or_default().to_owned();
    let listed: Vec<String> = codes.iter().map(|c| format!("`{}`", c.as_str())).collect();
    response["description"] = if listed.is_empty() {
        Value::String(meaning)
    } else {
        Value::String(format!("{meaning} Codes: {}.", listed.join(", ")))
    };
    response["x-error-codes"] = codes.iter().map(|c| Value::String(c.as_str().to_owned())).collect();
    let examples: Map<String, Value> = codes
        .iter()
        .map(|c| {
            let mut value = json!({
                "statusCode": status_code,
                "code": c.as_str(),
                "message": c.describe(),
                "request_id": EXAMPLE_REQUEST_ID,
            });
            if oauth {
                value["error"] = oauth_error(*c).into();
                value["error_description"] = oauth_description(*c).into();
            }
            let example = json!({ "summary": c.describe(), "value": value });
            (c.as_str().to_owned(), example)
        })
        .collect();
    if let Some(content) = response.get_mut("content").and_then(Value::as_object_mut) {
        for media in content.values_mut() {
            media["examples"] = Value::Object(examples.clone());
        }
    }
}

/// A success response with an empty description takes its schema's.
fn describe_success(response: &mut Value, schemas: &Value) {
    if response["description"].as_str().is_some_and(|d| !d.trim().is_empty()) {
        return;
    }
    let described = response
        .get("content")
        .and_then(Value::as_object)
        .and_then(|c| c.values().next())
        .and_then(|m| m.pointer("/schema/$ref"))
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
        .and_then(|name| schemas.get(name))
        .and_then(|s| s.get("description"))
        .and_then(Value::as_str)
        .map(|d| d.lines().next().unwrap_or(d).to_owned());
    response["description"] = Value::String(described.unwrap_or_else(|| "Success.".to_owned()));
}

/// Properties that point at an enum: `allOf` around an enum makes generators drop the schema
/// (openapi-python-client: "Cannot take allOf a non-object"), and OpenAPI 3.0 allows nothing
/// beside a `$ref`. A nullable one becomes the enum inline with `nullable` beside its `type`;
/// any other becomes the bare `$ref`, described by the enum's own description.
fn inline_nullable_enums(schema: &mut Value, schemas: &Value) {
    let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) else { return };
    for prop in props.values_mut() {
        let Some(reference) = prop.pointer("/allOf/0/$ref").and_then(Value::as_str).map(str::to_owned) else {
            continue;
        };
        let target = reference
            .strip_prefix("#/components/schemas/")
            .and_then(|name| schemas.get(name))
            .filter(|s| s.get("enum").is_some() && s.get("type").is_some());
        let Some(target) = target else { continue };
        if prop.get("nullable") == Some(&Value::Bool(true)) {
            let mut inline = target.clone();
            inline["nullable"] = Value::Bool(true);
            if let Some(description) = prop.get("description") {
                inline["description"] = description.clone();
            }
            *prop = inline;
        } else {
            *prop = json!({ "$ref": reference });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_responses_name_their_codes_with_one_example_each() {
        let mut spec = json!({ "paths": { "/v1/apps": { "post": {
            "operationId": "app_create",
            "security": [{ "AdminKey": [] }],
            "requestBody": {},
            "responses": {
                "409": { "description": "Conflict. Codes: `everything`.", "content": { "application/json": {} } },
                "422": { "description": "Unprocessable.", "content": { "application/json": {} } }
            }
        } } } });
        finish(&mut spec, &[&[("app_create", &[Code::SlugTaken, Code::RoleNotFound])]]);
        let conflict = &spec["paths"]["/v1/apps"]["post"]["responses"]["409"];
        assert_eq!(conflict["description"], "Conflict. Codes: `idempotency_request_in_progress`, `slug_taken`.");
        assert_eq!(conflict["x-error-codes"], json!(["idempotency_request_in_progress", "slug_taken"]));
        let example = &conflict["content"]["application/json"]["examples"]["slug_taken"]["value"];
        assert_eq!(example["statusCode"], 409);
        assert_eq!(example["code"], "slug_taken");
        assert_eq!(
            spec["paths"]["/v1/apps"]["post"]["responses"]["422"]["x-error-codes"],
            json!(["idempotency_key_reused"])
        );
    }

    #[test]
    fn an_enum_field_is_a_bare_reference_or_a_nullable_inline_enum() {
        let mut spec = json!({ "paths": {}, "components": { "schemas": {
            "Policy": { "type": "string", "enum": ["a", "b"] },
            "Other": { "type": "object", "properties": { "policy": {
                "allOf": [{ "$ref": "#/components/schemas/Policy" }, { "description": "d" }], "description": "d"
            } } },
            "Update": { "type": "object", "properties": { "policy": {
                "allOf": [{ "$ref": "#/components/schemas/Policy" }, { "nullable": true }],
                "nullable": true, "description": "d"
            } } }
        } } });
        finish(&mut spec, &[]);
        assert_eq!(
            spec["components"]["schemas"]["Other"]["properties"]["policy"],
            json!({ "$ref": "#/components/schemas/Policy" })
        );
        assert_eq!(
            spec["components"]["schemas"]["Update"]["properties"]["policy"],
            json!({ "type": "string", "enum": ["a", "b"], "nullable": true, "description": "d" })
        );
    }
}
