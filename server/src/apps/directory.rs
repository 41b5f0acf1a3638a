//! Slug → app resolution for the consumer surface, cached: every consumer request starts here,
//! so it must not cost a database round trip. Kept coherent through [`crate::coherence`].

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use uuid::Uuid;

use super::store;
use crate::{
    clock,
    db::Db,
    entity::app::AppStatus,
    error::{Code, Error},
};

/// How long a resolution is trusted without an invalidation.
const TTL: Duration = Duration::from_secs(30);

/// What consumer routes need to know about an app.
#[derive(Debug, Clone)]
pub struct AppRef {
    pub id: Uuid,
    pub workspace_id: Uuid,
    /// The current slug (differs from the requested one when resolved through an alias).
    pub slug: String,
    pub status: AppStatus,
    pub via_alias: bool,
}

impl AppRef {
    /// `app_inactive` unless the app is active (suspended and archived apps refuse sign-ins).
    pub fn require_active(&self) -> Result<(), Error> {
        if self.status == AppStatus::Active {
            Ok(())
        } else {
            Err(Error::new(Code::AppInactive, format!("the app is {}", self.status.as_str())))
        }
    }
}

/// When a slug was resolved, and to what (`None`: no such app).
type Resolution = (Instant, Option<Arc<AppRef>>);

#[derive(Default)]
pub struct Directory {
    by_slug: RwLock<HashMap<String, Resolution>>,
}

/// 404 `app_not_found` for `slug`, named only when it is a well-formed slug: the message never
/// repeats arbitrary text from the URL.
pub fn no_such_app(slug: &str) -> Error {
    match super::slug::AppSlug::parse(slug) {
        Ok(slug) => Error::new(Code::AppNotFound, format!("no app with slug '{}'", slug.as_str())),
        Err(_) => Error::new(Code::AppNotFound, "no app with this slug"),
    }
}

impl Directory {
    /// Resolves a slug (or a recent former slug); 404 `app_not_found` if neither.
    pub async fn resolve(&self, db: &Db, slug: &str) -> Result<Arc<AppRef>, Error> {
        let cached = self.by_slug.read().expect("directory lock").get(slug).cloned();
        let found = match cached {
            Some((at, found)) if at.elapsed() < TTL => found,
            // Boxed: the query's future is large and every consumer request's future would
            // otherwise carry (and copy) it.
            _ => Box::pin(self.load(db, slug)).await?,
        };
        found.ok_or_else(|| no_such_app(slug))
    }

    async fn load(&self, db: &Db, slug: &str) -> Result<Option<Arc<AppRef>>, Error> {
        let found = store::resolve_slug(db, slug, clock::now()).await?.map(|(app, via_alias)| {
            Arc::new(AppRef {
                id: app.id,
                workspace_id: app.workspace_id,
                slug: app.slug,
                status: app.status,
                via_alias,
            })
        });
        let mut map = self.by_slug.write().expect("directory lock");
        if map.len() > 100_000 {
            map.clear();
        }
        map.insert(slug.to_owned(), (Instant::now(), found.clone()));
        Ok(found)
    }

    /// Forgets everything about `app_id` (and every negative answer, since a rename may have
    /// freed or taken a slug).
    pub fn invalidate(&self, app_id: Uuid) {
        self.by_slug
            .write()
            .expect("directory lock")
            .retain(|_, (_, found)| found.as_ref().is_some_and(|a| a.id != app_id));
    }

    pub fn clear(&self) {
        self.by_slug.write().expect("directory lock").clear();
    }
}

#[cfg(test)]
mod tests {
    use super::no_such_app;

    #[test]
    fn a_missing_app_is_named_only_by_a_well_formed_slug() {
        assert_eq!(no_such_app("acme").message, "no app with slug 'acme'");
        for raw in ["\"\\<script>é", "ACME", "a b", "oauth"] {
            assert_eq!(no_such_app(raw).message, "no app with this slug", "{raw}");
        }
    }
}
