//! Access: who is calling and what they may reach. Admin requests carry an API key that
//! resolves to an [`AdminPrincipal`]; consumer requests name an app by slug and may carry an
//! end-user access token. Services receive these domain types, never HTTP credentials.

pub mod admin;
pub mod api;
pub mod end_user;
pub mod origin;
mod principal;
mod store;

pub use origin::Origin;
pub use principal::AdminPrincipal;
