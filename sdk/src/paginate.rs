//! Streams over every page of a cursor-paginated list.
//!
//! Every Heimdall list answers `{data, pagination: {has_more, next_cursor}}` and takes
//! `?limit=&cursor=`. [`paginate`] turns "fetch the page after this cursor" into a
//! [`futures::Stream`] of items that requests the next page only when the previous one is used
//! up; [`pages`] yields whole pages. Both work with any list operation: the scoped helpers
//! (`app.end_users().stream(..)`) use them, and so can raw generated builders:
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use heimdall_sdk::{Heimdall, paginate, prelude::*};
//!
//! # async fn example(heimdall: Heimdall) -> Result<(), heimdall_sdk::Error> {
//! let client = heimdall.client().clone();
//! let apps: Vec<_> = paginate(move |cursor| {
//!     let client = client.clone();
//!     async move {
//!         let mut request = client.app_list().limit(100u32);
//!         if let Some(cursor) = cursor {
//!             request = request.cursor(cursor);
//!         }
//!         request.send().await
//!     }
//! })
//! .try_collect()
//! .await?;
//! # Ok(())
//! # }
//! ```

use std::future::Future;

use futures::{Stream, TryStreamExt, stream};

use crate::{Error, ResponseValue, types};

/// One page of a paginated list: its items and where the next page starts. Every list answer of
/// the API implements it; the implementations are generated with the scope wrappers
/// (`scoped/generated.rs`), from the spec's lists.
pub trait Page {
    /// The type of the listed items.
    type Item;

    /// The page's pagination.
    fn pagination(&self) -> &types::Pagination;

    /// The page's items.
    fn into_items(self) -> Vec<Self::Item>;
}

impl<P: Page> Page for ResponseValue<P> {
    type Item = P::Item;

    fn pagination(&self) -> &types::Pagination {
        (**self).pagination()
    }

    fn into_items(self) -> Vec<Self::Item> {
        self.into_inner().into_items()
    }
}

/// Every page of a list, starting at the first: `fetch` gets the `cursor` of the page to load
/// (`None` for the first). Stops after a page without `next_cursor` or with `has_more: false`,
/// and with an error if the server repeats a cursor (which would otherwise loop forever).
pub fn pages<P, E, F, Fut>(fetch: F) -> impl Stream<Item = Result<P, Error>>
where
    P: Page,
    E: Into<Error>,
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<P, E>>,
{
    pages_from(None, fetch)
}

/// Like [`pages`], starting at `cursor` instead of the first page.
pub fn pages_from<P, E, F, Fut>(cursor: Option<String>, fetch: F) -> impl Stream<Item = Result<P, Error>>
where
    P: Page,
    E: Into<Error>,
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<P, E>>,
{
    struct State<F> {
        fetch: F,
        cursor: Option<String>,
        done: bool,
    }
    stream::try_unfold(State { fetch, cursor, done: false }, |mut state| async move {
        if state.done {
            return Ok(None);
        }
        let page = (state.fetch)(state.cursor.clone()).await.map_err(Into::into)?;
        let pagination = page.pagination();
        match pagination.next_cursor.clone().filter(|_| pagination.has_more) {
            Some(next) if Some(&next) == state.cursor.as_ref() => {
                return Err(Error::InvalidResponse {
                    status: None,
                    message: format!("the server returned the cursor `{next}` of the page it answered"),
                });
            }
            Some(next) => state.cursor = Some(next),
            None => state.done = true,
        }
        Ok(Some((page, state)))
    })
}

/// Every item of a list, page after page; see [`pages`].
pub fn paginate<P, E, F, Fut>(fetch: F) -> impl Stream<Item = Result<P::Item, Error>>
where
    P: Page,
    E: Into<Error>,
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<P, E>>,
{
    paginate_from(None, fetch)
}

/// Like [`paginate`], starting at `cursor` instead of the first page.
pub fn paginate_from<P, E, F, Fut>(cursor: Option<String>, fetch: F) -> impl Stream<Item = Result<P::Item, Error>>
where
    P: Page,
    E: Into<Error>,
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<P, E>>,
{
    pages_from(cursor, fetch).map_ok(|page| stream::iter(page.into_items().into_iter().map(Ok))).try_flatten()
}

#[cfg(test)]
mod tests {
    use futures::TryStreamExt;

    use super::*;

    fn page(items: &[&str], next: Option<&str>) -> types::RoleList {
        let data = items
            .iter()
            .map(|name| {
                serde_json::from_value(serde_json::json!({
                    "id": uuid::Uuid::nil(), "app_id": uuid::Uuid::nil(), "name": name, "is_system": false,
                    "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
                }))
                .unwrap()
            })
            .collect();
        types::RoleList {
            data,
            pagination: types::Pagination { has_more: next.is_some(), next_cursor: next.map(str::to_owned) },
        }
    }

    #[tokio::test]
    async fn follows_next_cursor_until_the_last_page() {
        let mut seen = Vec::new();
        let names: Vec<String> = paginate(|cursor: Option<String>| {
            seen.push(cursor.clone());
            let page = match cursor.as_deref() {
                None => page(&["a", "b"], Some("c1")),
                Some("c1") => page(&["c", "d"], Some("c2")),
                Some("c2") => page(&["e"], None),
                other => panic!("unexpected cursor {other:?}"),
            };
            async move { Ok::<_, Error>(page) }
        })
        .map_ok(|role| role.name)
        .try_collect()
        .await
        .unwrap();
        assert_eq!(names, ["a", "b", "c", "d", "e"]);
        assert_eq!(seen, [None, Some("c1".to_owned()), Some("c2".to_owned())]);
    }

    #[tokio::test]
    async fn a_repeated_cursor_ends_the_stream_with_an_error() {
        let result: Result<Vec<_>, Error> =
            paginate(|_| async { Ok::<_, Error>(page(&["a"], Some("same"))) }).try_collect().await;
        assert!(matches!(result, Err(Error::InvalidResponse { .. })));
    }
}
