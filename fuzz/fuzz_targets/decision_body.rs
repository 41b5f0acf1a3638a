//! The `/verify` and `/authorize` body readers (`http::direct_json::DirectJson`), which read
//! with serde directly instead of through the strict reading every other body takes
//! (`http::strict_json`): both must read every body alike (the same value, or both a refusal),
//! and a member sent twice is refused, never read as one of its values.
//!
//! An input is a mode byte and the body: `V` for `/verify`, `A` for `/authorize`.

#![no_main]

use std::fmt::Debug;

use heimdall_fuzz::member_counts;
use heimdall_server::{
    authz::api::{AuthorizeRequest, VerifyRequest},
    http::{
        direct_json::{Direct, DirectJson},
        strict_json,
    },
};
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;

fn check<T: Direct + DeserializeOwned + Debug + 'static>(body: &[u8], members: &[&str]) {
    let direct = DirectJson::<T>::parse(body);
    let reference = strict_json::read::<T>(body).map_err(|_| ());
    let names = member_counts(body).unwrap_or_default();
    match (&direct, &reference) {
        (Ok(d), Ok(r)) => assert_eq!(format!("{d:?}"), format!("{r:?}")),
        (Err(_), Err(_)) => {}
        // The direct reader skips unknown members (once or twice); the strict reading refuses
        // any member sent twice. Either way the fields read are the same.
        (Ok(_), Err(_)) if names.iter().any(|(n, &c)| c > 1 && !members.contains(&n.as_str())) => {}
        // serde skips an unknown member's value (even a number beyond f64) where the strict
        // reading's `Value` tree refuses it.
        (Ok(_), Err(_)) if serde_json::from_slice::<serde_json::Value>(body).is_err() => {}
        _ => panic!("direct {direct:?} vs poem-openapi {reference:?}"),
    }
    if direct.is_ok() {
        for m in members {
            assert!(names.get(*m).copied().unwrap_or(0) <= 1, "`{m}` sent twice was read as one value");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else { return };
    match mode {
        b'V' => check::<VerifyRequest>(body, &["token"]),
        b'A' => check::<AuthorizeRequest>(body, &["token", "permission", "permissions"]),
        _ => {}
    }
});
