//! Who is calling the admin API: a platform API key (workspace-wide) or an app API key (one app),
//! each with the permissions it was given. Plain data: services decide with it, and nothing here
//! knows how the credential travelled.

use uuid::Uuid;

use crate::{
    audit::{Actor, ActorKind},
    entity::app,
    error::Error,
    permissions,
};

/// Who is calling the admin API.
#[derive(Debug, Clone)]
pub enum AdminPrincipal {
    Platform { key_id: Uuid, workspace_id: Uuid, permissions: Vec<String> },
    App { key_id: Uuid, app_id: Uuid, workspace_id: Uuid, permissions: Vec<String> },
}

impl AdminPrincipal {
    pub fn actor(&self) -> Actor {
        match self {
            AdminPrincipal::Platform { key_id, .. } => Actor::new(ActorKind::PlatformApiKey, key_id),
            AdminPrincipal::App { key_id, .. } => Actor::new(ActorKind::AppApiKey, key_id),
        }
    }

    pub fn workspace_id(&self) -> Uuid {
        match self {
            AdminPrincipal::Platform { workspace_id, .. } | AdminPrincipal::App { workspace_id, .. } => *workspace_id,
        }
    }

    /// The key's id, which scopes idempotency records.
    pub fn key_id(&self) -> Uuid {
        match self {
            AdminPrincipal::Platform { key_id, .. } | AdminPrincipal::App { key_id, .. } => *key_id,
        }
    }

    pub fn permissions(&self) -> &[String] {
        match self {
            AdminPrincipal::Platform { permissions, .. } | AdminPrincipal::App { permissions, .. } => permissions,
        }
    }

    /// 403 unless the key holds `permission`.
    pub fn require(&self, permission: &str) -> Result<(), Error> {
        if permissions::grants(self.permissions(), permission) {
            Ok(())
        } else {
            Err(Error::forbidden(format!("this key lacks the permission '{permission}'"))
                .with_details(serde_json::json!({ "missing_permission": permission })))
        }
    }

    /// Workspace-level operations (creating and listing apps, stats) need a platform key.
    pub fn require_platform(&self) -> Result<Uuid, Error> {
        match self {
            AdminPrincipal::Platform { workspace_id, .. } => Ok(*workspace_id),
            AdminPrincipal::App { .. } => {
                Err(Error::forbidden("app API keys are limited to their app; this operation needs a platform API key"))
            }
        }
    }

    /// `app` if this key may see it and holds `permission`. Apps it cannot see are `not_found`,
    /// never `forbidden`, so keys cannot probe for other tenants' apps.
    pub fn visible(&self, app: Option<app::Model>, permission: &str) -> Result<app::Model, Error> {
        let app = app.filter(|a| self.can_see(a)).ok_or_else(|| Error::not_found("app"))?;
        self.require(permission)?;
        Ok(app)
    }

    /// Whether this key may see `app` at all. Apps it cannot see are reported as not found,
    /// never as forbidden, so keys cannot probe for other tenants' apps.
    pub fn can_see(&self, app: &app::Model) -> bool {
        match self {
            AdminPrincipal::Platform { workspace_id, .. } => app.workspace_id == *workspace_id,
            AdminPrincipal::App { app_id, .. } => app.id == *app_id,
        }
    }
}
