//! Minting and consuming codes.

use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::store::{self, NewCode};
use crate::access::Origin;
use crate::error::{Code, Error};
use crate::{
    apps::AppRef,
    auth_config, clock, db,
    end_users::{self, identity::Email},
    entity::{end_user, one_time_code},
    ratelimit::{self, Limit, Reservation},
    secrets::{hash_secret, random_bytes},
    state::AppState,
    write,
};

/// How long a code lives.
pub const LIFETIME: chrono::Duration = chrono::Duration::minutes(10);
/// Code attempts per client address (an IPv4 address or an IPv6 /64) per app per window,
/// counted before they are evaluated; a successful one is given back.
pub const ADDRESS_LIMIT: Limit = Limit { max: 5, window: Duration::from_secs(600) };
/// How many of the app's code attempts for its purpose, from any address, a code answers after
/// its mint: once that many have been evaluated, it is dead (410 like any invalid code).
pub const EXPOSURE: i64 = 100;

/// What a code is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    PasswordReset,
    EmailVerification,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::PasswordReset => "password_reset",
            Purpose::EmailVerification => "email_verification",
        }
    }
}

fn code_hash(app_id: Uuid, code: &str) -> String {
    hash_secret(&format!("{app_id}:{code}"))
}

/// Six uniformly random digits.
fn new_code() -> String {
    loop {
        let n = u32::from_be_bytes(random_bytes::<4>());
        // Reject the top sliver so every code is equally likely.
        if n < u32::MAX - (u32::MAX % 1_000_000) {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

/// The account a code for `purpose` may be minted for: password resets need a verified email,
/// verification codes an unverified one.
pub async fn eligible_account(
    state: &AppState,
    app: &AppRef,
    purpose: Purpose,
    email: &Email,
) -> Result<Option<end_user::Model>, Error> {
    let user = end_users::service::find_by_email(state, app.id, &email.key()).await?;
    Ok(user.filter(|u| {
        u.is_active()
            && match purpose {
                Purpose::PasswordReset => u.email_verified_at.is_some(),
                Purpose::EmailVerification => u.email_verified_at.is_none(),
            }
    }))
}

/// Mints a code for `user` (superseding older ones), or — with no user — writes a dead decoy
/// row, so both paths do the same work and take the same time.
pub async fn mint(
    state: &AppState,
    app: &AppRef,
    purpose: Purpose,
    user: Option<&end_user::Model>,
) -> Result<Option<(String, DateTime<Utc>)>, Error> {
    for _ in 0..5 {
        let now = clock::now();
        let code = new_code();
        let unit = write::begin(&state.db, &state.bus).await?;
        let attempts_at_mint = store::attempts(unit.conn(), app.id, purpose.as_str()).await?;
        store::delete_for(unit.conn(), app.id, user.map(|u| u.id).unwrap_or(Uuid::nil()), purpose.as_str()).await?;
        let new = NewCode {
            app_id: app.id,
            end_user_id: user.map(|u| u.id),
            purpose: if user.is_some() { purpose.as_str().into() } else { "decoy".into() },
            code_hash: code_hash(app.id, &code),
            contact: user.and_then(|u| u.email_key.clone()),
            now,
            expires_at: now + LIFETIME,
            used_at: if user.is_some() { None } else { Some(now) },
            attempts_at_mint,
        };
        match store::insert(unit.conn(), new).await {
            Ok(row) => {
                unit.commit_unaudited("a code is a credential handed to the caller; its use is audited").await?;
                return Ok(user.map(|_| (code, row.expires_at)));
            }
            // The same six digits are already stored for this app: draw again.
            Err(e) if db::is_unique_violation(&e) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::internal("could not draw a unique code"))
}

fn gone() -> Error {
    Error::new(Code::CodeInvalid, "the code is invalid, expired or already used")
}

/// The account a consumed code was for — provided it still has the address the code was sent
/// to: once the email changed, the old address must not be able to act on the account.
pub async fn account_for(
    state: &AppState,
    app: &AppRef,
    code: &one_time_code::Model,
) -> Result<end_user::Model, Error> {
    let user = match code.end_user_id {
        Some(id) => end_users::service::find(state, app.id, id).await?,
        None => None,
    };
    user.filter(|u| u.email_key.is_some() && u.email_key == code.contact).ok_or_else(gone)
}

/// 400 unless `raw` is six digits.
pub fn parse_code(raw: &str) -> Result<String, Error> {
    let code = raw.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::validation("code", "must be 6 digits"));
    }
    Ok(code.to_owned())
}

/// A code attempt admitted by the caller's address budget, not yet evaluated.
#[must_use = "an attempt is either consumed or given back"]
struct Attempt(Reservation);

/// Admits one code attempt from the caller's address: 429 with `Retry-After` once the address
/// has had `ADDRESS_LIMIT` attempts evaluated in the window. Counted before the attempt is
/// evaluated, so concurrent attempts get no more than the budget between them.
async fn admit(state: &AppState, app: &AppRef, ctx: &Origin) -> Result<Attempt, Error> {
    let key = format!("codes:ip:{}:{}", app.id, ratelimit::client_address(ctx.ip));
    Ok(Attempt(state.limits.reserve(&key, ADDRESS_LIMIT).await?))
}

impl Attempt {
    /// Returns the attempt unevaluated (the request failed for another reason).
    async fn give_back(self, state: &AppState) {
        state.limits.release(self.0).await;
    }
}

/// Consumes a code with an admitted attempt: 410 for a wrong, expired or used code, and for a
/// right one that more than `EXPOSURE` of the app's attempts were weighed against since its mint.
/// A wrong code keeps its attempt counted; a consumed one gives it back.
async fn consume(
    state: &AppState,
    app: &AppRef,
    purpose: Purpose,
    code: &str,
    attempt: Attempt,
) -> Result<one_time_code::Model, Error> {
    // The number is drawn before the lookup, so no burst of attempts, however spread over
    // addresses and instances, is weighed against a code without being counted first.
    let drawn = store::draw_attempt(&state.db, app.id, purpose.as_str()).await?;
    let now = clock::now();
    let found = store::find(&state.db, app.id, &code_hash(app.id, code), purpose.as_str())
        .await?
        .filter(|c| c.used_at.is_none() && c.expires_at > now && drawn - c.attempts_at_mint <= EXPOSURE);
    let claimed = match &found {
        // A single conditional update: exactly one concurrent consumer wins.
        Some(row) => store::claim(&state.db, row.id, now).await?,
        None => false,
    };
    match found {
        Some(row) if claimed => {
            // Only wrong attempts use up a code's exposure or an address's budget. Best effort:
            // the code is claimed already, and a number not given back only errs on the safe side.
            if let Err(e) = store::return_attempt(&state.db, app.id, purpose.as_str()).await {
                tracing::warn!(error = %e, "could not give back a code attempt");
            }
            attempt.give_back(state).await;
            Ok(row)
        }
        _ => Err(gone()),
    }
}

/// Deletes codes that expired more than a day ago.
pub async fn prune(state: &AppState) -> Result<u64, Error> {
    let cutoff = clock::now() - chrono::Duration::days(1);
    Ok(store::prune(&state.db, cutoff).await?)
}

/// Resets a password with a reset code: the new password is checked and hashed first (a busy
/// hashing queue, 503, burns neither the code nor the attempt), then the code is consumed, the
/// password set and every session of the account ended.
pub async fn reset_password(
    state: &AppState,
    app: &AppRef,
    ctx: &Origin,
    raw_code: &str,
    new_password: &str,
) -> Result<(), Error> {
    let code = parse_code(raw_code)?;
    let config = auth_config::load(&state.db, app.id).await?;
    config.check_password(new_password)?;
    // Admitted before hashing, so a client over its budget costs no argon2 work either.
    let attempt = admit(state, app, ctx).await?;
    let hash = match state.passwords.hash(new_password).await {
        Ok(hash) => hash,
        Err(e) => {
            attempt.give_back(state).await;
            return Err(e);
        }
    };
    let row = consume(state, app, Purpose::PasswordReset, &code, attempt).await?;
    let user = account_for(state, app, &row).await?;
    end_users::service::reset_password(state, ctx, app.id, user, hash).await
}

/// Verifies the contact a verification code was sent to; returns the account.
pub async fn verify_contact(
    state: &AppState,
    app: &AppRef,
    ctx: &Origin,
    raw_code: &str,
) -> Result<end_user::Model, Error> {
    let code = parse_code(raw_code)?;
    let attempt = admit(state, app, ctx).await?;
    let row = consume(state, app, Purpose::EmailVerification, &code, attempt).await?;
    let user = account_for(state, app, &row).await?;
    end_users::service::verify_email(state, ctx, app.id, user).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..1000 {
            let c = new_code();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
        assert!(parse_code("12345a").is_err());
        assert_eq!(parse_code(" 012345 ").unwrap(), "012345");
    }
}
