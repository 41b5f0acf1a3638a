//! HTTP plumbing shared by every domain: the error model, credential lanes, pagination, request
//! context, the front-door middleware and the OpenAPI document.

pub mod auth;
pub mod client_ip;
pub mod consumer;
pub mod context;
pub mod direct_json;
pub mod error;
pub mod frontdoor;
pub mod openapi;
pub mod pagination;
pub mod responses;
