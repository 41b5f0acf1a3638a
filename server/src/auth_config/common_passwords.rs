//! The list of commonly used passwords that sign-up, password reset and invite acceptance
//! refuse (NIST SP 800-63B §3.1.1.2, OWASP ASVS V6), shipped inside the binary.
//!
//! `common_passwords.zlib` is a zlib stream (44 KB; 109 KB inflated) of 11,611 lowercase
//! passwords, sorted, one per line. Source: the `PASSWORDS` frequency list of the `zxcvbn` crate
//! 3.1.1 on crates.io (`src/frequency_lists.rs`: the 30,000 most common passwords of leaked
//! password sets, by rank), keeping those of 8 characters or more: `password_min_length` is
//! never below 8, so shorter ones are refused already. License: MIT, © 2016 Joshua Holmer
//! (`common_passwords.LICENSE`, beside this file). Rebuilt with:
//!
//! ```text
//! python3 -c 'import re,sys,zlib; s=re.search(r"PASSWORDS: &str = \"([^\"]*)\"", open(sys.argv[1]).read())[1]; \
//!   w=sorted({x.lower() for x in s.split(",") if len(x)>=8}); \
//!   open("common_passwords.zlib","wb").write(zlib.compress(("\n".join(w)+"\n").encode(),9))' \
//!   ~/.cargo/registry/src/*/zxcvbn-3.1.1/src/frequency_lists.rs
//! ```
//!
//! Inflated once, on first use, into a sorted `Vec` searched by binary search: about 1.5 ms in a
//! release build (unit test `the_list_loads_quickly`), so the first check runs inline; every
//! later check is a lowercase copy and ~14 comparisons.

use std::sync::LazyLock;

static COMPRESSED: &[u8] = include_bytes!("common_passwords.zlib");

static LIST: LazyLock<Vec<Box<str>>> = LazyLock::new(|| {
    let bytes = miniz_oxide::inflate::decompress_to_vec_zlib(COMPRESSED).expect("the shipped list inflates");
    let text = String::from_utf8(bytes).expect("the shipped list is UTF-8");
    let mut list: Vec<Box<str>> = text.lines().filter(|l| !l.is_empty()).map(Into::into).collect();
    // Sorted when built; sorting again costs little and keeps the binary search right whatever
    // the file's order.
    list.sort_unstable();
    list.dedup();
    list
});

/// Whether `password`, compared case-insensitively, is on the list.
pub fn is_common(password: &str) -> bool {
    // The list holds nothing longer than this; skip the copy for long passwords.
    if password.len() > 64 {
        return false;
    }
    let lower = password.to_lowercase();
    LIST.binary_search_by(|p| p.as_ref().cmp(lower.as_str())).is_ok()
}

/// Number of passwords on the list (loads it).
#[cfg(test)]
fn len() -> usize {
    LIST.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_passwords_are_found_whatever_their_case() {
        for p in ["password", "12345678", "qwerty123", "Qwerty123", "PASSWORD", "iloveyou", "sunshine", "football"] {
            assert!(is_common(p), "{p} should be common");
        }
    }

    #[test]
    fn uncommon_passwords_are_not() {
        for p in ["correct horse battery staple", "Xq7#pL2!vRm9", "", "passwor", "password-but-longer-9f3"] {
            assert!(!is_common(p), "{p} should not be common");
        }
        assert!(!is_common(&"a".repeat(2000)));
    }

    #[test]
    fn the_list_is_what_the_comment_says() {
        assert_eq!(len(), 11_611);
        assert!(LIST.iter().all(|p| p.chars().count() >= 8 && p.to_lowercase() == p.as_ref() && p.len() <= 64));
        assert!(COMPRESSED.len() < 100 * 1024);
    }
}
