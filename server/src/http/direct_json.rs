//! `DirectJson<T>`: a JSON payload documented exactly like `poem_openapi::payload::Json<T>`
//! but read and written with serde directly, for the per-request hot paths (`/verify`,
//! `/authorize`).
//!
//! poem-openapi's `Json<T>` parses every body into a `serde_json::Value` tree and then into `T`,
//! and renders every answer as a `Value` tree before writing it: a dozen allocations and copies
//! of the ~900-byte token per call, a measurable share of `/authorize`. Here a body goes straight
//! into `T`; when serde refuses it, the body takes poem-openapi's own path, so a refused body
//! gets exactly the error (or the lenient reading) it always got, except a body that repeats a
//! member: refused, where poem-openapi would keep the last value. Only types whose `Object`
//! derive has no validators may implement [`Direct`]: serde would not run them.

use bytes::Bytes;
use poem::{FromRequest, IntoResponse, Request, RequestBody, Response};
use poem_openapi::{
    ApiResponse,
    error::ParseRequestPayloadError,
    payload::{Json, ParsePayload, Payload},
    registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry},
    types::{ParseFromJSON, ToJSON, Type},
};
use std::collections::HashSet;

use serde::{
    Deserializer, Serialize,
    de::{DeserializeOwned, IgnoredAny, MapAccess, Visitor},
};

/// A type whose serde (de)serialization is field for field its poem-openapi `Object` one
/// (same names, `null`/absent as `None`, absent optionals skipped) and that has no validators.
/// The unit tests of each implementor compare the two.
/// Requests need `Deserialize`, responses `Serialize`.
pub trait Direct: Type + ParseFromJSON + ToJSON {}

/// See the module docs.
pub struct DirectJson<T>(pub T);

impl<T: Direct + DeserializeOwned> DirectJson<T> {
    /// `T` from a request body, as `Json<T>` would read it.
    pub fn parse(body: &[u8]) -> Result<T, ParseRequestPayloadError> {
        if let Some(value) = Self::direct(body) {
            return Ok(value);
        }
        // serde refuses a field sent twice; poem-openapi's `Value` tree would keep its last value,
        // and a proxy in front may have read the first. Refused, in serde's words.
        if let Some(name) = repeated_member(body) {
            return Err(ParseRequestPayloadError { reason: format!("duplicate field `{name}`") });
        }
        let value = if body.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(body).map_err(|err| ParseRequestPayloadError { reason: err.to_string() })?
        };
        T::parse_from_json(Some(value)).map_err(|err| ParseRequestPayloadError { reason: err.into_message() })
    }

    /// serde's reading, of objects only: serde would also read a struct from an array, which
    /// poem-openapi refuses. Of UTF-8 only: serde skips the members it ignores without checking
    /// them, and poem-openapi refuses a body that is not JSON anywhere (found by fuzzing).
    fn direct(body: &[u8]) -> Option<T> {
        let object = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        if object { serde_json::from_str(std::str::from_utf8(body).ok()?).ok() } else { None }
    }
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

impl<T: Direct> Payload for DirectJson<T> {
    const CONTENT_TYPE: &'static str = <Json<T> as Payload>::CONTENT_TYPE;

    fn check_content_type(content_type: &str) -> bool {
        // The common spelling without parsing a MIME type; anything else as `Json<T>` decides.
        content_type.eq_ignore_ascii_case("application/json") || <Json<T> as Payload>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Direct + DeserializeOwned> ParsePayload for DirectJson<T> {
    const IS_REQUIRED: bool = T::IS_REQUIRED;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let data = Bytes::from_request(request, body).await?;
        Ok(DirectJson(Self::parse(&data)?))
    }
}

impl<T: Direct + Serialize> IntoResponse for DirectJson<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => Response::builder().content_type(Self::CONTENT_TYPE).body(body),
            Err(_) => Json(self.0).into_response(),
        }
    }
}

impl<T: Direct + Serialize> ApiResponse for DirectJson<T> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType { content_type: Self::CONTENT_TYPE, schema: Self::schema_ref() }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

poem_openapi::impl_apirequest_for_payload!(DirectJson<T>, T: Direct + DeserializeOwned);

#[cfg(test)]
pub mod testing {
    //! Checks that a [`Direct`] type reads and writes as poem-openapi would.

    use super::*;

    /// Every body read without poem-openapi must read as poem-openapi reads it.
    pub fn assert_reads_alike<T: Direct + DeserializeOwned + std::fmt::Debug>(bodies: &[&str]) {
        for body in bodies {
            let Some(direct) = DirectJson::<T>::direct(body.as_bytes()) else { continue };
            let value: serde_json::Value = serde_json::from_str(body).expect("test bodies are JSON");
            let reference = T::parse_from_json(Some(value))
                .unwrap_or_else(|e| panic!("serde accepted {body} but poem-openapi refuses it: {}", e.into_message()));
            assert_eq!(format!("{direct:?}"), format!("{reference:?}"), "{body}");
        }
    }

    /// Every value must render as poem-openapi renders it.
    pub fn assert_writes_alike<T: Direct + Serialize>(values: &[T]) {
        for v in values {
            assert_eq!(serde_json::to_value(v).expect("serializable"), v.to_json().expect("renders"));
        }
    }
}
