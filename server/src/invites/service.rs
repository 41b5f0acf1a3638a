//! Invite rules.

use chrono::Duration;
use uuid::Uuid;

use super::store;
use crate::access::AdminPrincipal;
use crate::access::Origin;
use crate::audit::Action;
use crate::error::{Code, Error};
use crate::{
    apps::AppRef,
    audit::Entry,
    auth_config, clock,
    end_users::{
        identity::{Email, Username},
        service::{self as end_users, NewEndUser},
    },
    entity::invite,
    permissions, rbac,
    secrets::{self, hash_secret},
    sessions::{self, Tokens},
    state::AppState,
    tenants, write,
};

/// Prefix of invite codes.
pub const CODE_PREFIX: &str = "inv_";

pub struct NewInvite {
    pub email: String,
    pub expires_in_hours: u32,
    pub max_uses: u32,
    pub name: Option<String>,
    pub role_name: String,
    /// The tenant of the app the invitee joins with the invite's role.
    pub tenant_id: Option<Uuid>,
}

/// Who an invite admits: one address, or any address at a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InviteTarget {
    Address(Email),
    Domain(String),
}

impl InviteTarget {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        match raw.trim().strip_prefix("*@") {
            Some(domain) => {
                let probe = Email::parse_field("email", &format!("x@{domain}"))?;
                Ok(InviteTarget::Domain(probe.domain().to_owned()))
            }
            None => Email::parse(raw).map(InviteTarget::Address),
        }
    }

    fn stored(&self) -> String {
        match self {
            InviteTarget::Address(e) => e.as_str().to_owned(),
            InviteTarget::Domain(d) => format!("*@{d}"),
        }
    }
}

/// Creates an invite; returns it with the raw code (shown once).
pub async fn create(
    state: &AppState,
    principal: &AdminPrincipal,
    ctx: &Origin,
    app_id: Uuid,
    new: NewInvite,
) -> Result<(invite::Model, String), Error> {
    let app = crate::access::admin::visible(state, principal, app_id, permissions::INVITE_CREATE).await?;
    let target = InviteTarget::parse(&new.email)?;
    if !(1..=720).contains(&new.expires_in_hours) {
        return Err(Error::validation("expires_in_hours", "must be between 1 and 720"));
    }
    if !(1..=10_000).contains(&new.max_uses) {
        return Err(Error::validation("max_uses", "must be between 1 and 10000"));
    }
    let role = rbac::service::find_by_name(state, app_id, new.role_name.trim())
        .await?
        .ok_or_else(|| Error::new(Code::RoleNotFound, format!("no role named '{}'", new.role_name)))?;
    if let Some(tenant_id) = new.tenant_id {
        tenants::service::find(state, app_id, tenant_id).await?;
    }
    let code = format!("{CODE_PREFIX}{}", secrets::random_token());
    let now = clock::now();
    let mut unit = write::begin(&state.db, &state.bus).await?;
    let row = store::insert(
        unit.conn(),
        store::NewInvite {
            app_id,
            code_hash: hash_secret(&code),
            code_prefix: code.chars().take(12).collect(),
            email: target.stored(),
            name: new.name.map(|n| n.trim().chars().take(120).collect()).filter(|n: &String| !n.is_empty()),
            role_id: role.id,
            max_uses: new.max_uses as i32,
            created_by: principal.actor().id.unwrap_or_default(),
            now,
            expires_at: now + Duration::hours(new.expires_in_hours.into()),
            tenant_id: new.tenant_id,
        },
    )
    .await?;
    unit.audit(Entry::new(app_id, &principal.actor(), Action::InviteCreated, ctx).resource("invite", row.id).details(
        serde_json::json!({
            "email": row.email, "role": role.name, "max_uses": row.max_uses, "tenant_id": row.tenant_id,
        }),
    ))
    .await?;
    unit.commit().await?;
    if let (InviteTarget::Address(email), true) = (&target, state.mailer.enabled()) {
        let body = format!(
            "You are invited to join {}.\n\nYour invitation code: {code}\n\nIt expires at {}.\n",
            app.display_name, row.expires_at
        );
        // Best effort: the admin has the code in the response either way.
        if let Err(e) = state.mailer.send(email.as_str(), &format!("Invitation to {}", app.display_name), body).await {
            tracing::warn!(error = %e, invite = %row.id, "invitation email not sent");
        }
    }
    Ok((row, code))
}

pub async fn list(
    state: &AppState,
    principal: &AdminPrincipal,
    app_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<invite::Model>, Error> {
    crate::access::admin::visible(state, principal, app_id, permissions::INVITE_READ).await?;
    Ok(store::list(&state.db, app_id, after, limit).await?)
}

/// Soft-deletes an invite (sets `revoked_at`); revoking twice is harmless.
pub async fn revoke(
    state: &AppState,
    principal: &AdminPrincipal,
    ctx: &Origin,
    app_id: Uuid,
    invite_id: Uuid,
) -> Result<(), Error> {
    crate::access::admin::visible(state, principal, app_id, permissions::INVITE_REVOKE).await?;
    let row = store::find(&state.db, app_id, invite_id).await?.ok_or_else(|| Error::not_found("invite"))?;
    if row.revoked_at.is_some() {
        return Ok(());
    }
    let mut unit = write::begin(&state.db, &state.bus).await?;
    store::revoke(unit.conn(), row.id, clock::now()).await?;
    unit.audit(Entry::new(app_id, &principal.actor(), Action::InviteRevoked, ctx).resource("invite", row.id)).await?;
    unit.commit().await
}

/// Revokes the pending invites into a tenant that is being deleted, inside the deletion's
/// `unit` (its audit entry counts them); how many.
pub async fn revoke_into_tenant(unit: &mut write::Unit, app_id: Uuid, tenant_id: Uuid) -> Result<u64, Error> {
    Ok(store::revoke_into_tenant(unit.conn(), app_id, tenant_id, clock::now()).await?)
}

pub struct Acceptance {
    pub code: String,
    pub password: String,
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub email: Option<String>,
}

fn unusable(why: &str) -> Error {
    Error::new(Code::InviteUnusable, format!("the invite is {why}"))
}

/// A username from an email's local part: allowed characters only, at least 3 long.
fn username_from(email: &Email) -> String {
    let mut base: String = email
        .local_part()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        .take(56)
        .collect();
    while base.chars().count() < 3 {
        base.push('0');
    }
    base
}

/// Accepts an invite: creates the account (email verified, the invite's role) and signs it in.
pub async fn accept(state: &AppState, app: &AppRef, ctx: &Origin, a: Acceptance) -> Result<Tokens, Error> {
    app.require_active()?;
    let now = clock::now();
    let row = store::find_by_code_hash(&state.db, app.id, &hash_secret(a.code.trim()))
        .await?
        .ok_or_else(|| Error::new(Code::InviteNotFound, "no invite with this code"))?;
    if row.revoked_at.is_some() {
        return Err(unusable("revoked"));
    }
    if row.expires_at <= now {
        return Err(unusable("expired"));
    }
    if row.use_count >= row.max_uses {
        return Err(unusable("used up"));
    }
    let email = match (InviteTarget::parse(&row.email)?, a.email.as_deref()) {
        (InviteTarget::Address(invited), None) => invited,
        (InviteTarget::Address(invited), Some(given)) => {
            let given = Email::parse(given)?;
            if given.key() != invited.key() {
                return Err(Error::validation("email", "this invite is for another address"));
            }
            invited
        }
        (InviteTarget::Domain(_), None) => {
            return Err(Error::validation("email", "this invite is for a domain: send the address to register"));
        }
        (InviteTarget::Domain(domain), Some(given)) => {
            let given = Email::parse(given)?;
            if given.domain() != domain {
                return Err(Error::validation("email", format!("this invite is for addresses at {domain}")));
            }
            given
        }
    };
    let config = auth_config::load(&state.db, app.id).await?;
    config.check_password(&a.password)?;
    let display_name = end_users::display_name(a.display_name.as_deref())?;
    let explicit_username = a.username.as_deref().map(Username::parse).transpose()?;
    let hash = state.passwords.hash(&a.password).await?;

    let mut unit = write::begin(&state.db, &state.bus).await?;
    if !store::claim_use(unit.conn(), row.id, now).await? {
        return Err(unusable("used up"));
    }
    let username = match explicit_username {
        Some(u) => u,
        None => {
            let base = username_from(&email);
            let mut candidate = Username::parse(&base)?;
            for _ in 0..5 {
                if !end_users::username_taken(&unit, app.id, &candidate).await? {
                    break;
                }
                let suffix = u16::from_be_bytes(secrets::random_bytes::<2>()) % 10_000;
                candidate = Username::parse(&format!("{base}-{suffix:04}"))?;
            }
            candidate
        }
    };
    let user = end_users::insert(
        &unit,
        app.id,
        NewEndUser {
            username,
            email: Some(email),
            email_verified: true,
            display_name,
            password_hash: Some(hash),
            role_id: Some(row.role_id),
        },
    )
    .await?;
    // A tenant invite makes the new account a member with the invite's role, and signs it in to
    // the tenant.
    if let Some(tenant_id) = row.tenant_id
        && !tenants::service::join(&mut unit, app.id, tenant_id, user.id, row.role_id).await?
    {
        return Err(unusable("for a tenant that no longer exists"));
    }
    let opened = sessions::service::open(&mut unit, app.id, &user, &["pwd"], ctx, &config, row.tenant_id).await?;
    unit.audit(
        Entry::new(app.id, &sessions::service::user_actor(user.id), Action::InviteAccepted, ctx)
            .resource("invite", row.id)
            .details(serde_json::json!({ "end_user_id": user.id, "tenant_id": row.tenant_id })),
    )
    .await?;
    unit.commit().await?;
    sessions::service::tokens_for(state, app, &user, &opened.session, opened.refresh, None).await
}

/// Accepts a tenant invite with an existing account (the signed-in `user`): its verified email
/// must be the invited address, or at the invited domain. Makes the user a member of the
/// invite's tenant with the invite's role (a role they already held there is replaced) and
/// returns the tenant's id and the role's id.
pub async fn accept_as_member(
    state: &AppState,
    app: &AppRef,
    ctx: &Origin,
    user: &crate::entity::end_user::Model,
    code: &str,
) -> Result<(Uuid, Uuid), Error> {
    app.require_active()?;
    let now = clock::now();
    let row = store::find_by_code_hash(&state.db, app.id, &hash_secret(code.trim()))
        .await?
        .ok_or_else(|| Error::new(Code::InviteNotFound, "no invite with this code"))?;
    let Some(tenant_id) = row.tenant_id else {
        return Err(Error::new(Code::Conflict, "this invite creates a new account; accept it at /auth/accept-invite"));
    };
    if row.revoked_at.is_some() {
        return Err(unusable("revoked"));
    }
    if row.expires_at <= now {
        return Err(unusable("expired"));
    }
    let verified = user.email.as_deref().filter(|_| user.email_verified_at.is_some()).map(Email::parse).transpose()?;
    let Some(email) = verified else {
        return Err(Error::forbidden("a tenant invite is accepted by an account with a verified email"));
    };
    let matches = match InviteTarget::parse(&row.email)? {
        InviteTarget::Address(invited) => invited.key() == email.key(),
        InviteTarget::Domain(domain) => email.domain() == domain,
    };
    if !matches {
        return Err(Error::forbidden("this invite is for another address"));
    }
    let mut unit = write::begin(&state.db, &state.bus).await?;
    if !store::claim_use(unit.conn(), row.id, now).await? {
        return Err(unusable("used up"));
    }
    if !tenants::service::join(&mut unit, app.id, tenant_id, user.id, row.role_id).await? {
        return Err(unusable("for a tenant that no longer exists"));
    }
    unit.audit(
        Entry::new(app.id, &sessions::service::user_actor(user.id), Action::InviteAccepted, ctx)
            .resource("invite", row.id)
            .details(serde_json::json!({ "end_user_id": user.id, "tenant_id": tenant_id, "existing_account": true })),
    )
    .await?;
    unit.commit().await?;
    Ok((tenant_id, row.role_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invite_targets_parse() {
        assert_eq!(InviteTarget::parse("*@Example.com").unwrap(), InviteTarget::Domain("example.com".into()));
        assert!(matches!(InviteTarget::parse("a@b.io").unwrap(), InviteTarget::Address(_)));
        assert!(InviteTarget::parse("*@nodot").is_err());
        assert_eq!(username_from(&Email::parse("a+b@x.io").unwrap()), "ab0");
    }
}
