//! The token endpoint's body reader (`oauth::api::TokenBody`): JSON or form-encoded.
//!
//! An input is a mode byte and the body. `J`: the body is sent as `application/json`; `F`: as
//! `application/x-www-form-urlencoded`. A body read must hold what a plain reading finds
//! (`form_urlencoded`; poem-openapi's `Json`), and a parameter sent twice must be refused,
//! never read as one of its values (RFC 6749 §3.2: parameters must not be included more than
//! once).

#![no_main]

use std::collections::HashMap;

use heimdall_fuzz::{member_counts, poem_reading};
use heimdall_server::oauth::api::{TokenBody, TokenRequest};
use libfuzzer_sys::fuzz_target;
use poem_openapi::{ApiExtractor, ExtractParamOptions};

const PARAMETERS: [&str; 4] = ["grant_type", "client_id", "client_secret", "scope"];

/// The body as the token endpoint reads it.
fn read(content_type: &str, body: &[u8]) -> Option<TokenRequest> {
    let (req, mut body) = poem::Request::builder().content_type(content_type).body(body.to_vec()).split();
    let options = ExtractParamOptions {
        name: "body",
        ignore_case: false,
        default_value: None,
        example_value: None,
        explode: true,
        style: None,
    };
    let read = futures::executor::block_on(TokenBody::from_request(&req, &mut body, options)).ok()?;
    Some(match read {
        TokenBody::Json(j) => j.0,
        TokenBody::Form(f) => f.0,
    })
}

fn fields(r: &TokenRequest) -> [Option<&str>; 4] {
    [r.grant_type.as_deref(), r.client_id.as_deref(), r.client_secret.as_deref(), r.scope.as_deref()]
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else { return };
    match mode {
        b'J' => {
            let Some(read) = read("application/json", body) else { return };
            let names = member_counts(body).expect("a body read as JSON is one object");
            for p in PARAMETERS {
                assert!(names.get(p).copied().unwrap_or(0) <= 1, "`{p}` sent twice was read as one value");
            }
            // serde skips an unknown member's value (even a number beyond f64) where a `Value`
            // tree refuses it: then there is nothing to compare.
            if let Some(reference) = poem_reading::<TokenRequest>(body) {
                assert_eq!(fields(&read), fields(&reference));
            }
        }
        b'F' => {
            let mut sent: HashMap<String, Vec<String>> = HashMap::new();
            for (name, value) in form_urlencoded::parse(body) {
                sent.entry(name.into_owned()).or_default().push(value.into_owned());
            }
            let twice = PARAMETERS.iter().any(|p| sent.get(*p).is_some_and(|v| v.len() > 1));
            let read = read("application/x-www-form-urlencoded", body);
            assert_eq!(read.is_none(), twice, "a form is refused exactly when a parameter is sent twice");
            if let Some(read) = read {
                for (p, field) in PARAMETERS.into_iter().zip(fields(&read)) {
                    assert_eq!(sent.get(p).map(|v| v[0].as_str()), field, "{p}");
                }
            }
        }
        _ => {}
    }
});
