//! What several fuzz targets compare a body reader with: plain readings of the same bytes.

use std::collections::HashMap;

use poem_openapi::types::ParseFromJSON;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};

/// How often each member name occurs at the top of a JSON object (`None`: not one object).
pub fn member_counts(body: &[u8]) -> Option<HashMap<String, usize>> {
    struct Names;
    impl<'de> Visitor<'de> for Names {
        type Value = HashMap<String, usize>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut names = HashMap::new();
            while let Some(name) = map.next_key::<String>()? {
                map.next_value::<IgnoredAny>()?;
                *names.entry(name).or_default() += 1;
            }
            Ok(names)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let names = (&mut de).deserialize_map(Names).ok()?;
    de.end().ok()?;
    Some(names)
}

/// The body as poem-openapi's `Json<T>` reads it: a `serde_json::Value` first, then the type.
pub fn poem_reading<T: ParseFromJSON>(body: &[u8]) -> Option<T> {
    let value = if body.is_empty() { serde_json::Value::Null } else { serde_json::from_slice(body).ok()? };
    T::parse_from_json(Some(value)).ok()
}
