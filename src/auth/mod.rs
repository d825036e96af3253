//! Accounts and access: sign-in, the first owner, users and roles, API keys, passwords.

pub mod api;
pub mod model;
#[cfg(feature = "ssr")]
pub mod server;
pub mod view;
