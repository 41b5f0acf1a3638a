//! The permission parsers and matcher (`permissions`): `parse_grant` for what is granted,
//! `parse_permission` for what is asked, `grants` for whether one covers the other.
//!
//! An input is two lines, a grant and a wanted permission. A parsed permission round-trips
//! unchanged; a grant covers itself; a wildcard grant covers what it names; and `grants` never
//! lets a grant cover a permission outside it.

#![no_main]

use heimdall_server::permissions::{grants, parse_grant, parse_permission, split};
use libfuzzer_sys::fuzz_target;

fn held(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The properties of one string, on its own.
fn alone(s: &str) {
    if let Ok(grant) = parse_grant(s) {
        assert_eq!(grant, s);
        assert!(grants(&held(&[s]), s), "{s:?} does not cover itself");
        match s.strip_suffix('*') {
            None => assert!(parse_permission(s).is_ok(), "{s:?} is a grant but not a permission"),
            Some("") => {}
            // `resource.*`: every action of the resource.
            Some(prefix) => {
                let action = format!("{prefix}read");
                assert!(parse_permission(&action).is_ok(), "{action:?}");
                assert!(grants(&held(&[s]), &action), "{s:?} does not cover {action:?}");
            }
        }
    }
    if let Ok(permission) = parse_permission(s) {
        assert_eq!(permission, s);
        assert!(parse_grant(s).is_ok(), "{s:?} is a permission but not a grant");
        assert!(!s.contains('*'));
        let (resource, action) = split(s);
        assert_eq!(format!("{resource}.{action}"), s);
        assert!(grants(&held(&["*"]), s));
        let first = s.split('.').next().unwrap();
        assert!(grants(&held(&[&format!("{first}.*")]), s), "{first}.* does not cover {s:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (grant, wanted) = text.split_once('\n').unwrap_or((text, ""));
    alone(grant);
    alone(wanted);
    if parse_grant(grant).is_ok() && parse_permission(wanted).is_ok() && grants(&held(&[grant]), wanted) {
        let covered =
            grant == "*" || grant == wanted || grant.strip_suffix('*').is_some_and(|prefix| wanted.starts_with(prefix));
        assert!(covered, "{grant:?} covers {wanted:?}");
        // More grants never take a permission away.
        assert!(grants(&held(&["zzz.other", grant]), wanted));
    }
});
