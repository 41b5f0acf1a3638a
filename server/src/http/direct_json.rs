//! `DirectJson<T>`: a JSON payload documented exactly like `poem_openapi::payload::Json<T>`
//! but read and written with serde directly, for the per-request hot paths (`/verify`,
//! `/authorize`, the token endpoint).
//!
//! poem-openapi's `Json<T>` parses every body into a `serde_json::Value` tree and then into `T`,
//! and renders every answer as a `Value` tree before writing it: a dozen allocations and copies
//! of the ~900-byte token per call, a measurable share of `/authorize`. Here a body goes straight
//! into `T`; when serde refuses it, the body takes the strict path of every other body
//! (`strict_json`), so a refused body gets exactly the error it gets everywhere (a member sent twice
//! included: serde refuses a repeated field, and the strict path names it). Only types
//! whose `Object` derive has no validators may implement [`Direct`]: serde would not run them.

use bytes::Bytes;
use poem::{FromRequest, IntoResponse, Request, RequestBody, Response};
use poem_openapi::{
    ApiResponse,
    payload::{Json, ParsePayload, Payload},
    registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry},
    types::{ParseFromJSON, ToJSON, Type},
};
use serde::{Serialize, de::DeserializeOwned};

use super::strict_json;

/// A type whose serde (de)serialization is field for field its poem-openapi `Object` one
/// (same names, `null`/absent as `None`, absent optionals skipped) and that has no validators.
/// The unit tests of each implementor compare the two.
/// Requests need `Deserialize`, responses `Serialize`.
pub trait Direct: Type + ParseFromJSON + ToJSON + 'static {}

/// See the module docs.
pub struct DirectJson<T>(pub T);

impl<T: Direct + DeserializeOwned> DirectJson<T> {
    /// `T` from a request body, as `StrictJson<T>` would read it.
    pub fn parse(body: &[u8]) -> poem::Result<T> {
        match Self::direct(body) {
            Some(value) => Ok(value),
            None => strict_json::read(body),
        }
    }

    /// serde's reading, of objects only: serde would also read a struct from an array, which
    /// poem-openapi refuses. Of UTF-8 only: serde skips the members it ignores without checking
    /// them, and poem-openapi refuses a body that is not JSON anywhere (found by fuzzing).
    fn direct(body: &[u8]) -> Option<T> {
        let object = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        if object { serde_json::from_str(std::str::from_utf8(body).ok()?).ok() } else { None }
    }
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

    /// Every body read without poem-openapi must read as the strict reading reads it.
    pub fn assert_reads_alike<T: Direct + DeserializeOwned + std::fmt::Debug>(bodies: &[&str]) {
        for body in bodies {
            let Some(direct) = DirectJson::<T>::direct(body.as_bytes()) else { continue };
            let reference = strict_json::read::<T>(body.as_bytes())
                .unwrap_or_else(|e| panic!("serde accepted {body} but the strict reading refuses it: {e}"));
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
