//! HTTP plumbing shared by every domain's `api.rs`: the error body and status mapping, the
//! front-door middleware and its access log, request context, client address, pagination, response helpers and the
//! strict reading of request bodies, and the finishing of the published spec.
//! It names no domain: the API assembly lives in `routes`, credentials in `access`.

pub mod access_log;
pub mod client_ip;
pub mod context;
pub mod direct_json;
pub mod error;
pub mod frontdoor;
pub mod pagination;
pub mod responses;
pub mod spec;
pub mod strict_json;
