//! Portcullis protocol core.
//!
//! Everything Portcullis decides lives here, free of any runtime type: requests come in as
//! [`http::Request`], decisions go out as [`http::Response`], and time, randomness and storage are
//! reached through the traits in [`ports`]. The Cloudflare adapter (`portcullis-edge`) and the
//! native tests supply those traits; the operator app (`admin-tui`) reuses [`api`] for the admin
//! API's request and response types.

pub mod account;
pub mod admin;
pub mod api;
pub mod app;
pub mod authority;
pub mod authorize;
pub mod bearer;
pub mod cache;
pub mod client_auth;
pub mod client_document;
pub mod clients;
pub mod context;
pub mod credentials;
pub mod crypto;
pub mod denylist;
pub mod dpop;
pub mod end_session;
pub mod error;
pub mod form;
pub mod gateway;
pub mod grants;
pub mod http;
pub mod id_token;
pub mod introspection;
pub mod issue;
pub mod keys;
pub mod lifetimes;
pub mod login;
pub mod metadata;
pub mod pages;
pub mod people;
pub mod ports;
#[cfg(feature = "probe")]
pub mod probe;
pub mod ratelimit;
pub mod registration;
pub mod replay;
pub mod scope;
pub mod session;
pub mod token_endpoint;
pub mod tokens;
pub mod uri;
pub mod user_grants;
pub mod userinfo;
pub mod users;

#[cfg(test)]
mod dpop_flow_tests;
#[cfg(test)]
mod flow_tests;
#[cfg(test)]
mod grant_flow_tests;
#[cfg(test)]
mod log_tests;
#[cfg(test)]
mod mcp_tests;
#[cfg(test)]
mod oidc_flow_tests;
#[cfg(test)]
mod people_tests;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use app::handle;
pub use context::{Context, Settings};
