//! `StrictJson<T>`: every JSON request body, read only if each value has the JSON type the spec
//! gives its field. poem-openapi's own `Json<T>` reads a number or a boolean into a `String`
//! field (`{"username": 4242}` signs up `"4242"`), and its type errors name no field.
//!
//! The body is checked against the schema poem-openapi derives for `T` — the one the spec
//! publishes — before `T` is built: a string must be a JSON string, an integer an integral
//! number in its format's range, a boolean a boolean, an enum one of its values, an object an
//! object (each property, map entry and array item in turn), and a required field must be there.
//! A refusal is a 400 naming the field by its path (`checks[2].permission`). Checking the
//! schema instead of each Rust field type covers `Option`, `Vec`, maps and nested objects, and
//! any field added later. The tidy test `request_bodies_are_read_strictly` keeps every body on
//! this path (or on `DirectJson`, which falls back to it).

use std::{
    any::TypeId,
    collections::{HashMap, HashSet},
    sync::{Arc, LazyLock, RwLock},
};

use poem::{FromRequest, Request, RequestBody, http::StatusCode};
use poem_openapi::{
    error::ParseRequestPayloadError,
    payload::{Json, ParsePayload, Payload},
    registry::{MetaSchema, MetaSchemaRef, Registry},
    types::{ParseFromJSON, Type},
};
use serde::{
    Deserializer,
    de::{IgnoredAny, MapAccess, Visitor},
};
use serde_json::Value;

/// See the module docs.
pub struct StrictJson<T>(pub T);

impl<T: Type> Payload for StrictJson<T> {
    const CONTENT_TYPE: &'static str = <Json<T> as Payload>::CONTENT_TYPE;

    fn check_content_type(content_type: &str) -> bool {
        <Json<T> as Payload>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type + ParseFromJSON + 'static> ParsePayload for StrictJson<T> {
    const IS_REQUIRED: bool = T::IS_REQUIRED;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let data = Vec::<u8>::from_request(request, body).await?;
        Ok(StrictJson(read(&data)?))
    }
}

poem_openapi::impl_apirequest_for_payload!(StrictJson<T>, T: Type + ParseFromJSON + 'static);

/// `T` from a JSON body, refused unless every value has the type of its field in `T`'s schema.
pub fn read<T: Type + ParseFromJSON + 'static>(body: &[u8]) -> poem::Result<T> {
    let value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(body).map_err(|err| ParseRequestPayloadError { reason: err.to_string() })?
    };
    if let Some(name) = repeated_member(body) {
        // poem-openapi's `Value` tree would keep the last value, and a proxy in front may have
        // read the first.
        return Err(WrongShape { field: name, problem: "appears more than once".into() }.into());
    }
    shape_of::<T>().check(&value)?;
    Ok(T::parse_from_json(Some(value)).map_err(|err| ParseRequestPayloadError { reason: err.into_message() })?)
}

/// The first member name repeated at the top of a JSON object body (escapes decoded).
fn repeated_member(body: &[u8]) -> Option<String> {
    struct Names;
    impl<'de> Visitor<'de> for Names {
        type Value = Option<String>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<String>, A::Error> {
            let (mut seen, mut repeated) = (HashSet::new(), None);
            // Read to the end: the deserializer refuses an object left unfinished.
            while let Some(name) = map.next_key::<String>()? {
                map.next_value::<IgnoredAny>()?;
                if !seen.insert(name.clone()) && repeated.is_none() {
                    repeated = Some(name);
                }
            }
            Ok(repeated)
        }
    }
    serde_json::Deserializer::from_slice(body).deserialize_map(Names).ok().flatten()
}

/// A value whose JSON type is not the one its field declares, or a required field left out.
#[derive(Debug, thiserror::Error)]
#[error("malformed JSON body: {}", describe(.field, .problem))]
pub struct WrongShape {
    /// The field's path from the body's root (`name`, `config.policy`, `checks[2].id`); empty
    /// for the body itself.
    pub field: String,
    /// What the field must be (`must be a string`), or `is required`.
    pub problem: String,
}

fn describe(field: &str, problem: &str) -> String {
    if field.is_empty() { format!("the body {problem}") } else { format!("field `{field}` {problem}") }
}

impl poem::error::ResponseError for WrongShape {
    fn status(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }
}

/// A body type's schema with the named schemas it refers to; built once per type.
struct Shape {
    root: MetaSchemaRef,
    registry: Registry,
}

fn shape_of<T: Type + 'static>() -> Arc<Shape> {
    static SHAPES: LazyLock<RwLock<HashMap<TypeId, Arc<Shape>>>> = LazyLock::new(Default::default);
    let id = TypeId::of::<T>();
    if let Some(shape) = SHAPES.read().expect("shapes lock").get(&id) {
        return shape.clone();
    }
    let mut registry = Registry::new();
    T::register(&mut registry);
    let shape = Arc::new(Shape { root: T::schema_ref(), registry });
    SHAPES.write().expect("shapes lock").entry(id).or_insert(shape).clone()
}

impl Shape {
    fn check(&self, value: &Value) -> Result<(), WrongShape> {
        let mut path = String::new();
        self.check_ref(value, &self.root, &mut path).map_err(|problem| WrongShape { field: path, problem })
    }

    fn resolve<'a>(&'a self, schema: &'a MetaSchemaRef) -> Option<&'a MetaSchema> {
        match schema {
            MetaSchemaRef::Inline(schema) => Some(schema),
            MetaSchemaRef::Reference(name) => self.registry.schemas.get(name),
        }
    }

    /// Checks `value` against `schema`; on refusal `path` is left naming the offending field.
    fn check_ref(&self, value: &Value, schema: &MetaSchemaRef, path: &mut String) -> Result<(), String> {
        match self.resolve(schema) {
            Some(schema) => self.check_schema(value, schema, path),
            None => Ok(()),
        }
    }

    fn check_schema(&self, value: &Value, schema: &MetaSchema, path: &mut String) -> Result<(), String> {
        if value.is_null() && schema.nullable {
            return Ok(());
        }
        for part in &schema.all_of {
            self.check_ref(value, part, path)?;
        }
        let alternatives = if schema.one_of.is_empty() { &schema.any_of } else { &schema.one_of };
        if !alternatives.is_empty() {
            let len = path.len();
            let fits = alternatives.iter().any(|alt| {
                path.truncate(len);
                self.check_ref(value, alt, path).is_ok()
            });
            path.truncate(len);
            if !fits {
                return Err("matches none of the shapes it may take".into());
            }
        }
        match schema.ty {
            "string" => check_string(value, schema),
            "integer" => check_integer(value, schema.format),
            "number" if value.is_number() => Ok(()),
            "number" => Err("must be a number".into()),
            "boolean" if value.is_boolean() => Ok(()),
            "boolean" => Err("must be a boolean".into()),
            "array" => {
                let Value::Array(items) = value else { return Err("must be an array".into()) };
                let Some(item) = &schema.items else { return Ok(()) };
                let len = path.len();
                for (i, v) in items.iter().enumerate() {
                    path.truncate(len);
                    path.push_str(&format!("[{i}]"));
                    self.check_ref(v, item, path)?;
                }
                path.truncate(len);
                Ok(())
            }
            "object" => self.check_object(value, schema, path),
            // No type (`serde_json::Value`, or an `allOf` part that only adds `nullable`).
            _ => Ok(()),
        }
    }

    fn check_object(&self, value: &Value, schema: &MetaSchema, path: &mut String) -> Result<(), String> {
        let Value::Object(object) = value else {
            return Err(if path.is_empty() { "must be a JSON object" } else { "must be an object" }.into());
        };
        let len = path.len();
        let enter = |path: &mut String, name: &str| {
            path.truncate(len);
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(name);
        };
        for (name, property) in &schema.properties {
            match object.get(*name) {
                // Absent and null both read as "not sent" for an optional field.
                None | Some(Value::Null) if !schema.required.contains(name) => {}
                None => {
                    enter(path, name);
                    return Err("is required".into());
                }
                Some(v) => {
                    enter(path, name);
                    self.check_ref(v, property, path)?;
                }
            }
        }
        if let Some(entries) = &schema.additional_properties {
            for (name, v) in object.iter().filter(|(k, _)| !schema.properties.iter().any(|(p, _)| p == k)) {
                enter(path, name);
                self.check_ref(v, entries, path)?;
            }
        }
        path.truncate(len);
        Ok(())
    }
}

fn check_string(value: &Value, schema: &MetaSchema) -> Result<(), String> {
    let Value::String(s) = value else { return Err("must be a string".into()) };
    if !schema.enum_items.is_empty() && !schema.enum_items.contains(value) {
        let allowed: Vec<String> = schema.enum_items.iter().map(Value::to_string).collect();
        return Err(format!("must be one of {}", allowed.join(", ")));
    }
    match schema.format {
        Some("uuid") if uuid::Uuid::try_parse(s).is_err() => Err("must be a UUID".into()),
        Some("date-time") if chrono::DateTime::parse_from_rfc3339(s).is_err() => {
            Err("must be an RFC 3339 date-time".into())
        }
        _ => Ok(()),
    }
}

fn check_integer(value: &Value, format: Option<&str>) -> Result<(), String> {
    let (min, max): (i128, i128) = match format {
        Some("int8") => (i8::MIN.into(), i8::MAX.into()),
        Some("int16") => (i16::MIN.into(), i16::MAX.into()),
        Some("int32") => (i32::MIN.into(), i32::MAX.into()),
        Some("uint8") => (0, u8::MAX.into()),
        Some("uint16") => (0, u16::MAX.into()),
        Some("uint32") => (0, u32::MAX.into()),
        Some("uint64") => (0, u64::MAX.into()),
        _ => (i64::MIN.into(), i64::MAX.into()),
    };
    let n = match value {
        Value::Number(n) => n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from)),
        _ => None,
    };
    match n {
        Some(n) if (min..=max).contains(&n) => Ok(()),
        _ => Err(format!("must be an integer from {min} to {max}")),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use poem_openapi::{Enum, Object};
    use serde_json::json;

    use super::*;

    #[derive(Debug, Enum, PartialEq)]
    #[oai(rename_all = "snake_case")]
    enum Colour {
        Red,
        Blue,
    }

    #[derive(Debug, Object)]
    struct Inner {
        name: String,
        tags: Option<Vec<String>>,
    }

    #[derive(Debug, Object)]
    struct Outer {
        text: String,
        maybe: Option<String>,
        #[oai(nullable)]
        nullable: Option<String>,
        list: Vec<String>,
        count: Option<u32>,
        flag: Option<bool>,
        colour: Option<Colour>,
        inner: Option<Inner>,
        inners: Option<Vec<Inner>>,
        labels: Option<HashMap<String, String>>,
        id: Option<uuid::Uuid>,
        anything: Option<serde_json::Value>,
    }

    fn refusal(body: serde_json::Value) -> (String, String) {
        let err = read::<Outer>(body.to_string().as_bytes()).expect_err("refused");
        let shape = err.downcast_ref::<WrongShape>().unwrap_or_else(|| panic!("not a shape error: {err}"));
        (shape.field.clone(), shape.problem.clone())
    }

    fn base() -> serde_json::Value {
        json!({ "text": "a", "list": [] })
    }

    fn with(field: &str, value: serde_json::Value) -> serde_json::Value {
        let mut body = base();
        body[field] = value;
        body
    }

    #[test]
    fn a_body_of_the_declared_types_reads() {
        let body = json!({
            "text": "a", "maybe": null, "nullable": null, "list": ["x"], "count": 4, "flag": true,
            "colour": "blue", "inner": { "name": "n", "tags": ["t"] }, "inners": [{ "name": "m" }],
            "labels": { "k": "v" }, "id": "0193a3f0-6b1c-7d2e-9f00-1a2b3c4d5e6f", "anything": [1, "x"],
        });
        let outer = read::<Outer>(body.to_string().as_bytes()).expect("reads");
        assert_eq!((outer.count, outer.colour, outer.inners.map(|i| i.len())), (Some(4), Some(Colour::Blue), Some(1)));
        read::<Outer>(base().to_string().as_bytes()).expect("optional fields may be left out");
    }

    #[test]
    fn numbers_and_booleans_are_not_read_as_strings_anywhere() {
        let must_be_string = "must be a string".to_owned();
        for (body, field) in [
            (with("text", json!(4242)), "text"),
            (with("text", json!(true)), "text"),
            (with("maybe", json!(1.5)), "maybe"),
            (with("nullable", json!(false)), "nullable"),
            (with("list", json!(["a", 2])), "list[1]"),
            (with("inner", json!({ "name": 7 })), "inner.name"),
            (with("inner", json!({ "name": "n", "tags": [true] })), "inner.tags[0]"),
            (with("inners", json!([{ "name": "n" }, { "name": 1 }])), "inners[1].name"),
            (with("labels", json!({ "a": "b", "k": 5 })), "labels.k"),
        ] {
            assert_eq!(refusal(body), (field.to_owned(), must_be_string.clone()), "{field}");
        }
    }

    #[test]
    fn strings_are_not_read_as_numbers_booleans_or_objects() {
        for (body, field, problem) in [
            (with("count", json!("5")), "count", "must be an integer from 0 to 4294967295"),
            (with("count", json!(1.5)), "count", "must be an integer from 0 to 4294967295"),
            (with("count", json!(-1)), "count", "must be an integer from 0 to 4294967295"),
            (with("flag", json!("true")), "flag", "must be a boolean"),
            (with("list", json!("a")), "list", "must be an array"),
            (with("inner", json!("{}")), "inner", "must be an object"),
            (with("labels", json!([])), "labels", "must be an object"),
            (with("colour", json!("green")), "colour", "must be one of \"red\", \"blue\""),
            (with("colour", json!(1)), "colour", "must be a string"),
            (with("id", json!("not-a-uuid")), "id", "must be a UUID"),
        ] {
            assert_eq!(refusal(body), (field.to_owned(), problem.to_owned()), "{field}");
        }
    }

    #[test]
    fn required_fields_and_the_body_itself_are_named() {
        assert_eq!(refusal(json!({ "list": [] })), ("text".into(), "is required".into()));
        assert_eq!(refusal(json!({ "text": null, "list": [] })), ("text".into(), "must be a string".into()));
        assert_eq!(refusal(with("inner", json!({}))), ("inner.name".into(), "is required".into()));
        assert_eq!(refusal(json!([])), (String::new(), "must be a JSON object".into()));
        let err = read::<Outer>(b"").expect_err("an empty body is no object");
        assert_eq!(err.to_string(), "malformed JSON body: the body must be a JSON object");
        let err = read::<Outer>(br#"{"list": [], "text": 5}"#).expect_err("refused");
        assert_eq!(err.to_string(), "malformed JSON body: field `text` must be a string");
    }
}
