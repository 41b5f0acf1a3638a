//! Outgoing mail over SMTP (`HEIMDALL_SMTP_URL`). Optional: without it, flows that must send mail
//! answer 412 `ENVOI_NOT_ENABLED`, and PAK callers receive codes to deliver themselves.

use std::time::Duration;

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
};

use crate::error::Code;
use crate::error::Error;

pub struct Mailer {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
}

impl Mailer {
    /// Builds the transport; errors name the variable at fault.
    pub fn from_config(url: Option<&str>, from: &str) -> anyhow::Result<Self> {
        let from: Mailbox =
            from.parse().map_err(|e| anyhow::anyhow!("HEIMDALL_SMTP_FROM: '{from}' is not a mailbox ({e})"))?;
        let transport = url
            .map(|url| {
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map(|b| b.timeout(Some(Duration::from_secs(10))).build())
                    .map_err(|e| anyhow::anyhow!("HEIMDALL_SMTP_URL: not a usable SMTP URL ({e})"))
            })
            .transpose()?;
        Ok(Mailer { transport, from })
    }

    pub fn enabled(&self) -> bool {
        self.transport.is_some()
    }

    /// 412 `ENVOI_NOT_ENABLED` unless mail can be sent.
    pub fn require(&self) -> Result<(), Error> {
        if self.enabled() {
            Ok(())
        } else {
            Err(Error::new(
                Code::MailNotConfigured,
                "mail delivery is not configured on this server (HEIMDALL_SMTP_URL)",
            ))
        }
    }

    /// Sends a plain-text message; 503 `ENVOI_DISPATCH_FAILED` if the SMTP server refuses it.
    pub async fn send(&self, to: &str, subject: &str, body: String) -> Result<(), Error> {
        self.require()?;
        let transport = self.transport.as_ref().expect("checked above");
        let to: Mailbox = to.parse().map_err(|_| Error::validation("email", "is not a deliverable address"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(Error::internal)?;
        transport.send(message).await.map(|_| ()).map_err(|e| {
            tracing::warn!(error = %e, "mail dispatch failed");
            Error::new(Code::MailDispatchFailed, "the mail server did not accept the message")
        })
    }
}
