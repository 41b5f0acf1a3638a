//! Cursor pagination shared by every list: `{data, pagination: {has_more, next_cursor}}`.
//!
//! Ids are UUIDv7, so ordering by id is ordering by creation and a cursor is simply the last id
//! seen (opaque to clients: base64url). Pages are index range scans, so page 10,000 costs what
//! page 1 does, and rows inserted meanwhile never shift a page.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use poem_openapi::Object;
use uuid::Uuid;

use super::error::Error;
use crate::error::Code;

/// Default page size.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page size.
pub const MAX_LIMIT: u32 = 200;

/// Where the next page starts.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct Pagination {
    /// Whether another page follows.
    pub has_more: bool,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// A validated page request.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub limit: u64,
    /// The last id of the previous page.
    pub after: Option<Uuid>,
}

impl PageRequest {
    pub fn parse(limit: Option<u32>, cursor: Option<&str>) -> Result<Self, Error> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Error::validation("limit", format!("must be between 1 and {MAX_LIMIT}")));
        }
        let after = cursor.filter(|c| !c.is_empty()).map(decode_cursor).transpose()?;
        Ok(PageRequest { limit: limit as u64, after })
    }

    /// Rows to fetch: one more than the page, to learn whether another page follows.
    pub fn fetch(&self) -> u64 {
        self.limit + 1
    }

    /// Trims the extra row and builds the pagination block.
    pub fn finish<T>(&self, mut rows: Vec<T>, id_of: impl Fn(&T) -> Uuid) -> (Vec<T>, Pagination) {
        let has_more = rows.len() as u64 > self.limit;
        rows.truncate(self.limit as usize);
        let next_cursor = if has_more { rows.last().map(|r| encode_cursor(id_of(r))) } else { None };
        (rows, Pagination { has_more, next_cursor })
    }
}

pub fn encode_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

pub fn decode_cursor(raw: &str) -> Result<Uuid, Error> {
    URL_SAFE_NO_PAD
        .decode(raw)
        .ok()
        .and_then(|b| Uuid::from_slice(&b).ok())
        .ok_or_else(|| Error::new(Code::InvalidCursor, "cursor is not one this server issued"))
}

/// Declares a page type `{data: [Item], pagination}` for the spec.
#[macro_export]
macro_rules! page_type {
    ($name:ident, $item:ty, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Clone, poem_openapi::Object, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            /// The items of this page.
            pub data: Vec<$item>,
            /// Whether another page follows, and the cursor that fetches it.
            pub pagination: $crate::http::pagination::Pagination,
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor(&encode_cursor(id)).unwrap(), id);
        assert_eq!(decode_cursor("not a cursor").unwrap_err().code, Code::InvalidCursor);
        assert!(PageRequest::parse(Some(0), None).is_err());
        assert!(PageRequest::parse(Some(201), None).is_err());
    }

    #[test]
    fn finish_reports_more_only_when_an_extra_row_came_back() {
        let page = PageRequest { limit: 2, after: None };
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let (rows, p) = page.finish(ids.clone(), |id| *id);
        assert_eq!(rows.len(), 2);
        assert!(p.has_more);
        assert_eq!(p.next_cursor, Some(encode_cursor(ids[1])));
        let (_, p) = page.finish(ids[..2].to_vec(), |id| *id);
        assert!(!p.has_more && p.next_cursor.is_none());
    }
}
