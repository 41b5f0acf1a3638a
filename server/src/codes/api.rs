//! Consumer HTTP surface of codes: minting (PAK lane) and consuming (public).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use poem::{Request, web::Data};
use poem_openapi::{Object, OpenApi, param::Path, payload::Json};
use uuid::Uuid;

use super::service::{self, Purpose};
use crate::access::api::AdminKey;
use crate::http::strict_json::StrictJson;
use crate::tags::ApiTags;
use crate::{
    end_users::identity::Email,
    http::{
        error::{Error, ErrorSet, Errors},
        responses::NoContent,
    },
    permissions,
    state::AppState,
};

/// Errors of the minting endpoints (PAK lane).
pub struct MintErrors;
impl ErrorSet for MintErrors {
    const STATUSES: &'static [u16] = &[400, 401, 403, 404, 412, 500, 503];
}

/// Errors of the consuming endpoints.
pub struct ConsumeErrors;
impl ErrorSet for ConsumeErrors {
    const STATUSES: &'static [u16] = &[400, 404, 410, 429, 500, 503];
}

/// The contact to send a code to: exactly one of `email` or `phone`.
#[derive(Debug, Clone, Object)]
pub struct ContactRequest {
    /// The email to send the code to.
    #[oai(nullable)]
    pub email: Option<String>,
    /// Accepted for compatibility; accounts have no phone contacts, so this always answers `{}`.
    #[oai(nullable)]
    pub phone: Option<String>,
}

/// A freshly minted code, or `{}` when nothing matched — the same shape either way, so the
/// answer does not tell whether the account exists.
#[derive(Debug, Clone, Object)]
pub struct CodeIssued {
    /// Six digits, for the caller to deliver. Absent when nothing matched.
    #[oai(skip_serializing_if_is_none)]
    pub code: Option<String>,
    /// The code stops working 10 minutes after it was minted.
    #[oai(skip_serializing_if_is_none)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// A verification email was sent, or `{}` when nothing matched.
#[derive(Debug, Clone, Object)]
pub struct CodeDispatched {
    /// When the emailed code stops working; absent when nothing matched.
    #[oai(skip_serializing_if_is_none)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// An address to send a verification email to.
#[derive(Debug, Clone, Object)]
pub struct EmailRequest {
    /// The address to send the verification email to.
    pub email: String,
}

/// A password reset.
#[derive(Debug, Clone, Object)]
pub struct ResetPasswordRequest {
    /// The six-digit code.
    pub code: String,
    /// Checked against the app's password policy, the common-password list included (400
    /// `weak_password`), before the code is used.
    pub new_password: String,
}

/// A code to consume.
#[derive(Debug, Clone, Object)]
pub struct VerifyCodeRequest {
    /// The six-digit code.
    pub code: String,
}

/// A contact that was just verified.
#[derive(Debug, Clone, Object)]
pub struct ContactVerified {
    /// The account whose contact was verified.
    pub account_id: Uuid,
    /// The primary email contact shares the account's id.
    pub contact_id: Uuid,
    /// `email`.
    #[oai(rename = "type")]
    pub contact_type: String,
    /// The normalised address (domain in lowercase).
    pub value: String,
    /// When the contact was verified.
    pub verified_at: DateTime<Utc>,
}

fn email_of(req: &ContactRequest) -> Result<Option<Email>, Error> {
    match (&req.email, &req.phone) {
        (Some(e), None) => Email::parse(e).map(Some),
        (None, Some(_)) => Ok(None),
        _ => Err(Error::validation("email", "send exactly one of email or phone")),
    }
}

pub struct CodesApi;

impl CodesApi {
    async fn mint(
        state: &AppState,
        key: &AdminKey,
        slug: &str,
        purpose: Purpose,
        permission: &str,
        req: ContactRequest,
    ) -> Result<CodeIssued, Error> {
        let app = crate::access::end_user::consumer_app(state, slug).await?;
        crate::access::api::admin_for_app(state, key, &app, permission).await?;
        let email = email_of(&req)?;
        let user = match &email {
            Some(e) => service::eligible_account(state, &app, purpose, e).await?,
            None => None,
        };
        let minted = service::mint(state, &app, purpose, user.as_ref()).await?;
        Ok(match minted {
            Some((code, expires_at)) => CodeIssued { code: Some(code), expires_at: Some(expires_at) },
            None => CodeIssued { code: None, expires_at: None },
        })
    }
}

#[OpenApi]
impl CodesApi {
    /// Mint a password-reset code
    ///
    /// For a backend that delivers the code itself: needs a platform or app API key holding
    /// `auth.user.password-reset.create`. The contact must be the account's *verified* email.
    /// Answers `{code, expires_at}`, or `{}` when nothing matches. A newer code replaces older
    /// ones.
    #[oai(
        path = "/:app_slug/v1/auth/request-password-reset",
        method = "post",
        operation_id = "auth_request_password_reset",
        tag = "ApiTags::Auth"
    )]
    async fn request_reset(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        /// The app's slug.
        app_slug: Path<String>,
        body: StrictJson<ContactRequest>,
    ) -> Result<Json<CodeIssued>, Errors<MintErrors>> {
        let issued =
            Self::mint(&state, &auth, &app_slug.0, Purpose::PasswordReset, permissions::PASSWORD_RESET_CREATE, body.0)
                .await?;
        Ok(Json(issued))
    }

    /// Reset a password
    ///
    /// Consumes a password-reset code, sets the new password and ends every session of the
    /// account. 410 `code_invalid` for a wrong, expired or used code; 429 once the failure budget
    /// (10 wrong codes per app per 10 minutes, 5 per IP) is spent.
    #[oai(
        path = "/:app_slug/v1/auth/reset-password",
        method = "post",
        operation_id = "auth_reset_password",
        tag = "ApiTags::Auth"
    )]
    async fn reset_password(
        &self,
        state: Data<&Arc<AppState>>,
        req: &Request,
        /// The app's slug.
        app_slug: Path<String>,
        body: StrictJson<ResetPasswordRequest>,
    ) -> Result<NoContent, Errors<ConsumeErrors>> {
        let app = crate::access::end_user::consumer_app(&state, &app_slug.0).await?;
        let ctx = crate::http::context::origin(req);
        service::reset_password(&state, &app, &ctx, &body.0.code, &body.0.new_password).await?;
        Ok(NoContent::NoContent)
    }

    /// Mint a contact-verification code
    ///
    /// For a backend that delivers the code itself: needs an API key holding
    /// `auth.user.verify.create`. Answers `{code, expires_at}`, or `{}` when the contact is
    /// unknown or already verified.
    #[oai(
        path = "/:app_slug/v1/auth/request-verification",
        method = "post",
        operation_id = "auth_request_verification",
        tag = "ApiTags::Auth"
    )]
    async fn request_verification(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        /// The app's slug.
        app_slug: Path<String>,
        body: StrictJson<ContactRequest>,
    ) -> Result<Json<CodeIssued>, Errors<MintErrors>> {
        let issued =
            Self::mint(&state, &auth, &app_slug.0, Purpose::EmailVerification, permissions::VERIFY_CREATE, body.0)
                .await?;
        Ok(Json(issued))
    }

    /// Send a verification email
    ///
    /// Mints a verification code and emails it (the code is not returned). Needs an API key
    /// holding `auth.user.verify.send-email`. 412 `ENVOI_NOT_ENABLED` when the server has no
    /// SMTP settings; 503 `ENVOI_DISPATCH_FAILED` when the mail server refuses. Answers
    /// `{expires_at}`, or `{}` when the contact is unknown or already verified.
    #[oai(
        path = "/:app_slug/v1/auth/send-verification-email",
        method = "post",
        operation_id = "auth_send_verification_email",
        tag = "ApiTags::Auth"
    )]
    async fn send_verification_email(
        &self,
        state: Data<&Arc<AppState>>,
        auth: AdminKey,
        /// The app's slug.
        app_slug: Path<String>,
        body: StrictJson<EmailRequest>,
    ) -> Result<Json<CodeDispatched>, Errors<MintErrors>> {
        let app = crate::access::end_user::consumer_app(&state, &app_slug.0).await?;
        crate::access::api::admin_for_app(&state, &auth, &app, permissions::VERIFY_SEND_EMAIL).await?;
        state.mailer.require()?;
        let email = Email::parse(&body.0.email)?;
        let user = service::eligible_account(&state, &app, Purpose::EmailVerification, &email).await?;
        let Some((code, expires_at)) = service::mint(&state, &app, Purpose::EmailVerification, user.as_ref()).await?
        else {
            return Ok(Json(CodeDispatched { expires_at: None }));
        };
        let body = format!(
            "Your verification code for {} is {code}.\n\nIt expires in 10 minutes. If you did not ask for it, ignore this message.\n",
            app.slug
        );
        state.mailer.send(email.as_str(), "Your verification code", body).await?;
        Ok(Json(CodeDispatched { expires_at: Some(expires_at) }))
    }

    /// Verify a contact
    ///
    /// Consumes a verification code and marks the contact verified; the account is found from
    /// the code alone. 410 `code_invalid` for a wrong, expired or used code (or when the
    /// account's email changed since); 429 once the failure budget is spent.
    #[oai(
        path = "/:app_slug/v1/auth/verify",
        method = "post",
        operation_id = "auth_verify_contact",
        tag = "ApiTags::Auth"
    )]
    async fn verify(
        &self,
        state: Data<&Arc<AppState>>,
        req: &Request,
        /// The app's slug.
        app_slug: Path<String>,
        body: StrictJson<VerifyCodeRequest>,
    ) -> Result<Json<ContactVerified>, Errors<ConsumeErrors>> {
        let app = crate::access::end_user::consumer_app(&state, &app_slug.0).await?;
        let ctx = crate::http::context::origin(req);
        let user = service::verify_contact(&state, &app, &ctx, &body.0.code).await?;
        Ok(Json(ContactVerified {
            account_id: user.id,
            contact_id: user.id,
            contact_type: "email".into(),
            value: user.email.unwrap_or_default(),
            verified_at: user.email_verified_at.unwrap_or_else(crate::clock::now),
        }))
    }
}

/// The codes each operation answers beyond those every operation of its kind answers
/// (`http::spec` adds both to the spec).
pub const ERROR_CODES: crate::http::spec::OperationCodes = {
    #[allow(unused_imports)]
    use crate::error::Code::*;
    &[
        ("auth_request_password_reset", &[Unauthorized, Forbidden, AppInactive]),
        ("auth_request_verification", &[Unauthorized, Forbidden, AppInactive]),
        (
            "auth_send_verification_email",
            &[Unauthorized, Forbidden, AppInactive, MailNotConfigured, MailDispatchFailed],
        ),
        ("auth_reset_password", &[CodeInvalid, WeakPassword]),
        ("auth_verify_contact", &[CodeInvalid]),
    ]
};
