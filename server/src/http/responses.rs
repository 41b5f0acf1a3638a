//! Response wrappers shared by operations.

use poem_openapi::ApiResponse;

/// `204 No Content`.
#[derive(ApiResponse)]
pub enum NoContent {
    /// Done; there is no body.
    #[oai(status = 204)]
    NoContent,
}

/// Declares a `201 Created` response carrying `Json<$body>`.
#[macro_export]
macro_rules! created_response {
    ($name:ident, $body:ty) => {
        #[derive(poem_openapi::ApiResponse)]
        pub enum $name {
            /// Created.
            #[oai(status = 201)]
            Created(poem_openapi::payload::Json<$body>),
        }
    };
}

/// JSON serialized ahead of time (e.g. a cached JWKS), documented in the spec as `T`.
pub struct PreSerialized<T>(pub bytes::Bytes, std::marker::PhantomData<T>);

impl<T> PreSerialized<T> {
    pub fn new(bytes: bytes::Bytes) -> Self {
        PreSerialized(bytes, std::marker::PhantomData)
    }
}

impl<T: poem_openapi::types::Type + Send> poem_openapi::payload::Payload for PreSerialized<T> {
    const CONTENT_TYPE: &'static str = "application/json";

    fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut poem_openapi::registry::Registry) {
        T::register(registry);
    }
}

impl<T: Send> poem::IntoResponse for PreSerialized<T> {
    fn into_response(self) -> poem::Response {
        poem::Response::builder().content_type("application/json").body(self.0)
    }
}
